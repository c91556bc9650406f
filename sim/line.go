package sim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The line-rate model. Both directions carry baud/frameBits bytes per second
// (8N1: baud/10). Pacing keeps a "line free at" deadline per direction and
// chains it from chunk to chunk, so sleeping late never accumulates drift:
// over a second the throughput is the configured rate.

// rate is a UART configuration.
type rate struct {
	baud      int
	frameBits float64 // start + data + parity + stop bits
}

func (r rate) bytesPerSecond() float64 { return float64(r.baud) / r.frameBits }

// dur is the time n bytes take on the wire.
func (r rate) dur(n int) time.Duration {
	return time.Duration(float64(n) * r.frameBits * float64(time.Second) / float64(r.baud))
}

// chunk is how many bytes are moved per pacing step (about a millisecond).
func (r rate) chunk() int {
	n := int(r.bytesPerSecond() / 1000)
	return max(n, 1)
}

// txRing is the firmware's UART transmit buffer (§9: 2.x TX ring 2048 bytes).
// Unsolicited data is only printed while the untransmitted backlog is below it.
const txRing = 2048

// hostBufMax bounds the in-process host's unread bytes; beyond it the line
// stalls instead of losing data (like a pty's buffer).
const hostBufMax = 64 << 10

var errClosed = errors.New("sim: modem closed")

// transport is the far end of the modem's transmitter.
type transport interface {
	deliver(b []byte) error // blocks while the receiver cannot take more
	// hostBaud is the rate the host's receiver is set to (0: unknown).
	hostBaud() int
}

type txItem struct {
	b    []byte
	enq  time.Time
	rate *rate // non-nil: the line rate changes here
}

type line struct {
	m       *Modem
	unpaced bool
	precise bool // Config.PreciseTiming

	rmu sync.Mutex
	r   rate

	// modem -> host
	qmu     sync.Mutex
	q       []txItem
	backlog int   // queued bytes not yet transmitted
	queued  int64 // bytes ever queued
	qwake   chan struct{}
	sent    atomic.Int64 // bytes ever transmitted
	// delivering is set while a piece is being handed to the host and
	// not yet counted in sent.
	delivering atomic.Bool
	drained    chan struct{} // to the chip: the backlog fell below txRing

	// host -> modem; wtok serializes writers and guards rxFree.
	wtok   chan struct{}
	rxFree time.Time

	// hostRead counts the bytes the in-process host has read.
	hostRead atomic.Int64

	// txMis, rxMis: the last piece to or from the host was garbled.
	txMis, rxMis atomic.Bool
}

// rxChunk is host bytes that crossed the line. know is how many modem bytes
// the host had read when it wrote them: what it could know at the time.
type rxChunk struct {
	b       []byte
	know    int64
	garbled bool // sent at a rate the modem was not set to
}

func newLine(m *Modem, r rate, unpaced, precise bool) *line {
	return &line{
		m:       m,
		unpaced: unpaced,
		precise: precise,
		r:       r,
		qwake:   make(chan struct{}, 1),
		drained: make(chan struct{}, 1),
		wtok:    make(chan struct{}, 1),
	}
}

func (l *line) sleeper() sleeper {
	return sleeper{precise: l.precise, stats: l.m.stats}
}

func (l *line) rate() rate {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	return l.r
}

func (l *line) setRate(r rate) {
	l.rmu.Lock()
	l.r = r
	l.rmu.Unlock()
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// enqueue queues bytes for transmission and returns the queue offset just
// past them. Called by the chip only; never blocks.
func (l *line) enqueue(b []byte) int64 {
	if len(b) == 0 {
		return l.queuedOffset()
	}
	l.qmu.Lock()
	l.q = append(l.q, txItem{b: b, enq: time.Now()})
	l.backlog += len(b)
	l.queued += int64(len(b))
	end := l.queued
	l.qmu.Unlock()
	signal(l.qwake)
	return end
}

// enqueueRate changes the line rate once everything queued so far is out.
func (l *line) enqueueRate(r rate) {
	l.qmu.Lock()
	l.q = append(l.q, txItem{rate: &r, enq: time.Now()})
	l.qmu.Unlock()
	signal(l.qwake)
}

// applyRates takes the rate changes at the front of the queue. The modem
// switches once a reply is out: the host must not see the reply before the
// switch, or it could answer at the new rate to a modem still at the old.
func (l *line) applyRates() {
	for {
		l.qmu.Lock()
		if len(l.q) == 0 || l.q[0].rate == nil {
			l.qmu.Unlock()
			return
		}
		r := *l.q[0].rate
		l.q[0] = txItem{}
		l.q = l.q[1:]
		l.qmu.Unlock()
		l.setRate(r)
		l.m.trace.note(time.Now(), "line rate %d baud, %g bits per byte", r.baud, r.frameBits)
	}
}

func (l *line) queuedOffset() int64 {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	return l.queued
}

func (l *line) txBacklog() int {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	return l.backlog
}

// pop takes the next piece of at most limit bytes, or a rate change. last
// reports that the piece ends a chip write.
func (l *line) pop(limit func() int) (it txItem, last, ok bool) {
	for {
		l.qmu.Lock()
		if len(l.q) > 0 {
			front := &l.q[0]
			n := limit()
			if front.rate == nil && len(front.b) > n {
				it = txItem{b: front.b[:n], enq: front.enq}
				front.b = front.b[n:]
				l.qmu.Unlock()
				return it, false, true
			}
			it = *front
			l.q[0] = txItem{}
			l.q = l.q[1:]
			if len(l.q) == 0 {
				l.q = nil
			}
			l.qmu.Unlock()
			return it, true, true
		}
		l.qmu.Unlock()
		select {
		case <-l.qwake:
		case <-l.m.done:
			return txItem{}, false, false
		}
	}
}

// sleeper sleeps until deadlines, cancellable, and records how late it
// woke in the modem's pacing stats.
type sleeper struct {
	t       *time.Timer
	precise bool // Config.PreciseTiming
	stats   *statsBox
}

func (s *sleeper) until(at time.Time, cancel ...<-chan struct{}) bool {
	d := time.Until(at)
	if d <= 0 {
		if s.stats != nil {
			s.stats.late(-d)
		}
		return true
	}
	if s.precise {
		d -= preciseMargin
	}
	var c1, c2 <-chan struct{}
	if len(cancel) > 0 {
		c1 = cancel[0]
	}
	if len(cancel) > 1 {
		c2 = cancel[1]
	}
	if d > 0 {
		if s.t == nil {
			s.t = time.NewTimer(d)
		} else {
			s.t.Reset(d)
		}
		select {
		case <-s.t.C:
		case <-c1:
			s.t.Stop()
			return false
		case <-c2:
			s.t.Stop()
			return false
		}
	}
	if s.precise && !fineWait(at, c1, c2) {
		return false
	}
	if s.stats != nil {
		s.stats.late(time.Since(at))
	}
	return true
}

// txLoop transmits the queue to the transport at the line rate.
func (l *line) txLoop(t transport) {
	defer l.m.wg.Done()
	var (
		free  time.Time
		sl    = l.sleeper()
		trace []byte
	)
	limit := func() int {
		if l.unpaced {
			return 1 << 30
		}
		return l.rate().chunk()
	}
	for {
		it, last, ok := l.pop(limit)
		if !ok {
			return
		}
		if it.rate != nil {
			l.setRate(*it.rate)
			l.m.trace.note(time.Now(), "line rate %d baud, %g bits per byte", it.rate.baud, it.rate.frameBits)
			continue
		}
		n := len(it.b)
		r := l.rate()
		if !l.unpaced {
			base := free
			if it.enq.After(base) {
				base = it.enq
			}
			free = base.Add(r.dur(n))
			if !sl.until(free, l.m.done) {
				return
			}
		}
		b, garbled := it.b, false
		if host := t.hostBaud(); mismatch(r.baud, host) {
			b, garbled = garble(b), true
			l.noteMismatch(&l.txMis, true, "modem %d baud, host receives at %d: its bytes arrive garbled", r.baud, host)
		} else {
			l.noteMismatch(&l.txMis, false, "host receives at the modem's rate again")
		}
		if l.m.trace != nil {
			// recorded as it crosses the line, before the host can answer
			trace = append(trace, b...)
			if last {
				l.m.trace.record(dirToHost, trace, time.Now())
				trace = trace[:0]
			}
		}
		if last {
			l.applyRates()
		}
		l.delivering.Store(true)
		if err := t.deliver(b); err != nil {
			l.delivering.Store(false)
			return
		}
		l.sent.Add(int64(n))
		l.delivering.Store(false)
		l.m.stats.update(func(s *Stats) {
			s.BytesToHost += int64(n)
			if garbled {
				s.GarbledToHost += int64(n)
			}
		})
		l.qmu.Lock()
		l.backlog -= n
		below := l.backlog < txRing
		l.qmu.Unlock()
		if below {
			signal(l.drained)
		}
	}
}

// fromHost carries bytes written by the host to the chip at the line rate;
// it returns when the last byte has crossed the line. start is when the
// bytes became available to the transmitter, know what the host had read,
// hostBaud the rate the host sent them at (0: unknown).
func (l *line) fromHost(p []byte, start time.Time, know int64, hostBaud int, cancel <-chan struct{}) (int, error) {
	select {
	case l.wtok <- struct{}{}:
	case <-cancel:
		return 0, os.ErrClosed
	case <-l.m.done:
		return 0, io.ErrClosedPipe
	}
	defer func() { <-l.wtok }()
	var crossed []byte // for the trace: what the modem received
	deliver := func(b []byte, r rate, last bool) error {
		ch := rxChunk{b: append([]byte(nil), b...), know: know}
		if mismatch(hostBaud, r.baud) {
			ch.b, ch.garbled = garble(b), true
			l.noteMismatch(&l.rxMis, true, "host sends at %d baud, modem receives at %d: its bytes arrive garbled", hostBaud, r.baud)
		} else {
			l.noteMismatch(&l.rxMis, false, "host sends at the modem's rate again")
		}
		if l.m.trace != nil {
			crossed = append(crossed, ch.b...)
			if last {
				// recorded as it crosses the line, before the chip can answer
				l.m.trace.record(dirFromHost, crossed, time.Now())
			}
		}
		if ch.garbled {
			l.m.stats.update(func(s *Stats) { s.GarbledFromHost += int64(len(b)) })
		}
		select {
		case l.m.rxCh <- ch:
			return nil
		case <-cancel:
			return os.ErrClosed
		case <-l.m.done:
			return io.ErrClosedPipe
		}
	}
	if l.unpaced {
		if err := deliver(p, l.rate(), true); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	sl := l.sleeper()
	base := l.rxFree
	if start.After(base) {
		base = start
	}
	off := 0
	for off < len(p) {
		r := l.rate()
		n := min(r.chunk(), len(p)-off)
		base = base.Add(r.dur(n))
		l.rxFree = base
		if !sl.until(base, cancel, l.m.done) {
			return off, errClosed
		}
		if err := deliver(p[off:off+n], r, off+n == len(p)); err != nil {
			return off, err
		}
		off += n
	}
	return len(p), nil
}

// noteMismatch traces when a direction starts or stops being garbled.
func (l *line) noteMismatch(state *atomic.Bool, on bool, format string, args ...any) {
	if state.Swap(on) != on {
		l.m.trace.note(time.Now(), format, args...)
		l.m.logf("sim: "+format, args...)
	}
}

// hostEnd is the host side of the in-process serial line.
type hostEnd struct {
	l        *line
	baud     atomic.Int64 // the host's rate (SetBaud)
	mu       sync.Mutex
	buf      []byte
	closed   bool
	avail    chan struct{}
	space    chan struct{}
	closedCh chan struct{}
	once     sync.Once
}

func newHostEnd(l *line, baud int) *hostEnd {
	h := &hostEnd{
		l:        l,
		avail:    make(chan struct{}, 1),
		space:    make(chan struct{}, 1),
		closedCh: make(chan struct{}),
	}
	h.baud.Store(int64(baud))
	return h
}

// SetBaud sets the host's rate. Bytes cross the line correctly only while
// it is the modem's rate (within 3%); otherwise they arrive garbled.
func (h *hostEnd) SetBaud(baud int) error {
	if baud <= 0 {
		return fmt.Errorf("sim: invalid baud rate %d", baud)
	}
	h.baud.Store(int64(baud))
	return nil
}

func (h *hostEnd) hostBaud() int { return int(h.baud.Load()) }

// deliver hands transmitted bytes to the host; a closed host end loses them,
// like an unplugged line.
func (h *hostEnd) deliver(b []byte) error {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil
		}
		if len(h.buf) < hostBufMax {
			h.buf = append(h.buf, b...)
			h.mu.Unlock()
			signal(h.avail)
			return nil
		}
		h.mu.Unlock()
		select {
		case <-h.space:
		case <-h.closedCh:
		case <-h.l.m.done:
			return errClosed
		}
	}
}

// Read returns bytes the modem has transmitted, blocking until there are
// some. After the modem is closed it returns what is left, then io.EOF.
func (h *hostEnd) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return 0, os.ErrClosed
		}
		if len(h.buf) > 0 {
			n := copy(p, h.buf)
			h.buf = h.buf[n:]
			h.l.hostRead.Add(int64(n))
			h.mu.Unlock()
			signal(h.space)
			return n, nil
		}
		h.mu.Unlock()
		select {
		case <-h.avail:
		case <-h.closedCh:
		case <-h.l.m.done:
			h.mu.Lock()
			empty := len(h.buf) == 0
			h.mu.Unlock()
			if empty {
				return 0, io.EOF
			}
		}
	}
}

// Write sends bytes to the modem, returning once they have been transmitted.
func (h *hostEnd) Write(p []byte) (int, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return 0, os.ErrClosed
	}
	return h.l.fromHost(p, time.Now(), h.l.hostRead.Load(), h.hostBaud(), h.closedCh)
}

// Close closes the host end only; the modem keeps running.
func (h *hostEnd) Close() error {
	h.once.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.buf = nil
		h.mu.Unlock()
		close(h.closedCh)
	})
	return nil
}

// deadEnd is returned by Host when the modem uses another transport.
type deadEnd struct{ err error }

func (d deadEnd) Read([]byte) (int, error)  { return 0, d.err }
func (d deadEnd) Write([]byte) (int, error) { return 0, d.err }
func (d deadEnd) Close() error              { return nil }
