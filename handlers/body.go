package handlers

import (
	"errors"
	"io"
	"sync"
)

// BodyStreamer is implemented by handlers that read a request's body as
// it arrives rather than whole. The server asks StreamsBody when a
// request's head announces a body; on true the handler runs at once with
// Request.BodyStream set and Request.Body nil. r is the same view the
// handler gets; StreamsBody must not keep it.
//
// A streamed request answered before its body has all arrived closes the
// link after the answer.
type BodyStreamer interface {
	StreamsBody(r *Request) bool
}

// ErrBodyCut reports a streamed request body that ended early: the client
// sent a malformed or oversized body, or paused past the body timeout.
var ErrBodyCut = errors.New("handlers: the request body was cut off")

// BodyPipe carries a streamed request body from the loop to a handler's
// goroutine. Write never blocks (the modem has no flow control to push
// back with; the request's size limit bounds what it holds); Read blocks
// until bytes arrive, the body ends, or it is cut.
type BodyPipe struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	off    int
	err    error // set when the writer is done: io.EOF or why it was cut
	closed bool  // the reader has closed
}

// NewBodyPipe returns an empty pipe.
func NewBodyPipe() *BodyPipe {
	p := &BodyPipe{}
	p.cond.L = &p.mu
	return p
}

// Write appends a copy of b. It never blocks.
func (p *BodyPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, io.ErrClosedPipe
	}
	if !p.closed && len(b) > 0 {
		if p.off == len(p.buf) {
			p.buf, p.off = p.buf[:0], 0
		}
		p.buf = append(p.buf, b...)
		p.cond.Broadcast()
	}
	return len(b), nil
}

// CloseWithError ends the body: with nil readers see io.EOF after the
// last byte, otherwise err. Only the first call counts.
func (p *BodyPipe) CloseWithError(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
		p.cond.Broadcast()
	}
}

// Read reads what has arrived, waiting for at least one byte.
func (p *BodyPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed {
			return 0, io.ErrClosedPipe
		}
		if p.off < len(p.buf) {
			n := copy(b, p.buf[p.off:])
			p.off += n
			return n, nil
		}
		if p.err != nil {
			return 0, p.err
		}
		if len(b) == 0 {
			return 0, nil
		}
		p.cond.Wait()
	}
}

// Close is the reader's: it drops what is buffered and what comes later.
func (p *BodyPipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.buf, p.off = nil, 0
	p.cond.Broadcast()
	return nil
}
