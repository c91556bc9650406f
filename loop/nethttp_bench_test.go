package loop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// BenchmarkNetHTTPInMemory is BenchmarkPipeline's twin: the same keep-alive
// request (the payload of getFrame) answered with the same response
// (Content-Type text/plain, helloBody) by a net/http server over an
// in-memory connection (net.Pipe), the client writing the raw request and
// reading the raw response. Neither side touches a network.
func BenchmarkNetHTTPInMemory(b *testing.B) {
	req := getFrame[bytes.IndexByte(getFrame, ':')+1:]
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(helloBody)
	})}
	ln := newPipeListener()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	c := ln.dial()
	defer func() {
		c.Close()
		srv.Close()
		<-done
	}()

	// The first response gives the length of every response: the Date
	// header has a fixed width.
	br := bufio.NewReader(c)
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	n, length := 0, -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		n += len(line)
		if k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(":")); ok && string(k) == "Content-Length" {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
		if len(line) == 2 {
			break
		}
	}
	if length != len(helloBody) {
		b.Fatalf("Content-Length %d", length)
	}
	buf := make([]byte, n+length)
	if _, err := io.ReadFull(br, buf[n:]); err != nil {
		b.Fatal(err)
	}
	exchange := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, buf); err != nil {
			b.Fatal(err)
		}
	}
	for range 10 {
		exchange()
	}
	if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(buf, helloBody) ||
		!bytes.Contains(buf, []byte("\r\nContent-Type: text/plain\r\n")) {
		b.Fatalf("response %q", buf)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		exchange()
	}
	b.SetBytes(int64(len(req) + len(buf)))
}

// pipeListener hands http.Server the server ends of net.Pipe connections.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// dial returns the client end of a new connection.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errors.New("listener closed")
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
