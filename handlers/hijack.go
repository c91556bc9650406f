package handlers

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// maxHijackedInput bounds what a hijacked link may hold unread before the
// link is closed.
const maxHijackedInput = 1 << 20

// linkConn is a hijacked link as a net.Conn. Writes go out through a pipe
// the loop drains; the loop delivers the client's bytes with deliver.
type linkConn struct {
	d      Detached
	out    *pipe
	remote net.Addr

	mu       sync.Mutex
	cond     *sync.Cond
	in       []byte
	eof      bool // the link closed
	closed   bool // Close was called
	readDL   time.Time
	readWake *time.Timer
}

func newLinkConn(d Detached, remote net.Addr) *linkConn {
	c := &linkConn{d: d, out: newPipe(d), remote: remote}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// deliver runs on the loop: data is a view, copied here.
func (c *linkConn) deliver(data []byte, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.in)+len(data) > maxHijackedInput {
		closed = true // the application stopped reading: give up the link
		c.out.close(errors.New("handlers: hijacked link input overrun"))
	} else {
		c.in = append(c.in, data...)
	}
	if closed {
		c.eof = true
		c.out.close(io.ErrClosedPipe)
	}
	c.cond.Broadcast()
}

func (c *linkConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.in) == 0 {
		switch {
		case c.closed:
			return 0, net.ErrClosed
		case c.eof:
			return 0, io.EOF
		case !c.readDL.IsZero() && !time.Now().Before(c.readDL):
			return 0, os.ErrDeadlineExceeded
		}
		c.cond.Wait()
	}
	n := copy(b, c.in)
	c.in = c.in[:copy(c.in, c.in[n:])]
	return n, nil
}

func (c *linkConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	return c.out.write(b)
}

// Close sends what was written, then closes the link.
func (c *linkConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	if c.readWake != nil {
		c.readWake.Stop()
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	c.out.close(nil)
	return nil
}

func (c *linkConn) LocalAddr() net.Addr  { return modemAddr{} }
func (c *linkConn) RemoteAddr() net.Addr { return c.remote }

func (c *linkConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *linkConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDL = t
	if c.readWake != nil {
		c.readWake.Stop()
		c.readWake = nil
	}
	if !t.IsZero() {
		c.readWake = time.AfterFunc(time.Until(t), func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
	}
	return nil
}

// SetWriteDeadline bounds how long a Write may wait for the modem.
func (c *linkConn) SetWriteDeadline(t time.Time) error {
	c.out.setDeadline(t)
	return nil
}

// modemAddr is the modem's side of a link: its address is the modem's.
type modemAddr struct{}

func (modemAddr) Network() string { return "tcp" }
func (modemAddr) String() string  { return "modem" }

// remoteTCPAddr is the client's address as the modem reported it.
func remoteTCPAddr(r *Request) net.Addr {
	ip := net.ParseIP(string(r.RemoteIP))
	if ip == nil {
		return &net.TCPAddr{}
	}
	return &net.TCPAddr{IP: ip, Port: r.RemotePort}
}

// Hijack hands the link to the handler (http.Hijacker): a WebSocket
// library written for net/http works over the modem. Bytes the client sent
// after its request are the conn's first input.
func (g *gatewayWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if g.started {
		return nil, nil, errors.New("handlers: Hijack after the response started")
	}
	g.started, g.hijacked = true, true
	c := newLinkConn(g.d, g.remote)
	if g.switching { // the handler wrote 101 first: send that head now
		head := []byte("HTTP/1.1 101 Switching Protocols\r\n")
		for key, values := range g.header {
			if !validHeader(key) {
				continue
			}
			for _, v := range values {
				if validHeader(v) {
					head = append(append(append(append(head, key...), ": "...), v...), "\r\n"...)
				}
			}
		}
		c.out.write(append(head, "\r\n"...))
	}
	g.long.Store(true)
	g.d.Hijack(c.out, c.deliver)
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

func (p *pipe) setDeadline(t time.Time) {
	p.mu.Lock()
	p.deadline = t
	if p.dlTimer != nil {
		p.dlTimer.Stop()
		p.dlTimer = nil
	}
	if !t.IsZero() {
		p.dlTimer = time.AfterFunc(time.Until(t), func() {
			p.mu.Lock()
			p.cond.Broadcast()
			p.mu.Unlock()
		})
	}
	p.mu.Unlock()
}
