// Package loop runs espgate: one goroutine owns the protocol machine, a
// reader pump and a writer pump move bytes, and one timer serves every
// deadline. Handlers run on the loop and must not block.
package loop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/serialtext"
	"github.com/espgate/espgate/metrics"
	"github.com/espgate/espgate/parser"
)

// Config wires a loop.
type Config struct {
	// Port is the modem line; Close must unblock a pending Read. With a
	// SetBaud(int) error method (as port.Port has) its rate can follow
	// the machine's (Machine.TargetBaud); New checks it can take that rate.
	Port    io.ReadWriteCloser
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
	// MaxLongLived bounds how many links may hold a long-lived response
	// (an event stream, a WebSocket, any hijacked link) at once, so they
	// never take every link from ordinary requests. 0 means 2; more than
	// fsm.MaxLinks-1 is cut to that; negative allows none.
	MaxLongLived int
	// Trace, if set, receives the serial exchange as text, one record per
	// read or write with the time, passwords redacted (tracefile.go). It is
	// written from the loop: it must not block (buffer it).
	Trace io.Writer
}

// DefaultMaxLongLived is MaxLongLived's default.
const DefaultMaxLongLived = 2

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
	acc      [fsm.MaxLinks]access       // what the access log needs of each link's request
	bodies   [fsm.MaxLinks]bodySink     // each link's streamed request body
	closers  [fsm.MaxLinks]streamCloser // the response stream to close when it ends
	trace    *redactor
	long     [fsm.MaxLinks]longSlot // the links holding a long-lived slot
	nlong    int
	maxLong  int
	joinDone func(JoinResult) // the Join awaiting its result (wifi.go)

	quit chan struct{} // closed when Run returns
	// filterRx and filterTx keep Wi-Fi passwords out of the trace, in
	// either direction and across reads cut anywhere (redact.go).
	filterRx, filterTx serialtext.SecretFilter
	filterBuf          []byte

	posts chan func(now time.Time) // work for the loop from other goroutines
	// wakes[i] holds 1<<32|gen when link i's stream has data again; wake
	// tells the loop to look. Waking never blocks and never allocates.
	wakes     [fsm.MaxLinks]atomic.Uint64
	wake      chan struct{}
	goingAway chan struct{} // closed when shutdown begins

	free  chan []byte
	reads chan readResult
	write chan []byte
	wrote chan error

	portBaud   int       // the rate the port is set to (loop-owned)
	traceStart time.Time // loop-owned, like traceBuf
	traceBuf   []byte
}

// New returns a loop ready to Run.
func New(cfg Config) *Loop {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.MaxLongLived == 0:
		cfg.MaxLongLived = DefaultMaxLongLived
	case cfg.MaxLongLived < 0:
		cfg.MaxLongLived = 0
	case cfg.MaxLongLived >= fsm.MaxLinks:
		cfg.MaxLongLived = fsm.MaxLinks - 1
	}
	if cfg.Handler == nil {
		cfg.Handler = handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
			w.WriteHeader(404)
			w.WriteString("404 page not found\n")
		})
	}
	cfg.Machine.TargetBaud = checkTarget(cfg)
	l := &Loop{cfg: cfg}
	if s, ok := cfg.Handler.(handlers.BodyStreamer); ok && cfg.Machine.StreamBody == nil {
		cfg.Machine.StreamBody = func(link int, r *parser.Request) bool {
			l.req.Reset(r, link, nil, 0, nil)
			return s.StreamsBody(&l.req)
		}
	}
	*l = Loop{
		cfg:   cfg,
		m:     fsm.New(cfg.Machine),
		free:  make(chan []byte, readBufs),
		reads: make(chan readResult, readBufs),
		write: make(chan []byte, 1),
		wrote: make(chan error, 1),
		posts: make(chan func(time.Time), 256),
		trace: newRedactor(),
		wake:  make(chan struct{}, 1),

		goingAway: make(chan struct{}),
		maxLong:   cfg.MaxLongLived,
		quit:      make(chan struct{}),
	}
	for i := range l.detacher {
		l.detacher[i] = func() handlers.Detached { return l.detach(i) }
		l.w[i].SetLongLived(func() bool { return l.claimLongLived(i) }, l.goingAway)
	}
	for range readBufs {
		l.free <- make([]byte, readBufSize)
	}
	l.portBaud = l.m.LineBaud()
	return l
}

// baudSetter is a port whose rate can change (port.Port).
type baudSetter interface{ SetBaud(baud int) error }

// checkTarget returns cfg.Machine.TargetBaud if the port can run at that
// rate, else 0 (with a warning): the port is set to it and back to Baud,
// before anything is written.
func checkTarget(cfg Config) int {
	mc := cfg.Machine
	if mc.TargetBaud <= 0 {
		return 0
	}
	base := mc.Baud
	if base <= 0 {
		base = 115200
	}
	p, ok := cfg.Port.(baudSetter)
	if !ok {
		cfg.Log.Warn().Int("target_baud", mc.TargetBaud).Msg("the modem line cannot change its rate: staying at the boot rate")
		return 0
	}
	err := p.SetBaud(mc.TargetBaud)
	if err2 := p.SetBaud(base); err == nil {
		err = err2
	}
	if err != nil {
		cfg.Log.Warn().Err(err).Int("target_baud", mc.TargetBaud).Int("baud", base).Msg("the port cannot run at the target rate: staying at the boot rate")
		return 0
	}
	return mc.TargetBaud
}

// setPortBaud sets the port to the rate the machine asks for.
func (l *Loop) setPortBaud(n fsm.Note) {
	switch string(n.Text) {
	case "refused", "silent", "noisy":
		l.cfg.Log.Warn().Int("target_baud", l.m.Config().TargetBaud).Int("baud", l.m.Config().Baud).Bytes("reason", n.Text).
			Msg("the faster line failed: staying at the boot rate")
	case "verified":
		l.cfg.Log.Info().Int("baud", n.Status).Msg("line rate switched")
	default:
		l.cfg.Log.Debug().Int("baud", n.Status).Bytes("reason", n.Text).Msg("line rate")
	}
	if n.Status == l.portBaud {
		return
	}
	if p, ok := l.cfg.Port.(baudSetter); ok {
		if err := p.SetBaud(n.Status); err != nil {
			// The line now runs at another rate than the modem: bring-up
			// times out and probes again, at either rate.
			l.cfg.Log.Error().Err(err).Int("baud", n.Status).Msg("setting the line rate failed")
			return
		}
	}
	l.portBaud = n.Status
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.SetBaud(n.Status)
	}
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
	defer l.stopped()
	go l.readPump(done)
	go l.writePump(done)
	defer l.cfg.Port.Close()
	defer l.closeStreams()

	m := l.m
	now := l.cfg.Now()
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.SetBaud(m.Config().Baud)
	}
	l.traceHeader(now)
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
				l.traceBytes(now, "tx", out)
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
		case <-l.wake:
			now = l.cfg.Now()
			for i := range l.wakes {
				if v := l.wakes[i].Swap(0); v != 0 {
					m.Wake(now, i, uint32(v))
				}
			}
		case <-ctxDone:
			now = l.cfg.Now()
			ctxDone = nil
			close(l.goingAway)
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
	l.traceBytes(now, "rx", r.buf[:r.n])
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
		n := l.m.NextNote()
		if n == nil {
			break
		}
		seen = true
		switch n.Kind {
		case fsm.NoteRequest:
			l.serve(now, n.Link, n.Gen)
		case fsm.NoteResponseDone:
			l.closeStream(n.Link, n.Gen)
			l.release(n.Link, n.Gen, nil)
			l.endBody(n.Link, n.Gen, errAnsweredEarly)
			l.logAccess(n)
		case fsm.NoteBody:
			if b := l.bodies[n.Link]; b.p != nil && b.gen == n.Gen {
				b.p.Write(l.m.TakeBody(n.Link, n.Gen))
			}
		case fsm.NoteBodyEnd:
			var err error
			if n.Status != 0 {
				err = fmt.Errorf("%w (%d %s)", handlers.ErrBodyCut, n.Status, http.StatusText(n.Status))
			}
			l.endBody(n.Link, n.Gen, err)
			l.releaseLongLived(n.Link, n.Gen)
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
		case fsm.NoteBaud:
			l.setPortBaud(*n)
		case fsm.NoteJoinFailed:
			ev := l.cfg.Log.Warn().Int("code", n.Status)
			if n.Dur > 0 {
				ev = ev.Dur("retry_in", n.Dur)
			}
			ev.Msg("joining the network failed; retrying")
		case fsm.NoteWifi:
			l.cfg.Log.Info().Bytes("event", n.Text).Msg("wifi")
		case fsm.NoteRejoin, fsm.NoteSetup, fsm.NoteJoinResult, fsm.NoteMDNS:
			l.wifiNote(n) // wifi.go
		case fsm.NoteATFailure:
			l.cfg.Log.Debug().Stringer("cmd", n.Cmd).Stringer("failure", n.Failure).Int("link", n.Link).Msg("AT failure")
		case fsm.NoteLinkOpen:
			l.cfg.Log.Debug().Int("link", n.Link).Msg("link open")
		case fsm.NoteLinkClosed:
			l.closeStream(n.Link, n.Gen)
			l.release(n.Link, n.Gen, handlers.ErrLinkClosed)
			l.endBody(n.Link, n.Gen, handlers.ErrLinkClosed)
			l.releaseLongLived(n.Link, n.Gen)
			if r := l.raw[n.Link]; r.in != nil && r.gen == n.Gen {
				l.raw[n.Link] = rawSink{}
				r.in(nil, true)
			}
			l.cfg.Log.Debug().Int("link", n.Link).Stringer("reason", n.Reason).Msg("link closed")
		}
		l.traceNote(now, *n)
		if l.cfg.Metrics != nil {
			l.cfg.Metrics.Observe(*n, now)
		}
		if l.cfg.Observe != nil {
			l.cfg.Observe(*n)
		}
	}
	if seen && l.cfg.Metrics != nil {
		l.cfg.Metrics.Links(l.m.LinkStates())
		l.cfg.Metrics.SendQueue(l.m.SendQueue())
	}
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
	if l.m.Streaming(link) {
		p := handlers.NewBodyPipe()
		l.bodies[link] = bodySink{gen: gen, p: p}
		req.BodyStream = p
	}
	a := &l.acc[link]
	if l.logsAccess() {
		a.start(gen, r.Method, r.Path, ip, port, l.cfg.Now())
	} else {
		a.valid = false
	}
	ok := l.call(w, req, func() { l.cfg.Handler.ServeModem(w, req) })
	if ok && w.IsDetached() {
		return // answered later through Detached.Respond
	}
	if a.valid {
		a.handled(l.cfg.Now())
	}
	l.respond(now, link, gen, w, ok)
}

// respond hands the answer in w to the machine; ok false means the
// handler panicked and a 500 goes out instead.
func (l *Loop) respond(now time.Time, link int, gen uint32, w *handlers.ResponseWriter, ok bool) {
	if !ok {
		if _, _, stream, _, _ := w.Parts(); stream != nil {
			closeIfCloser(stream)
		}
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
		if errors.Is(err, fsm.ErrStale) {
			l.cfg.Log.Debug().Int("link", link).Int("status", resp.Status).Msg("response dropped: the request was already answered or its link closed")
		} else {
			l.cfg.Log.Error().Err(err).Int("link", link).Int("status", resp.Status).Msg("response refused")
		}
		closeIfCloser(stream)
		return
	}
	if c, ok := stream.(io.Closer); ok {
		l.closers[link] = streamCloser{gen: gen, c: c}
	}
}

// streamCloser is a response stream that is an io.Closer (a file, say),
// closed when its response ends or its link closes.
type streamCloser struct {
	gen uint32
	c   io.Closer
}

// closeStream closes the stream of link's response (generation gen), if
// it has one to close.
func (l *Loop) closeStream(link int, gen uint32) {
	if s := l.closers[link]; s.c != nil && s.gen == gen {
		l.closers[link] = streamCloser{}
		s.c.Close()
	}
}

// closeStreams closes every stream still open when Run returns.
func (l *Loop) closeStreams() {
	for i, s := range l.closers {
		if s.c != nil {
			l.closers[i] = streamCloser{}
			s.c.Close()
		}
	}
}

// closeIfCloser closes r if it is an io.Closer.
func closeIfCloser(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
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

// post hands f to the loop; false means the request ended first and f
// will not run.
func (d *detached) post(f func(now time.Time)) bool {
	select {
	case d.l.posts <- f:
		return true
	case <-d.done:
		return false
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
		w.Resume()
		ok := l.call(w, nil, func() { fill(w) })
		if a := &l.acc[d.link]; a.valid {
			a.handled(l.cfg.Now())
		}
		l.respond(now, d.link, d.gen, w, ok)
		l.drain(now)
	})
}

// bodySink receives a link's streamed request body.
type bodySink struct {
	gen uint32
	p   *handlers.BodyPipe
}

// errAnsweredEarly ends a streamed body whose response went out (and
// whose link closes) before the body had all arrived.
var errAnsweredEarly = errors.New("loop: the response was sent before the request body ended")

// endBody ends the streamed body of link's request generation gen, if any.
func (l *Loop) endBody(link int, gen uint32, err error) {
	if b := l.bodies[link]; b.p != nil && b.gen == gen {
		l.bodies[link] = bodySink{}
		b.p.CloseWithError(err)
	}
}

// rawSink receives a hijacked link's input.
type rawSink struct {
	gen uint32
	in  func(data []byte, closed bool)
}

func (d *detached) Hijack(out io.Reader, in func(data []byte, closed bool)) {
	posted := d.post(func(now time.Time) {
		l := d.l
		if d.used || l.det[d.link] != d || l.m.LinkState(d.link) != fsm.LinkHandling {
			in(nil, true)
			return
		}
		d.used = true
		l.acc[d.link].handled(now)
		if !l.claimLongLived(d.link) { // a hijacked link is long-lived
			w := &l.w[d.link]
			w.Reset(nil)
			handlers.RefuseLongLived(w)
			l.respond(now, d.link, d.gen, w, true)
			in(nil, true)
			l.drain(now)
			return
		}
		l.raw[d.link] = rawSink{gen: d.gen, in: in}
		if err := l.m.Respond(now, d.link, d.gen, fsm.Response{Status: 200, Stream: out, Raw: true}); err != nil {
			l.raw[d.link] = rawSink{}
			in(nil, true)
		}
		l.drain(now)
	})
	if !posted {
		in(nil, true) // the link closed before the loop could take it
	}
}

// Wake never blocks: it marks the link and nudges the loop.
func (d *detached) Wake() {
	d.l.wakes[d.link].Store(1<<32 | uint64(d.gen))
	select {
	case d.l.wake <- struct{}{}:
	default:
	}
}

// longSlot records that a link's response holds a long-lived slot.
type longSlot struct {
	held bool
	gen  uint32
}

// claimLongLived reserves a long-lived slot for link's current response
// (handlers.ResponseWriter.LongLived); a link that holds one keeps it.
func (l *Loop) claimLongLived(link int) bool {
	gen := l.m.LinkGen(link)
	if s := l.long[link]; s.held && s.gen == gen {
		return true
	}
	if l.nlong >= l.maxLong || l.m.LinkState(link) != fsm.LinkHandling {
		return false
	}
	l.long[link] = longSlot{held: true, gen: gen}
	l.nlong++
	return true
}

// releaseLongLived frees link's slot when its response ends or it closes.
func (l *Loop) releaseLongLived(link int, gen uint32) {
	if s := l.long[link]; s.held && s.gen == gen {
		l.long[link] = longSlot{}
		l.nlong--
	}
}
