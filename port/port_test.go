package port

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// step is one scripted result of a raw Read or Write.
type step struct {
	data string // for Read: the bytes returned; for Write: ignored
	n    int    // for Write: how many bytes to accept (capped at len(b))
	err  error
}

// scripted is a line whose reads and writes follow a script. Once the read
// script runs out, Read fails the test.
type scripted struct {
	t      *testing.T
	reads  []step
	writes []step
	wrote  bytes.Buffer
	baud   int
	closed bool
}

func (s *scripted) Read(b []byte) (int, error) {
	if len(s.reads) == 0 {
		s.t.Fatal("Read called after the script ran out")
	}
	st := s.reads[0]
	s.reads = s.reads[1:]
	return copy(b, st.data), st.err
}

func (s *scripted) Write(b []byte) (int, error) {
	if len(s.writes) == 0 {
		s.t.Fatal("Write called after the script ran out")
	}
	st := s.writes[0]
	s.writes = s.writes[1:]
	n := min(st.n, len(b))
	s.wrote.Write(b[:n])
	return n, st.err
}

func (s *scripted) Close() error { s.closed = true; return nil }

func (s *scripted) SetBaud(baud int) error {
	if baud == 666 {
		return errors.New("rate refused")
	}
	s.baud = baud
	return nil
}

// plain is a stream without SetBaud.
type plain struct{ io.ReadWriteCloser }

func TestReadSkipsTimeouts(t *testing.T) {
	for _, eofTimeout := range []bool{false, true} {
		reads := []step{{err: nil}, {err: nil}, {data: "OK\r\n"}}
		if eofTimeout {
			reads = []step{{err: io.EOF}, {err: nil}, {err: io.EOF}, {data: "OK\r\n"}}
		}
		c := &conn{name: "fake", line: wrapped{&scripted{t: t, reads: reads}}, eofTimeout: eofTimeout}
		b := make([]byte, 16)
		n, err := c.Read(b)
		if err != nil || string(b[:n]) != "OK\r\n" {
			t.Errorf("eofTimeout=%v: Read = %d, %v (%q), want 4 bytes OK\\r\\n", eofTimeout, n, err, b[:n])
		}
	}
}

func TestReadDataThenError(t *testing.T) {
	tests := []struct {
		name       string
		eofTimeout bool
		reads      []step
		wantErr    error // from the second Read; nil: it returns data
	}{
		{"EIO with data", true, []step{{data: "ab", err: syscall.EIO}}, syscall.EIO},
		{"EOF with data on a stream", false, []step{{data: "ab", err: io.EOF}}, io.ErrUnexpectedEOF},
		{"EOF with data from tarm is a timeout", true, []step{{data: "ab", err: io.EOF}, {err: io.EOF}, {data: "c"}}, nil},
	}
	for _, tt := range tests {
		c := &conn{name: "/dev/fake", line: wrapped{&scripted{t: t, reads: tt.reads}}, eofTimeout: tt.eofTimeout}
		b := make([]byte, 16)
		n, err := c.Read(b)
		if err != nil || string(b[:n]) != "ab" {
			t.Errorf("%s: first Read = %d, %v, want the 2 bytes and no error", tt.name, n, err)
			continue
		}
		n, err = c.Read(b)
		if tt.wantErr == nil {
			if err != nil || string(b[:n]) != "c" {
				t.Errorf("%s: second Read = %d, %v, want 1 byte", tt.name, n, err)
			}
			continue
		}
		if n != 0 || !errors.Is(err, tt.wantErr) || errors.Is(err, ErrClosed) {
			t.Errorf("%s: second Read = %d, %v, want 0 and an error wrapping %v", tt.name, n, err, tt.wantErr)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "port: read /dev/fake: ") {
			t.Errorf("%s: error %q does not name the operation and the port", tt.name, err)
		}
	}
}

func TestReadEmptyBuffer(t *testing.T) {
	c := &conn{name: "fake", line: wrapped{&scripted{t: t}}}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v, want 0, nil without touching the line", n, err)
	}
}

func TestWritePartial(t *testing.T) {
	msg := "AT+CIPSEND=0,12\r\n"
	s := &scripted{t: t, writes: []step{{n: 3}, {n: 5}, {n: 1}, {n: 100}}}
	c := &conn{name: "fake", line: wrapped{s}}
	n, err := c.Write([]byte(msg))
	if n != len(msg) || err != nil || s.wrote.String() != msg {
		t.Errorf("Write = %d, %v, line got %q; want %d, nil, %q", n, err, s.wrote.String(), len(msg), msg)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		writes  []step
		wantN   int
		wantErr error
	}{
		{"no progress", []step{{n: 2}, {n: 0}}, 2, io.ErrShortWrite},
		{"error after some bytes", []step{{n: 4}, {n: 1, err: syscall.EIO}}, 5, syscall.EIO},
		{"broken pipe", []step{{n: 0, err: syscall.EPIPE}}, 0, syscall.EPIPE},
	}
	for _, tt := range tests {
		c := &conn{name: "fake", line: wrapped{&scripted{t: t, writes: tt.writes}}}
		n, err := c.Write([]byte("0123456789"))
		if n != tt.wantN || !errors.Is(err, tt.wantErr) || !strings.HasPrefix(err.Error(), "port: write fake: ") {
			t.Errorf("%s: Write = %d, %v; want %d and a port error wrapping %v", tt.name, n, err, tt.wantN, tt.wantErr)
		}
	}
}

func TestWrapSetBaud(t *testing.T) {
	s := &scripted{t: t}
	p := Wrap(s, "emu")
	if err := p.SetBaud(921600); err != nil || s.baud != 921600 {
		t.Errorf("SetBaud(921600) = %v, stream got %d; want it forwarded", err, s.baud)
	}
	if err := p.SetBaud(666); err == nil || !strings.Contains(err.Error(), "rate refused") {
		t.Errorf("SetBaud(666) = %v, want the stream's error", err)
	}
	a, b := net.Pipe()
	defer b.Close()
	q := Wrap(plain{a}, "pipe")
	if err := q.SetBaud(921600); err != nil {
		t.Errorf("SetBaud on a stream without SetBaud = %v, want nil", err)
	}
	if q.Name() != "pipe" || p.Name() != "emu" {
		t.Errorf("Name() = %q, %q; want pipe, emu", q.Name(), p.Name())
	}
	q.Close()
	if err := q.SetBaud(9600); err != ErrClosed {
		t.Errorf("SetBaud after Close = %v, want ErrClosed", err)
	}
}

// readRet is what a Read returned, for tests that read in a goroutine.
type readRet struct {
	n   int
	err error
}

func readAsync(p Port, b []byte) <-chan readRet {
	ch := make(chan readRet, 1)
	go func() {
		n, err := p.Read(b)
		ch <- readRet{n, err}
	}()
	return ch
}

// await returns what the Read behind ch returned, failing the test if that
// takes more than 2 s (a bound for hangs, not a performance check).
func await(t *testing.T, ch <-chan readRet, what string) readRet {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(2 * time.Second):
		t.Fatalf("%s: Read still blocked after 2s", what)
		return readRet{}
	}
}

func TestWrapPipe(t *testing.T) {
	host, emu := net.Pipe()
	defer emu.Close()
	p := Wrap(host, "emu")
	defer p.Close()

	go emu.Write([]byte("\r\nready\r\n"))
	got := make([]byte, 0, 9)
	b := make([]byte, 4)
	for len(got) < 9 {
		n, err := p.Read(b)
		if err != nil || n == 0 {
			t.Fatalf("Read = %d, %v", n, err)
		}
		got = append(got, b[:n]...)
	}
	if string(got) != "\r\nready\r\n" {
		t.Errorf("read %q", got)
	}

	done := make(chan []byte)
	go func() {
		b := make([]byte, 4)
		n, _ := io.ReadFull(emu, b)
		done <- b[:n]
	}()
	if n, err := p.Write([]byte("AT\r\n")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got := <-done; string(got) != "AT\r\n" {
		t.Errorf("emulator got %q", got)
	}
}

func TestWrapCloseUnblocksRead(t *testing.T) {
	host, emu := net.Pipe()
	defer emu.Close()
	p := Wrap(host, "emu")
	ch := readAsync(p, make([]byte, 8))
	time.Sleep(20 * time.Millisecond) // let the Read block
	if err := p.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if r := await(t, ch, "after Close"); r.n != 0 || r.err != ErrClosed {
		t.Errorf("Read = %d, %v; want ErrClosed", r.n, r.err)
	}
	if err := p.Close(); err != ErrClosed {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if n, err := p.Write([]byte("x")); n != 0 || err != ErrClosed {
		t.Errorf("Write after Close = %d, %v; want ErrClosed", n, err)
	}
	if n, err := p.Read(make([]byte, 1)); n != 0 || err != ErrClosed {
		t.Errorf("Read after Close = %d, %v; want ErrClosed", n, err)
	}
}

func TestWrapPeerCloseIsError(t *testing.T) {
	host, emu := net.Pipe()
	p := Wrap(host, "emu")
	defer p.Close()
	ch := readAsync(p, make([]byte, 8))
	emu.Close()
	r := await(t, ch, "after the peer closed")
	if r.n != 0 || r.err == nil || errors.Is(r.err, ErrClosed) || !errors.Is(r.err, io.ErrUnexpectedEOF) {
		t.Errorf("Read = %d, %v; want an unexpected-EOF error, not ErrClosed", r.n, r.err)
	}
}
