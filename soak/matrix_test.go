package soak_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/parser"
	"github.com/espgate/espgate/sim"
)

// The matrix server's deadlines and limits, short so that the cases that
// wait for them stay quick.
const (
	mxHeaderTimeout = 2 * time.Second
	mxBodyTimeout   = 2 * time.Second
	mxIdleTimeout   = time.Second
	mxMaxBody       = 32 << 10
)

// A matrix case writes exact bytes on a raw connection and checks what
// comes back: the exact status (0: none, the connection just ends), the
// exact body, and whether the server closes the link. A link left open
// must serve a follow-up request; a closed one must serve nothing more.
type mxCase struct {
	name   string
	send   string
	status int
	body   string // want; empty: http.StatusText(status) + "\n" for an error, nothing checked for 0
	closes bool
	// run replaces the generic steps for cases that need their own.
	run func(t *testing.T, env *e2etest.Env)
}

const (
	get  = "GET /known HTTP/1.1\r\nHost: m\r\n"
	post = "POST /echo HTTP/1.1\r\nHost: m\r\nX-Request: mx\r\n"
)

// echoReq is a valid POST /echo of body with the check header the app wants.
func echoReq(extra, body string) string {
	return post + "X-Check: " + check("POST", "/echo", "mx", []byte(body)) + "\r\n" + extra
}

func mxCases() []mxCase {
	long := strings.Repeat("a", 2049)
	var many strings.Builder
	for i := range 33 {
		fmt.Fprintf(&many, "X-H%d: v\r\n", i)
	}
	bigHead := "X-Big: " + strings.Repeat("b", 4100) + "\r\n"
	chunk := strings.Repeat("c", 16<<10)
	oversized := fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk, len(chunk), chunk, len(chunk), chunk)
	return []mxCase{
		// Malformed request lines.
		{name: "garbage request line", send: "HELLO\r\n\r\n", status: 400, closes: true},
		{name: "no version (HTTP/0.9)", send: "GET /known\r\n\r\n", status: 400, closes: true},
		{name: "HTTP/2.0 version", send: "GET /known HTTP/2.0\r\nHost: m\r\n\r\n", status: 505, closes: true},
		{name: "junk after version", send: "GET /known HTTP/1.1x\r\nHost: m\r\n\r\n", status: 400, closes: true},
		{name: "lower-case version", send: "GET /known http/1.1\r\nHost: m\r\n\r\n", status: 400, closes: true},
		{name: "bad method character", send: "GE(T /known HTTP/1.1\r\nHost: m\r\n\r\n", status: 400, closes: true},
		{name: "space in target", send: "GET /kn own HTTP/1.1\r\nHost: m\r\n\r\n", status: 400, closes: true},
		{name: "leading space", send: " GET /known HTTP/1.1\r\nHost: m\r\n\r\n", status: 400, closes: true},
		{name: "NUL in target", send: "GET /kn\x00own HTTP/1.1\r\nHost: m\r\n\r\n", status: 400, closes: true},
		{name: "CONNECT", send: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", status: 501, closes: true},
		{name: "asterisk for GET", send: "GET * HTTP/1.1\r\nHost: m\r\n\r\n", status: 400, closes: true},
		{name: "missing Host", send: "GET /known HTTP/1.1\r\n\r\n", status: 400, closes: true},
		{name: "two Host fields", send: get + "Host: n\r\n\r\n", status: 400, closes: true},
		{name: "invalid Host", send: "GET /known HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400, closes: true},
		{name: "nine empty lines first", send: strings.Repeat("\r\n", 9) + get + "\r\n", status: 400, closes: true},

		// Request smuggling.
		{name: "Content-Length and Transfer-Encoding", send: echoReq("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "Transfer-Encoding and Content-Length", send: echoReq("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "") + "hello", status: 400, closes: true},
		{name: "two different Content-Lengths", send: echoReq("Content-Length: 5\r\nContent-Length: 6\r\n\r\n", "hello") + "hello!", status: 400, closes: true},
		{name: "two equal Content-Lengths", send: echoReq("Content-Length: 5\r\nContent-Length: 5\r\n\r\n", "hello") + "hello", status: 200, body: "hello"},
		{name: "Content-Length list", send: echoReq("Content-Length: 5, 5\r\n\r\n", "hello") + "hello", status: 400, closes: true},
		{name: "signed Content-Length +", send: echoReq("Content-Length: +5\r\n\r\n", "hello") + "hello", status: 400, closes: true},
		{name: "signed Content-Length -", send: echoReq("Content-Length: -5\r\n\r\n", "hello") + "hello", status: 400, closes: true},
		{name: "hex Content-Length", send: echoReq("Content-Length: 0x5\r\n\r\n", "hello") + "hello", status: 400, closes: true},
		{name: "Content-Length overflow", send: echoReq("Content-Length: 99999999999999999999\r\n\r\n", "") + "hello", status: 400, closes: true},
		{name: "Content-Length with inner space", send: echoReq("Content-Length: 5 5\r\n\r\n", "") + "hello", status: 400, closes: true},
		{name: "Transfer-Encoding gzip", send: echoReq("Transfer-Encoding: gzip\r\n\r\n", "") + "hello", status: 400, closes: true},
		{name: "Transfer-Encoding chunked, gzip", send: echoReq("Transfer-Encoding: chunked, gzip\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "Transfer-Encoding gzip, chunked", send: echoReq("Transfer-Encoding: gzip, chunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 501, closes: true},
		{name: "Transfer-Encoding xchunked", send: echoReq("Transfer-Encoding: xchunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "Transfer-Encoding chunked twice", send: echoReq("Transfer-Encoding: chunked, chunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "two Transfer-Encoding fields", send: echoReq("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "Transfer-Encoding in HTTP/1.0", send: "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "space before colon", send: echoReq("Transfer-Encoding : chunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "vertical tab in Transfer-Encoding", send: echoReq("Transfer-Encoding: \vchunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "chunk size overflow", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "chunk size 2^63", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "8000000000000000\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "negative chunk size", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "-5\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "chunk size ended by bare LF", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "5\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "chunk data without CRLF", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "5\r\nhelloX0\r\n\r\n", status: 400, closes: true},
		{name: "bare CR in chunk extension", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "5;a\rb\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "chunked upload", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "hello world") + "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\n", status: 200, body: "hello world"},
		{name: "bare CR in a field", send: get + "X-A: a\rb\r\n\r\n", status: 400, closes: true},
		{name: "bare LF line ends", send: "GET /known HTTP/1.1\nHost: m\n\n", status: 200, body: string(knownBody)},
		{name: "NUL in a field value", send: get + "X-A: a\x00b\r\n\r\n", status: 400, closes: true},
		{name: "obs-fold", send: get + "X-A: a\r\n b\r\n\r\n", status: 400, closes: true},
		{name: "field without colon", send: get + "X-A b\r\n\r\n", status: 400, closes: true},
		{name: "invalid field name", send: get + "X(A): b\r\n\r\n", status: 400, closes: true},

		// Every limit exceeded.
		{name: "target too long", send: "GET /" + long + " HTTP/1.1\r\nHost: m\r\n\r\n", status: 414, closes: true},
		{name: "head too large", send: get + bigHead + "\r\n", status: 431, closes: true},
		{name: "too many fields", send: get + many.String() + "\r\n", status: 431, closes: true},
		{name: "body too large (Content-Length)", send: echoReq(fmt.Sprintf("Content-Length: %d\r\n\r\n", mxMaxBody+1), ""), status: 413, closes: true},
		{name: "oversized chunked upload", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + oversized, status: 413, closes: true},
		{name: "chunk extension too long", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "5;" + strings.Repeat("e", 300) + "\r\nhello\r\n0\r\n\r\n", status: 400, closes: true},
		{name: "trailer section too large", send: echoReq("Transfer-Encoding: chunked\r\n\r\n", "") + "5\r\nhello\r\n0\r\nX-T: " + strings.Repeat("t", 300) + "\r\n\r\n", status: 431, closes: true},
		{name: "Expect 100-continue, body too large", send: echoReq(fmt.Sprintf("Expect: 100-continue\r\nContent-Length: %d\r\n\r\n", mxMaxBody+1), ""), status: 413, closes: true},

		// Deadlines and the link budget.
		{name: "slowloris headers", run: slowloris},
		{name: "body stalls", run: stalledBody},
		{name: "idle speculative connection", run: idleSpeculative},
		{name: "pipelined requests", run: pipelined},
		{name: "pipelining flood", run: pipeliningFlood},
	}
}

// TestBadInputMatrix runs every case end to end through the emulator on
// both profiles, three at a time, while a healthy client fetches a known
// body throughout; then seven clients at once. The healthy client must
// get every response byte-exact and keep being served.
func TestBadInputMatrix(t *testing.T) {
	cases := mxCases()
	if len(cases) < 40 {
		t.Fatalf("%d cases; the matrix has at least 40", len(cases))
	}
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		t.Parallel()
		a := newApp()
		var evicted atomic.Int64
		env := e2etest.Start(t, p, &espgate.Server{
			Routes:        a.routes(),
			Handler:       a.nethttp(),
			Limits:        parser.Limits{MaxBodyBytes: mxMaxBody},
			HeaderTimeout: mxHeaderTimeout,
			BodyTimeout:   mxBodyTimeout,
			IdleTimeout:   mxIdleTimeout,
			Observe: func(n fsm.Note) {
				if n.Kind == fsm.NoteLinkClosed && n.Reason == fsm.ClosedEvicted {
					evicted.Add(1)
				}
			},
		})
		h := startHealthy(env.Addr)
		defer h.stop(t, true)
		defer func() {
			// The healthy client's keep-alive link is closed only to free a
			// link for a new client.
			if c, e := h.closes.Load(), evicted.Load(); c > e {
				t.Errorf("the healthy client's connection closed %d times, the server evicted %d idle links", c, e)
			}
		}()

		// Three cases at a time: with the healthy client, four of the
		// modem's five links, so no case takes the last one. (t.Run may be
		// called from several goroutines; t.Parallel would be bounded by
		// -parallel instead.)
		sem := make(chan struct{}, 3)
		var wg sync.WaitGroup
		for _, c := range cases {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				t.Run(c.name, func(t *testing.T) {
					before := h.snapshot()
					if c.run != nil {
						c.run(t, env)
					} else {
						runCase(t, env, c)
					}
					h.servedSince(t, before)
				})
			}()
		}
		wg.Wait()
		t.Run("seven clients at once", func(t *testing.T) {
			before := h.snapshot()
			crowd(t, env, 7)
			h.servedSince(t, before)
		})
	})
}

// runCase is the generic case: write, read the answer, check it, then
// check that the link closed (nothing more is served on it) or stayed
// open (a follow-up request is served).
func runCase(t *testing.T, env *e2etest.Env, c mxCase) {
	conn, br := dial(t, env.Addr)
	defer conn.Close()
	go conn.Write([]byte(c.send)) // the server may stop reading: never block on it
	resp, body := readResponse(t, br, "response")
	if resp.StatusCode != c.status {
		t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, c.status, trunc(body))
	}
	want := c.body
	if want == "" && c.status >= 400 {
		want = http.StatusText(c.status) + "\n"
	}
	if string(body) != want {
		t.Fatalf("body %q, want %q", trunc(body), trunc([]byte(want)))
	}
	if resp.Close != c.closes {
		t.Fatalf("Connection: close is %v, want %v", resp.Close, c.closes)
	}
	if c.closes {
		wantClosed(t, conn, br, true)
		return
	}
	wantServed(t, conn, br)
}

// dial connects to the modem. A client the modem resets at once (no free
// link) is retried.
func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	for range 20 {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(15 * time.Second))
		br := bufio.NewReader(conn)
		// A rejected client is reset within moments; an accepted one
		// hears nothing until it speaks.
		conn.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		_, err = br.Peek(1)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			conn.SetDeadline(time.Now().Add(15 * time.Second))
			return conn, br
		}
		conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the modem refused 20 connections in a row")
	return nil, nil
}

func readResponse(t *testing.T, br *bufio.Reader, what string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: body: %v", what, err)
	}
	return resp, body
}

// wantClosed sends a valid request on conn, which the server must not
// serve, and waits for the end of the connection. With early false the
// end must come without a byte.
func wantClosed(t *testing.T, conn net.Conn, br *bufio.Reader, followUp bool) {
	t.Helper()
	if followUp {
		conn.Write([]byte(get + "\r\n"))
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(br)
	if len(b) > 0 {
		t.Fatalf("after the close the server sent %q", trunc(b))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the link")
	}
}

// wantServed checks that the link still serves.
func wantServed(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := conn.Write([]byte(get + "\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, body := readResponse(t, br, "follow-up")
	if resp.StatusCode != 200 || !bytes.Equal(body, knownBody) {
		t.Fatalf("follow-up: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

// slowloris sends a request head one byte a second: 408 once the header
// deadline passes, and the link is freed.
func slowloris(t *testing.T, env *e2etest.Env) {
	conn, br := dial(t, env.Addr)
	defer conn.Close()
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for _, b := range []byte(get + "X-Slow: " + strings.Repeat("s", 60) + "\r\n\r\n") {
			if _, err := conn.Write([]byte{b}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	resp, body := readResponse(t, br, "slowloris")
	if resp.StatusCode != 408 || string(body) != "Request Timeout\n" || !resp.Close {
		t.Fatalf("status %d, body %q, close %v; want 408 and close", resp.StatusCode, body, resp.Close)
	}
	if d := time.Since(start); d < mxHeaderTimeout-100*time.Millisecond {
		t.Fatalf("408 after %v, before the header deadline %v", d, mxHeaderTimeout)
	}
	wantClosed(t, conn, br, false)
}

// stalledBody sends a head and part of its body, then nothing: 408 once
// the body deadline passes.
func stalledBody(t *testing.T, env *e2etest.Env) {
	conn, br := dial(t, env.Addr)
	defer conn.Close()
	start := time.Now()
	conn.Write([]byte(echoReq("Content-Length: 10\r\n\r\n", "0123456789") + "012"))
	resp, body := readResponse(t, br, "stalled body")
	if resp.StatusCode != 408 || string(body) != "Request Timeout\n" || !resp.Close {
		t.Fatalf("status %d, body %q, close %v; want 408 and close", resp.StatusCode, body, resp.Close)
	}
	if d := time.Since(start); d < mxBodyTimeout-100*time.Millisecond {
		t.Fatalf("408 after %v, before the body deadline %v", d, mxBodyTimeout)
	}
	wantClosed(t, conn, br, false)
}

// idleSpeculative connects and sends nothing, as a browser's speculative
// connection: the idle deadline frees the link, without a response.
func idleSpeculative(t *testing.T, env *e2etest.Env) {
	conn, br := dial(t, env.Addr)
	defer conn.Close()
	start := time.Now()
	wantClosed(t, conn, br, false)
	if d := time.Since(start); d < mxIdleTimeout-100*time.Millisecond {
		t.Fatalf("closed after %v, before the idle deadline %v", d, mxIdleTimeout)
	}
}

// pipelined sends three requests at once: three responses, in order.
func pipelined(t *testing.T, env *e2etest.Env) {
	conn, br := dial(t, env.Addr)
	defer conn.Close()
	conn.Write([]byte(get + "\r\n" + echoReq("Content-Length: 5\r\n\r\n", "hello") + "hello" + get + "\r\n"))
	for i, want := range [][]byte{knownBody, []byte("hello"), knownBody} {
		resp, body := readResponse(t, br, fmt.Sprintf("response %d", i))
		if resp.StatusCode != 200 || !bytes.Equal(body, want) || resp.Close {
			t.Fatalf("response %d: status %d, %d bytes, close %v", i, resp.StatusCode, len(body), resp.Close)
		}
	}
	wantServed(t, conn, br)
}

// pipeliningFlood sends a thousand requests at once, more than the server
// holds for a busy link: the ones held are answered in order, the first one
// cut off gets 503 with Retry-After (or nothing), and the link closes.
func pipeliningFlood(t *testing.T, env *e2etest.Env) {
	const n = 1000
	conn, br := dial(t, env.Addr)
	defer conn.Close()
	go conn.Write(bytes.Repeat([]byte(get+"\r\n"), n))
	served := 0
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if served == 0 || served >= n {
				t.Fatalf("%d of %d served, then %v", served, n, err)
			}
			break // the link closed after the last request held
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("response %d: %v", served, err)
		}
		if resp.StatusCode == 503 {
			if string(body) != "Service Unavailable\n" || resp.Header.Get("Retry-After") == "" || !resp.Close {
				t.Fatalf("503 with body %q, Retry-After %q, close %v", body, resp.Header.Get("Retry-After"), resp.Close)
			}
			break
		}
		if resp.StatusCode != 200 || !bytes.Equal(body, knownBody) {
			t.Fatalf("response %d: status %d, %d bytes", served, resp.StatusCode, len(body))
		}
		served++
	}
	if served == 0 || served >= n {
		t.Fatalf("%d of %d served before the cut", served, n)
	}
	wantClosed(t, conn, br, false)
}

// crowd connects n clients at once, more than the modem has links: each
// gets its response byte-exact or is reset before a byte, and the ones
// that are reset are served when they come back.
func crowd(t *testing.T, env *e2etest.Env, n int) {
	var (
		wg              sync.WaitGroup
		served, refused atomic.Int32
		mu              sync.Mutex
		errs            []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			conn, err := net.DialTimeout("tcp", env.Addr, 5*time.Second)
			if errors.Is(err, syscall.ECONNRESET) {
				refused.Add(1) // reset before the handshake completed
				return
			}
			if err != nil {
				fail("client %d: %v", i, err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(15 * time.Second))
			conn.Write([]byte(get + "\r\n"))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				if br.Buffered() > 0 {
					fail("client %d: %v after part of a response", i, err)
				}
				refused.Add(1)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, knownBody) {
				fail("client %d: status %d, %d bytes, %v", i, resp.StatusCode, len(body), err)
				return
			}
			served.Add(1)
		}()
	}
	close(start)
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	t.Logf("%d clients at once: %d served, %d reset by the modem", n, served.Load(), refused.Load())
	if served.Load() == 0 {
		t.Fatal("no client of the crowd was served")
	}
	// The link budget is back: a new client is served.
	conn, br := dial(t, env.Addr)
	defer conn.Close()
	wantServed(t, conn, br)
}

// healthy is a client that fetches /known over and over, as a user of the
// server would while the matrix runs. A closed connection (an idle
// keep-alive link the server closed to free a link for a new client) is
// redialled and the request made again, as HTTP clients do for a GET; any
// response that is not the known body byte for byte is a loss, and so is
// a request left unanswered.
type healthy struct {
	addr    string
	ok      atomic.Int64
	closes  atomic.Int64 // a keep-alive connection closed before its next answer
	refused atomic.Int64 // a new connection closed before its first answer
	mu      sync.Mutex
	losses  []string
	done    chan struct{}
	wg      sync.WaitGroup
}

func startHealthy(addr string) *healthy {
	h := &healthy{addr: addr, done: make(chan struct{})}
	h.wg.Add(1)
	go h.run()
	return h
}

func (h *healthy) lose(format string, args ...any) {
	h.mu.Lock()
	h.losses = append(h.losses, fmt.Sprintf(format, args...))
	h.mu.Unlock()
}

func (h *healthy) run() {
	defer h.wg.Done()
	var (
		conn   net.Conn
		br     *bufio.Reader
		served int // responses on conn
	)
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		select {
		case <-h.done:
			return
		default:
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
			if err != nil {
				h.lose("dial: %v", err)
				return
			}
			conn, br, served = c, bufio.NewReader(c), 0
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err := conn.Write([]byte("GET /known HTTP/1.1\r\nHost: healthy\r\n\r\n"))
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(br, nil)
		}
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			h.lose("no answer in 10 s")
			return
		case err != nil:
			if served > 0 {
				h.closes.Add(1)
			} else {
				h.refused.Add(1)
			}
			conn.Close()
			conn = nil
			time.Sleep(20 * time.Millisecond)
			continue
		case resp.StatusCode != 200 || !bytes.Equal(body, knownBody):
			h.lose("status %d, %d bytes (want %d known bytes)", resp.StatusCode, len(body), len(knownBody))
			conn.Close()
			conn = nil
			continue
		}
		h.ok.Add(1)
		served++
		time.Sleep(2 * time.Millisecond) // a user, not a load generator
		if resp.Close {
			conn.Close()
			conn = nil
		}
	}
}

type healthySnap struct{ ok, losses int }

func (h *healthy) snapshot() healthySnap {
	h.mu.Lock()
	defer h.mu.Unlock()
	return healthySnap{int(h.ok.Load()), len(h.losses)}
}

// servedSince checks that the healthy client lost nothing since s and is
// served after it (waiting at most 10 s).
func (h *healthy) servedSince(t *testing.T, s healthySnap) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); int(h.ok.Load()) <= s.ok; {
		if time.Now().After(end) {
			t.Fatal("the healthy client was not served during the case")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.losses[s.losses:] {
		t.Errorf("the healthy client lost a response: %s", l)
	}
}

func (h *healthy) stop(t *testing.T, report bool) {
	close(h.done)
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if report {
		t.Logf("healthy client: %d responses byte-exact, %d keep-alive connections closed and %d new ones reset (then redialled), %d lost",
			h.ok.Load(), h.closes.Load(), h.refused.Load(), len(h.losses))
	}
	for _, l := range h.losses {
		t.Errorf("the healthy client lost a response: %s", l)
	}
}
