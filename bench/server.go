package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/loop"
	"github.com/espgate/espgate/port"
	"github.com/espgate/espgate/sim"
)

// resource is one thing the app serves.
type resource struct {
	path, ctype string
	body        []byte
}

// app holds the content of one run: a large body for goodput, a tiny one
// for requests/s, and a page with four assets.
type app struct {
	big, small, page *resource
	assets           []*resource
	byPath           map[string]*resource
}

func newApp(bigSize int) *app {
	a := &app{
		big:   &resource{path: "/big", ctype: "application/octet-stream", body: noise(bigSize, 1)},
		small: &resource{path: "/small", ctype: "text/plain", body: []byte("espgate bench: 32 byte answer.\n\n")},
		assets: []*resource{
			{path: "/style.css", ctype: "text/css", body: text(2*1024, "body{font:16px sans-serif;margin:0 auto;max-width:40em}\n")},
			{path: "/app.js", ctype: "text/javascript", body: text(5*1024, "document.querySelectorAll('p').forEach(p=>p.hidden=false);\n")},
			{path: "/logo.png", ctype: "image/png", body: noise(8*1024, 2)},
			{path: "/photo.png", ctype: "image/png", body: noise(6*1024, 3)},
		},
	}
	var html strings.Builder
	html.WriteString("<!doctype html>\n<html><head><title>espgate</title>\n" +
		"<link rel=stylesheet href=/style.css><script src=/app.js defer></script></head>\n<body>\n" +
		"<img src=/logo.png alt=logo><img src=/photo.png alt=photo>\n")
	for html.Len() < 3*1024-len("</body></html>\n")-64 {
		html.WriteString("<p>A page served through an ESP8266 modem on a serial line.</p>\n")
	}
	html.WriteString("</body></html>\n")
	a.page = &resource{path: "/index.html", ctype: "text/html; charset=utf-8", body: []byte(html.String())}
	a.byPath = map[string]*resource{}
	for _, r := range append([]*resource{a.big, a.small, a.page}, a.assets...) {
		a.byPath[r.path] = r
	}
	return a
}

// ServeModem is the native handler: every body is static, set without a copy.
func (a *app) ServeModem(w *handlers.ResponseWriter, r *handlers.Request) {
	res, ok := a.byPath[string(r.Path)]
	if !ok {
		w.WriteHeader(404)
		return
	}
	w.AddHeader("Content-Type", res.ctype)
	w.SetBody(res.body)
}

// noise returns n pseudo-random bytes (xorshift), like compressed media.
func noise(n int, seed uint32) []byte {
	b := make([]byte, n)
	x := seed*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// text repeats line up to n bytes.
func text(n int, line string) []byte {
	return []byte(strings.Repeat(line, n/len(line)+1)[:n])
}

// server is the emulator and espgate over it, in this process.
type server struct {
	modem   *sim.Modem
	addr    string
	profile sim.Profile
	model   model
	tap     *tap
	notes   *noteCounter
	cancel  context.CancelFunc
	done    chan error
}

// startServer boots a paced emulator at baud with the profile's default
// timing (precise: sim.Config.PreciseTiming), runs espgate over its
// in-process line and waits until it serves.
func startServer(profile sim.Profile, baud, target int, precise bool, h handlers.Handler, trace io.Writer) (*server, error) {
	m, err := sim.New(sim.Config{
		Profile:       profile,
		Listen:        "127.0.0.1:0",
		Baud:          baud,
		Joined:        true,
		Seed:          1,
		Trace:         trace,
		PreciseTiming: precise,
	})
	if err != nil {
		return nil, err
	}
	md := newModel(profile, m.Params())
	tp := newTap(m.Host(), md)
	serving := make(chan struct{}, 1)
	nc := &noteCounter{}
	lp := loop.New(loop.Config{
		Port:    port.Wrap(tp, "emulator"),
		Machine: fsm.Config{Baud: baud, TargetBaud: target},
		Handler: h,
		Observe: func(n fsm.Note) {
			nc.observe(n)
			if n.Kind == fsm.NoteServing {
				select {
				case serving <- struct{}{}:
				default:
				}
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{modem: m, addr: m.Addr().String(), profile: profile, model: md, tap: tp, notes: nc, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- lp.Run(ctx) }()
	select {
	case <-serving:
		// After a switch (TargetBaud) the model is that of the rate served.
		s.model = newModel(profile, m.Params())
		tp.setModel(s.model)
		return s, nil
	case err := <-s.done:
		m.Close()
		cancel()
		return nil, fmt.Errorf("server stopped before serving: %w", err)
	case <-time.After(30 * time.Second):
		s.close()
		return nil, errors.New("server not serving after 30 s")
	}
}

// idle waits until the modem has no send in progress and nothing has
// crossed the line for quiet, so the next measurement starts from rest.
func (s *server) idle(quiet time.Duration) {
	deadline := time.Now().Add(10 * time.Second)
	last := s.modem.Stats()
	for time.Now().Before(deadline) {
		time.Sleep(quiet)
		st := s.modem.Stats()
		if st.SendOK+st.SendFail == st.Sends && st.BytesToHost == last.BytesToHost && st.BytesFromHost == last.BytesFromHost {
			return
		}
		last = st
	}
}

func (s *server) close() error {
	s.cancel()
	var err error
	select {
	case err = <-s.done:
	case <-time.After(10 * time.Second):
		err = errors.New("server did not stop")
	}
	if cerr := s.modem.Close(); err == nil {
		err = cerr
	}
	return err
}

// noteCounts is what the server reported over a scenario.
type noteCounts struct {
	closed   map[fsm.CloseReason]int // links closed, by reason
	sendFail int                     // SEND FAIL
	busy     int                     // commands refused with busy
	// hostClose is the AT+CIPCLOSE commands the server wrote (counted by
	// the tap, not a note).
	hostClose int
}

// noteCounter counts notes; observe runs on the server's loop.
type noteCounter struct {
	mu sync.Mutex
	c  noteCounts
}

func (nc *noteCounter) observe(n fsm.Note) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	switch {
	case n.Kind == fsm.NoteLinkClosed:
		if nc.c.closed == nil {
			nc.c.closed = map[fsm.CloseReason]int{}
		}
		nc.c.closed[n.Reason]++
	case n.Kind == fsm.NoteATFailure && n.Failure == fsm.FailSendFail:
		nc.c.sendFail++
	case n.Kind == fsm.NoteATFailure && n.Failure == fsm.FailBusy:
		nc.c.busy++
	}
}

// peek returns the counts so far.
func (nc *noteCounter) peek() noteCounts {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	return nc.c
}

// take returns the counts so far and starts afresh.
func (nc *noteCounter) take() noteCounts {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	c := nc.c
	nc.c = noteCounts{}
	return c
}

// String lists the notable counts: links closed by the server for a
// reason other than the request's own Connection: close, and failures.
func (c noteCounts) String() string {
	var parts []string
	for _, r := range []fsm.CloseReason{fsm.ClosedEvicted, fsm.ClosedIdle, fsm.ClosedSendFailed, fsm.ClosedTimeout, fsm.ClosedBadRequest, fsm.ClosedReset} {
		if k := c.closed[r]; k > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, k))
		}
	}
	if c.sendFail > 0 {
		parts = append(parts, fmt.Sprintf("SEND_FAIL=%d", c.sendFail))
	}
	if c.busy > 0 {
		parts = append(parts, fmt.Sprintf("busy=%d", c.busy))
	}
	if c.hostClose > 0 {
		parts = append(parts, fmt.Sprintf("host_close=%d", c.hostClose))
	}
	return strings.Join(parts, " ")
}
