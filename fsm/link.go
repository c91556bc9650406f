package fsm

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/espgate/espgate/parser"
)

// deadlineKind says what a link's deadline guards.
type deadlineKind uint8

const (
	dlNone   deadlineKind = iota
	dlIdle                // no request in progress
	dlHeader              // a request head is arriving
	dlBody                // a request body is arriving
	dlLinger              // 2.x: waiting for the client to close first
)

// link is the state of one modem link, owned by its Machine.
type link struct {
	id    int
	state LinkState
	gen   uint32 // bumped whenever the link changes hands
	p     *parser.RequestParser
	ip    [40]byte
	ipLen int
	port  int

	body []byte // the current request's body, de-chunked (streaming: bytes not yet taken)
	// streaming: the request was announced at its head and its body is
	// still arriving (Config.StreamBody).
	streaming bool
	stash     []byte // input held while the link is busy (pipelining)
	flood     bool   // the stash overflowed: later input is dropped, the next request gets 503

	deadline    time.Time
	dlKind      deadlineKind
	idleSince   time.Time
	closeReason CloseReason
	closeIssued bool
	lingerUntil time.Time

	// The response in progress.
	interim      bool // "100 Continue" is owed
	interimSent  bool // ... and is in the chunk in flight
	head         []byte
	headOff      int
	resp         Response
	bodyOff      int   // into resp.Body
	left         int64 // Stream bytes still owed (Length >= 0)
	chunked      bool
	noBody       bool
	streamEOF    bool
	filledAll    bool // every byte of the response is in a chunk already
	closeAfter   bool
	status       int
	wireBytes    int64
	inBytes      int64         // the current request's bytes as received
	sends        int           // AT+CIPSEND round trips of the response
	wireDur      time.Duration // ... and their total time
	streamFailed bool
	errReason    CloseReason // set when the machine answers an error itself
	reqStart     time.Time   // the current request's first byte
	method       Method
	firstSent    bool // the response's first chunk has been sent
	starved      bool // the stream had nothing ready: wait for Wake
	served       int  // responses completed on this connection
	raw          bool // hijacked: bytes pass through both ways
	// closeDelimited: the response body ends when the link closes.
	closeDelimited bool

	// held is a chunk's last byte kept for the next chunk, so that no
	// chunk reads as a command line (see announce); heldLast: it ends
	// the response.
	held              byte
	holding, heldLast bool
}

func (l *link) init(id int, cfg *Config) {
	l.id = id
	l.p = parser.NewRequestParser(cfg.Limits)
	l.head = make([]byte, 0, 512)
	l.stash = make([]byte, 0, cfg.StashBytes)
}

// open: a client connected on this link.
func (l *link) open(m *Machine, now time.Time, ip []byte, port int) {
	if l.state != LinkFree {
		l.closed(m, ClosedByClient) // its CLOSED was lost
	}
	if l.adopt(m, now); l.state != LinkReceiving {
		return
	}
	l.ipLen = copy(l.ip[:], ip)
	l.port = port
	m.evictIdle(now, l.id)
}

// adopt takes a free link as open, with no client address yet.
func (l *link) adopt(m *Machine, now time.Time) {
	l.gen++
	l.state = LinkReceiving
	l.p.Reset()
	l.body = l.body[:0]
	l.stash = l.stash[:0]
	l.flood = false
	l.streaming = false
	l.served = 0
	l.raw = false
	l.ipLen, l.port = 0, 0
	l.idle(m, now)
	m.note(Note{Kind: NoteLinkOpen, Link: l.id, Gen: l.gen, Text: l.ip[:l.ipLen]})
	if m.shutdown {
		l.startClose(m, now, ClosedShutdown)
	}
}

// idle starts waiting for the next request.
func (l *link) idle(m *Machine, now time.Time) {
	l.idleSince = now
	l.reqStart = time.Time{}
	l.inBytes = 0
	l.deadline = now.Add(m.cfg.IdleTimeout)
	l.dlKind = dlIdle
}

// evictIdle keeps a link free for the next client: when every link is
// taken, the keep-alive link idle longest (other than except) is closed.
// A fresh connection is not evicted: its request is probably on the way.
func (m *Machine) evictIdle(now time.Time, except int) {
	var victim *link
	for i := range m.links {
		l := &m.links[i]
		if l.state == LinkFree {
			return
		}
		if i != except && l.state == LinkReceiving && l.dlKind == dlIdle && l.served > 0 && !l.p.Started() &&
			(victim == nil || l.idleSince.Before(victim.idleSince)) {
			victim = l
		}
	}
	if victim != nil {
		victim.startClose(m, now, ClosedEvicted)
	}
}

// ipd: an +IPD header for this link; data follows.
func (l *link) ipd(m *Machine, now time.Time, ip []byte, port int) {
	if l.state == LinkFree {
		l.open(m, now, ip, port) // its CONNECT was lost
		return
	}
	if l.ipLen == 0 && len(ip) > 0 {
		l.ipLen = copy(l.ip[:], ip)
		l.port = port
	}
}

// data: payload bytes of this link, a view valid only during the call.
func (l *link) data(m *Machine, now time.Time, d []byte) {
	switch l.state {
	case LinkFree:
		l.open(m, now, nil, 0)
	case LinkClosing:
		return
	}
	if l.flood {
		return // the stream is cut: nothing after the overflow can be parsed
	}
	if (l.state == LinkReceiving || l.streaming) && len(l.stash) == 0 {
		d = d[l.feed(m, now, d):]
	}
	if len(d) == 0 || l.state == LinkClosing || l.state == LinkFree {
		return
	}
	if l.raw {
		if len(l.stash)+len(d) > cap(l.stash) { // the application is not reading
			l.startClose(m, now, ClosedOverrun)
			return
		}
		l.stash = append(l.stash, d...)
		m.note(Note{Kind: NoteRawData, Link: l.id, Gen: l.gen})
		return
	}
	// Busy: hold pipelined input until the response is out. Past the
	// stash's capacity the input is cut: the requests held in full are
	// served, the first one cut off is answered 503 (or the link just
	// closes), and the client retries the rest on a new connection.
	if room := cap(l.stash) - len(l.stash); len(d) > room {
		l.stash = append(l.stash, d[:room]...)
		l.flood = true
		return
	}
	l.stash = append(l.stash, d...)
}

// feed parses request bytes and returns how many it consumed.
func (l *link) feed(m *Machine, now time.Time, d []byte) int {
	total := 0
	for l.state == LinkReceiving || l.streaming {
		n, ev := l.p.Feed(d)
		d = d[n:]
		total += n
		l.inBytes += int64(n)
		switch ev.Kind {
		case parser.HTTPNeedMore: // all of d is consumed
			if !l.p.Started() {
				return total // only leading blank lines so far
			}
			if l.dlKind == dlIdle && l.p.Started() {
				l.deadline = now.Add(m.cfg.HeaderTimeout)
				l.dlKind = dlHeader
				l.reqStart = now
			} else if l.dlKind == dlBody {
				l.deadline = now.Add(m.cfg.BodyTimeout)
			}
			return total
		case parser.HTTPHead:
			r := l.p.Request()
			if l.dlKind == dlIdle {
				l.reqStart = now // the whole head came at once
			}
			l.method = methodOf(r.Method)
			if r.Expect100 && (r.ContentLength > 0 || r.Chunked) {
				l.interim = true
			}
			l.deadline = now.Add(m.cfg.BodyTimeout)
			l.dlKind = dlBody
			if (r.ContentLength > 0 || r.Chunked) && m.cfg.StreamBody != nil && m.cfg.StreamBody(l.id, r) {
				l.streaming = true
				l.state = LinkHandling
				m.note(Note{Kind: NoteRequest, Link: l.id, Gen: l.gen, Text: l.ip[:l.ipLen]})
			}
		case parser.HTTPBody:
			l.body = append(l.body, ev.Data...)
			l.deadline = now.Add(m.cfg.BodyTimeout)
			if l.streaming {
				m.note(Note{Kind: NoteBody, Link: l.id, Gen: l.gen})
			}
		case parser.HTTPDone:
			if l.streaming {
				l.streaming = false
				if !l.interimSent {
					l.interim = false
				}
				l.deadline, l.dlKind = time.Time{}, dlNone
				m.note(Note{Kind: NoteBodyEnd, Link: l.id, Gen: l.gen})
				continue // what follows is the next request: stashed by the caller
			}
			if !l.interimSent {
				l.interim = false // the body came without waiting for it
			}
			l.state = LinkHandling
			l.deadline = time.Time{}
			l.dlKind = dlNone
			if l.flood && l.stashCut(d) {
				l.respondError(m, now, http.StatusServiceUnavailable)
				l.errReason = ClosedOverrun
				return total + len(d)
			}
			m.note(Note{Kind: NoteRequest, Link: l.id, Gen: l.gen, Text: l.ip[:l.ipLen]})
		case parser.HTTPError:
			if l.streaming {
				l.bodyFailed(m, now, ev.Status)
				return total + len(d)
			}
			if l.dlKind == dlIdle {
				l.reqStart = now
			}
			l.deadline = time.Time{}
			l.dlKind = dlNone
			l.respondError(m, now, ev.Status)
			return total + len(d) // nothing more is read on this link
		}
	}
	return total
}

// bodyFailed ends a streamed body cut by status (400, 408, 413): the
// application hears of it, and the client gets status if no answer has
// started yet; otherwise the link closes.
func (l *link) bodyFailed(m *Machine, now time.Time, status int) {
	l.streaming = false
	l.deadline, l.dlKind = time.Time{}, dlNone
	m.note(Note{Kind: NoteBodyEnd, Link: l.id, Gen: l.gen, Status: status})
	if l.state == LinkHandling {
		l.respondError(m, now, status)
		if status == http.StatusRequestTimeout {
			l.errReason = ClosedTimeout
		}
		return
	}
	l.startClose(m, now, ClosedBadRequest)
}

// respondError answers with status and closes the link afterwards.
func (l *link) respondError(m *Machine, now time.Time, status int) {
	var hdr []byte
	if status == http.StatusServiceUnavailable {
		hdr = retryAfter
	}
	l.state = LinkHandling
	l.start(m, now, Response{Status: status, Header: hdr, Body: errorBody(status), Close: true}, true)
	l.errReason = ClosedBadRequest
}

var retryAfter = []byte("Retry-After: 1\r\n")

// errorBodies holds the bodies of the answers the machine makes itself.
var errorBodies = func() map[int][]byte {
	b := map[int][]byte{}
	for _, s := range []int{400, 408, 411, 413, 414, 417, 431, 500, 501, 503, 505} {
		b[s] = []byte(http.StatusText(s) + "\n")
	}
	return b
}()

func errorBody(status int) []byte {
	if b, ok := errorBodies[status]; ok {
		return b
	}
	return errorBodies[400]
}

// Respond answers the request on link that NoteRequest announced with
// generation gen.
func (m *Machine) Respond(now time.Time, link int, gen uint32, r Response) error {
	if link < 0 || link >= MaxLinks {
		return ErrStale
	}
	l := &m.links[link]
	if l.gen != gen || l.state != LinkHandling {
		return ErrStale
	}
	if r.Status < 200 || r.Status > 999 {
		return ErrStatus
	}
	l.start(m, now, r, false)
	m.schedule(now)
	return nil
}

// start frames r and queues it for sending.
func (l *link) start(m *Machine, now time.Time, r Response, isError bool) {
	req := l.p.Request()
	l.resp = r
	l.status = r.Status
	l.errReason = ClosedByServer
	l.closeDelimited = false
	l.firstSent = false
	if l.reqStart.IsZero() {
		l.reqStart = now
	}
	l.headOff, l.bodyOff, l.wireBytes = 0, 0, 0
	l.sends, l.wireDur = 0, 0
	l.chunked, l.streamEOF, l.filledAll, l.streamFailed, l.starved = false, false, false, false, false
	l.holding = false
	l.noBody = r.Status == http.StatusNoContent || r.Status == http.StatusNotModified ||
		(req != nil && !isError && string(req.Method) == http.MethodHead)

	keep := !r.Close && !isError && !m.shutdown && req != nil && req.KeepAlive && !l.streaming
	if !l.interimSent {
		l.interim = false // the final answer makes "100 Continue" moot
	}
	length := int64(len(r.Body))
	if r.Stream != nil {
		length = r.Length
	}
	l.left = length

	if r.Raw {
		l.raw = true
		l.streaming = false // what the client sends now is the raw stream's
		l.head = l.head[:0]
		l.closeAfter = true
		l.state = LinkSending
		if len(l.stash) > 0 { // bytes the client sent after its request
			m.note(Note{Kind: NoteRawData, Link: l.id, Gen: l.gen})
		}
		return
	}
	h := append(l.head[:0], "HTTP/1.1 "...)
	h = strconv.AppendInt(h, int64(r.Status), 10)
	h = append(h, ' ')
	h = append(h, http.StatusText(r.Status)...)
	h = append(h, "\r\nDate: "...)
	h = m.appendDate(h, now)
	h = append(h, "\r\n"...)
	if r.Status != http.StatusNoContent && r.Status != http.StatusNotModified {
		switch {
		case length >= 0:
			h = strconv.AppendInt(append(h, "Content-Length: "...), length, 10)
			h = append(h, "\r\n"...)
		case req != nil && req.ProtoMinor >= 1 && !l.noBody:
			h = append(h, "Transfer-Encoding: chunked\r\n"...)
			l.chunked = true
		default:
			keep = false // the body ends when the link closes
			l.closeDelimited = true
		}
	}
	switch {
	case !keep:
		h = append(h, "Connection: close\r\n"...)
	case req.ProtoMinor == 0:
		h = append(h, "Connection: keep-alive\r\n"...)
	}
	h = append(h, r.Header...)
	h = appendDefaults(h, m.cfg.DefaultHeader, r.Header)
	h = append(h, "\r\n"...)
	l.head = h
	l.closeAfter = !keep
	l.state = LinkSending
}

// appendDate appends now as an HTTP date, formatted once per second.
func (m *Machine) appendDate(b []byte, now time.Time) []byte {
	if sec := now.Unix(); sec != m.dateSec || m.dateLen == 0 {
		m.dateSec = sec
		m.dateLen = len(now.UTC().AppendFormat(m.date[:0], http.TimeFormat))
	}
	return append(b, m.date[:m.dateLen]...)
}

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// hasOutput reports whether the link has bytes for the next chunk.
func (l *link) hasOutput() bool {
	if l.interim && !l.interimSent && (l.state == LinkReceiving || l.state == LinkHandling && l.streaming) {
		return true
	}
	return l.state == LinkSending && (l.holding || !l.filledAll && !l.starved)
}

var errShortStream = errors.New("fsm: response stream ended before its Length")

// fill copies the next chunk of the link's output into dst and reports
// whether it completes the response.
func (l *link) fill(m *Machine, now time.Time, dst []byte) (int, bool) {
	if l.interim && (l.state == LinkReceiving || l.state == LinkHandling) {
		l.interimSent = true
		return copy(dst, continue100), false
	}
	n := 0
	if l.holding {
		dst[0], l.holding, n = l.held, false, 1
		if l.heldLast {
			return 1, true
		}
	}
	k := copy(dst[n:], l.head[l.headOff:])
	l.headOff += k
	n += k
	if l.headOff < len(l.head) {
		return n, false
	}
	if l.raw {
		k, err := l.readStream(dst[n:])
		n += k
		if err == nil {
			l.starved = k == 0
			return n, false
		}
		l.filledAll = true
		return n, true
	}
	if !l.noBody {
		switch {
		case l.resp.Stream == nil:
			k := copy(dst[n:], l.resp.Body[l.bodyOff:])
			l.bodyOff += k
			n += k
			if l.bodyOff < len(l.resp.Body) {
				return n, false
			}
		case l.chunked:
			k, done := l.fillChunked(dst[n:])
			n += k
			if !done {
				l.starved = k == 0
				return n, false
			}
		default:
			k, err := l.readStream(dst[n:min(int64(len(dst)), int64(n)+l.left)])
			n += k
			l.left -= int64(k)
			if err != nil && l.left > 0 {
				l.streamFailed = true // the client sees a short body and a close
				l.closeAfter = true
			} else if l.left > 0 {
				l.starved = k == 0
				return n, false
			}
		}
	}
	l.filledAll = true
	return n, true
}

// fillChunked frames stream data with chunked coding: a fixed three-digit
// size (leading zeros are allowed) so the frame fits a known space.
func (l *link) fillChunked(dst []byte) (int, bool) {
	const pre, post, last = 5, 2, 5 // "fff\r\n", "\r\n", "0\r\n\r\n"
	n := 0
	if !l.streamEOF && len(dst) > pre+post {
		k, err := l.readStream(dst[pre : len(dst)-post])
		if err != nil {
			l.streamEOF = true
			if err != io.EOF {
				l.streamFailed = true
				l.closeAfter = true
				return 0, true // no terminating chunk: the client sees the failure
			}
		}
		if k > 0 {
			const hex = "0123456789abcdef"
			dst[0], dst[1], dst[2] = hex[k>>8&15], hex[k>>4&15], hex[k&15]
			dst[3], dst[4] = '\r', '\n'
			dst[pre+k], dst[pre+k+1] = '\r', '\n'
			n = pre + k + post
		}
	}
	if l.streamEOF && len(dst)-n >= last {
		n += copy(dst[n:], "0\r\n\r\n")
		return n, true
	}
	return n, false
}

// readStream reads from the response stream until dst is full, the stream
// ends, or it returns no progress.
func (l *link) readStream(dst []byte) (int, error) {
	n := 0
	for n < len(dst) {
		k, err := l.resp.Stream.Read(dst[n:])
		n += k
		if err != nil {
			if err == io.EOF && l.left >= 0 && int64(n) < l.left && !l.chunked {
				return n, errShortStream
			}
			return n, err
		}
		if k == 0 {
			break
		}
	}
	return n, nil
}

// sent: the chunk from fill was accepted by the modem.
func (l *link) sent(m *Machine, now time.Time, done bool) {
	if l.interimSent && l.interim {
		l.interim, l.interimSent = false, false
		if l.state == LinkReceiving || l.state == LinkHandling {
			return
		}
	}
	if l.state != LinkSending {
		return
	}
	if !l.firstSent {
		l.firstSent = true
		m.note(Note{Kind: NoteFirstByte, Link: l.id, Gen: l.gen, Dur: now.Sub(l.reqStart)})
	}
	if !done {
		return
	}
	m.note(Note{Kind: NoteResponseDone, Link: l.id, Gen: l.gen, Status: l.status, Method: l.method,
		Bytes: l.wireBytes, Dur: now.Sub(l.reqStart), BytesIn: l.inBytes, Sends: l.sends, Wire: l.wireDur})
	l.resp = Response{}
	if l.closeAfter {
		if l.streamFailed {
			l.startClose(m, now, ClosedSendFailed) // the body is short: close now
			return
		}
		l.lingerClose(m, now, l.errReason)
		return
	}
	if m.shutdown { // a response that outlived Shutdown: its link goes too
		l.lingerClose(m, now, ClosedShutdown)
		return
	}
	// Keep-alive: the next request, perhaps already waiting in the stash.
	l.served++
	l.p.Next()
	l.body = l.body[:0]
	l.state = LinkReceiving
	l.idle(m, now)
	if len(l.stash) > 0 {
		k := l.feed(m, now, l.stash)
		rest := copy(l.stash, l.stash[k:])
		l.stash = l.stash[:rest]
	}
	if l.flood && l.state == LinkReceiving {
		l.startClose(m, now, ClosedOverrun) // the cut request is incomplete: nothing to answer
	}
}

// stashCut reports whether a request that just completed, with rest the
// input after it, is the last one held before the overflow: the first
// request the server could not keep is behind it. Requests held in full
// before it are served normally.
func (l *link) stashCut(rest []byte) bool {
	return len(rest) == 0 || !bytes.Contains(rest, []byte("\r\n\r\n"))
}

// startClose begins closing the link from the server side.
func (l *link) startClose(m *Machine, now time.Time, reason CloseReason) {
	if l.state == LinkFree || l.state == LinkClosing {
		return
	}
	l.state = LinkClosing
	l.streaming = false
	l.closeReason = reason
	m.note(Note{Kind: NoteLinkClosing, Link: l.id, Gen: l.gen, Reason: reason})
	l.closeIssued = false
	l.interim, l.interimSent = false, false
	l.lingerUntil = time.Time{}
	l.deadline, l.dlKind = time.Time{}, dlNone
	l.resp = Response{}
	l.stash = l.stash[:0]
}

// lingerClose closes the link after a response the client can see the end
// of (Content-Length or chunked), or after SEND FAIL: the client (or the
// modem) usually closes first, within Linger. Sending AT+CIPCLOSE at once
// would race with that close, and the modem may already have given the id
// to a new client, whose link the command would then cut; 2.x's SEND OK
// also comes before the data is delivered. AT+CIPCLOSE goes out only if the
// link is still open when Linger ends. A close-delimited body ends only
// when the server closes, so it closes at once.
func (l *link) lingerClose(m *Machine, now time.Time, reason CloseReason) {
	l.startClose(m, now, reason)
	if l.state != LinkClosing || l.closeDelimited {
		return
	}
	l.lingerUntil = now.Add(m.cfg.Linger)
	l.deadline, l.dlKind = l.lingerUntil, dlLinger
}

// closed: the link is gone.
func (l *link) closed(m *Machine, reason CloseReason) {
	if l.state == LinkFree {
		return
	}
	if l.state == LinkClosing {
		reason = l.closeReason
	}
	m.note(Note{Kind: NoteLinkClosed, Link: l.id, Gen: l.gen, Reason: reason})
	l.state = LinkFree
	l.streaming = false
	l.gen++
	l.p.Reset()
	l.body = l.body[:0]
	l.stash = l.stash[:0]
	l.resp = Response{}
	l.interim, l.interimSent, l.closeIssued = false, false, false
	l.holding = false
	l.deadline, l.dlKind = time.Time{}, dlNone
	l.ipLen, l.port = 0, 0
	l.raw = false
}

// tick runs the link's deadline.
func (l *link) tick(m *Machine, now time.Time) {
	if l.deadline.IsZero() || now.Before(l.deadline) {
		return
	}
	kind := l.dlKind
	l.deadline, l.dlKind = time.Time{}, dlNone
	switch kind {
	case dlIdle:
		if l.state == LinkReceiving {
			l.startClose(m, now, ClosedIdle)
		}
	case dlHeader, dlBody:
		if l.streaming {
			l.bodyFailed(m, now, http.StatusRequestTimeout)
		} else if l.state == LinkReceiving {
			l.respondError(m, now, http.StatusRequestTimeout)
			l.errReason = ClosedTimeout
		}
	}
}

// Wake tells the machine that the response stream of link (generation
// gen) has data again after a Read returned (0, nil).
func (m *Machine) Wake(now time.Time, link int, gen uint32) {
	if link < 0 || link >= MaxLinks || m.links[link].gen != gen {
		return
	}
	m.links[link].starved = false
	m.schedule(now)
}

// TakeRaw returns the bytes a hijacked link (generation gen) received
// since the last call: a view valid until the next call into the Machine.
func (m *Machine) TakeRaw(link int, gen uint32) []byte {
	if link < 0 || link >= MaxLinks {
		return nil
	}
	l := &m.links[link]
	if l.gen != gen || !l.raw {
		return nil
	}
	b := l.stash
	l.stash = l.stash[:0]
	return b
}

// Request returns the request announced by NoteRequest on link: a view
// valid until Respond's response is done or the link closes.
func (m *Machine) Request(link int) *parser.Request {
	if link < 0 || link >= MaxLinks || m.links[link].state != LinkHandling {
		return nil
	}
	return m.links[link].p.Request()
}

// Body returns the body of the request on link (same lifetime as Request);
// nil while the body is streamed.
func (m *Machine) Body(link int) []byte {
	if link < 0 || link >= MaxLinks || m.links[link].streaming {
		return nil
	}
	return m.links[link].body
}

// Streaming reports whether the request on link has its body streamed
// (Config.StreamBody), and it has not all arrived yet.
func (m *Machine) Streaming(link int) bool {
	return link >= 0 && link < MaxLinks && m.links[link].streaming
}

// TakeBody returns the bytes of the streamed body of the request on link
// (generation gen) that arrived since the last call: a view valid until
// the next call into the Machine.
func (m *Machine) TakeBody(link int, gen uint32) []byte {
	if link < 0 || link >= MaxLinks {
		return nil
	}
	l := &m.links[link]
	if l.gen != gen {
		return nil
	}
	b := l.body
	l.body = l.body[:0]
	return b
}

// Remote returns the client address the modem reported for link, if any.
func (m *Machine) Remote(link int) (ip []byte, port int) {
	if link < 0 || link >= MaxLinks {
		return nil, 0
	}
	l := &m.links[link]
	return l.ip[:l.ipLen], l.port
}

// LinkStates counts the links in each state.
func (m *Machine) LinkStates() (c [numLinkStates]int) {
	for i := range m.links {
		c[m.links[i].state]++
	}
	return c
}

// SendQueue returns how many links have output waiting for the modem.
func (m *Machine) SendQueue() int {
	n := 0
	for i := range m.links {
		if m.links[i].hasOutput() {
			n++
		}
	}
	return n
}

// LinkState returns the state of link.
func (m *Machine) LinkState(link int) LinkState { return m.links[link].state }

// LinkGen returns the generation of link (it changes whenever the link
// changes hands).
func (m *Machine) LinkGen(link int) uint32 { return m.links[link].gen }

// appendDefaults appends the lines of defaults whose names have no line
// in header.
func appendDefaults(h, defaults, header []byte) []byte {
	for len(defaults) > 0 {
		end := bytes.IndexByte(defaults, '\n') + 1
		if end == 0 {
			end = len(defaults)
		}
		line := defaults[:end]
		defaults = defaults[end:]
		if colon := bytes.IndexByte(line, ':'); colon > 0 && !hasField(header, line[:colon]) {
			h = append(h, line...)
		}
	}
	return h
}

// hasField reports whether the header lines hold a field named name
// (ASCII case-insensitive).
func hasField(header, name []byte) bool {
	for len(header) > 0 {
		end := bytes.IndexByte(header, '\n') + 1
		if end == 0 {
			end = len(header)
		}
		line := header[:end]
		header = header[end:]
		if len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], name) {
			return true
		}
	}
	return false
}
