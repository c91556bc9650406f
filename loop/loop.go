// Package loop runs espgate: one goroutine owns the protocol machine, a
// reader pump and a writer pump move bytes, and one timer serves every
// deadline. Handlers run on the loop and must not block.
package loop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/metrics"
)

// Config wires a loop.
type Config struct {
	Port    io.ReadWriteCloser // the modem line; Close must unblock a pending Read
	Machine fsm.Config
	Handler handlers.Handler
	Log     zerolog.Logger
	// Metrics, if set, records what the loop sees.
	Metrics *metrics.Metrics
	// Observe, if set, sees every note after the loop has acted on it
	// (metrics, tests). It runs on the loop and must not block.
	Observe func(fsm.Note)
	// ShutdownTimeout bounds how long Run waits for links to finish after
	// its context ends; default 5 s.
	ShutdownTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// readBufs is how many read buffers circulate between the reader pump and
// the loop; the pump waits when all are with the loop.
const (
	readBufs    = 4
	readBufSize = 4096
)

type readResult struct {
	buf []byte
	n   int
	err error
}

// Loop is one running server over one modem.
type Loop struct {
	cfg Config
	m   *fsm.Machine

	// Owned by the loop goroutine.
	w        [fsm.MaxLinks]handlers.ResponseWriter
	req      handlers.Request
	det      [fsm.MaxLinks]*detached // the detached request of each link
	raw      [fsm.MaxLinks]rawSink   // the hijacked link's receiver
	detacher [fsm.MaxLinks]func() handlers.Detached
	// redactRx and redactTx keep passwords out of the trace log.
	redactRx, redactTx redactor

	posts chan func(now time.Time) // work for the loop from other goroutines

	free  chan []byte
	reads chan readResult
	write chan []byte
	wrote chan error
}

// New returns a loop ready to Run.
func New(cfg Config) *Loop {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Handler == nil {
		cfg.Handler = handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
			w.WriteHeader(404)
			w.WriteString("404 page not found\n")
		})
	}
	l := &Loop{
		cfg:   cfg,
		m:     fsm.New(cfg.Machine),
		free:  make(chan []byte, readBufs),
		reads: make(chan readResult, readBufs),
		write: make(chan []byte, 1),
		wrote: make(chan error, 1),
		posts: make(chan func(time.Time), 256),
	}
	for i := range l.detacher {
		l.detacher[i] = func() handlers.Detached { return l.detach(i) }
	}
	for range readBufs {
		l.free <- make([]byte, readBufSize)
	}
	return l
}

// Machine exposes the protocol machine. Use it only from Observe or after
// Run has returned.
func (l *Loop) Machine() *fsm.Machine { return l.m }

// ErrPort wraps a failure of the modem line.
var ErrPort = errors.New("loop: modem line failed")

// Run serves until ctx ends, then stops taking requests, lets links finish
// for up to ShutdownTimeout, closes the port and returns nil. It returns an
// error wrapping ErrPort if the line fails.
func (l *Loop) Run(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	go l.readPump(done)
	go l.writePump(done)
	defer l.cfg.Port.Close()

	m := l.m
	now := l.cfg.Now()
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.SetBaud(m.Config().Baud)
	}
	m.Start(now)
	l.drain(now)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var stopAt time.Time
	writing := false
	ctxDone := ctx.Done()
	for {
		if !writing {
			if out := m.Output(); out != nil {
				l.traceBytes("tx", out)
				l.write <- out
				writing = true
			}
		}
		if !stopAt.IsZero() && (m.Done() && !writing || !now.Before(stopAt)) {
			if !m.Done() {
				ev := l.cfg.Log.Warn().Stringer("modem", m.State()).Stringer("slot", m.Slot()).Bool("writing", writing)
				for i := range fsm.MaxLinks {
					ev = ev.Stringer("link"+strconv.Itoa(i), m.LinkState(i))
				}
				ev.Msg("shutdown timeout: links still open")
			}
			return nil
		}
		next := m.NextDeadline()
		if !stopAt.IsZero() && (next.IsZero() || stopAt.Before(next)) {
			next = stopAt
		}
		if next.IsZero() {
			next = now.Add(time.Hour)
		}
		timer.Reset(max(next.Sub(now), 0))

		select {
		case r := <-l.reads:
			now = l.cfg.Now()
			if err := l.input(now, r); err != nil {
				return err
			}
		case err := <-l.wrote:
			now = l.cfg.Now()
			if err != nil {
				return fmt.Errorf("%w: %w", ErrPort, err)
			}
			writing = false
			m.WriteDone(now)
		case <-timer.C:
			// Input that came before the deadline was noticed decides
			// first: a reply already read is no timeout (the loop may
			// have been kept from running).
			for pending := true; pending; {
				select {
				case r := <-l.reads:
					if err := l.input(l.cfg.Now(), r); err != nil {
						return err
					}
				default:
					pending = false
				}
			}
			now = l.cfg.Now()
			m.Tick(now)
		case f := <-l.posts:
			now = l.cfg.Now()
			f(now)
		case <-ctxDone:
			now = l.cfg.Now()
			ctxDone = nil
			stopAt = now.Add(l.cfg.ShutdownTimeout)
			l.cfg.Log.Info().Msg("shutting down: finishing open links")
			m.Shutdown(now)
		}
		l.drain(now)
	}
}

// input hands bytes the reader pump read to the machine.
func (l *Loop) input(now time.Time, r readResult) error {
	if r.err != nil {
		return fmt.Errorf("%w: %w", ErrPort, r.err)
	}
	l.traceBytes("rx", r.buf[:r.n])
	l.m.Input(now, r.buf[:r.n])
	l.free <- r.buf
	return nil
}

// readPump reads the line into free buffers and hands them to the loop.
func (l *Loop) readPump(done <-chan struct{}) {
	for {
		var buf []byte
		select {
		case buf = <-l.free:
		case <-done:
			return
		}
		n, err := l.cfg.Port.Read(buf)
		if n > 0 {
			if l.cfg.Metrics != nil {
				l.cfg.Metrics.UARTRead(n)
			}
			select {
			case l.reads <- readResult{buf: buf, n: n}:
			case <-done:
				return
			}
			if err == nil {
				continue
			}
			buf = nil
		}
		if err != nil {
			select {
			case l.reads <- readResult{buf: buf, err: err}:
			case <-done:
			}
			return
		}
		l.free <- buf
	}
}

// writePump writes what the loop hands it and reports each completion.
func (l *Loop) writePump(done <-chan struct{}) {
	for {
		select {
		case b := <-l.write:
			n, err := l.cfg.Port.Write(b)
			if l.cfg.Metrics != nil {
				l.cfg.Metrics.UARTWrite(n)
			}
			select {
			case l.wrote <- err:
			case <-done:
				return
			}
		case <-done:
			return
		}
	}
}

// drain acts on the machine's notes.
func (l *Loop) drain(now time.Time) {
	seen := false
	for {
		n, ok := l.m.PopNote()
		if !ok {
			break
		}
		seen = true
		switch n.Kind {
		case fsm.NoteRequest:
			l.serve(now, n.Link, n.Gen)
		case fsm.NoteResponseDone:
			l.release(n.Link, n.Gen, nil)
		case fsm.NoteRawData:
			if r := l.raw[n.Link]; r.in != nil && r.gen == n.Gen {
				r.in(l.m.TakeRaw(n.Link, n.Gen), false)
			}
		case fsm.NoteModemState:
			l.cfg.Log.Info().Stringer("state", n.State).Msg("modem")
		case fsm.NoteServing:
			l.cfg.Log.Info().Bytes("ip", n.Text).Int("port", l.m.Config().ServerPort).Msg("serving")
		case fsm.NoteFirmware:
			l.cfg.Log.Info().Stringer("generation", n.Firmware).Bytes("version", n.Text).Msg("firmware")
		case fsm.NoteModemReset:
			l.cfg.Log.Warn().Msg("modem reset: in-flight requests failed, bringing it up again")
		case fsm.NoteJoinFailed:
			l.cfg.Log.Warn().Int("code", n.Status).Msg("joining the network failed; retrying")
		case fsm.NoteWifi:
			l.cfg.Log.Info().Bytes("event", n.Text).Msg("wifi")
		case fsm.NoteATFailure:
			l.cfg.Log.Debug().Stringer("cmd", n.Cmd).Stringer("failure", n.Failure).Int("link", n.Link).Msg("AT failure")
		case fsm.NoteLinkOpen:
			l.cfg.Log.Debug().Int("link", n.Link).Msg("link open")
		case fsm.NoteLinkClosed:
			l.release(n.Link, n.Gen, handlers.ErrLinkClosed)
			if r := l.raw[n.Link]; r.in != nil && r.gen == n.Gen {
				l.raw[n.Link] = rawSink{}
				r.in(nil, true)
			}
			l.cfg.Log.Debug().Int("link", n.Link).Stringer("reason", n.Reason).Msg("link closed")
		}
		if l.cfg.Metrics != nil {
			l.cfg.Metrics.Observe(n, now)
		}
		if l.cfg.Observe != nil {
			l.cfg.Observe(n)
		}
	}
	if seen && l.cfg.Metrics != nil {
		l.cfg.Metrics.Links(l.m.LinkStates())
		l.cfg.Metrics.SendQueue(l.m.SendQueue())
	}
}

// traceBytes logs serial traffic at trace level, escaped; the Wi-Fi
// password never reaches the log, not even in a modem's echo.
func (l *Loop) traceBytes(dir string, b []byte) {
	e := l.cfg.Log.Trace()
	if e == nil {
		return
	}
	r := &l.redactRx
	if dir == "tx" {
		r = &l.redactTx
	}
	e.Str("dir", dir).Str("data", strconv.Quote(string(r.filter(nil, b)))).Msg("serial")
}

// serve runs the handler for the request on link and hands its answer to
// the machine. A panicking handler yields a 500.
func (l *Loop) serve(now time.Time, link int, gen uint32) {
	r := l.m.Request(link)
	if r == nil || l.m.LinkGen(link) != gen {
		return // the link closed (and perhaps reopened) since the note
	}
	w := &l.w[link]
	w.Reset(l.detacher[link])
	req := &l.req
	ip, port := l.m.Remote(link)
	req.Reset(r, link, ip, port, l.m.Body(link))
	ok := l.call(w, req, func() { l.cfg.Handler.ServeModem(w, req) })
	if ok && w.IsDetached() {
		return // answered later through Detached.Respond
	}
	l.respond(now, link, gen, w, ok)
}

// respond hands the answer in w to the machine; ok false means the
// handler panicked and a 500 goes out instead.
func (l *Loop) respond(now time.Time, link int, gen uint32, w *handlers.ResponseWriter, ok bool) {
	if !ok {
		w.Reset(nil)
		w.WriteHeader(500)
		w.WriteString("Internal Server Error\n")
		w.CloseAfter()
	}
	header, body, stream, length, closeAfter := w.Parts()
	resp := fsm.Response{Status: w.Status(), Header: header, Body: body, Stream: stream, Length: length, Close: closeAfter}
	if stream == nil {
		resp.Length = int64(len(body))
	}
	if err := l.m.Respond(now, link, gen, resp); err != nil {
		l.cfg.Log.Error().Err(err).Int("link", link).Int("status", resp.Status).Msg("response refused")
	}
}

// call runs f (a handler) and reports whether it returned normally.
func (l *Loop) call(w *handlers.ResponseWriter, r *handlers.Request, f func()) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if l.cfg.Metrics != nil {
				l.cfg.Metrics.HandlerPanic()
			}
			ev := l.cfg.Log.Error().Interface("panic", p)
			if r != nil {
				ev = ev.Int("link", r.Link).Bytes("path", r.Path)
			}
			ev.Msg("handler panicked")
			ok = false
		}
	}()
	f()
	return true
}

// detached is a request answered after its handler returned.
type detached struct {
	l    *Loop
	link int
	gen  uint32
	done chan struct{}
	err  error // set before done closes
	used bool  // Respond was called (loop-owned)
}

// detach is called by ResponseWriter.Detach during a handler run.
func (l *Loop) detach(link int) handlers.Detached {
	d := &detached{l: l, link: link, gen: l.m.LinkGen(link), done: make(chan struct{})}
	l.det[link] = d
	return d
}

// release ends the detached request of link, if any, with err.
func (l *Loop) release(link int, gen uint32, err error) {
	if d := l.det[link]; d != nil && d.gen == gen {
		l.det[link] = nil
		d.err = err
		close(d.done)
	}
}

func (d *detached) Done() <-chan struct{} { return d.done }

func (d *detached) Err() error {
	select {
	case <-d.done:
		return d.err
	default:
		return nil
	}
}

func (d *detached) post(f func(now time.Time)) {
	select {
	case d.l.posts <- f:
	case <-d.done:
	}
}

func (d *detached) Respond(fill func(w *handlers.ResponseWriter)) {
	d.post(func(now time.Time) {
		l := d.l
		if d.used || l.det[d.link] != d || l.m.LinkState(d.link) != fsm.LinkHandling {
			return
		}
		d.used = true
		w := &l.w[d.link]
		w.Reset(nil)
		ok := l.call(w, nil, func() { fill(w) })
		l.respond(now, d.link, d.gen, w, ok)
		l.drain(now)
	})
}

// rawSink receives a hijacked link's input.
type rawSink struct {
	gen uint32
	in  func(data []byte, closed bool)
}

func (d *detached) Hijack(out io.Reader, in func(data []byte, closed bool)) {
	d.post(func(now time.Time) {
		l := d.l
		if d.used || l.det[d.link] != d || l.m.LinkState(d.link) != fsm.LinkHandling {
			in(nil, true)
			return
		}
		d.used = true
		l.raw[d.link] = rawSink{gen: d.gen, in: in}
		if err := l.m.Respond(now, d.link, d.gen, fsm.Response{Status: 200, Stream: out, Raw: true}); err != nil {
			l.raw[d.link] = rawSink{}
			in(nil, true)
		}
		l.drain(now)
	})
}

func (d *detached) Wake() {
	d.post(func(now time.Time) { d.l.m.Wake(now, d.link, d.gen) })
}
