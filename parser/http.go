package parser

import (
	"bytes"
	"encoding/binary"
)

// Limits bounds what a RequestParser accepts. A field that is zero or
// negative takes its value from DefaultLimits.
type Limits struct {
	MaxTargetBytes   int   // request-target length; longer: 414
	MaxHeaderBytes   int   // head from request line to the empty line, line ends included; larger: 431
	MaxHeaders       int   // header fields; more: 431
	MaxBodyBytes     int64 // body; a larger Content-Length or chunked total: 413
	MaxChunkExtBytes int   // extension bytes of one chunk-size line (longer: 400) and the trailer section (larger: 431)
}

// DefaultLimits returns the limits used for fields left zero.
func DefaultLimits() Limits {
	return Limits{
		MaxTargetBytes:   2048,
		MaxHeaderBytes:   4096,
		MaxHeaders:       32,
		MaxBodyBytes:     1 << 20,
		MaxChunkExtBytes: 256,
	}
}

// HTTPEventKind says what a call to RequestParser.Feed produced.
type HTTPEventKind uint8

const (
	// HTTPNeedMore: all input was consumed and nothing completed.
	HTTPNeedMore HTTPEventKind = iota
	// HTTPHead: the request head is complete and Request is valid.
	// Next events: HTTPBody, HTTPDone, HTTPError.
	HTTPHead
	// HTTPBody: Data holds body bytes, de-chunked, as a sub-slice of the
	// input. Next events: HTTPBody, HTTPDone, HTTPError.
	HTTPBody
	// HTTPDone: the request is complete. Feed returns HTTPDone, consuming
	// nothing, until Next is called.
	HTTPDone
	// HTTPError: the request is invalid; Status and Reason describe the
	// response. Feed returns the same error, consuming nothing, until Reset
	// or Next.
	// The connection must be closed after the response.
	HTTPError
	numHTTPEventKinds
)

var httpEventKindNames = [numHTTPEventKinds]string{"need more", "head", "body", "done", "error"}

func (k HTTPEventKind) String() string {
	if k < numHTTPEventKinds {
		return httpEventKindNames[k]
	}
	return "unknown"
}

// HTTPEvent is one result of RequestParser.Feed.
type HTTPEvent struct {
	Kind HTTPEventKind
	// Data is a view into the input passed to Feed (HTTPBody only); it is
	// valid as long as that input is.
	Data []byte
	// Status is the response status for HTTPError: 400, 413, 414, 431,
	// 501 or 505.
	Status int
	// Reason is a constant, short description of the error, fit for a log
	// line or a response body. It never holds request bytes.
	Reason string
}

// Request is a view of a parsed request head. Every []byte in it points
// into the parser's head buffer and is valid until Next or Reset; copy it to
// keep it. The views are capped, so appending to one copies it.
type Request struct {
	Method []byte
	// Target is the request-target as received.
	Target []byte
	// Path is Target up to '?', raw (not unescaped). For an absolute-form
	// target (http://host/path) it starts at the path's '/', and is "/"
	// when the path is empty. For OPTIONS * it is "*".
	Path []byte
	// RawQuery is the part of Target after the first '?', nil if none.
	RawQuery []byte
	// ProtoMajor is 1; ProtoMinor is 0 or 1, or a higher minor version
	// received, which is handled as 1.1.
	ProtoMajor, ProtoMinor int
	// Host is the authority of an absolute-form target, otherwise the Host
	// header field; nil when HTTP/1.0 sent neither.
	Host []byte
	// ContentLength is the Content-Length, or -1 when none was sent.
	// A request with neither Content-Length nor chunked framing has an
	// empty body.
	ContentLength int64
	// Chunked is set when the body uses the chunked transfer coding.
	Chunked bool
	// KeepAlive follows RFC 9112 section 9.3: on for HTTP/1.1 unless
	// Connection has "close"; on for HTTP/1.0 only with "keep-alive".
	KeepAlive bool
	// Expect100 is set for "Expect: 100-continue" in HTTP/1.1. The caller
	// answers "HTTP/1.1 100 Continue\r\n\r\n" before reading the body.
	Expect100 bool
	// Upgrade is set when an HTTP/1.1 request has the "upgrade" token in
	// Connection and a non-empty Upgrade field.
	Upgrade bool

	buf    []byte     // the parser's head buffer
	fields []reqField // header fields, in order received
}

// reqField locates one header field in the head buffer.
type reqField struct {
	name, nameEnd, value, valueEnd int
}

// NumHeaders returns the number of header fields.
func (r *Request) NumHeaders() int { return len(r.fields) }

// HeaderAt returns the i'th header field in the order received. The value
// is trimmed of leading and trailing spaces and tabs.
func (r *Request) HeaderAt(i int) (name, value []byte) {
	f := &r.fields[i]
	return r.buf[f.name:f.nameEnd:f.nameEnd], r.buf[f.value:f.valueEnd:f.valueEnd]
}

// Header returns the value of the first field named name (ASCII
// case-insensitive), or nil if there is none.
func (r *Request) Header(name string) []byte {
	for i := range r.fields {
		f := &r.fields[i]
		if reqEqualFold(r.buf[f.name:f.nameEnd], name) {
			return r.buf[f.value:f.valueEnd:f.valueEnd]
		}
	}
	return nil
}

// HasToken reports whether any field named header holds token in its
// comma-separated list, ASCII case-insensitive. Parameters after ';' are
// ignored, so "gzip;q=0" matches "gzip": quality values are not weighed.
func (r *Request) HasToken(header, token string) bool {
	for i := range r.fields {
		f := &r.fields[i]
		if !reqEqualFold(r.buf[f.name:f.nameEnd], header) {
			continue
		}
		for v := r.buf[f.value:f.valueEnd]; len(v) > 0; {
			var e []byte
			e, v = reqNextElem(v)
			if j := bytes.IndexByte(e, ';'); j >= 0 {
				e = reqTrimOWS(e[:j])
			}
			if reqEqualFold(e, token) {
				return true
			}
		}
	}
	return false
}

type reqState uint8

const (
	reqStateHead      reqState = iota // collecting head lines; next: reqStateBody, reqStateChunkSize, reqStateDone
	reqStateBody                      // Content-Length body; next: reqStateDone
	reqStateChunkSize                 // chunk-size line; next: reqStateChunkData, reqStateTrailer
	reqStateChunkData                 // chunk data; next: reqStateChunkCR
	reqStateChunkCR                   // CR after chunk data; next: reqStateChunkLF
	reqStateChunkLF                   // LF after chunk data; next: reqStateChunkSize
	reqStateTrailer                   // trailer lines up to the empty line; next: reqStateDone
	reqStateDone                      // request complete, waiting for Next
	reqStateError                     // sticky error, waiting for Reset
)

// httpMaxLeadingEmptyLines bounds the empty lines skipped before a request
// line (RFC 9112 section 2.2 asks for at least one).
const httpMaxLeadingEmptyLines = 8

// httpMaxChunkSizeDigits bounds the hex digits of a chunk size, leading
// zeros included, as net/http does.
const httpMaxChunkSizeDigits = 16

// Error reasons. Status codes go with them where they are used.
const (
	reqReasonBareCR          = "bare CR in request head"
	reqReasonEmptyLines      = "too many empty lines before request line"
	reqReasonRequestLine     = "malformed request line"
	reqReasonMethod          = "invalid method"
	reqReasonTarget          = "invalid request target"
	reqReasonVersion         = "malformed HTTP version"
	reqReasonVersionSupport  = "HTTP version not supported"
	reqReasonConnect         = "CONNECT not supported"
	reqReasonTargetTooLong   = "request target too long"
	reqReasonHeadTooLarge    = "request head too large"
	reqReasonTooManyHeaders  = "too many header fields"
	reqReasonObsFold         = "obsolete line folding"
	reqReasonFieldName       = "invalid header field name"
	reqReasonFieldValue      = "invalid header field value"
	reqReasonHostMissing     = "missing Host"
	reqReasonHostMultiple    = "multiple Host fields"
	reqReasonHostInvalid     = "invalid Host"
	reqReasonTEWithCL        = "Transfer-Encoding with Content-Length"
	reqReasonTEHTTP10        = "Transfer-Encoding in HTTP/1.0"
	reqReasonTEInvalid       = "invalid Transfer-Encoding"
	reqReasonTEUnsupported   = "unsupported transfer coding"
	reqReasonTENotChunked    = "chunked is not the final transfer coding"
	reqReasonCLInvalid       = "invalid Content-Length"
	reqReasonCLConflict      = "conflicting Content-Length fields"
	reqReasonBodyTooLarge    = "request body too large"
	reqReasonChunkLineEnd    = "chunk line not ended by CRLF"
	reqReasonChunkLineLong   = "chunk line too long"
	reqReasonChunkSize       = "invalid chunk size"
	reqReasonChunkExt        = "invalid chunk extension"
	reqReasonChunkDataEnd    = "missing CRLF after chunk data"
	reqReasonTrailerTooLarge = "trailer section too large"
	reqReasonTrailerField    = "invalid trailer field"
)

// RequestParser parses HTTP/1.1 requests incrementally from any
// fragmentation of the input. It copies the request head (request line and
// header fields) into its own fixed buffer of Limits.MaxHeaderBytes, so the
// views in Request stay valid across fragments until Next or Reset. Body
// bytes are not copied: HTTPBody events hold sub-slices of Feed's input.
//
// Where RFC 9110 and 9112 leave a choice, it takes these:
//   - Up to 8 empty lines before a request line are skipped.
//   - A bare LF ends a head line (RFC 9112 section 2.2). Any other CR in
//     the head, obs-fold, and whitespace before a field's colon get 400.
//   - Chunked framing and trailers need CRLF exactly. Trailers are checked
//     and discarded.
//   - HTTP/1.x with a minor version above 1 is handled as HTTP/1.1 (RFC
//     9110 section 2.5); other well-formed versions get 505.
//   - CONNECT gets 501, as espgate is no proxy. The asterisk-form is for
//     OPTIONS only.
//   - Content-Length fields with byte-identical values count as one (RFC
//     9110 section 8.6); differing values or a list get 400.
//   - Transfer-Encoding must be a single field holding just "chunked", as
//     net/http and nginx require. Codings that do not end with chunked get
//     400 (RFC 9112 section 6.3: the length is unknown); other codings
//     before chunked get 501; anything else 400, as does
//     Transfer-Encoding with Content-Length or in HTTP/1.0.
//   - Expectations other than 100-continue are ignored.
//
// A RequestParser allocates only in NewRequestParser. It is owned by one
// goroutine; it is not safe for concurrent use.
type RequestParser struct {
	lim   Limits
	state reqState

	buf     []byte // head bytes; cap is MaxHeaderBytes and never grows
	line    int    // offset in buf of the line being collected
	reqLine bool   // the request line has been parsed
	empties int    // empty lines skipped before the request line

	fields  []reqField // cap is MaxHeaders and never grows
	scratch []byte     // one chunk-size or trailer line

	remaining    int64 // body bytes left: of the Content-Length body or of the chunk
	total        int64 // chunked body bytes so far
	trailerBytes int   // trailer section bytes so far

	err   HTTPEvent
	req   Request
	slash [1]byte // Path of an absolute-form target with an empty path
}

// NewRequestParser returns a parser that enforces l, with zero fields of l
// taken from DefaultLimits. It allocates the head buffer once.
func NewRequestParser(l Limits) *RequestParser {
	d := DefaultLimits()
	if l.MaxTargetBytes <= 0 {
		l.MaxTargetBytes = d.MaxTargetBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = d.MaxHeaders
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxChunkExtBytes <= 0 {
		l.MaxChunkExtBytes = d.MaxChunkExtBytes
	}
	p := &RequestParser{
		lim:     l,
		buf:     make([]byte, 0, l.MaxHeaderBytes),
		fields:  make([]reqField, 0, l.MaxHeaders),
		scratch: make([]byte, 0, httpMaxChunkSizeDigits+l.MaxChunkExtBytes+1),
		slash:   [1]byte{'/'},
	}
	p.Next()
	return p
}

// Limits returns the limits in force.
func (p *RequestParser) Limits() Limits { return p.lim }

// Next readies the parser for the next request on the same connection,
// keeping its buffers. It invalidates the views of the previous Request.
// Call it after HTTPDone; called earlier, it drops the request's framing
// and the connection must be closed.
func (p *RequestParser) Next() {
	p.state = reqStateHead
	p.buf = p.buf[:0]
	p.line = 0
	p.reqLine = false
	p.empties = 0
	p.fields = p.fields[:0]
	p.scratch = p.scratch[:0]
	p.remaining = 0
	p.total = 0
	p.trailerBytes = 0
	p.err = HTTPEvent{}
	p.req = Request{buf: p.buf[:0:cap(p.buf)]}
}

// Reset readies the parser for a new connection, keeping its buffers.
func (p *RequestParser) Reset() { p.Next() }

// Request returns the parsed head. It is valid from HTTPHead until Next or
// Reset.
func (p *RequestParser) Request() *Request { return &p.req }

// Started reports whether bytes of a request other than leading empty lines
// have been consumed and its last byte has not. After an error it is true.
func (p *RequestParser) Started() bool {
	switch p.state {
	case reqStateHead:
		return p.reqLine || len(p.buf) > 1 || len(p.buf) == 1 && p.buf[0] != '\r'
	case reqStateDone:
		return false
	}
	return true
}

// InBody reports whether the head is complete and the body is not.
func (p *RequestParser) InBody() bool {
	switch p.state {
	case reqStateBody, reqStateChunkSize, reqStateChunkData, reqStateChunkCR, reqStateChunkLF, reqStateTrailer:
		return true
	}
	return false
}

// Feed consumes a prefix of in and returns how many bytes it consumed and
// at most one event. HTTPNeedMore means all of in was consumed. Feed may be
// called with empty input, which is how a request without a body reaches
// HTTPDone after HTTPHead. The caller loops:
//
//	for {
//		n, ev := p.Feed(in)
//		in = in[n:]
//		switch ev.Kind {
//		case HTTPNeedMore:
//			return // wait for the next fragment
//		case HTTPHead, HTTPBody:
//			// use p.Request(), ev.Data
//		case HTTPDone:
//			// serve; when done with the views: p.Next(), and go on with in
//		case HTTPError:
//			// answer ev.Status and close
//		}
//	}
//
// After HTTPDone, pipelined bytes stay in the caller's in.
func (p *RequestParser) Feed(in []byte) (n int, ev HTTPEvent) {
	switch p.state {
	case reqStateHead:
		m, k := p.feedHead(in)
		if k == HTTPError {
			return m, p.err
		}
		return m, HTTPEvent{Kind: k}
	case reqStateBody:
		if len(in) == 0 {
			return 0, HTTPEvent{}
		}
		k := int(min(p.remaining, int64(len(in))))
		p.remaining -= int64(k)
		if p.remaining == 0 {
			p.state = reqStateDone
		}
		return k, HTTPEvent{Kind: HTTPBody, Data: in[:k:k]}
	case reqStateDone:
		return 0, HTTPEvent{Kind: HTTPDone}
	case reqStateError:
		return 0, p.err
	}
	return p.feedChunked(in)
}

func (p *RequestParser) fail(status int, reason string) HTTPEvent {
	p.state = reqStateError
	p.err = HTTPEvent{Kind: HTTPError, Status: status, Reason: reason}
	return p.err
}

// headLine results.
const (
	reqLineMore = iota // line taken, more to come
	reqLineSkip        // empty line before the request line, dropped
	reqLineEnd         // the empty line that ends the head
	reqLineErr         // p.err is set
)

// feedHead collects the head in buf and parses each line when its LF
// arrives. A line begun in an earlier call is finished in buf; the lines
// after it are parsed in place and copied to buf in one piece. Every
// decision depends only on byte positions in the stream, so any
// fragmentation gives the same result.
func (p *RequestParser) feedHead(in []byte) (int, HTTPEventKind) {
	n := 0
	if p.line < len(p.buf) {
		i := bytes.IndexByte(in, '\n')
		if i < 0 || len(p.buf)+i+1 > cap(p.buf) {
			return p.headTail(in, 0)
		}
		p.buf = append(p.buf, in[:i+1]...)
		n = i + 1
		switch r := p.headLine(reqTrimCR(p.buf[p.line:len(p.buf)-1]), p.line); r {
		case reqLineSkip:
			p.buf = p.buf[:0]
		case reqLineMore:
		default:
			return n, p.headStop(r)
		}
		p.line = len(p.buf)
	}
	from := n // in[from:n] is parsed but not yet in buf
	for n < len(in) {
		i := bytes.IndexByte(in[n:], '\n')
		if i < 0 {
			break
		}
		end := n + i + 1
		pos := len(p.buf) + n - from // where in[n] goes in buf
		if pos+i+1 > cap(p.buf) {
			break
		}
		line := reqTrimCR(in[n : end-1])
		if !p.reqLine && len(line) > 0 {
			// The request line's views are kept: parse it from buf.
			p.buf = append(p.buf, in[from:end]...)
			from = end
			line = p.buf[pos : pos+len(line)]
		}
		r := p.headLine(line, pos)
		n = end
		switch r {
		case reqLineSkip:
			from = n
		case reqLineMore:
		default:
			p.buf = append(p.buf, in[from:n]...)
			p.line = len(p.buf)
			return n, p.headStop(r)
		}
	}
	p.buf = append(p.buf, in[from:n]...)
	p.line = len(p.buf)
	return p.headTail(in, n)
}

// headTail adds in[n:], which holds no complete line that fits, to the
// partial line in buf.
func (p *RequestParser) headTail(in []byte, n int) (int, HTTPEventKind) {
	rest := in[n:]
	if room := cap(p.buf) - len(p.buf); len(rest) > room {
		p.buf = append(p.buf, rest[:room]...)
		if !p.reqLine && p.targetTooLong() {
			p.fail(414, reqReasonTargetTooLong)
		} else {
			p.fail(431, reqReasonHeadTooLarge)
		}
		return n + room, HTTPError
	}
	p.buf = append(p.buf, rest...)
	// Reject an overlong target without waiting for its line end.
	if !p.reqLine && len(p.buf)-p.line > p.lim.MaxTargetBytes && p.targetTooLong() {
		p.fail(414, reqReasonTargetTooLong)
		return len(in), HTTPError
	}
	return len(in), HTTPNeedMore
}

// headStop returns the event for a headLine result that ends the head.
func (p *RequestParser) headStop(r int) HTTPEventKind {
	if r == reqLineEnd {
		return p.endHead()
	}
	return HTTPError
}

// targetTooLong reports whether the target in the partial request line in
// buf is already longer than allowed. A trailing CR may be half a CRLF and
// does not count, so the answer never differs from the complete line's.
func (p *RequestParser) targetTooLong() bool {
	return reqTargetSpan(reqTrimCR(p.buf[p.line:])) > p.lim.MaxTargetBytes
}

// reqTrimCR drops one trailing CR.
func reqTrimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// reqTargetSpan returns the length of the second space-separated field of
// a (possibly partial) request line.
func reqTargetSpan(line []byte) int {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return 0
	}
	rest := line[sp+1:]
	if j := bytes.IndexByte(rest, ' '); j >= 0 {
		return j
	}
	return len(rest)
}

// headLine parses one head line, without its line end. The line is read
// from wherever it is; pos is where it is or will be in buf.
func (p *RequestParser) headLine(line []byte, pos int) int {
	if !p.reqLine {
		if len(line) == 0 {
			p.empties++
			if p.empties > httpMaxLeadingEmptyLines {
				p.fail(400, reqReasonEmptyLines)
				return reqLineErr
			}
			return reqLineSkip
		}
		p.reqLine = true
		if !p.requestLine(line) {
			return reqLineErr
		}
		return reqLineMore
	}
	if len(line) == 0 {
		return reqLineEnd
	}
	if line[0] == ' ' || line[0] == '\t' {
		p.fail(400, reqBareCR(line, reqReasonObsFold))
		return reqLineErr
	}
	nameEnd, v0, v1, reason := reqParseField(line)
	if reason != "" {
		p.fail(400, reqBareCR(line, reason))
		return reqLineErr
	}
	if len(p.fields) == cap(p.fields) {
		p.fail(431, reqReasonTooManyHeaders)
		return reqLineErr
	}
	p.fields = append(p.fields, reqField{pos, pos + nameEnd, pos + v0, pos + v1})
	return reqLineMore
}

// reqBareCR returns the reason for a line refused for reason: a CR in it
// is named first, as it is what broke the line.
func reqBareCR(line []byte, reason string) string {
	if bytes.IndexByte(line, '\r') >= 0 {
		return reqReasonBareCR
	}
	return reason
}

// reqParseField splits a field line into name and OWS-trimmed value and
// checks both. It returns offsets in line, or a non-empty reason.
func reqParseField(line []byte) (nameEnd, v0, v1 int, reason string) {
	i := 0
	for i < len(line) && reqClass[line[i]]&reqClassToken != 0 {
		i++
	}
	if i == 0 || i == len(line) || line[i] != ':' {
		return 0, 0, 0, reqReasonFieldName
	}
	v0, v1 = i+1, len(line)
	for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
		v0++
	}
	for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
		v1--
	}
	if !reqValidValue(line[v0:v1]) {
		return 0, 0, 0, reqReasonFieldValue
	}
	return i, v0, v1, ""
}

// reqValidValue reports whether b holds only field-value bytes: HTAB, SP,
// VCHAR and obs-text. It tests eight bytes at a time for a byte below 0x20
// or equal to 0x7f, and looks closer only at words that have one.
func reqValidValue(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		del := w ^ 0x7f*ones
		if ((w-0x20*ones)&^w|(del-ones)&^del)&highs != 0 {
			for _, c := range b[:8] {
				if reqClass[c]&reqClassValue == 0 {
					return false
				}
			}
		}
		b = b[8:]
	}
	for _, c := range b {
		if reqClass[c]&reqClassValue == 0 {
			return false
		}
	}
	return true
}

// requestLine parses method SP request-target SP HTTP-version from buf.
// It reports false after recording an error. 414 is checked first, as it
// may also be decided before the line is complete.
func (p *RequestParser) requestLine(line []byte) bool {
	// The target span as reqTargetSpan measures it.
	sp1, sp2, span := bytes.IndexByte(line, ' '), -1, 0
	var rest []byte
	if sp1 >= 0 {
		rest = line[sp1+1:]
		if sp2 = bytes.IndexByte(rest, ' '); sp2 >= 0 {
			span = sp2
		} else {
			span = len(rest)
		}
	}
	if span > p.lim.MaxTargetBytes {
		p.fail(414, reqReasonTargetTooLong)
		return false
	}
	if sp1 <= 0 {
		p.fail(400, reqBareCR(line, reqReasonRequestLine))
		return false
	}
	method := line[:sp1:sp1]
	for _, c := range method {
		if reqClass[c]&reqClassToken == 0 {
			p.fail(400, reqBareCR(line, reqReasonMethod))
			return false
		}
	}
	if sp2 <= 0 {
		p.fail(400, reqBareCR(line, reqReasonRequestLine))
		return false
	}
	target, version := rest[:sp2:sp2], rest[sp2+1:]
	for _, c := range target {
		if reqClass[c]&reqClassTarget == 0 {
			p.fail(400, reqBareCR(line, reqReasonTarget))
			return false
		}
	}
	if len(version) != 8 || string(version[:5]) != "HTTP/" || version[6] != '.' ||
		!reqIsDigit(version[5]) || !reqIsDigit(version[7]) {
		p.fail(400, reqBareCR(line, reqReasonVersion))
		return false
	}
	if version[5] != '1' {
		p.fail(505, reqReasonVersionSupport)
		return false
	}
	if string(method) == "CONNECT" {
		p.fail(501, reqReasonConnect)
		return false
	}
	r := &p.req
	r.Method, r.Target = method, target
	r.ProtoMajor, r.ProtoMinor = 1, int(version[7]-'0')
	switch {
	case target[0] == '/':
		r.Path, r.RawQuery = reqSplitQuery(target)
	case len(target) == 1 && target[0] == '*':
		if string(method) != "OPTIONS" {
			p.fail(400, reqReasonTarget)
			return false
		}
		r.Path = target
	default:
		if !p.absoluteForm(target) {
			p.fail(400, reqReasonTarget)
			return false
		}
	}
	return true
}

// absoluteForm splits an http or https absolute-form target into the
// request's Host, Path and RawQuery. Userinfo and an empty host are
// refused (RFC 9110 section 4.2).
func (p *RequestParser) absoluteForm(target []byte) bool {
	i := bytes.Index(target, []byte("://"))
	if i <= 0 {
		return false
	}
	if s := target[:i]; !reqEqualFold(s, "http") && !reqEqualFold(s, "https") {
		return false
	}
	rest := target[i+3:]
	j := 0
	for j < len(rest) && rest[j] != '/' && rest[j] != '?' {
		j++
	}
	auth := rest[:j:j]
	if len(auth) == 0 || !reqValidHost(auth) {
		return false
	}
	r := &p.req
	r.Host = auth
	if j == len(rest) || rest[j] == '?' {
		r.Path = p.slash[:1:1]
		if j < len(rest) {
			r.RawQuery = rest[j+1:]
		}
		return true
	}
	r.Path, r.RawQuery = reqSplitQuery(rest[j:])
	return true
}

func reqSplitQuery(t []byte) (path, query []byte) {
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		return t[:q:q], t[q+1:]
	}
	return t, nil
}

// endHead applies the rules that need the whole head: Host, framing and
// connection options.
func (p *RequestParser) endHead() HTTPEventKind {
	r := &p.req
	r.fields = p.fields
	var (
		host, cl                []byte
		nHost, nCL, nTE         int
		clConflict              bool
		teChunked, teOther      bool
		teLastChunked           bool
		connClose, connKeep     bool
		connUpgrade, hasUpgrade bool
		expect100               bool
	)
	for i := range p.fields {
		f := &p.fields[i]
		name, value := p.buf[f.name:f.nameEnd], p.buf[f.value:f.valueEnd:f.valueEnd]
		switch len(name) {
		case 4:
			if reqIsName(name, "host") {
				if nHost == 0 {
					host = value
				}
				nHost++
			}
		case 6:
			if reqIsName(name, "expect") {
				for v := value; len(v) > 0; {
					var e []byte
					e, v = reqNextElem(v)
					expect100 = expect100 || reqEqualFold(e, "100-continue")
				}
			}
		case 7:
			if reqIsName(name, "upgrade") && len(value) > 0 {
				hasUpgrade = true
			}
		case 10:
			if reqIsName(name, "connection") {
				for v := value; len(v) > 0; {
					var e []byte
					e, v = reqNextElem(v)
					switch {
					case reqEqualFold(e, "close"):
						connClose = true
					case reqEqualFold(e, "keep-alive"):
						connKeep = true
					case reqEqualFold(e, "upgrade"):
						connUpgrade = true
					}
				}
			}
		case 14:
			if reqIsName(name, "content-length") {
				if nCL == 0 {
					cl = value
				} else if !bytes.Equal(value, cl) {
					clConflict = true
				}
				nCL++
			}
		case 17:
			if reqIsName(name, "transfer-encoding") {
				nTE++
				teChunked = reqEqualFold(value, "chunked")
				for v := value; len(v) > 0; {
					var e []byte
					e, v = reqNextElem(v)
					if len(e) > 0 {
						teOther = teOther || !reqEqualFold(e, "chunked")
						name := e
						if j := bytes.IndexByte(e, ';'); j >= 0 {
							name = reqTrimOWS(e[:j])
						}
						teLastChunked = reqEqualFold(name, "chunked")
					}
				}
			}
		}
	}

	if nHost > 1 {
		p.fail(400, reqReasonHostMultiple)
		return HTTPError
	}
	if nHost == 0 && r.ProtoMinor >= 1 {
		p.fail(400, reqReasonHostMissing)
		return HTTPError
	}
	if nHost == 1 && !reqValidHost(host) {
		p.fail(400, reqReasonHostInvalid)
		return HTTPError
	}
	if r.Host == nil {
		r.Host = host
	}

	r.ContentLength = -1
	switch {
	case nTE > 0 && nCL > 0:
		p.fail(400, reqReasonTEWithCL)
		return HTTPError
	case nTE > 0 && r.ProtoMinor == 0:
		p.fail(400, reqReasonTEHTTP10)
		return HTTPError
	case nTE > 0 && teOther && !teLastChunked:
		// Without chunked last the body's length cannot be known (RFC
		// 9112 section 6.3): 400, whatever the codings.
		p.fail(400, reqReasonTENotChunked)
		return HTTPError
	case nTE > 0 && teOther:
		p.fail(501, reqReasonTEUnsupported)
		return HTTPError
	case nTE > 0 && (nTE > 1 || !teChunked):
		// Only one field holding just "chunked" is taken, as net/http
		// and nginx do: no empty elements, no chunked twice.
		p.fail(400, reqReasonTEInvalid)
		return HTTPError
	case nTE > 0:
		r.Chunked = true
	case clConflict:
		p.fail(400, reqReasonCLConflict)
		return HTTPError
	case nCL > 0:
		n, ok := reqParseContentLength(cl)
		if !ok {
			p.fail(400, reqReasonCLInvalid)
			return HTTPError
		}
		if n > p.lim.MaxBodyBytes {
			p.fail(413, reqReasonBodyTooLarge)
			return HTTPError
		}
		r.ContentLength = n
	}

	http11 := r.ProtoMinor >= 1
	r.KeepAlive = !connClose && (http11 || connKeep)
	r.Expect100 = http11 && expect100
	r.Upgrade = http11 && connUpgrade && hasUpgrade

	switch {
	case r.Chunked:
		p.state = reqStateChunkSize
	case r.ContentLength > 0:
		p.state = reqStateBody
		p.remaining = r.ContentLength
	default:
		p.state = reqStateDone
	}
	return HTTPHead
}

// reqParseContentLength parses 1*DIGIT into a non-negative int64.
func reqParseContentLength(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	const maxInt64 = 1<<63 - 1
	var n int64
	for _, c := range b {
		if !reqIsDigit(c) {
			return 0, false
		}
		d := int64(c - '0')
		if n > (maxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// feedChunked runs the chunked framing: size lines, data, CRLF after data,
// and the trailer section.
func (p *RequestParser) feedChunked(in []byte) (int, HTTPEvent) {
	n := 0
	for n < len(in) {
		switch p.state {
		case reqStateChunkData:
			k := int(min(p.remaining, int64(len(in)-n)))
			data := in[n : n+k : n+k]
			p.remaining -= int64(k)
			if p.remaining == 0 {
				p.state = reqStateChunkCR
			}
			return n + k, HTTPEvent{Kind: HTTPBody, Data: data}
		case reqStateChunkCR:
			if in[n] != '\r' {
				return n, p.fail(400, reqReasonChunkDataEnd)
			}
			n++
			p.state = reqStateChunkLF
		case reqStateChunkLF:
			if in[n] != '\n' {
				return n, p.fail(400, reqReasonChunkDataEnd)
			}
			n++
			p.state = reqStateChunkSize
		case reqStateChunkSize, reqStateTrailer:
			limit := httpMaxChunkSizeDigits + p.lim.MaxChunkExtBytes + 1 // digits, extension, CR
			if p.state == reqStateTrailer {
				limit = p.lim.MaxChunkExtBytes - p.trailerBytes + 1
			}
			k, line, over := p.collect(in[n:], limit)
			n += k
			switch {
			case over && p.state == reqStateChunkSize:
				return n, p.fail(400, reqReasonChunkLineLong)
			case over:
				return n, p.fail(431, reqReasonTrailerTooLarge)
			case line == nil:
				continue // n == len(in)
			}
			var ev HTTPEvent
			if p.state == reqStateChunkSize {
				ev = p.chunkSizeLine(line)
			} else {
				ev = p.trailerLine(line)
			}
			if ev.Kind != HTTPNeedMore {
				return n, ev
			}
		}
	}
	return n, HTTPEvent{}
}

// collect adds in, up to its first LF, to the line in scratch. It returns
// the bytes consumed and, once the LF is there, the line without it (never
// nil). It reports over, consuming nothing, if the line would pass limit.
func (p *RequestParser) collect(in []byte, limit int) (n int, line []byte, over bool) {
	i := bytes.IndexByte(in, '\n')
	seg := in
	if i >= 0 {
		seg = in[:i]
	}
	if len(p.scratch)+len(seg) > limit {
		return 0, nil, true
	}
	p.scratch = append(p.scratch, seg...)
	if i < 0 {
		return len(in), nil, false
	}
	line = p.scratch
	p.scratch = p.scratch[:0]
	return i + 1, line, false
}

// reqEndCRLF strips the CR of a line collected without its LF, which must
// be its only CR.
func reqEndCRLF(line []byte) ([]byte, bool) {
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return nil, false
	}
	line = line[:len(line)-1]
	return line, bytes.IndexByte(line, '\r') < 0
}

// chunkSizeLine parses chunk-size [chunk-ext] CRLF.
func (p *RequestParser) chunkSizeLine(line []byte) HTTPEvent {
	line, ok := reqEndCRLF(line)
	if !ok {
		return p.fail(400, reqReasonChunkLineEnd)
	}
	var size uint64
	i := 0
	for ; i < len(line); i++ {
		d, ok := reqHexDigit(line[i])
		if !ok {
			break
		}
		if i == httpMaxChunkSizeDigits {
			return p.fail(400, reqReasonChunkSize)
		}
		size = size<<4 | uint64(d)
	}
	if i == 0 || size > 1<<63-1 {
		return p.fail(400, reqReasonChunkSize)
	}
	ext := line[i:]
	if len(ext) > p.lim.MaxChunkExtBytes {
		return p.fail(400, reqReasonChunkLineLong)
	}
	if !reqValidChunkExt(ext) {
		return p.fail(400, reqReasonChunkExt)
	}
	if size == 0 {
		p.state = reqStateTrailer
		return HTTPEvent{}
	}
	if int64(size) > p.lim.MaxBodyBytes-p.total {
		return p.fail(413, reqReasonBodyTooLarge)
	}
	p.total += int64(size)
	p.remaining = int64(size)
	p.state = reqStateChunkData
	return HTTPEvent{}
}

// trailerLine checks one trailer field line, or ends the request at the
// empty line.
func (p *RequestParser) trailerLine(line []byte) HTTPEvent {
	line, ok := reqEndCRLF(line)
	if !ok {
		return p.fail(400, reqReasonChunkLineEnd)
	}
	if len(line) == 0 {
		p.state = reqStateDone
		return HTTPEvent{Kind: HTTPDone}
	}
	p.trailerBytes += len(line) + 2
	if p.trailerBytes > p.lim.MaxChunkExtBytes {
		return p.fail(431, reqReasonTrailerTooLarge)
	}
	if line[0] == ' ' || line[0] == '\t' {
		return p.fail(400, reqReasonTrailerField)
	}
	if _, _, _, reason := reqParseField(line); reason != "" {
		return p.fail(400, reqReasonTrailerField)
	}
	return HTTPEvent{}
}

// reqValidChunkExt checks *( BWS ";" BWS name [ BWS "=" BWS value ] ) BWS,
// the value a token or quoted-string (RFC 9112 section 7.1.1). The final
// BWS is an allowance: net/http accepts whitespace after the size too.
func reqValidChunkExt(ext []byte) bool {
	i := 0
	for {
		i = reqSkipBWS(ext, i)
		if i == len(ext) {
			return true
		}
		if ext[i] != ';' {
			return false
		}
		i = reqSkipBWS(ext, i+1)
		j := reqSkipToken(ext, i)
		if j == i {
			return false
		}
		i = j
		if k := reqSkipBWS(ext, i); k < len(ext) && ext[k] == '=' {
			i = reqSkipBWS(ext, k+1)
			if i < len(ext) && ext[i] == '"' {
				if i = reqSkipQuoted(ext, i); i < 0 {
					return false
				}
			} else if j := reqSkipToken(ext, i); j > i {
				i = j
			} else {
				return false
			}
		}
	}
}

func reqSkipBWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func reqSkipToken(b []byte, i int) int {
	for i < len(b) && reqClass[b[i]]&reqClassToken != 0 {
		i++
	}
	return i
}

// reqSkipQuoted returns the index after the quoted-string at b[i], or -1.
func reqSkipQuoted(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i == len(b) || reqClass[b[i]]&reqClassValue == 0 {
				return -1
			}
		case reqClass[c]&reqClassValue == 0:
			return -1
		}
	}
	return -1
}

// reqNextElem returns the first element of a comma-separated list, trimmed
// of OWS, and the rest of the list.
func reqNextElem(v []byte) (elem, rest []byte) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		return reqTrimOWS(v[:i]), v[i+1:]
	}
	return reqTrimOWS(v), nil
}

func reqTrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// reqIsName reports whether the field name b is lower, ignoring ASCII
// case. lower holds only lower-case letters and '-', and b only tchars: of
// those, setting bit 0x20 turns only letters into letters, and only '-'
// into '-'.
func reqIsName(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// reqEqualFold reports whether b equals s, ignoring ASCII case.
func reqEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if reqLower(b[i]) != reqLower(s[i]) {
			return false
		}
	}
	return true
}

func reqLower(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

func reqIsDigit(c byte) bool { return '0' <= c && c <= '9' }

func reqHexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// reqValidHost checks the bytes of uri-host [":" port]: reg-name,
// IP-literal and port characters (RFC 3986), as net/http's server does.
func reqValidHost(h []byte) bool {
	for _, c := range h {
		if reqClass[c]&reqClassHost == 0 {
			return false
		}
	}
	return true
}

// Byte classes for reqClass.
const (
	reqClassToken  = 1 << iota // tchar (RFC 9110 section 5.6.2)
	reqClassValue              // field-vchar, SP, HTAB (obs-text included)
	reqClassTarget             // request-target bytes: VCHAR and obs-text
	reqClassHost               // Host bytes
)

var reqClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		if alnum || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0 {
			t[c] |= reqClassToken
		}
		if b == ' ' || b == '\t' || 0x21 <= b && b != 0x7f {
			t[c] |= reqClassValue
		}
		if 0x21 <= b && b != 0x7f {
			t[c] |= reqClassTarget
		}
		if alnum || bytes.IndexByte([]byte("-._~!$&'()*+,;=:[]%"), b) >= 0 {
			t[c] |= reqClassHost
		}
	}
	return t
}()
