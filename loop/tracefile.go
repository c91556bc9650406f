package loop

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/internal/serialtext"
)

// The serial trace: every byte on the modem line, both ways, for the log
// (at trace level) and for Config.Trace. Commands carrying a password, the
// password itself, and the values of HTTP credentials and cookies (trace.go)
// never reach either.

// redact returns b with the password replaced wherever it appears, or b
// itself when it does not. (The commands that carry it are hidden before,
// by a serialtext.SecretFilter per direction.)
func redact(b []byte, password string) []byte {
	if password != "" && bytes.Contains(b, []byte(password)) {
		return bytes.ReplaceAll(b, []byte(password), []byte(serialtext.Redacted))
	}
	return b
}

// traceBytes records serial traffic, dir "tx" (to the modem) or "rx".
func (l *Loop) traceBytes(now time.Time, dir string, b []byte) {
	e := l.cfg.Log.Trace()
	if e == nil && l.cfg.Trace == nil {
		return
	}
	if dir == "rx" {
		b = l.trace.redactRx(b) // credentials and cookies in HTTP heads
		l.filterBuf = l.filterRx.Append(l.filterBuf[:0], b)
	} else {
		b = l.trace.redactTx(b)
		l.filterBuf = l.filterTx.Append(l.filterBuf[:0], b)
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

// appendQuoted appends b as a double-quoted Go string literal that shows
// every byte (serialtext.AppendEscaped).
func appendQuoted(t, b []byte) []byte {
	t = append(t, '"')
	t = serialtext.AppendEscaped(t, b)
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
