package loop

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
)

// access holds what the access log says of a link's current request,
// copied when its handler starts: the request's views do not outlive the
// response, and the link may close before its note is drained.
type access struct {
	gen     uint32
	valid   bool
	method  [16]byte
	nMethod int
	path    [128]byte
	nPath   int
	cut     bool // the path was longer than path
	ip      [40]byte
	nIP     int
	port    int
	began   time.Time
	handler time.Duration
}

func (a *access) start(gen uint32, method, path, ip []byte, port int, now time.Time) {
	a.gen, a.valid = gen, true
	a.nMethod = copy(a.method[:], method)
	a.nPath = copy(a.path[:], path)
	a.cut = len(path) > len(a.path)
	a.nIP = copy(a.ip[:], ip)
	a.port = port
	a.began = now
	a.handler = -1
}

// logsAccess reports whether access-log lines are written (the log at info
// level or below); otherwise serve skips their bookkeeping and clock reads.
func (l *Loop) logsAccess() bool {
	return l.cfg.Log.GetLevel() <= zerolog.InfoLevel && zerolog.GlobalLevel() <= zerolog.InfoLevel
}

// handled records when the handler produced its answer.
func (a *access) handled(now time.Time) {
	if a.valid && a.handler < 0 {
		a.handler = now.Sub(a.began)
	}
}

// logAccess writes the access-log line of the response n reports: one
// line per response at info level. The query string is left out (it may
// carry secrets), and so are all header values. Times are integer
// microseconds: formatting floats was a third of the line's cost.
func (l *Loop) logAccess(n *fsm.Note) {
	a := &l.acc[n.Link]
	mine := a.valid && a.gen == n.Gen
	a.valid = false
	e := l.cfg.Log.Info()
	if e == nil {
		return
	}
	e = e.Int("link", n.Link)
	if mine {
		e = e.Bytes("ip", a.ip[:a.nIP]).Int("port", a.port).Bytes("method", a.method[:a.nMethod]).Bytes("path", a.path[:a.nPath])
		if a.cut {
			e = e.Bool("path_cut", true)
		}
	} else {
		ip, port := l.m.Remote(n.Link) // the machine answered by itself (400, 408, 503 ...)
		e = e.Bytes("ip", ip).Int("port", port).Stringer("method", n.Method)
	}
	e = e.Int("status", n.Status).Int64("bytes_in", n.BytesIn).Int64("bytes_out", n.Bytes).
		Int("at_sends", n.Sends).Int64("wire_us", n.Wire.Microseconds())
	if mine && a.handler >= 0 {
		e = e.Int64("handler_us", a.handler.Microseconds())
	}
	e.Int64("total_us", n.Dur.Microseconds()).Msg("request")
}
