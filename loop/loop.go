// Package loop runs espgate: one goroutine owns the protocol machine, a
// reader pump and a writer pump move bytes, and one timer serves every
// deadline. Handlers run on the loop and must not block.
package loop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
)

// Config wires a loop.
type Config struct {
	Port    io.ReadWriteCloser // the modem line; Close must unblock a pending Read
	Machine fsm.Config
	Handler handlers.Handler
	Log     zerolog.Logger
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
	w   [fsm.MaxLinks]handlers.ResponseWriter
	req handlers.Request

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
				l.write <- out
				writing = true
			}
		}
		if !stopAt.IsZero() && (m.Done() && !writing || !now.Before(stopAt)) {
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
			if r.err != nil {
				return fmt.Errorf("%w: %w", ErrPort, r.err)
			}
			m.Input(now, r.buf[:r.n])
			l.free <- r.buf
		case err := <-l.wrote:
			now = l.cfg.Now()
			if err != nil {
				return fmt.Errorf("%w: %w", ErrPort, err)
			}
			writing = false
			m.WriteDone(now)
		case <-timer.C:
			now = l.cfg.Now()
			m.Tick(now)
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
			_, err := l.cfg.Port.Write(b)
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
	for {
		n, ok := l.m.PopNote()
		if !ok {
			return
		}
		switch n.Kind {
		case fsm.NoteRequest:
			l.serve(now, n.Link, n.Gen)
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
			l.cfg.Log.Debug().Int("link", n.Link).Stringer("reason", n.Reason).Msg("link closed")
		}
		if l.cfg.Observe != nil {
			l.cfg.Observe(n)
		}
	}
}

// serve runs the handler for the request on link and hands its answer to
// the machine. A panicking handler yields a 500.
func (l *Loop) serve(now time.Time, link int, gen uint32) {
	r := l.m.Request(link)
	if r == nil {
		return
	}
	w := &l.w[link]
	w.Reset()
	req := &l.req
	ip, port := l.m.Remote(link)
	*req = handlers.Request{Request: r, Link: link, RemoteIP: ip, RemotePort: port, Body: l.m.Body(link)}
	if !l.call(w, req) {
		w.Reset()
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

// call runs the handler and reports whether it returned normally.
func (l *Loop) call(w *handlers.ResponseWriter, r *handlers.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			l.cfg.Log.Error().Interface("panic", p).Int("link", r.Link).Bytes("path", r.Path).Msg("handler panicked")
			ok = false
		}
	}()
	l.cfg.Handler.ServeModem(w, r)
	return true
}
