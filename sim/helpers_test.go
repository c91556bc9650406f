package sim

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitLimit bounds every wait in the tests; nothing here should take long.
const waitLimit = 5 * time.Second

// newTestModem starts an unpaced modem on a free port unless cfg says
// otherwise, and closes it when the test ends.
func newTestModem(t testing.TB, cfg Config) *Modem {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// stamp records when the host had received n bytes in all.
type stamp struct {
	t time.Time
	n int
}

// host plays the host side of the serial line.
type host struct {
	t      testing.TB
	m      *Modem
	rw     io.ReadWriteCloser
	mu     sync.Mutex
	buf    []byte // received, not yet consumed
	all    []byte // everything received
	stamps []stamp
	err    error
	notify chan struct{}
	exited chan struct{}
}

func newHost(t testing.TB, m *Modem, rw io.ReadWriteCloser) *host {
	h := &host{t: t, m: m, rw: rw, notify: make(chan struct{}, 1), exited: make(chan struct{})}
	go func() {
		defer close(h.exited)
		b := make([]byte, 4096)
		for {
			n, err := rw.Read(b)
			h.mu.Lock()
			h.buf = append(h.buf, b[:n]...)
			h.all = append(h.all, b[:n]...)
			if n > 0 {
				h.stamps = append(h.stamps, stamp{time.Now(), len(h.all)})
			}
			if err != nil {
				h.err = err
			}
			h.mu.Unlock()
			signal(h.notify)
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = rw.Close()
		<-h.exited
	})
	return h
}

// startHost creates a modem, attaches the in-process host and consumes the
// boot.
func startHost(t testing.TB, cfg Config) *host {
	t.Helper()
	m := newTestModem(t, cfg)
	h := newHost(t, m, m.Host())
	h.boot()
	return h
}

// startPTYHost is startHost over the pseudo-terminal transport.
func startPTYHost(t testing.TB, cfg Config) *host {
	t.Helper()
	m := newTestModem(t, cfg)
	path, err := m.OpenPTY("")
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, m, openSlave(t, path))
	h.boot()
	return h
}

func (h *host) send(s string) {
	h.t.Helper()
	if _, err := h.rw.Write([]byte(s)); err != nil {
		h.t.Fatalf("write %q: %v", s, err)
	}
}

// waitFor waits until cond holds on the unconsumed bytes.
func (h *host) waitFor(what string, cond func(b []byte) bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		h.mu.Lock()
		ok := cond(h.buf)
		b := string(h.buf)
		err := h.err
		h.mu.Unlock()
		if ok {
			return
		}
		if err != nil {
			h.t.Fatalf("waiting for %s: line ended (%v); have %q", what, err, b)
		}
		select {
		case <-h.notify:
		case <-time.After(time.Until(deadline)):
			h.t.Fatalf("waiting for %s: timeout; have %q", what, b)
		}
	}
}

// expect consumes exactly want.
func (h *host) expect(want string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%q", want), func(b []byte) bool {
		return len(b) >= len(want) || !strings.HasPrefix(want, string(b))
	})
	h.mu.Lock()
	got := string(h.buf[:min(len(want), len(h.buf))])
	rest := string(h.buf)
	if got == want {
		h.buf = h.buf[len(want):]
	}
	h.mu.Unlock()
	if got != want {
		h.t.Fatalf("got  %q\nwant %q", rest, want)
	}
}

// until consumes up to and including sub and returns what came before it.
func (h *host) until(sub string) string {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%q", sub), func(b []byte) bool { return bytes.Contains(b, []byte(sub)) })
	h.mu.Lock()
	defer h.mu.Unlock()
	i := bytes.Index(h.buf, []byte(sub))
	before := string(h.buf[:i])
	h.buf = h.buf[i+len(sub):]
	return before
}

// take consumes n bytes.
func (h *host) take(n int) []byte {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d bytes", n), func(b []byte) bool { return len(b) >= n })
	h.mu.Lock()
	defer h.mu.Unlock()
	out := bytes.Clone(h.buf[:n])
	h.buf = h.buf[n:]
	return out
}

// quiet asserts that nothing more arrives for d.
func (h *host) quiet(d time.Duration) {
	h.t.Helper()
	time.Sleep(d)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.buf) > 0 {
		h.t.Fatalf("unexpected output %q", h.buf)
	}
}

// settle discards output until the line has been quiet for d.
func (h *host) settle(d time.Duration) {
	h.t.Helper()
	for {
		h.mu.Lock()
		n := len(h.all)
		h.mu.Unlock()
		time.Sleep(d)
		h.mu.Lock()
		quiet := len(h.all) == n
		if quiet {
			h.buf = h.buf[:0]
		}
		h.mu.Unlock()
		if quiet {
			return
		}
	}
}

func (h *host) transcript() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.all)
}

// boot consumes boot garbage and "ready" and checks the garbage (§3.1).
func (h *host) boot() {
	h.t.Helper()
	g := h.until(msgReady)
	checkGarbage(h.t, g)
}

func checkGarbage(t testing.TB, g string) {
	t.Helper()
	if len(g) < 50 || len(g) > 300 {
		t.Fatalf("boot garbage is %d bytes, want 50-300: %q", len(g), g)
	}
	for _, c := range []byte(strings.ReplaceAll(g, "\r\n", "")) {
		if c < 0x80 {
			t.Fatalf("boot garbage has ASCII byte %#x: %q", c, g)
		}
	}
}

// cmd sends a command line and expects the exact reply.
func (h *host) cmd(line, want string) {
	h.t.Helper()
	h.send(line)
	h.expect(want)
}

// setBaud sets the host's rate, on the pty or on the in-process end.
func (h *host) setBaud(baud int) {
	h.t.Helper()
	switch rw := h.rw.(type) {
	case *os.File:
		setSpeed(h.t, rw, baud)
	case interface{ SetBaud(int) error }:
		if err := rw.SetBaud(baud); err != nil {
			h.t.Fatal(err)
		}
	default:
		h.t.Fatalf("cannot set the rate of %T", h.rw)
	}
}

// echoOff turns echo off, expecting each profile's echo of ATE0 (§2.3).
func (h *host) echoOff() {
	h.t.Helper()
	if h.m.cfg.Profile == ESPAT {
		h.cmd("ATE0\r\n", "ATE0\r\n"+msgOK)
	} else {
		h.cmd("ATE0\r\n", "ATE0\r\r\n"+msgOK)
	}
}

// server runs ATE0, CIPMUX=1, CIPSERVER=1,80.
func (h *host) server() {
	h.t.Helper()
	h.echoOff()
	h.cmd("AT+CIPMUX=1\r\n", msgOK)
	h.cmd("AT+CIPSERVER=1,80\r\n", msgOK)
}

// noViolations fails the test if the host broke the protocol.
func noViolations(t testing.TB, m *Modem) {
	t.Helper()
	if v := m.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
}

// wantViolations checks the violations counted, by kind.
func wantViolations(t testing.TB, m *Modem, want map[ViolationKind]int) {
	t.Helper()
	got := m.Stats().ViolationsByKind
	for k, n := range want {
		if got[k] != n {
			t.Errorf("violations %s = %d, want %d (all: %v)", k, got[k], n, m.Violations())
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok && n != 0 {
			t.Errorf("unexpected violations %s = %d: %v", k, n, m.Violations())
		}
	}
}

// dial connects a TCP client and waits for its CONNECT line.
func (h *host) dial(id int) *net.TCPConn {
	h.t.Helper()
	c := dialRaw(h.t, h.m)
	h.expect(fmt.Sprintf("%d,CONNECT\r\n", id))
	return c
}

func dialRaw(t testing.TB, m *Modem) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, m.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dialReset connects a client the modem should reset at once: the dial
// itself may fail, or the first read does.
func dialReset(t testing.TB, m *Modem) {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, m.Addr().(*net.TCPAddr))
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	if n, err := c.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Fatalf("client not reset: read %d, %v", n, err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("client not reset: still open")
	}
}

// chipState runs f on the chip goroutine.
func chipState[T any](m *Modem, f func(c *chip) T) T {
	var v T
	m.control(func(c *chip) { v = f(c) })
	return v
}

// waitChip waits until cond holds on the chip.
func waitChip(t testing.TB, m *Modem, what string, cond func(c *chip) bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !chipState(m, cond) {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readAll reads from a client until EOF or error.
func readAll(t testing.TB, c net.Conn) ([]byte, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	return io.ReadAll(c)
}

// readN reads exactly n bytes from a client.
func readN(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("client read: %v (got %q)", err, b)
	}
	return b
}

func profiles() []Profile { return []Profile{NonOS, ESPAT} }

// pick returns a for NonOS and b for ESPAT.
func pick(p Profile, a, b string) string {
	if p == ESPAT {
		return b
	}
	return a
}
