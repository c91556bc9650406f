package handlers

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// fakeDetached stands in for the loop in unit tests.
type fakeDetached struct {
	mu    sync.Mutex
	wakes int
	done  chan struct{}
}

func newFakeDetached() *fakeDetached { return &fakeDetached{done: make(chan struct{})} }

func (f *fakeDetached) Respond(func(w *ResponseWriter)) {}
func (f *fakeDetached) Wake() {
	f.mu.Lock()
	f.wakes++
	f.mu.Unlock()
}
func (f *fakeDetached) Done() <-chan struct{}                { return f.done }
func (f *fakeDetached) Err() error                           { return nil }
func (f *fakeDetached) Hijack(io.Reader, func([]byte, bool)) {}

func newTestConn(maxMsg int) *WSConn {
	return &WSConn{d: newFakeDetached(), maxMsg: maxMsg, readReady: make(chan struct{}, 1),
		writeReady: make(chan struct{}, 1), pings: map[uint64]chan struct{}{}}
}

// clientFrame builds a frame as a client sends it: masked, unless mask
// is false. b0 holds FIN, RSV and the opcode.
func clientFrame(b0 byte, payload []byte, mask bool) []byte {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	b := []byte{b0}
	m := byte(0)
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n <= 0xffff:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, m|127), uint64(n))
	}
	if !mask {
		return append(b, payload...)
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

type serverFrame struct {
	fin     bool
	op      byte
	payload []byte
}

// drain reads everything the connection has for the modem and parses it
// as server frames; eof reports that the output ended.
func drain(t *testing.T, c *WSConn) (frames []serverFrame, eof bool) {
	t.Helper()
	out, eof := drainBytes(t, c)
	return parseFrames(t, out), eof
}

func drainBytes(t *testing.T, c *WSConn) (out []byte, eof bool) {
	t.Helper()
	buf := make([]byte, 2048)
	for {
		n, err := (*wsOut)(c).Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return out, false
		}
	}
}

func parseFrames(t *testing.T, out []byte) (frames []serverFrame) {
	t.Helper()
	for len(out) > 0 {
		if len(out) < 2 || out[1]&0x80 != 0 {
			t.Fatalf("bad server frame % x", out)
		}
		f := serverFrame{fin: out[0]&0x80 != 0, op: out[0] & 0xf}
		n, i := int(out[1]&127), 2
		switch n {
		case 126:
			n, i = int(binary.BigEndian.Uint16(out[2:])), 4
		case 127:
			n, i = int(binary.BigEndian.Uint64(out[2:])), 10
		}
		if len(out) < i+n {
			t.Fatalf("truncated server frame: %d of %d bytes", len(out)-i, n)
		}
		f.payload = out[i : i+n]
		out = out[i+n:]
		frames = append(frames, f)
	}
	return frames
}

func closeCode(t *testing.T, f serverFrame) int {
	t.Helper()
	if f.op != opClose || len(f.payload) < 2 {
		t.Fatalf("want a close frame with a code, got op %d % x", f.op, f.payload)
	}
	return int(binary.BigEndian.Uint16(f.payload))
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// Every protocol violation closes the connection with the right code and
// ends the link; nothing after the violation is read.
func TestWebSocketFailures(t *testing.T) {
	closeFrame := func(code int, reason string) []byte {
		return clientFrame(0x88, append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...), true)
	}
	long := make([]byte, 0, 10)
	long = binary.BigEndian.AppendUint64(append(long, 0x82, 0x80|127), 1<<63)
	long = append(long, 1, 2, 3, 4)
	for _, tc := range []struct {
		name  string
		input []byte
		code  int
	}{
		{"unmasked", clientFrame(0x81, []byte("hi"), false), CloseProtocolError},
		{"reserved bit", clientFrame(0x81|0x40, []byte("hi"), true), CloseProtocolError},
		{"unknown opcode", clientFrame(0x83, nil, true), CloseProtocolError},
		{"fragmented ping", clientFrame(0x09, nil, true), CloseProtocolError},
		{"long ping", clientFrame(0x89, make([]byte, 126), true), CloseProtocolError},
		{"continuation first", clientFrame(0x80, []byte("x"), true), CloseProtocolError},
		{"text inside fragments", cat(clientFrame(0x01, []byte("a"), true), clientFrame(0x81, []byte("b"), true)), CloseProtocolError},
		{"length with top bit", long, CloseProtocolError},
		{"too big", clientFrame(0x82, make([]byte, 101), true), CloseTooBig},
		{"too big in fragments", cat(clientFrame(0x02, make([]byte, 60), true), clientFrame(0x80, make([]byte, 41), true)), CloseTooBig},
		{"invalid UTF-8", clientFrame(0x81, []byte{'a', 0xff, 'b'}, true), CloseInvalidData},
		{"close of one byte", clientFrame(0x88, []byte{3}, true), CloseProtocolError},
		{"close code 999", closeFrame(999, ""), CloseProtocolError},
		{"close code 1005", closeFrame(1005, ""), CloseProtocolError},
		{"close code 1006", closeFrame(1006, ""), CloseProtocolError},
		{"close code 5000", closeFrame(5000, ""), CloseProtocolError},
		{"close reason not UTF-8", closeFrame(1000, "\xc3"), CloseInvalidData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestConn(100)
			c.in(append(tc.input, clientFrame(0x81, []byte("after"), true)...), false)
			frames, eof := drain(t, c)
			if len(frames) != 1 || closeCode(t, frames[0]) != tc.code || !eof {
				t.Fatalf("got %d frames (eof %v), want one close %d", len(frames), eof, tc.code)
			}
			_, _, err := c.Read(context.Background())
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("Read: %v, want close %d", err, tc.code)
			}
		})
	}
}

// Fragments are reassembled (a multi-byte character split between them
// is fine), a ping between fragments is answered at once, and input split
// at every byte parses the same.
func TestWebSocketFragmentsAndPing(t *testing.T) {
	input := cat(
		clientFrame(0x01, []byte("h\xc3"), true), // "hé" split inside é
		clientFrame(0x89, []byte("p1"), true),
		clientFrame(0x00, []byte("\xa9l"), true),
		clientFrame(0x80, []byte("lo"), true),
		clientFrame(0x82, nil, true),
		clientFrame(0x8a, []byte("unsolicited"), true),
	)
	for _, step := range []int{len(input), 1, 3} {
		c := newTestConn(1 << 10)
		for b := input; len(b) > 0; {
			k := min(step, len(b))
			c.in(b[:k], false)
			b = b[k:]
		}
		frames, eof := drain(t, c)
		if eof || len(frames) != 1 || frames[0].op != opPong || string(frames[0].payload) != "p1" || !frames[0].fin {
			t.Fatalf("step %d: output %+v eof %v, want one pong p1", step, frames, eof)
		}
		typ, data, err := c.Read(context.Background())
		if err != nil || typ != MessageText || string(data) != "h\u00e9llo" {
			t.Fatalf("step %d: %v %q %v", step, typ, data, err)
		}
		typ, data, err = c.Read(context.Background())
		if err != nil || typ != MessageBinary || data == nil || len(data) != 0 {
			t.Fatalf("step %d: empty binary: %v %q %v", step, typ, data, err)
		}
	}
}

// A close from the client is echoed with its code, then the link ends;
// Read reports the client's code and reason.
func TestWebSocketClientCloses(t *testing.T) {
	for _, tc := range []struct {
		payload []byte
		code    int
		reason  string
	}{
		{append(binary.BigEndian.AppendUint16(nil, 4001), "bye"...), 4001, "bye"},
		{nil, CloseNoStatus, ""},
	} {
		c := newTestConn(100)
		c.in(clientFrame(0x88, tc.payload, true), false)
		frames, eof := drain(t, c)
		if !eof || len(frames) != 1 || frames[0].op != opClose {
			t.Fatalf("output %+v eof %v", frames, eof)
		}
		if tc.code == CloseNoStatus && len(frames[0].payload) != 0 || tc.code != CloseNoStatus && closeCode(t, frames[0]) != tc.code {
			t.Fatalf("echo % x for code %d", frames[0].payload, tc.code)
		}
		_, _, err := c.Read(context.Background())
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
			t.Fatalf("Read: %v", err)
		}
		if err := c.Write(context.Background(), MessageText, []byte("late")); err != ErrWebSocketClosed {
			t.Fatalf("Write after close: %v", err)
		}
	}
}

// A long message leaves in frames of at most 2 KiB, and a pong that
// arrives meanwhile goes out at the next frame boundary.
func TestWebSocketWriteFragmentsAndInterleaves(t *testing.T) {
	c := newTestConn(100)
	msg := bytes.Repeat([]byte("0123456789"), 500) // 5000 bytes
	if err := c.Write(context.Background(), MessageBinary, msg); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 100)
	if n, _ := (*wsOut)(c).Read(first); n != 100 {
		t.Fatalf("read %d", n)
	}
	c.in(clientFrame(0x89, []byte("now"), true), false)
	rest, _ := drainBytes(t, c)
	frames := parseFrames(t, append(first, rest...))
	want := []struct {
		fin bool
		op  byte
		n   int
	}{{false, opBinary, 2048}, {true, opPong, 3}, {false, opCont, 2048}, {true, opCont, 904}}
	if len(frames) != len(want) {
		t.Fatalf("%d frames, want %d", len(frames), len(want))
	}
	var got []byte
	for i, w := range want {
		f := frames[i]
		if f.fin != w.fin || f.op != w.op || len(f.payload) != w.n {
			t.Fatalf("frame %d: fin %v op %d len %d, want %+v", i, f.fin, f.op, len(f.payload), w)
		}
		if f.op != opPong {
			got = append(got, f.payload...)
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("message bytes differ")
	}
}

// Close sends what was written first, then the close frame; Write fails
// afterwards; the client's answer ends the link.
func TestWebSocketServerCloses(t *testing.T) {
	c := newTestConn(100)
	if err := c.Write(context.Background(), MessageText, []byte("last words")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(4000, "done") }()
	for i := 0; ; i++ {
		c.mu.Lock()
		ok := c.closed
		c.mu.Unlock()
		if ok {
			break
		}
		if i > 1000 {
			t.Fatal("Close did not queue a close frame")
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.Write(context.Background(), MessageText, []byte("x")); err != ErrWebSocketClosed {
		t.Fatalf("Write after Close: %v", err)
	}
	frames, eof := drain(t, c)
	if eof || len(frames) != 2 || string(frames[0].payload) != "last words" || closeCode(t, frames[1]) != 4000 || string(frames[1].payload[2:]) != "done" {
		t.Fatalf("frames %+v eof %v", frames, eof)
	}
	c.in(clientFrame(0x88, binary.BigEndian.AppendUint16(nil, 4000), true), false)
	if frames, eof = drain(t, c); len(frames) != 0 || !eof {
		t.Fatalf("after the client's close: %+v eof %v", frames, eof)
	}
	close(c.d.(*fakeDetached).done) // the link closes
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(CloseNormal, ""); err != ErrWebSocketClosed {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Close(1005, ""); err == nil {
		t.Fatal("Close with 1005 accepted")
	}
}

// A ping flood gets fewer pongs rather than unbounded memory; messages
// left unread close the connection with 1008.
func TestWebSocketBounds(t *testing.T) {
	c := newTestConn(100)
	ping := clientFrame(0x89, make([]byte, 125), true)
	for range 100 {
		c.in(ping, false)
	}
	if n := len(c.ctl); n > wsCtlBytes+127 {
		t.Fatalf("%d bytes of pongs queued", n)
	}
	c = newTestConn(100)
	msg := clientFrame(0x82, make([]byte, 100), true)
	for range 3 {
		c.in(msg, false)
	}
	frames, eof := drain(t, c)
	if !eof || len(frames) != 1 || closeCode(t, frames[0]) != ClosePolicyViolation {
		t.Fatalf("unread messages: %+v eof %v", frames, eof)
	}
	for range 3 { // what arrived before is still delivered
		if _, data, err := c.Read(context.Background()); err != nil || len(data) != 100 {
			t.Fatalf("Read: %d %v", len(data), err)
		}
	}
	if _, _, err := c.Read(context.Background()); err == nil {
		t.Fatal("Read after the failure succeeded")
	}
}

// The link closing wakes a blocked Read and Write.
func TestWebSocketLinkGone(t *testing.T) {
	c := newTestConn(100)
	errs := make(chan error, 2)
	go func() { _, _, err := c.Read(context.Background()); errs <- err }()
	go func() { errs <- c.Write(context.Background(), MessageBinary, make([]byte, 64<<10)) }()
	time.Sleep(10 * time.Millisecond)
	c.in(nil, true)
	for range 2 {
		select {
		case err := <-errs:
			if err != ErrLinkClosed {
				t.Fatalf("got %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("not woken")
		}
	}
}

// A Write that gives up halfway through a message closes the connection
// (1011) right after the fragments already queued: the client never sees
// a message cut short followed by another.
func TestWebSocketWriteGivesUp(t *testing.T) {
	c := newTestConn(100)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Write(ctx, MessageBinary, make([]byte, 20<<10)); err != context.DeadlineExceeded {
		t.Fatalf("Write: %v", err)
	}
	frames, _ := drain(t, c)
	last := len(frames) - 1
	if last < 1 || frames[0].op != opBinary || frames[0].fin || closeCode(t, frames[last]) != CloseInternalError {
		t.Fatalf("%d frames: first op %d fin %v", len(frames), frames[0].op, frames[0].fin)
	}
	for _, f := range frames[1:last] {
		if f.op != opCont || f.fin {
			t.Fatalf("middle frame op %d fin %v", f.op, f.fin)
		}
	}
	if err := c.Write(context.Background(), MessageText, []byte("x")); err != ErrWebSocketClosed {
		t.Fatalf("Write after: %v", err)
	}
}

func BenchmarkWebSocketReceive(b *testing.B) {
	frame := clientFrame(0x81, bytes.Repeat([]byte("x"), 100), true)
	c := newTestConn(1 << 10)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		c.in(frame, false)
		c.Read(ctx)
	}
}

func BenchmarkWebSocketSend(b *testing.B) {
	c := newTestConn(1 << 10)
	msg := bytes.Repeat([]byte("x"), 100)
	out := make([]byte, 2048)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		c.Write(ctx, MessageText, msg)
		(*wsOut)(c).Read(out)
	}
}
