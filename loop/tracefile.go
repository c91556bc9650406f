package loop

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/espgate/espgate/fsm"
)

// The serial trace: every byte on the modem line, both ways, for the log
// (at trace level) and for Config.Trace. Commands carrying a password, the
// password itself, and the values of HTTP credentials and cookies (trace.go)
// never reach either.

// secretCmds are the commands whose parameters hold a password.
var secretCmds = [][]byte{[]byte("AT+CWJAP"), []byte("AT+CWSAP")}

var redacted = []byte("<redacted>")

// redact returns b with secrets removed: the parameters of a command that
// carries a password, up to the line end, become "<redacted>"
// ("AT+CWJAP_CUR=<redacted>\r\n"), and the password itself is replaced
// wherever else it appears. It returns b itself when there is nothing to
// remove.
func redact(b []byte, password string) []byte {
	out := b
	for _, c := range secretCmds {
		for from := 0; ; {
			i := bytes.Index(out[from:], c)
			if i < 0 {
				break
			}
			eq := from + i + len(c)
			for eq < len(out) && out[eq] != '=' && out[eq] != '\r' && out[eq] != '\n' {
				eq++ // _CUR, _DEF
			}
			if eq == len(out) || out[eq] != '=' {
				from = eq // a query or a bare name: nothing secret follows
				continue
			}
			end := eq + 1
			for end < len(out) && out[end] != '\r' && out[end] != '\n' {
				end++
			}
			out = append(append(append([]byte(nil), out[:eq+1]...), redacted...), out[end:]...)
			from = eq + 1 + len(redacted)
		}
	}
	if password != "" && bytes.Contains(out, []byte(password)) {
		out = bytes.ReplaceAll(out, []byte(password), redacted)
	}
	return out
}

// traceBytes records serial traffic, dir "tx" (to the modem) or "rx".
func (l *Loop) traceBytes(now time.Time, dir string, b []byte) {
	e := l.cfg.Log.Trace()
	if e == nil && l.cfg.Trace == nil {
		return
	}
	if dir == "rx" {
		b = l.trace.redactRx(b) // credentials and cookies in HTTP heads
		l.filterBuf = l.filterRx.filter(l.filterBuf[:0], b)
	} else {
		b = l.trace.redactTx(b)
		l.filterBuf = l.filterTx.filter(l.filterBuf[:0], b)
	}
	b = l.filterBuf // Wi-Fi passwords, even split across reads
	b = redact(b, l.cfg.Machine.Password)
	if l.cfg.Trace != nil {
		t := l.traceLine(now)
		t = append(t, dir...)
		t = append(t, ' ')
		t = appendQuoted(t, b)
		l.traceOut(append(t, '\n'))
	}
	if e != nil {
		e.Str("dir", dir).Bytes("data", appendQuoted(nil, b)).Msg("serial")
	}
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends b as a double-quoted Go string literal that shows
// every byte: printable ASCII as it is, \r \n \t \" \\, and \xNN for the
// rest (so line noise reads as bytes, not as accidental UTF-8).
func appendQuoted(t, b []byte) []byte {
	t = append(t, '"')
	for _, c := range b {
		switch {
		case c == '\r':
			t = append(t, '\\', 'r')
		case c == '\n':
			t = append(t, '\\', 'n')
		case c == '\t':
			t = append(t, '\\', 't')
		case c == '"' || c == '\\':
			t = append(t, '\\', c)
		case c >= 0x20 && c < 0x7f:
			t = append(t, c)
		default:
			t = append(t, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return append(t, '"')
}

// traceNote records an event in Config.Trace as a '#' line.
func (l *Loop) traceNote(now time.Time, n fsm.Note) {
	if l.cfg.Trace == nil {
		return
	}
	t := l.appendTime(append(l.traceBuf[:0], "# "...), now)
	switch n.Kind {
	case fsm.NoteModemState:
		t = append(append(t, "modem "...), n.State.String()...)
	case fsm.NoteModemReset:
		t = append(t, "modem reset"...)
	case fsm.NoteBaud:
		t = strconv.AppendInt(append(t, "line rate "...), int64(n.Status), 10)
		t = append(append(append(t, " baud ("...), n.Text...), ')')
	case fsm.NoteFirmware:
		t = append(append(append(t, "firmware "...), n.Firmware.String()...), ' ')
		t = strconv.AppendQuote(t, string(n.Text))
	default:
		return
	}
	l.traceOut(append(t, '\n'))
}

// traceLine starts a trace record with the time.
func (l *Loop) traceLine(now time.Time) []byte {
	return l.appendTime(l.traceBuf[:0], now)
}

// appendTime appends the seconds since the trace began, right-aligned.
func (l *Loop) appendTime(t []byte, now time.Time) []byte {
	var num [32]byte
	s := strconv.AppendFloat(num[:0], now.Sub(l.traceStart).Seconds(), 'f', 6, 64)
	for i := len(s); i < 12; i++ {
		t = append(t, ' ')
	}
	return append(append(t, s...), ' ')
}

// traceOut writes a record and keeps its buffer for the next one.
func (l *Loop) traceOut(t []byte) {
	l.traceBuf = t
	_, _ = l.cfg.Trace.Write(t)
}

// traceHeader begins Config.Trace.
func (l *Loop) traceHeader(now time.Time) {
	if l.cfg.Trace == nil {
		return
	}
	l.traceStart = now
	name := "the modem line"
	if p, ok := l.cfg.Port.(interface{ Name() string }); ok {
		name = p.Name()
	}
	t := fmt.Appendf(l.traceBuf[:0], "# espgate serial trace of %s at %d baud, started %s\n"+
		"# seconds since the start, tx (host to modem) or rx (modem to host), the bytes quoted\n",
		name, l.m.LineBaud(), now.UTC().Format(time.RFC3339Nano))
	l.traceOut(t)
}
