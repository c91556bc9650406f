// Package soak holds espgate's long-running and adversarial end-to-end
// tests: the fault soak, the bad-input matrix and the security properties.
// Every test runs the public espgate.Server on the emulator, on both
// firmware profiles, with real TCP clients on loopback.
package soak_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/espgate/espgate/handlers"
)

// gen returns n bytes derived from seed: what /bytes and /stream serve.
func gen(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	for i := 0; i < n; i += 8 {
		x := r.Uint64()
		for j := i; j < n && j < i+8; j++ {
			b[j] = byte(x)
			x >>= 8
		}
	}
	return b
}

// check is the integrity code a client puts on its request: the handler
// recomputes it from what reached it, so a request corrupted on the
// serial line (dropped or flipped bytes) is told from a good one.
func check(method, target, id string, body []byte) string {
	h := crc32.NewIEEE()
	io.WriteString(h, method+" "+target+" "+id+" ")
	h.Write(body)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// statusCorrupt is the app's answer to a request whose check failed.
const statusCorrupt = http.StatusUnprocessableEntity

// app is the soak's application. Every request carries X-Request (its
// identity) and X-Check; the answer carries the same X-Request, and the
// app records the SHA-256 of every body it produced under that identity,
// so a client can tell its own, complete response from anything else.
//
//	GET  /bytes?n=N&seed=S   N bytes from gen (Content-Length)
//	GET  /stream?n=N&seed=S  the same, streamed (chunked)
//	POST /echo               the request body
//	GET  /nh/bytes?n=N&seed=S  the same as /bytes through a net/http handler
type app struct {
	mu       sync.Mutex
	produced map[string][32]byte
}

func newApp() *app { return &app{produced: map[string][32]byte{}} }

func (a *app) record(id string, body []byte) {
	a.mu.Lock()
	a.produced[id] = sha256.Sum256(body)
	a.mu.Unlock()
}

// sum returns the SHA-256 of the body produced for id.
func (a *app) sum(id string) ([32]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.produced[id]
	return s, ok
}

func queryInt(r *handlers.Request, name string) (uint64, bool) {
	v, ok := r.Query(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	return n, err == nil
}

// routes serves the native paths; everything else goes to nethttp.
func (a *app) routes() *handlers.Router {
	rt := handlers.NewRouter()
	h := func(w *handlers.ResponseWriter, r *handlers.Request) {
		id := string(r.Header("X-Request"))
		if string(r.Header("X-Check")) != check(string(r.Method), string(r.Target), id, r.Body) {
			w.WriteHeader(statusCorrupt)
			w.WriteString("corrupt request\n")
			w.CloseAfter()
			return
		}
		w.AddHeader("X-Request", id)
		n, okn := queryInt(r, "n")
		seed, oks := queryInt(r, "seed")
		switch string(r.Path) {
		case "/bytes", "/stream":
			if !okn || !oks || n > 1<<20 {
				w.WriteHeader(400)
				return
			}
			b := gen(int(n), seed)
			a.record(id, b)
			if string(r.Path) == "/stream" {
				w.SetStream(bytes.NewReader(b), -1)
			} else {
				w.SetBody(b)
			}
		case "/echo":
			a.record(id, r.Body)
			w.Write(r.Body)
		}
	}
	for _, p := range []string{"/bytes", "/stream", "/echo"} {
		rt.HandleFunc(p, h)
	}
	rt.HandleFunc("GET /known", func(w *handlers.ResponseWriter, r *handlers.Request) { w.SetBody(knownBody) })
	return rt
}

// nethttp serves /nh/ through the net/http gateway.
func (a *app) nethttp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /nh/bytes", func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request")
		if r.Header.Get("X-Check") != check(r.Method, r.RequestURI, id, nil) {
			w.Header().Set("Connection", "close")
			w.WriteHeader(statusCorrupt)
			io.WriteString(w, "corrupt request\n")
			return
		}
		n, err1 := strconv.Atoi(r.URL.Query().Get("n"))
		seed, err2 := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
		if err1 != nil || err2 != nil || n < 0 || n > 1<<20 {
			w.WriteHeader(400)
			return
		}
		b := gen(n, seed)
		a.record(id, b)
		w.Header().Set("X-Request", id)
		for len(b) > 0 { // in pieces, as an application writes
			k := min(len(b), 3000)
			if _, err := w.Write(b[:k]); err != nil {
				return
			}
			b = b[k:]
		}
	})
	return mux
}

// knownBody is what a healthy client fetches from /known.
var knownBody = gen(3000, 42)

// outcome classifies one request's fate as its client saw it.
type outcome int

const (
	outOK      outcome = iota // its own, complete, byte-exact response
	outClosed                 // the connection ended before a complete response
	outRefused                // a complete error answer to a request corrupted on the line
	// Oracle failures:
	outForeign  // a response carrying another request's identity
	outCorrupt  // a complete-looking response whose bytes differ from what the handler produced
	outHung     // no answer and no close before the client's deadline
	outUnexpect // a status the request cannot get
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "closed", "refused", "FOREIGN", "CORRUPT", "HUNG", "UNEXPECTED"}

func (o outcome) String() string { return outcomeNames[o] }

func (o outcome) failure() bool { return o >= outForeign }

// request is one request of the soak.
type request struct {
	method, path string
	n            int
	seed         uint64
	body         []byte // POST /echo
	close        bool   // Connection: close
}

func (q *request) target() string {
	if q.method == http.MethodPost {
		return q.path
	}
	return fmt.Sprintf("%s?n=%d&seed=%d", q.path, q.n, q.seed)
}

// want returns the body the request should get.
func (q *request) want() []byte {
	if q.method == http.MethodPost {
		return q.body
	}
	return gen(q.n, q.seed)
}

// wire renders the request with identity id.
func (q *request) wire(id string) []byte {
	t := q.target()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: soak\r\nX-Request: %s\r\nX-Check: %s\r\n", q.method, t, id, check(q.method, t, id, q.body))
	if q.close {
		b.WriteString("Connection: close\r\n")
	}
	if q.method == http.MethodPost {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(q.body))
	}
	b.WriteString("\r\n")
	b.Write(q.body)
	return b.Bytes()
}

// client is one soak client: a keep-alive connection, redialled when it
// ends. It speaks HTTP/1.1 itself so that nothing is retried or hidden.
type client struct {
	addr string
	app  *app
	conn net.Conn
	br   *bufio.Reader
	// timeout bounds one request from write to the last body byte.
	timeout time.Duration
}

func (c *client) drop() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

// errClosedEarly wraps a connection that ended before a complete response.
var errClosedEarly = errors.New("closed before a complete response")

// do sends q with identity id and classifies what comes back. detail
// explains a failure.
func (c *client) do(q *request, id string) (o outcome, detail string) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return outClosed, "dial: " + err.Error()
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	defer func() {
		if o != outOK || q.close {
			c.drop()
		}
	}()
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(q.wire(id)); err != nil {
		return classifyErr(err)
	}
	req, _ := http.NewRequest(q.method, "http://soak"+q.target(), nil)
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return classifyErr(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return classifyErr(err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case statusCorrupt:
		if string(body) != "corrupt request\n" {
			return outCorrupt, fmt.Sprintf("%d with body %q", resp.StatusCode, trunc(body))
		}
		return outRefused, "the app saw a corrupted request"
	case 400, 408, 411, 413, 414, 431, 501, 503, 505:
		// The request's framing broke on the line: the machine answered
		// (or the gateway, for a target it cannot parse). Its body is known.
		if !bytes.HasPrefix(body, []byte(http.StatusText(resp.StatusCode))) {
			return outCorrupt, fmt.Sprintf("%d with body %q", resp.StatusCode, trunc(body))
		}
		return outRefused, fmt.Sprintf("status %d", resp.StatusCode)
	case 307, 404, 405:
		// The path or method broke on the line: the router answered.
		return outRefused, fmt.Sprintf("status %d", resp.StatusCode)
	default:
		return outUnexpect, fmt.Sprintf("status %d body %q", resp.StatusCode, trunc(body))
	}
	if got := resp.Header.Get("X-Request"); got != id {
		return outForeign, fmt.Sprintf("sent %s, the response is for %q", id, got)
	}
	sum := sha256.Sum256(body)
	if rec, ok := c.app.sum(id); !ok || rec != sum {
		return outCorrupt, fmt.Sprintf("%s: %d body bytes whose SHA-256 is not what the handler produced (recorded %v)", id, len(body), ok)
	}
	if !bytes.Equal(body, q.want()) {
		return outCorrupt, fmt.Sprintf("%s: the handler's body differs from the request's", id)
	}
	return outOK, ""
}

func classifyErr(err error) (outcome, string) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return outHung, err.Error()
	}
	return outClosed, fmt.Errorf("%w: %v", errClosedEarly, err).Error()
}

func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
