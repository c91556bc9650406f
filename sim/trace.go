package sim

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Trace directions.
const (
	dirToHost   = "M>H" // modem to host
	dirFromHost = "H>M" // host to modem
)

// tracer writes one record per write on the line:
//
//	12.345678 M>H "\r\nOK\r\n"
//
// The time is seconds since the modem was created, taken when the last byte
// of the write has crossed the line (before the other side gets it, so a
// reply is never recorded before what it answers). Bytes outside printable ASCII are
// escaped as \r, \n, \t or \xNN; '"' and '\' are escaped with a backslash.
// Lines starting with '#' are notes (line-rate changes, resets). The
// parameters of AT+CWJAP and AT+CWSAP, which hold Wi-Fi passwords, are
// shown as <redacted>, in either direction (an echo repeats them).
type tracer struct {
	mu     sync.Mutex
	w      io.Writer
	start  time.Time
	buf    []byte
	clean  []byte
	redact map[string]*redactor // per direction
}

func newTracer(w io.Writer, start time.Time) *tracer {
	if w == nil {
		return nil
	}
	return &tracer{w: w, start: start, redact: map[string]*redactor{dirToHost: {}, dirFromHost: {}}}
}

func (t *tracer) record(dir string, b []byte, at time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = fmt.Appendf(t.buf[:0], "%12.6f %s \"", at.Sub(t.start).Seconds(), dir)
	t.clean = t.redact[dir].filter(t.clean[:0], b)
	t.buf = appendEscaped(t.buf, t.clean)
	t.buf = append(t.buf, '"', '\n')
	_, _ = t.w.Write(t.buf)
}

func (t *tracer) note(at time.Time, format string, args ...any) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = fmt.Appendf(t.buf[:0], "# %12.6f ", at.Sub(t.start).Seconds())
	t.buf = fmt.Appendf(t.buf, format, args...)
	t.buf = append(t.buf, '\n')
	_, _ = t.w.Write(t.buf)
}

const hexDigits = "0123456789abcdef"

func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		switch {
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20 && c < 0x7f:
			dst = append(dst, c)
		default:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

// secretCmds are the commands whose parameters hold a Wi-Fi password.
var secretCmds = [...]string{"AT+CWJAP", "AT+CWSAP"}

// redactor hides the parameters of secretCmds in a byte stream that may
// come in any pieces: from the '=' after the command name (with or
// without a _CUR or _DEF suffix) to the end of the line.
type redactor struct {
	last  [8]byte // the last bytes seen
	armed bool    // a secret command's name was seen on this line
	on    bool    // inside its parameters
	shown bool    // "<redacted>" was written for them
}

// filter appends b to dst with the secret parameters hidden.
func (r *redactor) filter(dst, b []byte) []byte {
	for _, c := range b {
		end := c == '\r' || c == '\n'
		if r.on {
			if end {
				r.on = false
				dst = append(dst, c)
			} else if !r.shown {
				r.shown = true
				dst = append(dst, "<redacted>"...)
			}
			continue
		}
		dst = append(dst, c)
		copy(r.last[:], r.last[1:])
		r.last[len(r.last)-1] = c
		for _, p := range secretCmds {
			if string(r.last[:]) == p {
				r.armed = true
			}
		}
		switch {
		case end:
			r.armed = false
		case r.armed && c == '=':
			r.armed, r.on, r.shown = false, true, false
		}
	}
	return dst
}
