package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// GatewayBuffer is how many response bytes a net/http handler may write
// ahead of the modem before Write blocks its goroutine.
const GatewayBuffer = 8 << 10

// Gateway runs an ordinary net/http.Handler over the modem. Each request
// gets its own goroutine, a complete *http.Request (its context is
// cancelled when the client's link closes) and a streaming
// http.ResponseWriter: Write blocks that goroutine, never the loop, once
// GatewayBuffer bytes wait for the modem. http.Flusher and
// http.ResponseController's Flush work.
//
// Long-lived responses hold one of the server's few long-lived slots (see
// ResponseWriter.LongLived): a request that asks for an event stream
// (Accept: text/event-stream) or a WebSocket upgrade reserves
// one before its handler runs, and so does a response whose Content-Type
// is text/event-stream, or a handler that hijacks the link. When none is
// free the client gets 503 with Retry-After. The context of a request
// holding a slot is cancelled when the server begins shutting down.
func Gateway(h http.Handler) Handler { return &NetHTTP{Handler: h} }

// NetHTTP is the gateway with its options; Gateway(h) is NetHTTP{Handler: h}.
type NetHTTP struct {
	Handler http.Handler
	// ErrorLog receives handler panics, as http.Server.ErrorLog does;
	// nil means the standard logger.
	ErrorLog *log.Logger
}

// StreamsBody implements BodyStreamer: a net/http handler reads the body
// from http.Request.Body as it arrives.
func (g *NetHTTP) StreamsBody(r *Request) bool { return true }

// ServeModem implements Handler.
func (g *NetHTTP) ServeModem(w *ResponseWriter, r *Request) {
	if string(r.Target) == "*" && string(r.Method) == http.MethodOptions {
		return // as net/http's server: 200 with an empty body, no handler call
	}
	req, err := NewHTTPRequest(r)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		w.WriteString("Bad Request: " + err.Error() + "\n")
		w.CloseAfter()
		return
	}
	long := r.Upgrade && r.HasToken("Upgrade", "websocket") || r.HasToken("Accept", eventStream)
	if long && !w.LongLived() {
		RefuseLongLived(w)
		return
	}
	d := w.Detach()
	ctx, cancel := context.WithCancel(req.Context())
	req = req.WithContext(ctx)
	gw := &gatewayWriter{d: d, header: make(http.Header), head: req.Method == http.MethodHead, remote: remoteTCPAddr(r)}
	gw.long.Store(long)
	goingAway := w.GoingAway()
	go func() {
		select {
		case <-d.Done():
		case <-goingAway:
			if gw.long.Load() {
				cancel() // a long-lived handler ends at shutdown
			}
			<-d.Done()
		}
		cancel()
		gw.abort(d.Err())
	}()
	go gw.serve(g, req)
}

const eventStream = "text/event-stream"

func (g *NetHTTP) logf(format string, args ...any) {
	if g.ErrorLog != nil {
		g.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// NewHTTPRequest builds the *http.Request that net/http's server would
// hand a handler for r. It copies everything: the result outlives r.
func NewHTTPRequest(r *Request) (*http.Request, error) {
	target := string(r.Target)
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("malformed request target: %w", err)
	}
	hdr := make(http.Header, r.NumHeaders())
	for i := 0; i < r.NumHeaders(); i++ {
		name, value := r.HeaderAt(i)
		key := textproto.CanonicalMIMEHeaderKey(string(name))
		if key == "Host" || key == "Transfer-Encoding" && r.Chunked {
			continue // net/http moves these to Request.Host and TransferEncoding
		}
		hdr[key] = append(hdr[key], string(value))
	}
	host := string(r.Request.Host)
	if u.Host != "" {
		host = u.Host
	}
	req := &http.Request{
		Method:        string(r.Method),
		URL:           u,
		Proto:         "HTTP/" + strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor),
		ProtoMajor:    r.ProtoMajor,
		ProtoMinor:    r.ProtoMinor,
		Header:        hdr,
		Host:          host,
		RequestURI:    target,
		ContentLength: r.ContentLength,
		Close:         !r.KeepAlive,
		RemoteAddr:    remoteAddr(r),
		Body:          http.NoBody,
	}
	switch {
	case r.Chunked:
		req.TransferEncoding = []string{"chunked"}
		req.ContentLength = -1
	case r.ContentLength < 0:
		req.ContentLength = 0
	}
	switch {
	case r.BodyStream != nil:
		req.Body = r.BodyStream
	case len(r.Body) > 0 || r.Chunked:
		req.Body = io.NopCloser(bytes.NewReader(bytes.Clone(r.Body)))
	}
	return req.WithContext(context.Background()), nil
}

func remoteAddr(r *Request) string {
	if len(r.RemoteIP) == 0 {
		return "0.0.0.0:0" // the modem did not report it (CIPDINFO off)
	}
	return net.JoinHostPort(string(r.RemoteIP), strconv.Itoa(r.RemotePort))
}

// gatewayWriter is the http.ResponseWriter of one request. Its methods run
// on the handler's goroutine; the loop reads the body through pipe.
type gatewayWriter struct {
	d      Detached
	header http.Header
	head   bool // a HEAD request: the body is counted, not sent

	status  int
	wrote   bool   // WriteHeader (or the first Write) happened
	buf     []byte // the body, until the response starts
	started bool   // the response was handed to the loop
	length  int64  // declared Content-Length, or -1
	written int64

	mu      sync.Mutex // guards pipe and aborted, shared with abort
	pipe    *pipe
	aborted error

	hijacked  bool
	switching bool // WriteHeader(101): the head goes out on Hijack
	remote    net.Addr
	long      atomic.Bool // the response holds a long-lived slot
}

func (g *gatewayWriter) Header() http.Header { return g.header }

func (g *gatewayWriter) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols && !g.wrote {
		g.switching = true // sent by Hijack, as net/http does
		return
	}
	if g.wrote || code < 200 { // 1xx informational answers are not forwarded
		return
	}
	if code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	g.wrote = true
	g.status = code
	g.length = -1
	if cl := g.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			g.length = n
		}
	}
}

func (g *gatewayWriter) Write(p []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.length >= 0 && g.written+int64(len(p)) > g.length {
		return 0, http.ErrContentLength
	}
	if g.status == http.StatusNoContent || g.status == http.StatusNotModified {
		return 0, http.ErrBodyNotAllowed
	}
	if g.head {
		g.written += int64(len(p))
		return len(p), nil
	}
	if !g.started {
		if len(g.buf)+len(p) <= GatewayBuffer {
			g.buf = append(g.buf, p...)
			g.written += int64(len(p))
			return len(p), nil
		}
		g.start(g.length)
	}
	n, err := g.pipe.write(p)
	g.written += int64(n)
	return n, err
}

// Flush sends what is buffered now (http.Flusher).
func (g *gatewayWriter) Flush() {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if !g.started && !g.head {
		g.start(g.length)
	}
}

// start hands the response to the loop; later bytes stream through pipe.
func (g *gatewayWriter) start(length int64) {
	g.started = true
	p := newPipe(g.d)
	g.mu.Lock()
	g.pipe = p
	if g.aborted != nil {
		p.close(g.aborted)
	}
	g.mu.Unlock()
	p.write(g.buf)
	g.buf = nil
	status, header, closeAfter := g.status, g.headerLines(), g.closeRequested()
	long := g.long.Load() || isEventStream(g.header.Get("Content-Type"))
	g.d.Respond(func(w *ResponseWriter) {
		if long && !w.LongLived() {
			RefuseLongLived(w)
			p.close(errNoLongLivedSlot)
			return
		}
		g.long.Store(long)
		w.WriteHeader(status)
		w.header = append(w.header, header...)
		if closeAfter {
			w.CloseAfter()
		}
		w.SetStream(p, length)
	})
}

// finish ends the response when the handler returns.
func (g *gatewayWriter) finish() {
	if g.hijacked {
		return // the conn is the handler's now
	}
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.started {
		g.pipe.close(nil)
		return
	}
	// The whole body is here: send it with its exact length, as net/http does.
	noBody := g.status == http.StatusNoContent || g.status == http.StatusNotModified
	if g.header.Get("Content-Type") == "" && len(g.buf) > 0 && !noBody {
		g.header.Set("Content-Type", http.DetectContentType(g.buf))
	}
	status, header, closeAfter, body := g.status, g.headerLines(), g.closeRequested(), g.buf
	length := int64(len(body))
	if g.head {
		length = g.written // what a GET would have sent
		if g.length >= 0 {
			length = g.length
		}
	}
	g.d.Respond(func(w *ResponseWriter) {
		w.WriteHeader(status)
		w.header = append(w.header, header...)
		if closeAfter {
			w.CloseAfter()
		}
		if g.head { // the machine sends the head only, with this length
			w.SetStream(eofReader{}, length)
			return
		}
		w.SetBody(body)
	})
}

var errNoLongLivedSlot = errors.New("handlers: no long-lived slot free: the client got 503")

func isEventStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), eventStream)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// headerLines formats the handler's header for the wire, leaving out what
// the server frames itself.
func (g *gatewayWriter) headerLines() []byte {
	var b []byte
	for key, values := range g.header {
		switch key {
		case "Content-Length", "Transfer-Encoding", "Connection", "Date", "Trailer":
			continue
		}
		if !validHeader(key) {
			continue
		}
		for _, v := range values {
			if !validHeader(v) {
				continue
			}
			b = append(b, key...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return b
}

func (g *gatewayWriter) closeRequested() bool {
	for _, v := range g.header["Connection"] {
		if strings.EqualFold(strings.TrimSpace(v), "close") {
			return true
		}
	}
	return false
}

// serve runs the handler; a panic becomes a 500 if nothing was sent yet,
// otherwise the link is closed (the client sees a cut response). A panic
// with http.ErrAbortHandler always closes the link without an answer.
func (g *gatewayWriter) serve(gw *NetHTTP, req *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				gw.logf("espgate: net/http handler panicked serving %s: %v", req.URL.Path, p)
			}
			if g.hijacked {
				return
			}
			if !g.started && p == http.ErrAbortHandler {
				// As net/http: the response is aborted, the client sees
				// the link close without an answer.
				g.d.Hijack(eofReader{}, func([]byte, bool) {})
				return
			}
			if !g.started {
				g.d.Respond(func(w *ResponseWriter) {
					w.WriteHeader(http.StatusInternalServerError)
					w.WriteString("Internal Server Error\n")
					w.CloseAfter()
				})
				return
			}
			g.pipe.close(errHandlerPanicked)
		}
	}()
	gw.Handler.ServeHTTP(g, req)
	g.finish()
}

var errHandlerPanicked = errors.New("handlers: the net/http handler panicked")

// abort stops the body when the link closed first: a blocked Write returns.
func (g *gatewayWriter) abort(err error) {
	if err == nil {
		return
	}
	g.mu.Lock()
	g.aborted = err
	p := g.pipe
	g.mu.Unlock()
	if p != nil {
		p.close(err)
	}
}

// pipe carries a response body from the handler's goroutine to the loop.
// write blocks while GatewayBuffer bytes wait; Read (on the loop) never
// blocks: it returns (0, nil) when nothing is ready and asks for a Wake.
type pipe struct {
	d        Detached
	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte
	closed   bool
	err      error // why the writer stopped; io.EOF for a normal end
	want     bool  // the loop found it empty and waits for Wake
	deadline time.Time
	dlTimer  *time.Timer
}

func newPipe(d Detached) *pipe {
	p := &pipe{d: d, buf: make([]byte, 0, GatewayBuffer)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipe) write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		p.mu.Lock()
		for len(p.buf) >= GatewayBuffer && !p.closed {
			if !p.deadline.IsZero() && !time.Now().Before(p.deadline) {
				p.mu.Unlock()
				return n, os.ErrDeadlineExceeded
			}
			p.cond.Wait()
		}
		if p.closed {
			err := p.err
			p.mu.Unlock()
			if err == io.EOF || err == nil {
				err = io.ErrClosedPipe
			}
			return n, err
		}
		k := min(len(b), GatewayBuffer-len(p.buf))
		p.buf = append(p.buf, b[:k]...)
		wake := p.want
		p.want = false
		p.mu.Unlock()
		if wake {
			p.d.Wake()
		}
		n += k
		b = b[k:]
	}
	return n, nil
}

// close ends the body: err nil for a normal end.
func (p *pipe) close(err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.err = io.EOF
	if err != nil {
		p.err = err
	}
	wake := p.want
	p.want = false
	p.cond.Broadcast()
	p.mu.Unlock()
	if wake {
		p.d.Wake()
	}
}

// Read runs on the loop and never blocks.
func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) == 0 {
		if p.closed {
			return 0, p.err
		}
		p.want = true
		return 0, nil
	}
	n := copy(b, p.buf)
	p.buf = p.buf[:copy(p.buf, p.buf[n:])]
	p.cond.Broadcast()
	return n, nil
}

var _ http.Flusher = (*gatewayWriter)(nil)
