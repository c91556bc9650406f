package sim

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/espgate/espgate/internal/serialtext"
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
	redact map[string]*serialtext.SecretFilter // per direction
}

func newTracer(w io.Writer, start time.Time) *tracer {
	if w == nil {
		return nil
	}
	return &tracer{w: w, start: start, redact: map[string]*serialtext.SecretFilter{dirToHost: {}, dirFromHost: {}}}
}

func (t *tracer) record(dir string, b []byte, at time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = fmt.Appendf(t.buf[:0], "%12.6f %s \"", at.Sub(t.start).Seconds(), dir)
	t.clean = t.redact[dir].Append(t.clean[:0], b)
	t.buf = serialtext.AppendEscaped(t.buf, t.clean)
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
