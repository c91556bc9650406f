package handlers

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MessageType is the type of a WebSocket data message.
type MessageType int

const (
	MessageText   MessageType = 1 // UTF-8 text
	MessageBinary MessageType = 2
)

// WebSocket close status codes (RFC 6455 section 7.4.1).
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003
	CloseNoStatus        = 1005 // received only: the close frame held no code
	CloseInvalidData     = 1007 // e.g. a text message that is not UTF-8
	ClosePolicyViolation = 1008
	CloseTooBig          = 1009
	CloseInternalError   = 1011
)

// CloseError is how a WebSocket ended with a close handshake: the code and
// reason the peer sent, or, when this side failed the connection (a
// protocol error, a message too big), the ones it sent.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket closed: %d %s", e.Code, e.Reason)
}

// ErrWebSocketClosed: the connection is closing or closed on this side.
var ErrWebSocketClosed = errors.New("handlers: the WebSocket is closed")

// WebSocketOptions configures AcceptWebSocket; nil or the zero value
// takes the defaults.
type WebSocketOptions struct {
	// Subprotocols the server speaks, in order of preference: the first
	// one the client also offers is chosen (WSConn.Subprotocol).
	Subprotocols []string
	// MaxMessage bounds a message from the client, fragments included;
	// a bigger one closes the connection with 1009. Default 64 KiB.
	MaxMessage int
	// PingInterval is how often the server pings; it keeps the modem's
	// idle timeout (AT+CIPSTO) from cutting a quiet connection, and a ping
	// to a client that vanished fails, so its link closes. Default 30 s;
	// negative sends none.
	PingInterval time.Duration
	// CheckOrigin decides whether a browser's cross-origin request may
	// connect. Nil accepts requests with no Origin or an Origin whose host
	// is the request's Host, and answers 403 to the rest.
	CheckOrigin func(r *Request) bool
}

const (
	wsGUID         = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsMaxFrame     = 2048    // payload of one outgoing data frame: one AT+CIPSEND
	wsOutBytes     = 8 << 10 // data frames queued for the modem before Write waits
	wsCtlBytes     = 1 << 10 // control frames queued; pongs beyond it are dropped
	wsCloseTimeout = 5 * time.Second
)

// WebSocket returns a handler that accepts WebSocket connections (see
// AcceptWebSocket) and runs serve for each on its own goroutine; the
// connection is closed (1000) when serve returns.
func WebSocket(opts *WebSocketOptions, serve func(c *WSConn)) Handler {
	return HandlerFunc(func(w *ResponseWriter, r *Request) {
		c := AcceptWebSocket(w, r, opts)
		if c == nil {
			return
		}
		go func() {
			defer func() {
				if p := recover(); p != nil {
					log.Printf("espgate: WebSocket handler panicked: %v", p)
					c.Close(CloseInternalError, "")
					return
				}
				c.Close(CloseNormal, "")
			}()
			serve(c)
		}()
	})
}

// AcceptWebSocket completes a WebSocket opening handshake (RFC 6455,
// version 13) in a native handler and returns the connection; the handler
// then returns, and other goroutines use the connection. A request that is
// not a valid handshake gets 405, 426 (not an upgrade, or another
// version), 400 (a bad key) or 403 (CheckOrigin) and nil is returned. The
// connection holds a long-lived slot (see ResponseWriter.LongLived); when
// none is free the client gets 503 with Retry-After and nil is returned.
// Extensions (compression) are not negotiated. At server shutdown the
// connection is closed with 1001.
func AcceptWebSocket(w *ResponseWriter, r *Request, opts *WebSocketOptions) *WSConn {
	var o WebSocketOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 64 << 10
	}
	if o.PingInterval == 0 {
		o.PingInterval = 30 * time.Second
	}
	fail := func(status int, msg string) *WSConn {
		w.Discard()
		w.WriteHeader(status)
		switch status {
		case 405:
			w.AddHeader("Allow", "GET")
		case 426:
			w.AddHeader("Upgrade", "websocket")
			w.AddHeader("Sec-WebSocket-Version", "13")
		}
		w.AddHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString(msg + "\n")
		return nil
	}
	switch {
	case string(r.Method) != "GET":
		return fail(405, "WebSocket: the handshake must be a GET")
	case r.ProtoMinor < 1 || !r.HasToken("Connection", "upgrade") || !r.HasToken("Upgrade", "websocket"):
		return fail(426, "WebSocket: upgrade required")
	case string(r.Header("Sec-WebSocket-Version")) != "13":
		return fail(426, "WebSocket: version 13 required")
	}
	key := r.Header("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(string(key)); err != nil || len(k) != 16 {
		return fail(400, "WebSocket: bad Sec-WebSocket-Key")
	}
	check := o.CheckOrigin
	if check == nil {
		check = sameOrigin
	}
	if !check(r) {
		return fail(403, "WebSocket: origin not allowed")
	}
	if !w.LongLived() {
		RefuseLongLived(w)
		return nil
	}
	proto := chooseSubprotocol(r, o.Subprotocols)

	sum := sha1.Sum([]byte(string(key) + wsGUID))
	head := make([]byte, 0, 160)
	head = append(head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	head = base64.StdEncoding.AppendEncode(head, sum[:])
	head = append(head, "\r\n"...)
	if proto != "" {
		head = append(append(append(head, "Sec-WebSocket-Protocol: "...), proto...), "\r\n"...)
	}
	head = append(head, "\r\n"...)

	goingAway := w.GoingAway()
	c := &WSConn{
		d:          w.Detach(),
		proto:      proto,
		maxMsg:     o.MaxMessage,
		ctl:        head,
		readReady:  make(chan struct{}, 1),
		writeReady: make(chan struct{}, 1),
		pings:      map[uint64]chan struct{}{},
	}
	c.d.Hijack((*wsOut)(c), c.in)
	if o.PingInterval > 0 {
		c.mu.Lock()
		c.pinger = time.AfterFunc(o.PingInterval, func() { c.heartbeat(o.PingInterval) })
		c.mu.Unlock()
	}
	go c.watch(goingAway)
	return c
}

// sameOrigin accepts no Origin, or one whose host is the request's Host.
func sameOrigin(r *Request) bool {
	origin := r.Header("Origin")
	if origin == nil {
		return true
	}
	u, err := url.Parse(string(origin))
	return err == nil && strings.EqualFold(u.Host, string(r.Request.Host))
}

func chooseSubprotocol(r *Request, server []string) string {
	for _, want := range server {
		for i := 0; i < r.NumHeaders(); i++ {
			name, value := r.HeaderAt(i)
			if !strings.EqualFold(string(name), "Sec-WebSocket-Protocol") {
				continue
			}
			for p := range strings.SplitSeq(string(value), ",") {
				if strings.TrimSpace(p) == want {
					return want
				}
			}
		}
	}
	return ""
}

// WSConn is a WebSocket connection over a modem link. One goroutine may
// Read while others Write, Ping and Close. Pings are answered, fragmented
// messages reassembled and UTF-8 checked without the application's help.
//
// Incoming messages wait in a queue until Read; if more than twice
// MaxMessage is left unread the connection is closed with 1008. Outgoing
// messages are split into frames of at most 2 KiB, so that control frames
// are not held up behind a long message on the slow line; Write waits
// while 8 KiB are queued for the modem.
type WSConn struct {
	d      Detached
	proto  string
	maxMsg int

	writeMu sync.Mutex // one message at a time

	mu sync.Mutex
	// Output, read by the loop: control frames go first at a frame
	// boundary, then whole data frames.
	ctl    []byte
	data   []byte
	doff   int
	frames []int // sizes of the whole data frames in data[doff:] not yet begun
	cur    int   // bytes of the data frame being sent still to hand out
	want   bool  // the loop waits for Wake
	closed bool  // our close frame is queued: no data frame after it
	ended  bool  // the output ends once ctl is sent
	// Input, parsed on the loop.
	p          wsParser
	stopRead   bool // a close was received or the connection failed
	inbox      []wsMessage
	inboxBytes int
	err        error // why Read stops once the inbox is empty (nil: open)
	linkGone   bool
	readReady  chan struct{}
	writeReady chan struct{}
	pings      map[uint64]chan struct{}
	pingSeq    uint64
	closeTimer *time.Timer
	pinger     *time.Timer
}

type wsMessage struct {
	typ  MessageType
	data []byte
}

// Subprotocol returns the subprotocol chosen in the handshake, or "".
func (c *WSConn) Subprotocol() string { return c.proto }

// Done is closed when the connection has ended (its link closing).
func (c *WSConn) Done() <-chan struct{} { return c.d.Done() }

// Read waits for the next message and returns it; data is the caller's.
// When the connection has ended it returns a *CloseError after a close
// handshake, ErrLinkClosed when the link closed without one, or ctx's
// error.
func (c *WSConn) Read(ctx context.Context) (MessageType, []byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		c.mu.Lock()
		if len(c.inbox) > 0 {
			m := c.inbox[0]
			c.inbox[0] = wsMessage{}
			c.inbox = c.inbox[1:]
			c.inboxBytes -= len(m.data)
			c.mu.Unlock()
			return m.typ, m.data, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return 0, nil, err
		}
		select {
		case <-c.readReady:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

// Write sends one message. It waits while the modem is behind, until ctx
// ends; if ctx ends when part of the message is already out, the
// connection is closed (1011). It returns ErrWebSocketClosed after Close
// or a close from the client, ErrLinkClosed when the link has gone.
func (c *WSConn) Write(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("handlers: WebSocket message type %d", typ)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	op := byte(typ)
	for {
		chunk := p[:min(len(p), wsMaxFrame)]
		p = p[len(chunk):]
		fin := len(p) == 0
		size := frameHeaderSize(len(chunk)) + len(chunk)
		c.mu.Lock()
		for {
			if err := c.writeErr(); err != nil {
				c.mu.Unlock()
				return err
			}
			if pending := len(c.data) - c.doff; pending == 0 || pending+size <= wsOutBytes {
				break
			}
			c.mu.Unlock()
			select {
			case <-c.writeReady:
			case <-ctx.Done():
				if op == opCont { // part of the message is out: the stream is broken
					c.mu.Lock()
					c.failWrite()
					c.mu.Unlock()
				}
				return ctx.Err()
			}
			c.mu.Lock()
		}
		if c.doff > 0 && len(c.data)+size > cap(c.data) {
			c.data = c.data[:copy(c.data, c.data[c.doff:])]
			c.doff = 0
		}
		c.data = appendFrame(c.data, fin, op, chunk)
		c.frames = append(c.frames, size)
		c.wakeLocked()
		c.mu.Unlock()
		if fin {
			return nil
		}
		op = 0 // continuation
	}
}

// failWrite, with mu held, closes the connection after a Write gave up
// in the middle of a message.
func (c *WSConn) failWrite() {
	if !c.closed {
		c.sendCloseLocked(CloseInternalError, "write timed out")
		c.awaitCloseLocked()
	}
}

// writeErr, with mu held, says why nothing more can be written.
func (c *WSConn) writeErr() error {
	switch {
	case c.closed:
		return ErrWebSocketClosed
	case c.linkGone:
		return ErrLinkClosed
	}
	return nil
}

// Ping sends a ping and waits for its pong, or until ctx ends.
func (c *WSConn) Ping(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c.mu.Lock()
	if err := c.writeErr(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.pingSeq++
	seq := c.pingSeq
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], seq)
	pong := make(chan struct{})
	c.pings[seq] = pong
	c.ctl = appendFrame(c.ctl, true, opPing, payload[:])
	c.wakeLocked()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pings, seq)
		c.mu.Unlock()
	}()
	select {
	case <-pong:
		return nil
	case <-c.d.Done():
		return ErrLinkClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close starts the closing handshake with code (1000-1003, 1007-1014 or
// 3000-4999) and reason (at most 123 bytes of UTF-8), and waits until the
// client has answered and the link closed, at most 5 s. Messages already
// queued go out first. Closing a closed connection returns
// ErrWebSocketClosed.
func (c *WSConn) Close(code int, reason string) error {
	if !validCloseCode(code) || len(reason) > 123 || !utf8.ValidString(reason) {
		return fmt.Errorf("handlers: WebSocket close code %d or reason not allowed", code)
	}
	c.mu.Lock()
	if c.closed || c.linkGone {
		c.mu.Unlock()
		return ErrWebSocketClosed
	}
	c.sendCloseLocked(code, reason)
	c.awaitCloseLocked()
	c.mu.Unlock()
	t := time.NewTimer(2 * wsCloseTimeout)
	defer t.Stop()
	select {
	case <-c.d.Done():
	case <-t.C:
	}
	return nil
}

// awaitCloseLocked gives the client wsCloseTimeout to answer our close
// frame; then the link closes anyway.
func (c *WSConn) awaitCloseLocked() {
	c.closeTimer = time.AfterFunc(wsCloseTimeout, func() {
		c.mu.Lock()
		c.ended = true
		c.wakeLocked()
		c.mu.Unlock()
	})
}

// sendCloseLocked queues our close frame after the data frames already
// queued; nothing but control frames follows it.
func (c *WSConn) sendCloseLocked(code int, reason string) {
	if c.closed {
		return
	}
	c.closed = true
	var payload []byte
	if code != CloseNoStatus {
		payload = binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
		payload = append(payload, reason...)
	}
	n := len(c.data)
	c.data = appendFrame(c.data, true, opClose, payload)
	c.frames = append(c.frames, len(c.data)-n)
	c.signal(c.writeReady)
	c.wakeLocked()
}

// watch closes the connection at server shutdown and stops its timers
// when the link is gone.
func (c *WSConn) watch(goingAway <-chan struct{}) {
	select {
	case <-c.d.Done():
	case <-goingAway:
		c.Close(CloseGoingAway, "server shutting down")
	}
	c.mu.Lock()
	if c.pinger != nil {
		c.pinger.Stop()
	}
	if c.closeTimer != nil {
		c.closeTimer.Stop()
	}
	c.mu.Unlock()
}

func (c *WSConn) heartbeat(every time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.linkGone {
		return
	}
	if len(c.ctl) <= wsCtlBytes {
		c.ctl = appendFrame(c.ctl, true, opPing, nil)
		c.wakeLocked()
	}
	c.pinger.Reset(every)
}

func (c *WSConn) wakeLocked() {
	if c.want {
		c.want = false
		c.d.Wake()
	}
}

func (c *WSConn) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wsOut is the connection's output as the hijacked link's io.Reader.
type wsOut WSConn

func (o *wsOut) Read(b []byte) (int, error) { return (*WSConn)(o).readOut(b) }
