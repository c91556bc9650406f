package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"
)

// client is one raw HTTP/1.1 connection. Raw, so that the request bytes
// (which the bound needs) and Connection: close are exactly as written.
type client struct {
	addr string
	conn *net.TCPConn
	br   *bufio.Reader
	ip   string // local address and port, as the modem reports them in +IPD
	port int
	req  []byte
	body []byte
}

func dial(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, early(err)
	}
	tc := c.(*net.TCPConn)
	la := tc.LocalAddr().(*net.TCPAddr)
	return &client{addr: addr, conn: tc, br: bufio.NewReaderSize(tc, 16<<10), ip: la.IP.String(), port: la.Port}, nil
}

func (c *client) close() { _ = c.conn.Close() }

// exchange is one request and its response as the client saw them.
type exchange struct {
	start, end time.Time // request written -> last body byte read
	reqLen     int       // request bytes
	headLen    int       // response status line and headers, final CRLF included
	bodyLen    int
	ip         string // the client's address
	port       int
}

func (e exchange) dur() time.Duration { return e.end.Sub(e.start) }

// Ways a connection can end before any response byte.
var (
	errReset  = errors.New("connection reset before a response")  // the modem had no free link
	errClosed = errors.New("connection closed before a response") // the server closed the link
)

// early classifies an error seen before any response byte.
func early(err error) error {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return errReset
	case errors.Is(err, io.EOF), errors.Is(err, syscall.EPIPE):
		return errClosed
	}
	return err
}

// get sends GET path and reads the whole response; want, if set, is the
// expected body. A connection that ends before any response byte returns
// errReset or errClosed.
func (c *client) get(path string, close bool, want []byte) (exchange, error) {
	c.req = append(c.req[:0], "GET "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\n"...)
	if close {
		c.req = append(c.req, "Connection: close\r\n"...)
	}
	c.req = append(c.req, "\r\n"...)
	_ = c.conn.SetDeadline(time.Now().Add(60 * time.Second))
	e := exchange{reqLen: len(c.req), ip: c.ip, port: c.port, start: time.Now()}
	if _, err := c.conn.Write(c.req); err != nil {
		return e, early(err)
	}
	status, length := 0, -1
	for first := true; ; first = false {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if first && len(line) == 0 {
				return e, early(err)
			}
			return e, fmt.Errorf("reading response head: %w", err)
		}
		e.headLen += len(line)
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 && !first {
			break
		}
		if first {
			f := bytes.Fields(line)
			if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("HTTP/1.")) {
				return e, fmt.Errorf("bad status line %q", line)
			}
			status, _ = strconv.Atoi(string(f[1]))
			continue
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return e, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if status != 200 || length < 0 {
		return e, fmt.Errorf("GET %s: status %d, Content-Length %d", path, status, length)
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	b := c.body[:length]
	if _, err := io.ReadFull(c.br, b); err != nil {
		return e, fmt.Errorf("GET %s: body: %w", path, err)
	}
	e.end = time.Now()
	e.bodyLen = length
	if want != nil && !bytes.Equal(b, want) {
		return e, fmt.Errorf("GET %s: body differs from what was served", path)
	}
	return e, nil
}
