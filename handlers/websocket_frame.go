package handlers

import (
	"encoding/binary"
	"io"
	"unicode/utf8"
)

// Frame opcodes (RFC 6455 section 5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
)

func frameHeaderSize(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xffff:
		return 4
	}
	return 10
}

// appendFrame appends an unmasked (server) frame.
func appendFrame(b []byte, fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, b0, byte(n))
	case n <= 0xffff:
		b = append(b, b0, 126, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
	}
	return append(b, payload...)
}

// validCloseCode reports whether code may appear in a close frame.
func validCloseCode(code int) bool {
	return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
}

// wsParser is the state of the incoming frame stream; it is used only
// with WSConn.mu held (on the loop).
type wsParser struct {
	hdr     [14]byte
	nhdr    int
	fin     bool
	op      byte
	mask    [4]byte
	mpos    int
	left    uint64 // payload bytes of the current frame still to come
	inFrame bool   // the header is complete, the payload is arriving
	msgOp   byte   // opcode of the message being assembled; 0 for none
	msg     []byte
	ctl     []byte // the control frame's payload
}

// headerSize returns the size of the frame header whose first n bytes are
// in h (2 while it cannot tell yet).
func headerSize(h *[14]byte, n int) int {
	if n < 2 {
		return 2
	}
	size := 2
	switch h[1] & 127 {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if h[1]&0x80 != 0 {
		size += 4
	}
	return size
}

// in receives the client's bytes on the loop (a view: it is copied) and,
// with closed set, the end of the link. It never blocks.
func (c *WSConn) in(data []byte, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if closed {
		c.linkGone, c.ended = true, true
		if c.err == nil {
			c.err = ErrLinkClosed
		}
		c.signal(c.readReady)
		c.signal(c.writeReady)
		return
	}
	p := &c.p
	for len(data) > 0 && !c.stopRead {
		if !p.inFrame {
			need := headerSize(&p.hdr, p.nhdr)
			for p.nhdr < need && len(data) > 0 {
				p.hdr[p.nhdr] = data[0]
				p.nhdr++
				data = data[1:]
				need = headerSize(&p.hdr, p.nhdr)
			}
			if p.nhdr < need {
				break
			}
			p.nhdr = 0
			if !c.frameStart(need) {
				break
			}
			if p.left == 0 {
				c.frameEnd()
			} else {
				p.inFrame = true
			}
			continue
		}
		k := int(min(p.left, uint64(len(data))))
		dst := &p.msg
		if p.op >= opClose {
			dst = &p.ctl
		}
		start := len(*dst)
		*dst = append(*dst, data[:k]...)
		for i, b := range (*dst)[start:] {
			(*dst)[start+i] = b ^ p.mask[(p.mpos+i)&3]
		}
		p.mpos = (p.mpos + k) & 3
		p.left -= uint64(k)
		data = data[k:]
		if p.left == 0 {
			p.inFrame = false
			c.frameEnd()
		}
	}
	c.wakeLocked()
}

// frameStart checks a complete frame header of size n; false means the
// connection failed.
func (c *WSConn) frameStart(n int) bool {
	p := &c.p
	h := p.hdr[:n]
	p.fin = h[0]&0x80 != 0
	p.op = h[0] & 0x0f
	if h[0]&0x70 != 0 {
		return c.fail(CloseProtocolError, "reserved bits set")
	}
	if h[1]&0x80 == 0 {
		return c.fail(CloseProtocolError, "unmasked frame from the client")
	}
	var size uint64
	i := 2
	switch h[1] & 127 {
	case 126:
		size, i = uint64(binary.BigEndian.Uint16(h[2:])), 4
	case 127:
		size, i = binary.BigEndian.Uint64(h[2:]), 10
		if size>>63 != 0 {
			return c.fail(CloseProtocolError, "bad frame length")
		}
	default:
		size = uint64(h[1] & 127)
	}
	copy(p.mask[:], h[i:i+4])
	p.mpos, p.left = 0, size
	switch p.op {
	case opClose, opPing, opPong:
		if !p.fin || size > 125 {
			return c.fail(CloseProtocolError, "bad control frame")
		}
		p.ctl = p.ctl[:0]
		return true
	case opText, opBinary:
		if p.msgOp != 0 {
			return c.fail(CloseProtocolError, "a new message inside a fragmented one")
		}
		p.msgOp, p.msg = p.op, nil
	case opCont:
		if p.msgOp == 0 {
			return c.fail(CloseProtocolError, "continuation frame without a message")
		}
	default:
		return c.fail(CloseProtocolError, "unknown opcode")
	}
	if uint64(len(p.msg))+size > uint64(c.maxMsg) {
		return c.fail(CloseTooBig, "message too big")
	}
	return true
}

// frameEnd acts on a complete frame.
func (c *WSConn) frameEnd() {
	p := &c.p
	switch p.op {
	case opText, opBinary, opCont:
		if !p.fin {
			return
		}
		typ, msg := MessageType(p.msgOp), p.msg
		p.msgOp, p.msg = 0, nil
		if typ == MessageText && !utf8.Valid(msg) {
			c.fail(CloseInvalidData, "invalid UTF-8 in a text message")
			return
		}
		if msg == nil {
			msg = []byte{}
		}
		c.inbox = append(c.inbox, wsMessage{typ, msg})
		c.inboxBytes += len(msg)
		c.signal(c.readReady)
		if c.inboxBytes > 2*c.maxMsg {
			c.fail(ClosePolicyViolation, "messages are not being read")
		}
	case opPing:
		if !c.closed && len(c.ctl) <= wsCtlBytes { // a ping flood gets fewer pongs
			c.ctl = appendFrame(c.ctl, true, opPong, p.ctl)
		}
	case opPong:
		if len(p.ctl) == 8 {
			seq := binary.BigEndian.Uint64(p.ctl)
			if ch, ok := c.pings[seq]; ok {
				close(ch)
				delete(c.pings, seq)
			}
		}
	case opClose:
		code, reason := CloseNoStatus, ""
		switch {
		case len(p.ctl) == 1:
			c.fail(CloseProtocolError, "close frame of one byte")
			return
		case len(p.ctl) >= 2:
			code = int(binary.BigEndian.Uint16(p.ctl))
			if !validCloseCode(code) {
				c.fail(CloseProtocolError, "invalid close code")
				return
			}
			if !utf8.Valid(p.ctl[2:]) {
				c.fail(CloseInvalidData, "close reason is not UTF-8")
				return
			}
			reason = string(p.ctl[2:])
		}
		c.stopRead = true
		if c.err == nil {
			c.err = &CloseError{Code: code, Reason: reason}
		}
		c.sendCloseLocked(code, "") // echo the code (no-op if ours went first)
		c.ended = true              // the handshake is complete: close the link
		if c.closeTimer != nil {
			c.closeTimer.Stop()
		}
		c.signal(c.readReady)
		c.signal(c.writeReady)
	}
}

// fail fails the connection: a close frame with code goes out, then the
// link closes. It returns false for frameStart.
func (c *WSConn) fail(code int, reason string) bool {
	c.stopRead = true
	if c.err == nil {
		c.err = &CloseError{Code: code, Reason: reason}
	}
	c.sendCloseLocked(code, reason)
	c.ended = true
	c.signal(c.readReady)
	c.signal(c.writeReady)
	return false
}

// readOut hands the loop the next output bytes: control frames at a frame
// boundary first, then data frames. It never blocks.
func (c *WSConn) readOut(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(b) {
		if c.cur == 0 && len(c.ctl) > 0 {
			k := copy(b[n:], c.ctl)
			c.ctl = c.ctl[:copy(c.ctl, c.ctl[k:])]
			n += k
			continue
		}
		if c.cur == 0 {
			if len(c.frames) == 0 {
				break
			}
			c.cur = c.frames[0]
			c.frames = c.frames[1:]
		}
		k := copy(b[n:], c.data[c.doff:c.doff+c.cur])
		c.doff += k
		c.cur -= k
		n += k
		if c.doff == len(c.data) {
			c.data, c.doff = c.data[:0], 0
		}
		c.signal(c.writeReady)
	}
	if n == 0 {
		if c.ended {
			return 0, io.EOF
		}
		c.want = true
	}
	return n, nil
}
