package port

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// bridge stands in for ser2net: it listens on loopback and hands over the
// first connection.
func bridge(t *testing.T) (name string, accepted <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return "tcp://" + ln.Addr().String(), ch
}

func openBridge(t *testing.T) (Port, net.Conn) {
	t.Helper()
	name, accepted := bridge(t)
	p, err := Open(name, 115200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	srv, ok := <-accepted
	if !ok {
		t.Fatal("bridge accepted nothing")
	}
	t.Cleanup(func() { srv.Close() })
	if p.Name() != name {
		t.Errorf("Name() = %q, want %q", p.Name(), name)
	}
	return p, srv
}

// allBytes is "\r\n" followed by every byte value.
func allBytes() []byte {
	b := []byte("\r\n")
	for i := range 256 {
		b = append(b, byte(i))
	}
	return b
}

// readN reads exactly n bytes from p, failing the test on any error.
func readN(t *testing.T, p Port, n int) []byte {
	t.Helper()
	got := make([]byte, 0, n)
	b := make([]byte, 64)
	for len(got) < n {
		ch := readAsync(p, b[:min(len(b), n-len(got))])
		r := await(t, ch, "reading data")
		if r.err != nil || r.n == 0 {
			t.Fatalf("Read after %d bytes = %d, %v", len(got), r.n, r.err)
		}
		got = append(got, b[:r.n]...)
	}
	return got
}

func TestTCPBridgeBothWays(t *testing.T) {
	p, srv := openBridge(t)
	want := allBytes()

	if _, err := srv.Write(want); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, p, len(want)); !bytes.Equal(got, want) {
		t.Errorf("port read %q, want %q", got, want)
	}

	if n, err := p.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(srv, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("bridge read %q, want %q", got, want)
	}

	if err := p.SetBaud(921600); err != nil {
		t.Errorf("SetBaud on a bridge = %v, want nil", err)
	}
}

func TestTCPBridgeClosedIsError(t *testing.T) {
	p, srv := openBridge(t)
	ch := readAsync(p, make([]byte, 8))
	srv.Close()
	r := await(t, ch, "after the bridge closed")
	if r.n != 0 || r.err == nil || errors.Is(r.err, ErrClosed) || !errors.Is(r.err, io.ErrUnexpectedEOF) {
		t.Errorf("Read = %d, %v; want an unexpected-EOF error, not ErrClosed", r.n, r.err)
	}
}

func TestTCPCloseUnblocksRead(t *testing.T) {
	p, _ := openBridge(t)
	ch := readAsync(p, make([]byte, 8))
	if err := p.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if r := await(t, ch, "after Close"); r.n != 0 || r.err != ErrClosed {
		t.Errorf("Read = %d, %v; want ErrClosed", r.n, r.err)
	}
}

func TestOpenTCPErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "tcp://" + ln.Addr().String()
	ln.Close()

	for _, name := range []string{refused, "tcp://127.0.0.1", "tcp://"} {
		p, err := Open(name, 115200)
		if err == nil {
			p.Close()
			t.Errorf("Open(%q) succeeded", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "port: open "+name+": ") {
			t.Errorf("Open(%q) error %q does not name the port", name, err)
		}
	}
}

func TestOpenUnsupportedScheme(t *testing.T) {
	if p, err := Open("rfc2217://host:2217", 115200); err == nil || !strings.Contains(err.Error(), `unsupported scheme "rfc2217"`) {
		if p != nil {
			p.Close()
		}
		t.Errorf("Open(rfc2217://...) = %v, want an unsupported-scheme error", err)
	}
}
