package sim

import (
	"errors"
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
	sent    atomic.Int64  // bytes ever transmitted
	drained chan struct{} // to the chip: the backlog fell below txRing

	// host -> modem; wtok serializes writers and guards rxFree.
	wtok   chan struct{}
	rxFree time.Time

	// hostRead counts the bytes the in-process host has read.
	hostRead atomic.Int64
}

// rxChunk is host bytes that crossed the line. know is how many modem bytes
// the host had read when it wrote them: what it could know at the time.
type rxChunk struct {
	b    []byte
	know int64
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
		if !l.unpaced {
			base := free
			if it.enq.After(base) {
				base = it.enq
			}
			free = base.Add(l.rate().dur(n))
			if !sl.until(free, l.m.done) {
				return
			}
		}
		if l.m.trace != nil {
			// recorded as it crosses the line, before the host can answer
			trace = append(trace, it.b...)
			if last {
				l.m.trace.record(dirToHost, trace, time.Now())
				trace = trace[:0]
			}
		}
		if err := t.deliver(it.b); err != nil {
			return
		}
		l.sent.Add(int64(n))
		l.m.stats.update(func(s *Stats) { s.BytesToHost += int64(n) })
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
// bytes became available to the transmitter, know what the host had read.
func (l *line) fromHost(p []byte, start time.Time, know int64, cancel <-chan struct{}) (int, error) {
	select {
	case l.wtok <- struct{}{}:
	case <-cancel:
		return 0, os.ErrClosed
	case <-l.m.done:
		return 0, io.ErrClosedPipe
	}
	defer func() { <-l.wtok }()
	deliver := func(b []byte) error {
		select {
		case l.m.rxCh <- rxChunk{b: b, know: know}:
			return nil
		case <-cancel:
			return os.ErrClosed
		case <-l.m.done:
			return io.ErrClosedPipe
		}
	}
	if l.unpaced {
		l.m.trace.record(dirFromHost, p, time.Now())
		if err := deliver(append([]byte(nil), p...)); err != nil {
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
		if off+n == len(p) {
			// recorded as it crosses the line, before the chip can answer
			l.m.trace.record(dirFromHost, p, time.Now())
		}
		if err := deliver(append([]byte(nil), p[off:off+n]...)); err != nil {
			return off, err
		}
		off += n
	}
	return len(p), nil
}

// hostEnd is the host side of the in-process serial line.
type hostEnd struct {
	l        *line
	mu       sync.Mutex
	buf      []byte
	closed   bool
	avail    chan struct{}
	space    chan struct{}
	closedCh chan struct{}
	once     sync.Once
}

func newHostEnd(l *line) *hostEnd {
	return &hostEnd{
		l:        l,
		avail:    make(chan struct{}, 1),
		space:    make(chan struct{}, 1),
		closedCh: make(chan struct{}),
	}
}

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
	return h.l.fromHost(p, time.Now(), h.l.hostRead.Load(), h.closedCh)
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
