// Package handlers is what an application sees of espgate: a request view
// and a response writer, reused per link so that simple handlers allocate
// nothing; a router; what web apps need on top (query and form values,
// multipart uploads, cookies, JSON, redirects, streaming, CORS, Basic and
// Bearer auth); and the gateway that runs any net/http.Handler.
package handlers

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/espgate/espgate/parser"
)

// Request is a view of one request. It and every slice it holds (and
// every slice its methods return) are valid only until the handler
// returns; copy what must be kept.
type Request struct {
	*parser.Request        // method, target, path, raw query, headers, framing
	Link            int    // the modem link (0..4) the request came on
	RemoteIP        []byte // the client's address as the modem reported it (CIPDINFO); may be empty
	RemotePort      int
	Body            []byte // the whole request body, de-chunked
	// BodyStream, for a handler that streams bodies (BodyStreamer), reads
	// the body as it arrives, de-chunked; Body is then nil. It stays valid
	// after the handler returns, for a detached answer.
	BodyStream io.ReadCloser

	params  [maxParams]param
	nparams int
	scratch []byte // unescaped values, reused
	mp      MultipartReader
}

const maxParams = 8

type param struct {
	name  string
	value []byte
}

// Reset points r at a new request, keeping its buffers.
func (r *Request) Reset(pr *parser.Request, link int, ip []byte, port int, body []byte) {
	r.Request, r.Link, r.RemoteIP, r.RemotePort, r.Body = pr, link, ip, port, body
	r.BodyStream = nil
	r.nparams = 0
	r.scratch = r.scratch[:0]
}

func (r *Request) addParam(name string, value []byte) {
	if r.nparams < maxParams {
		r.params[r.nparams] = param{name, value}
		r.nparams++
	}
}

// Param returns the value of the route wildcard name ({name} or
// {name...}), unescaped, or nil.
func (r *Request) Param(name string) []byte {
	for i := 0; i < r.nparams; i++ {
		if r.params[i].name == name {
			return r.unescape(r.params[i].value, false)
		}
	}
	return nil
}

// Query returns the first value of the query parameter name, unescaped
// (+ is a space), and whether it is present.
func (r *Request) Query(name string) ([]byte, bool) {
	return r.lookup(r.RawQuery, name)
}

// unescape decodes %XX (and + when plus) into the request's scratch
// buffer; b is returned as it is when it has nothing to decode or a
// malformed escape.
func (r *Request) unescape(b []byte, plus bool) []byte {
	if bytes.IndexByte(b, '%') < 0 && (!plus || bytes.IndexByte(b, '+') < 0) {
		return b
	}
	start := len(r.scratch)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '+' && plus:
			c = ' '
		case c == '%':
			if i+2 >= len(b) || unhex(b[i+1]) < 0 || unhex(b[i+2]) < 0 {
				r.scratch = r.scratch[:start]
				return b
			}
			c = byte(unhex(b[i+1])<<4 | unhex(b[i+2]))
			i += 2
		}
		r.scratch = append(r.scratch, c)
	}
	return r.scratch[start:len(r.scratch):len(r.scratch)]
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// Handler answers requests. It runs on the loop goroutine and must not
// block: it answers before returning.
type Handler interface {
	ServeModem(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeModem calls f(w, r).
func (f HandlerFunc) ServeModem(w *ResponseWriter, r *Request) { f(w, r) }

// Detached is a request whose handler returned without answering: the
// answer comes later, from any goroutine, through Respond.
type Detached interface {
	// Respond runs fill on the loop with the link's ResponseWriter and
	// sends what fill produced. Call it once, from any goroutine (the
	// handler itself included: fill then runs after it returns). If the
	// client's link closed meanwhile, fill is not run.
	Respond(fill func(w *ResponseWriter))
	// Wake tells the loop that a stream set by fill, whose Read returned
	// (0, nil), has data again. It never blocks; call it from anywhere.
	Wake()
	// Done is closed when the response is sent or the link closes.
	Done() <-chan struct{}
	// Err says why Done closed: nil when the response was sent,
	// ErrLinkClosed when the client went away first.
	Err() error
	// Hijack hands the link over instead of answering: out's bytes go to
	// the client as they are (a Read returning (0, nil) waits for Wake),
	// the link closes when out ends, and in is called on the loop with
	// every byte the client sends (a view: copy it) and once with closed
	// set when the link closes. in must not block. A hijacked link holds
	// a long-lived slot (see ResponseWriter.LongLived); when none is free
	// the client gets 503 instead and in is called with closed set.
	Hijack(out io.Reader, in func(data []byte, closed bool))
}

// ErrLinkClosed reports that the client's link closed before the answer.
var ErrLinkClosed = errors.New("handlers: the client's link closed")

// ResponseWriter collects a handler's answer. One is reused per link; it
// is valid only during the handler call (or during a Detached fill).
type ResponseWriter struct {
	detacher func() Detached
	detached Detached
	status   int
	header   []byte
	buf      []byte
	ref      []byte
	useRef   bool
	stream   io.Reader
	length   int64
	close    bool
	kept     int // header bytes that survive Discard and a Detached fill

	// Set once by the server (SetLongLived); kept by Reset.
	claim     func() bool     // reserves a long-lived slot
	goingAway <-chan struct{} // closed when the server shuts down
}

// Reset clears w for the next request, keeping its buffers. detacher,
// set by the server running the handler, makes Detach possible.
func (w *ResponseWriter) Reset(detacher func() Detached) {
	*w = ResponseWriter{header: w.header[:0], buf: w.buf[:0], detacher: detacher,
		claim: w.claim, goingAway: w.goingAway}
}

// SetLongLived is called once by the server that owns w (one
// ResponseWriter per link): claim reserves one of its long-lived slots for
// the link's current response, and goingAway is closed when the server
// begins shutting down. Reset keeps both.
func (w *ResponseWriter) SetLongLived(claim func() bool, goingAway <-chan struct{}) {
	w.claim, w.goingAway = claim, goingAway
}

// LongLived reserves a long-lived slot for this response: call it before
// answering with an event stream, a WebSocket or anything else that holds
// the link for long. The server has few (loop.Config.MaxLongLived, default
// 2 of the modem's 5 links), so that ordinary requests always find a link.
// It returns false when all are taken: answer with RefuseLongLived then.
// The slot is freed when the response ends or the link closes; asking
// again for the same response returns true. Call it from the handler or
// from a Detached's fill.
func (w *ResponseWriter) LongLived() bool { return w.claim != nil && w.claim() }

// GoingAway returns a channel that is closed when the server begins
// shutting down: a long-lived response should end then, so that shutdown
// need not wait for it. It is nil (never ready) outside a server.
func (w *ResponseWriter) GoingAway() <-chan struct{} { return w.goingAway }

// LongLivedRetryAfter is the Retry-After, in seconds, of RefuseLongLived.
const LongLivedRetryAfter = 5

// RefuseLongLived answers 503 with Retry-After and closes the link, for a
// request that would hold a long-lived slot when none is free.
func RefuseLongLived(w *ResponseWriter) {
	w.Discard()
	w.WriteHeader(503)
	w.AddHeaderInt("Retry-After", LongLivedRetryAfter)
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString("too many long-lived connections\n")
	w.CloseAfter()
}

// Discard drops everything the handler has set so far (status, headers,
// body), to answer afresh, for example with an error; header lines marked
// by KeepHeaders (or added before Detach) stay. A stream set with
// SetStream that is an io.Closer is closed.
func (w *ResponseWriter) Discard() {
	if c, ok := w.stream.(io.Closer); ok {
		c.Close()
	}
	*w = ResponseWriter{header: w.header[:w.kept], buf: w.buf[:0], detacher: w.detacher, kept: w.kept,
		claim: w.claim, goingAway: w.goingAway}
}

// Detach tells the server that the handler answers later: the handler
// returns at once (it must not block the loop) and hands the Detached to a
// goroutine. The request's views die when the handler returns: copy what
// the goroutine needs first. Header lines added before Detach (by a
// middleware, say) are kept for the later answer; the status and body are
// not.
func (w *ResponseWriter) Detach() Detached {
	if w.detached == nil {
		if w.detacher == nil {
			panic("handlers: Detach called outside a handler run by the server")
		}
		w.detached = w.detacher()
		w.kept = len(w.header)
	}
	return w.detached
}

// KeepHeaders marks the header lines added so far to stay through
// Discard (and so through Error and WriteError). A middleware calls it
// after adding headers every answer needs, as CORS does, so that an error
// answer from the handler it wraps still carries them.
func (w *ResponseWriter) KeepHeaders() { w.kept = len(w.header) }

// Resume clears w for the answer of a Detached request (the server calls
// it before Respond's fill), keeping the header lines added before Detach.
func (w *ResponseWriter) Resume() {
	*w = ResponseWriter{header: w.header[:w.kept], buf: w.buf[:0], kept: w.kept,
		claim: w.claim, goingAway: w.goingAway}
}

// IsDetached reports whether the handler called Detach.
func (w *ResponseWriter) IsDetached() bool { return w.detached != nil }

// WriteHeader sets the status code (default 200).
func (w *ResponseWriter) WriteHeader(status int) { w.status = status }

// AddHeader adds a header line. Name and value must not contain CR or LF;
// such a header is dropped rather than let it split the response.
func (w *ResponseWriter) AddHeader(name, value string) {
	if !validHeader(name) || !validHeader(value) {
		return
	}
	w.header = append(w.header, name...)
	w.header = append(w.header, ": "...)
	w.header = append(w.header, value...)
	w.header = append(w.header, "\r\n"...)
}

// AddHeaderInt adds a header line with a decimal value.
func (w *ResponseWriter) AddHeaderInt(name string, v int64) {
	if !validHeader(name) {
		return
	}
	w.header = append(w.header, name...)
	w.header = append(w.header, ": "...)
	w.header = strconv.AppendInt(w.header, v, 10)
	w.header = append(w.header, "\r\n"...)
}

func validHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// Write appends p to the body (copied into the link's reusable buffer).
func (w *ResponseWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// WriteString appends s to the body.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	w.buf = append(w.buf, s...)
	return len(s), nil
}

// SetBody makes b the body without copying it. b must not change until the
// response has been sent: use it for static content.
func (w *ResponseWriter) SetBody(b []byte) {
	w.ref = b
	w.useRef = true
}

// SetStream makes r the body, read one chunk at a time as the modem takes
// it. Reads must not block. length is the body's size, or -1 if unknown.
// If r is an io.Closer (a file, say), the server closes it once the
// response has been sent, or when the link closes first.
func (w *ResponseWriter) SetStream(r io.Reader, length int64) {
	w.stream = r
	w.length = length
}

// CloseAfter asks to close the link once the response is sent.
func (w *ResponseWriter) CloseAfter() { w.close = true }

// Status returns the status code (200 unless WriteHeader set another).
func (w *ResponseWriter) Status() int {
	if w.status == 0 {
		return 200
	}
	return w.status
}

// Parts returns what the handler produced, for the loop to frame and send.
func (w *ResponseWriter) Parts() (header, body []byte, stream io.Reader, length int64, close bool) {
	body = w.buf
	if w.useRef {
		body = w.ref
	}
	return w.header, body, w.stream, w.length, w.close
}
