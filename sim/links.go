package sim

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Links are real TCP connections accepted on Config.Listen. Each has a
// reader goroutine (bounded by a receive window the chip grants as the host
// consumes data, so TCP back-pressure reaches the client) and a writer
// goroutine (CIPSEND payloads, in order). The chip owns everything else.

// rxWindow is the receive window per link (§6.3: 5760 bytes on ESP8266).
const rxWindow = 5760

// sndBuf is the 2.x TCP send buffer: SEND OK (hand-off) waits while more is
// unwritten (§6.2: ESP8266 2.2 SND_BUF 2880).
const sndBuf = 2880

// closeLinger bounds how long a gracefully closed link keeps draining the
// client before the socket is closed.
const closeLinger = 2 * time.Second

type linkEventKind int

const (
	evData    linkEventKind = iota // bytes from the client
	evEOF                          // the client closed or the connection failed
	evWritten                      // a write to the client finished
)

type linkEvent struct {
	l    *link
	kind linkEventKind
	data []byte
	n    int
	err  error
}

type wItem struct {
	b          []byte
	closeWrite bool
}

type link struct {
	m      *Modem
	id     int
	conn   *net.TCPConn
	ip     string
	port   int
	credit atomic.Int64
	wake   chan struct{} // credit granted
	quit   chan struct{} // closed when the connection is finished
	qonce  sync.Once

	closing chan struct{} // closed on a graceful close
	conce   sync.Once

	wmu   sync.Mutex
	wq    []wItem
	wwake chan struct{}

	// chip-owned
	buf          []byte // received, not yet printed or read
	framing      bool   // a frame is scheduled or queued
	notified     bool   // passive: a notification is queued or unanswered
	peerClosed   bool   // gone; only its CLOSED may still be pending
	closedQueued bool
	pendingOut   int // bytes handed to the writer, not yet written
	sends        int
	lastActive   time.Time
	stoGen       int
	stoAt        time.Time // when the pending idle check runs; zero: none
}

func newLink(m *Modem, id int, conn *net.TCPConn) *link {
	l := &link{
		m:       m,
		id:      id,
		conn:    conn,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		closing: make(chan struct{}),
		wwake:   make(chan struct{}, 1),
	}
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		l.ip = a.IP.String()
		if v4 := a.IP.To4(); v4 != nil {
			l.ip = v4.String()
		}
		l.port = a.Port
	}
	l.credit.Store(rxWindow)
	return l
}

func (l *link) start() {
	l.m.lmu.Lock()
	l.m.links[l] = struct{}{}
	l.m.lmu.Unlock()
	l.m.wg.Add(2)
	go l.readLoop()
	go l.writeLoop()
}

func (l *link) send(ev linkEvent) bool {
	select {
	case l.m.linkCh <- ev:
		return true
	case <-l.m.done:
		return false
	}
}

// grant returns n bytes of receive window to the reader.
func (l *link) grant(n int) {
	if n > 0 {
		l.credit.Add(int64(n))
		signal(l.wake)
	}
}

func (l *link) finish() {
	l.qonce.Do(func() {
		close(l.quit)
		_ = l.conn.Close()
		l.m.lmu.Lock()
		delete(l.m.links, l)
		l.m.lmu.Unlock()
	})
}

// abort resets the connection (RST).
func (l *link) abort() {
	_ = l.conn.SetLinger(0)
	l.finish()
}

// shutdown closes gracefully: queued writes go out, then FIN; the client is
// drained until it closes or closeLinger passes.
func (l *link) shutdown() {
	l.conce.Do(func() {
		close(l.closing)
		_ = l.conn.SetReadDeadline(time.Now().Add(closeLinger))
		l.wmu.Lock()
		l.wq = append(l.wq, wItem{closeWrite: true})
		l.wmu.Unlock()
		signal(l.wwake)
	})
}

func (l *link) enqueueWrite(b []byte) {
	l.wmu.Lock()
	l.wq = append(l.wq, wItem{b: b})
	l.wmu.Unlock()
	signal(l.wwake)
}

func (l *link) readLoop() {
	defer l.m.wg.Done()
	defer l.finish()
	buf := make([]byte, 4096)
	for {
		select {
		case <-l.closing:
			l.drain(buf)
			return
		case <-l.quit:
			return
		default:
		}
		c := l.credit.Load()
		if c <= 0 {
			select {
			case <-l.wake:
			case <-l.closing:
			case <-l.quit:
			}
			continue
		}
		n, err := l.conn.Read(buf[:min(int(c), len(buf))])
		if n > 0 {
			l.credit.Add(-int64(n))
			if !l.send(linkEvent{l: l, kind: evData, data: append([]byte(nil), buf[:n]...)}) {
				return
			}
		}
		if err != nil {
			select {
			case <-l.quit:
				return
			case <-l.closing:
				l.drain(buf)
				return
			default:
			}
			l.send(linkEvent{l: l, kind: evEOF, err: err})
			return
		}
	}
}

// drain discards client bytes after a graceful close until the client
// closes, the connection fails or the read deadline passes.
func (l *link) drain(buf []byte) {
	for {
		if _, err := l.conn.Read(buf); err != nil {
			return
		}
	}
}

func (l *link) writeLoop() {
	defer l.m.wg.Done()
	for {
		l.wmu.Lock()
		var it wItem
		ok := len(l.wq) > 0
		if ok {
			it = l.wq[0]
			l.wq[0] = wItem{}
			l.wq = l.wq[1:]
		}
		l.wmu.Unlock()
		if !ok {
			select {
			case <-l.wwake:
				continue
			case <-l.quit:
				return
			}
		}
		if it.closeWrite {
			_ = l.conn.CloseWrite()
			return
		}
		n, err := l.conn.Write(it.b)
		if !l.send(linkEvent{l: l, kind: evWritten, n: n, data: it.b, err: err}) || err != nil {
			return
		}
	}
}

func (m *Modem) acceptLoop() {
	defer m.wg.Done()
	for {
		conn, err := m.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-m.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			m.logf("sim: accept: %v", err)
			continue
		}
		select {
		case m.acceptCh <- conn:
		case <-m.done:
			_ = conn.Close()
			return
		}
	}
}

func reject(conn *net.TCPConn) {
	_ = conn.SetLinger(0)
	_ = conn.Close()
}

// Chip side.

// serving reports whether the module accepts clients now: a server runs
// (CIPMUX=1, CIPSERVER=1) and there is a network (station IP or soft AP).
func (c *chip) serving() bool {
	return c.ready && c.mux == 1 && c.server && c.netUp()
}

// accept takes a new client: lowest free id (§5), or a reset with nothing
// on the UART when no server runs or all links allowed are taken (Q13; the
// 2.x behaviour is undocumented and modelled the same).
func (c *chip) accept(conn *net.TCPConn) {
	if !c.serving() {
		reject(conn)
		c.m.stats.update(func(s *Stats) { s.ClientsRejected++ })
		c.m.logf("sim: client %v reset: no server", conn.RemoteAddr())
		return
	}
	used, id := 0, -1
	for i, l := range c.links {
		if l != nil {
			used++
		} else if id < 0 {
			id = i
		}
	}
	if id < 0 || used >= c.maxConn {
		reject(conn)
		c.m.stats.update(func(s *Stats) { s.ClientsRejected++ })
		c.m.logf("sim: client %v reset: %d links in use", conn.RemoteAddr(), used)
		return
	}
	_ = conn.SetNoDelay(true) // §7.2: Nagle off on accepted links
	l := newLink(c.m, id, conn)
	c.links[id] = l
	c.hadLink = true
	l.start()
	c.m.stats.update(func(s *Stats) { s.LinksServed++ })
	c.touch(l)
	c.queueLink(aConnect, l, nil)
}

func (c *chip) connectLine(l *link) string {
	if c.sysmsg&2 != 0 {
		return fmt.Sprintf("+LINK_CONN:0,%d,\"TCP\",1,\"%s\",%d,%d\r\n", l.id, l.ip, l.port, c.serverPort)
	}
	return fmt.Sprintf("%d,CONNECT\r\n", l.id)
}

func (c *chip) live(l *link) bool { return l != nil && c.links[l.id] == l }

func (c *chip) linkEvent(ev linkEvent) {
	l := ev.l
	switch ev.kind {
	case evData:
		if !c.live(l) || l.peerClosed {
			return
		}
		c.m.stats.update(func(s *Stats) { s.ClientBytesIn += int64(len(ev.data)) })
		l.buf = append(l.buf, ev.data...)
		c.touch(l)
		if c.dGlue.roll() {
			// The client closes right after its data: CLOSED follows the
			// last payload byte with no separator (Q10, Q11).
			c.m.stats.fault(FaultGlueClosed)
			l.abort()
			l.peerClosed = true
		}
		c.pump(l)
	case evEOF:
		if !c.live(l) || l.peerClosed {
			return
		}
		l.peerClosed = true
		l.finish()
		c.linkLost(l)
	case evWritten:
		c.m.stats.update(func(s *Stats) { s.ClientBytesOut += int64(ev.n) })
		if !c.live(l) {
			return
		}
		l.pendingOut -= len(ev.data)
		if ev.err != nil && !l.peerClosed {
			l.peerClosed = true
			l.abort()
			c.linkLost(l)
			return
		}
		c.sendWritten(l)
	}
}

// linkLost handles a link that died under a pending send (§7.3) or idle.
func (c *chip) linkLost(l *link) {
	if s := c.send; s != nil && s.l == l && c.busy == busySend && !s.handedOff {
		c.sendDead(s)
		return
	}
	c.pump(l)
}

// pump moves a link's received data on: active mode frames it after the
// +IPD delay, passive mode notifies; once everything is out, a link that is
// gone gets its CLOSED.
func (c *chip) pump(l *link) {
	if !c.live(l) || l.framing {
		return
	}
	if len(l.buf) > 0 {
		if c.recvMode == 1 {
			if !l.notified {
				l.notified = true
				c.queueLink(aNotify, l, nil)
			}
			return
		}
		l.framing = true
		c.after(c.t.IPD, func() { c.cutFrame(l) })
		return
	}
	if l.peerClosed && !l.closedQueued {
		l.closedQueued = true
		c.queueLink(aClosed, l, nil)
	}
}

func (c *chip) cutFrame(l *link) {
	if !c.live(l) {
		return
	}
	if c.recvMode == 1 || len(l.buf) == 0 {
		l.framing = false
		c.pump(l)
		return
	}
	n := min(len(l.buf), c.cfg.MaxIPD)
	data := append([]byte(nil), l.buf[:n]...)
	l.buf = append(l.buf[:0], l.buf[n:]...)
	c.queueLink(aFrame, l, data)
}

func (c *chip) emitFrame(l *link, data []byte) {
	hdr := c.p.ipdHeader(l.id, len(data), c.dinfo, l.ip, l.port)
	start := c.m.line.queuedOffset()
	if c.write(hdr + string(data)); c.firstFault >= 0 && c.firstFault < start+int64(len(hdr)) {
		c.idFaultAt = c.firstFault // the header: its link id may have changed
	}
	c.m.stats.update(func(s *Stats) { s.IPDFrames++ })
	l.grant(len(data))
	l.framing = false
	c.pump(l)
}

func (c *chip) emitNotify(l *link) {
	if !c.live(l) || len(l.buf) == 0 {
		l.notified = false
		return
	}
	c.write(fmt.Sprintf("\r\n+IPD,%d,%d\r\n", l.id, len(l.buf)))
	c.m.stats.update(func(s *Stats) { s.IPDFrames++ })
}

func (c *chip) emitClosed(l *link) {
	if !c.live(l) {
		return
	}
	c.writeClosed(l)
}

// writeClosed prints "<id>,CLOSED" now and frees the id.
func (c *chip) writeClosed(l *link) {
	end := c.write(fmt.Sprintf("%d,CLOSED\r\n", l.id))
	c.links[l.id] = nil
	c.goneAt[l.id] = end
	c.dropAsync(l, true)
}

// closeByHost closes a link for AT+CIPCLOSE, AT+CIPSERVER=0, AT+RESTORE:
// "<id>,CLOSED" inline, the socket closed gracefully.
func (c *chip) closeByHost(l *link) {
	if !l.peerClosed {
		l.shutdown()
	}
	l.peerClosed = true
	c.writeClosed(l)
}

// kill ends a link from the module's side (Wi-Fi loss, idle timeout,
// vanish): the client is reset or closed, unprinted data is lost, and
// "<id>,CLOSED" is queued.
func (c *chip) kill(l *link, graceful bool) {
	if graceful {
		l.shutdown()
	} else {
		l.abort()
	}
	l.peerClosed = true
	c.dropAsync(l, false)
	l.buf = nil
	l.framing = false
	c.linkLost(l)
}

// touch records link activity for the idle timeout (AT+CIPSTO).
func (c *chip) touch(l *link) {
	l.lastActive = time.Now()
	c.armSTO(l)
}

// armSTO makes sure an idle check runs when the link has been idle for
// AT+CIPSTO. One check is pending per link at most: activity only moves
// lastActive, and a check that finds the link active again re-arms, so a
// busy link does not pile up a timer per send.
func (c *chip) armSTO(l *link) {
	if c.sto <= 0 || l.peerClosed {
		l.stoGen++ // cancels the pending check
		l.stoAt = time.Time{}
		return
	}
	at := l.lastActive.Add(time.Duration(c.sto) * time.Second)
	if !l.stoAt.IsZero() && !at.Before(l.stoAt) {
		return // the pending check comes first
	}
	l.stoGen++
	l.stoAt = at
	gen := l.stoGen
	c.after(time.Until(at), func() {
		if gen != l.stoGen {
			return
		}
		l.stoAt = time.Time{}
		if !c.live(l) || l.peerClosed {
			return
		}
		if time.Now().Before(l.lastActive.Add(time.Duration(c.sto) * time.Second)) {
			c.armSTO(l) // active since: check again later
			return
		}
		if s := c.send; s != nil && s.l == l {
			c.touch(l) // not while a send on the link is in progress
			return
		}
		c.m.logf("sim: link %d idle for %d s: closed", l.id, c.sto)
		c.kill(l, true)
	})
}

// wifiLost drops the station: "WIFI DISCONNECT" and every link closed
// (links are not tracked per interface).
func (c *chip) wifiLost(inline bool) {
	c.assoc = false
	if inline {
		c.write(msgWifiDisc)
	} else {
		c.queueText(msgWifiDisc)
	}
	for _, l := range c.links {
		if l == nil || l.peerClosed {
			continue
		}
		if inline {
			l.abort()
			l.peerClosed = true
			c.writeClosed(l)
		} else {
			c.kill(l, false)
		}
	}
}

// wifiDrop is the Wi-Fi fault: lost, then back after Timing.AutoConnect.
func (c *chip) wifiDrop() { c.dropWiFi(0, true) }

// dropWiFi takes the access point away for outage (Q23): an associated
// station prints WIFI DISCONNECT and loses every link; once the access
// point is back the station reconnects by itself Timing.AutoConnect later
// if reconnect is set (unless the host joined or left meanwhile).
func (c *chip) dropWiFi(outage time.Duration, reconnect bool) {
	c.apBackAt = time.Now().Add(outage)
	c.wifiGen++
	if c.assoc {
		c.wifiLost(false)
	}
	if !reconnect {
		return
	}
	gen := c.wifiGen
	c.after(outage+c.t.AutoConnect, func() {
		if gen != c.wifiGen || c.assoc || !c.staEnabled() || c.apGone() {
			return
		}
		c.assoc = true
		c.hadLink = false
		c.queueText(msgWifiConn)
		c.queueText(msgWifiIP)
	})
}

// networkCheck closes every link when no network is left (mode change).
func (c *chip) networkCheck() {
	if c.netUp() {
		return
	}
	for _, l := range c.links {
		if l != nil && !l.peerClosed {
			c.kill(l, false)
		}
	}
}
