package handlers

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EventStreamOptions configures NewEventStream; the zero value is ready to
// use.
type EventStreamOptions struct {
	// Heartbeat is how long the stream may stay silent before a comment
	// line (":") goes out. It keeps the modem's idle timeout (AT+CIPSTO)
	// from cutting a quiet stream, and a send to a client that vanished
	// fails, so its link closes and Done is closed. Default 15 s; negative
	// sends none.
	Heartbeat time.Duration
	// Retry, when positive, is sent first as the client's reconnection
	// delay (the "retry:" field).
	Retry time.Duration
	// QueueBytes bounds the formatted events waiting for the modem;
	// default 16 KiB (about 1.5 s of the whole line at 115200 baud).
	QueueBytes int
}

// Errors of EventStream and WSConn.
var (
	// ErrSlowClient: the client fell so far behind that an event did not
	// fit in the queue. The stream has ended.
	ErrSlowClient = errors.New("handlers: the client cannot keep up: stream ended")
	// ErrStreamClosed: Close was called.
	ErrStreamClosed = errors.New("handlers: the stream is closed")
	// ErrGoingAway: the server is shutting down.
	ErrGoingAway = errors.New("handlers: the server is shutting down")
	// ErrEventTooLarge: the event alone is larger than the queue; it was
	// not sent and the stream goes on.
	ErrEventTooLarge = errors.New("handlers: event larger than the stream's queue")
	// ErrBadField: an event name or id holds CR, LF or NUL.
	ErrBadField = errors.New("handlers: event name or id holds CR, LF or NUL")
)

// EventStream is a Server-Sent Events response (text/event-stream). Its
// methods may be called from any goroutine, and none blocks: events are
// queued and leave as the modem takes them.
//
// The queue is bounded (EventStreamOptions.QueueBytes). A client that
// cannot keep up is disconnected rather than sent a stream with holes: when
// an event does not fit, Send returns ErrSlowClient, what is queued is
// still sent and the response ends. A browser's EventSource then
// reconnects by itself, sending the id of the last event it received as
// Last-Event-ID, so an application that gives its events ids can resume
// exactly where the client stopped.
//
// The response uses chunked framing on HTTP/1.1, so its end is
// unambiguous and the link can be reused; for HTTP/1.0 clients the stream
// ends when the link closes.
type EventStream struct {
	body      eventBody // what the loop reads; not an io.Closer, so the loop never closes the stream
	d         Detached
	max       int
	heartbeat time.Duration

	mu     sync.Mutex
	buf    []byte // formatted output; buf[off:] waits for the modem
	off    int
	want   bool  // the loop found the queue empty and waits for Wake
	ended  bool  // nothing more is queued: the response ends after buf
	err    error // why Send fails, once ended
	quiet  bool  // nothing was queued since the last heartbeat tick
	ticker *time.Timer
}

// NewEventStream answers the request with an event stream and returns it;
// the handler then returns and other goroutines send events. The stream
// holds a long-lived slot (see ResponseWriter.LongLived); when none is
// free it answers 503 with Retry-After and returns nil. Headers the
// handler added before the call are kept; Content-Type and Cache-Control
// are set. The stream ends when Close is called, when the client cannot
// keep up, or when the server shuts down; Done is closed once it has.
func NewEventStream(w *ResponseWriter, opts EventStreamOptions) *EventStream {
	if !w.LongLived() {
		RefuseLongLived(w)
		return nil
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = 16 << 10
	}
	es := &EventStream{max: opts.QueueBytes, heartbeat: opts.Heartbeat, quiet: true, buf: make([]byte, 0, min(opts.QueueBytes, 2048))}
	if opts.Retry > 0 {
		es.buf = appendRetry(es.buf, opts.Retry)
	}
	header := bytes.Clone(w.header)
	goingAway := w.GoingAway()
	es.d = w.Detach()
	es.d.Respond(func(w *ResponseWriter) {
		w.header = append(w.header, header...)
		w.AddHeader("Content-Type", "text/event-stream")
		w.AddHeader("Cache-Control", "no-cache")
		es.body.es = es
		w.SetStream(&es.body, -1)
	})
	if es.heartbeat > 0 {
		es.mu.Lock()
		es.ticker = time.AfterFunc(es.heartbeat, es.beat)
		es.mu.Unlock()
	}
	go es.watch(goingAway)
	return es
}

// watch ends the stream at shutdown and records why it ended.
func (es *EventStream) watch(goingAway <-chan struct{}) {
	select {
	case <-es.d.Done():
	case <-goingAway:
		es.end(ErrGoingAway)
		<-es.d.Done()
	}
	es.end(es.d.Err())
	es.mu.Lock()
	if es.ticker != nil {
		es.ticker.Stop()
	}
	es.mu.Unlock()
}

// Send queues one event. event (the type; "" means "message") and id
// ("" sends none) must not hold CR, LF or NUL; data may hold any text,
// and each of its lines becomes a data line. It returns nil once the event
// is queued, ErrSlowClient when the client fell behind (the stream ends),
// ErrLinkClosed when the client went away, ErrStreamClosed after Close,
// ErrGoingAway during shutdown.
func (es *EventStream) Send(event, id, data string) error {
	if !validField(event) || !validField(id) {
		return ErrBadField
	}
	size := eventSize(event, id, data)
	es.mu.Lock()
	if err := es.room(size); err != nil {
		es.mu.Unlock()
		return err
	}
	b := es.buf
	if event != "" {
		b = append(append(append(b, "event: "...), event...), '\n')
	}
	if id != "" {
		b = append(append(append(b, "id: "...), id...), '\n')
	}
	for {
		line, rest, more := cutLine(data)
		b = append(append(append(b, "data: "...), line...), '\n')
		if !more {
			break
		}
		data = rest
	}
	es.buf = append(b, '\n')
	es.queued()
	return nil
}

// Retry queues a new reconnection delay for the client.
func (es *EventStream) Retry(d time.Duration) error {
	es.mu.Lock()
	if err := es.room(len("retry: \n") + 20); err != nil {
		es.mu.Unlock()
		return err
	}
	es.buf = appendRetry(es.buf, d)
	es.queued()
	return nil
}

func appendRetry(b []byte, d time.Duration) []byte {
	b = strconv.AppendInt(append(b, "retry: "...), max(d.Milliseconds(), 0), 10)
	return append(b, '\n')
}

// Close ends the stream once what is queued has been sent. Done is closed
// when it has.
func (es *EventStream) Close() error {
	es.end(ErrStreamClosed)
	return nil
}

// Done is closed when the stream has ended and been sent, or the client's
// link closed.
func (es *EventStream) Done() <-chan struct{} { return es.d.Done() }

// Err says why Done closed: nil when the stream ended and was sent,
// ErrLinkClosed when the client went away first.
func (es *EventStream) Err() error { return es.d.Err() }

// room, with mu held, makes room for size more bytes or returns why the
// event cannot be queued (and unlocks nothing).
func (es *EventStream) room(size int) error {
	select {
	case <-es.d.Done(): // the watcher may not have seen it yet
		if !es.ended {
			es.ended, es.err = true, es.d.Err()
			if es.err == nil {
				es.err = ErrStreamClosed
			}
		}
	default:
	}
	if es.ended {
		return es.err
	}
	if size > es.max {
		return ErrEventTooLarge
	}
	if len(es.buf)-es.off+size > es.max {
		es.ended, es.err = true, ErrSlowClient
		es.wakeLocked()
		return ErrSlowClient
	}
	if es.off > 0 && len(es.buf)+size > cap(es.buf) {
		es.buf = es.buf[:copy(es.buf, es.buf[es.off:])]
		es.off = 0
	}
	return nil
}

// queued, with mu held, wakes the loop if it waits, and unlocks.
func (es *EventStream) queued() {
	es.quiet = false
	es.wakeLocked()
	es.mu.Unlock()
}

func (es *EventStream) wakeLocked() {
	if es.want {
		es.want = false
		es.d.Wake()
	}
}

// end stops taking events; the response ends after what is queued.
func (es *EventStream) end(err error) {
	es.mu.Lock()
	if !es.ended {
		es.ended = true
		es.err = err
		if err == nil {
			es.err = ErrStreamClosed
		}
		es.wakeLocked()
	}
	es.mu.Unlock()
}

// beat sends a comment line when nothing else went out for a heartbeat.
func (es *EventStream) beat() {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.ended {
		return
	}
	if es.quiet && len(es.buf) == es.off {
		es.buf = append(es.buf[:0], ":\n"...)
		es.off = 0
		es.wakeLocked()
	}
	es.quiet = true
	es.ticker.Reset(es.heartbeat)
}

// eventBody is the response body of an EventStream.
type eventBody struct{ es *EventStream }

func (b *eventBody) Read(p []byte) (int, error) { return b.es.read(p) }

// read hands the loop the next bytes of the stream; it never blocks.
func (es *EventStream) read(p []byte) (int, error) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.off == len(es.buf) {
		if es.ended {
			return 0, io.EOF
		}
		es.want = true
		return 0, nil
	}
	n := copy(p, es.buf[es.off:])
	es.off += n
	if es.off == len(es.buf) {
		es.buf, es.off = es.buf[:0], 0
	}
	return n, nil
}

func validField(s string) bool { return !strings.ContainsAny(s, "\r\n\x00") }

// cutLine splits s at its first line end (CRLF, CR or LF).
func cutLine(s string) (line, rest string, more bool) {
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, "", false
	}
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return s[:i], s[i+2:], true
	}
	return s[:i], s[i+1:], true
}

// eventSize is the formatted size of an event.
func eventSize(event, id, data string) int {
	n := 1 // the blank line
	if event != "" {
		n += len("event: \n") + len(event)
	}
	if id != "" {
		n += len("id: \n") + len(id)
	}
	for {
		line, rest, more := cutLine(data)
		n += len("data: \n") + len(line)
		if !more {
			return n
		}
		data = rest
	}
}
