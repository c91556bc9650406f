package sim

import (
	"bytes"
	"fmt"
	"time"
)

// The send path, as the firmware does it (§7): AT+CIPSEND=<id>,<len> ->
// prompt -> exactly <len> bytes, waiting forever -> "Recv <len> bytes" ->
// the data to the client -> SEND OK (1.x after the modelled ACK, 2.x on
// hand-off) or SEND FAIL.

type sendOp struct {
	l          *link
	n          int
	buf        []byte
	promptFrom int64     // queue offset where the reply to the command began
	last       time.Time // last payload byte
	idleArmed  bool
	reported   bool // a payload violation was counted
	failOK     bool // fault: SEND FAIL now, SEND OK later
	noSendOK   bool // fault: no SEND OK at all
	delayDone  bool // 2.x: the hand-off delay has passed
	handedOff  bool // the result is decided; link loss no longer fails it
	waitWrites bool // 1.x: waiting for the client write before the ACK
}

func (c *chip) cmdCIPSEND(args string) {
	ps, ok := parseParams(args)
	if c.mux != 1 {
		c.violate(ViolSendDeadLink, c.cmdKnow, "AT+CIPSEND=%s with CIPMUX=0: no link", args)
		if ok && len(ps) == 1 {
			c.reply(c.p.deadLinkSend())
		} else {
			c.reply(msgError)
		}
		return
	}
	if !ok || len(ps) != 2 {
		c.reply(msgError)
		return
	}
	id, ok1 := ps[0].int()
	n, ok2 := ps[1].int()
	if !ok1 || !ok2 {
		c.reply(msgError)
		return
	}
	if id < 0 || id >= MaxLinks {
		c.violate(ViolSendDeadLink, c.cmdKnow, "AT+CIPSEND=%s: no link id %d", args, id)
		c.reply(msgError)
		return
	}
	if n < 1 || n > MaxSend {
		c.violate(ViolSendLength, c.cmdKnow, "AT+CIPSEND=%s: length %d outside 1..%d", args, n, MaxSend)
		c.reply(msgError)
		return
	}
	l := c.links[id]
	if l == nil || l.peerClosed {
		if l == nil && c.hostKnewGone(id) {
			c.violate(ViolSendDeadLink, c.cmdKnow, "AT+CIPSEND=%s: link %d is not connected", args, id)
		}
		c.reply(c.p.deadLinkSend())
		return
	}
	ok3, tail := c.p.promptParts()
	from := c.m.line.queuedOffset()
	c.write(ok3)
	c.interleave() // between OK and ">" (esp-at#410)
	c.write(tail)
	if c.lineLen > 0 {
		// Bytes that arrived before the prompt were lost.
		c.violate(ViolBusy, c.lineKnow, "%s before the prompt", quoteLine(c.line, c.lineLen))
		c.resetLine()
	}
	c.send = &sendOp{l: l, n: n, buf: make([]byte, 0, n), last: time.Now(), promptFrom: from}
	c.phase = phasePayload
	c.armPayloadIdle()
}

// payloadBytes takes payload bytes from b and returns how many it took.
func (c *chip) payloadBytes(b []byte) int {
	s := c.send
	k := min(len(b), s.n-len(s.buf))
	s.buf = append(s.buf, b[:k]...)
	s.last = time.Now()
	if len(s.buf) == s.n {
		c.payloadDone()
	} else {
		c.armPayloadIdle()
	}
	return k
}

// armPayloadIdle counts a payload that stalls for PayloadIdle.
func (c *chip) armPayloadIdle() {
	s := c.send
	if s.idleArmed || s.reported {
		return
	}
	s.idleArmed = true
	c.after(time.Until(s.last.Add(PayloadIdle)), func() {
		s.idleArmed = false
		if c.send != s || c.phase != phasePayload || s.reported {
			return
		}
		if time.Since(s.last) < PayloadIdle {
			c.armPayloadIdle()
			return
		}
		s.reported = true
		if looksLikeCommand(s.buf, false) {
			c.violate(ViolCommandInPayload, c.cmdKnow, "payload for link %d holds %s (%d of %d bytes)", s.l.id, quoteLine(s.buf, len(s.buf)), len(s.buf), s.n)
			return
		}
		if len(s.buf) == 0 && c.promptHidden(s) {
			// The host waits for a prompt it could not see, and may end
			// the wait by its own deadline, longer than PayloadIdle.
			c.m.logf("sim: not counted (a line fault hid the prompt): payload for link %d not begun", s.l.id)
			return
		}
		c.violate(ViolPayloadShort, c.cmdKnow, "payload for link %d stalled at %d of %d bytes", s.l.id, len(s.buf), s.n)
	})
}

// promptHidden reports whether a line fault may have kept the host from
// seeing s's prompt: one in the OK or the prompt, or one in an +IPD
// header shortly before, whose garbled length makes the host take the
// prompt for frame data.
func (c *chip) promptHidden(s *sendOp) bool {
	if c.lineFaultAt >= s.promptFrom {
		return true
	}
	return c.idFaultAt > 0 && c.idFaultAt < s.promptFrom && s.promptFrom-c.idFaultAt <= int64(c.cfg.MaxIPD)+64
}

// looksLikeCommand is the heuristic for a command sent while the firmware
// was collecting payload: it begins with "AT" and ends with CR LF (complete
// payload) or contains CR LF (incomplete payload).
func looksLikeCommand(p []byte, complete bool) bool {
	if !bytes.HasPrefix(p, []byte("AT")) {
		return false
	}
	if complete {
		return bytes.HasSuffix(p, []byte("\r\n"))
	}
	return bytes.Contains(p, []byte("\r\n"))
}

func (c *chip) payloadDone() {
	s := c.send
	c.phase = phaseCmd
	c.surplusWatch = true
	c.busy = busySend
	c.m.stats.update(func(st *Stats) { st.Sends++ })
	if !s.reported && looksLikeCommand(s.buf, true) {
		s.reported = true
		c.violate(ViolCommandInPayload, c.cmdKnow, "payload for link %d is %s", s.l.id, quoteLine(s.buf, len(s.buf)))
	}
	c.interleave() // between ">" and Recv (§6.2)
	c.write(fmt.Sprintf("\r\nRecv %d bytes\r\n", s.n))

	c.sendsSinceBoot++
	if k := c.cfg.Faults.ResetAfter; k > 0 && c.sendsSinceBoot%k == 0 {
		c.m.stats.fault(FaultResetAfter)
		c.m.stats.update(func(st *Stats) { st.Resets++ })
		c.m.logf("sim: fault: reset after %d sends", c.sendsSinceBoot)
		c.boot(true)
		return
	}
	l := s.l
	alive := c.live(l) && !l.peerClosed
	if alive && l.sends > 0 && c.dVanish.roll() {
		c.m.stats.fault(FaultVanish)
		c.m.logf("sim: fault: client of link %d vanishes", l.id)
		l.abort()
		l.peerClosed = true
		alive = false
	}
	l.sends++
	fail, failOK, noSendOK := c.dSendFail.roll(), c.dFailOK.roll(), c.dNoSend.roll()
	if !alive {
		c.sendDead(s)
		return
	}
	c.touch(l)
	if fail {
		c.m.stats.fault(FaultSendFail)
		s.handedOff = true
		c.after(c.sendLatency(), func() { c.finishSend(s, msgSendFail) })
		return
	}
	switch {
	case failOK:
		c.m.stats.fault(FaultFailOK)
		s.failOK = true
	case noSendOK:
		c.m.stats.fault(FaultNoSendOK)
		s.noSendOK = true
	}
	l.pendingOut += len(s.buf)
	l.enqueueWrite(s.buf)
	if c.p == ESPAT {
		c.after(c.t.SendOK, func() {
			s.delayDone = true
			c.trySendOK(s)
		})
		return
	}
	s.waitWrites = true
}

func (c *chip) sendLatency() time.Duration {
	if c.p == ESPAT {
		return c.t.SendOK
	}
	return c.t.ACK
}

// sendWritten: a write to the link's client finished.
func (c *chip) sendWritten(l *link) {
	s := c.send
	if s == nil || s.l != l || c.busy != busySend {
		return
	}
	if c.p == ESPAT {
		c.trySendOK(s)
		return
	}
	if s.waitWrites && l.pendingOut == 0 {
		// 1.x: SEND OK once the peer has ACKed (§7.2).
		s.waitWrites = false
		s.handedOff = true
		c.after(c.t.ACK, func() { c.finishSend(s, msgSendOK) })
	}
}

// trySendOK: 2.x hands the data to the stack after the coalescing delay,
// once the send buffer has room for it.
func (c *chip) trySendOK(s *sendOp) {
	if c.send != s || s.handedOff || !s.delayDone || s.l.pendingOut > sndBuf {
		return
	}
	s.handedOff = true
	c.finishSend(s, msgSendOK)
}

// finishSend prints the result of a send and ends it.
func (c *chip) finishSend(s *sendOp, msg string) {
	if c.send != s {
		return
	}
	c.interleave() // between Recv and SEND OK (esp-at#481)
	switch {
	case msg == msgSendFail:
		c.finalReply(c.write(msgSendFail))
		c.m.stats.update(func(st *Stats) { st.SendFail++ })
	case s.failOK:
		// Q6: SEND FAIL, and later SEND OK for the same send.
		c.finalReply(c.write(msgSendFail))
		c.m.stats.update(func(st *Stats) { st.SendFail++ })
		c.after(c.sendLatency(), func() { c.queueText(msgSendOK) })
	case s.noSendOK:
		// Q7: nothing.
	default:
		c.finalReply(c.write(msgSendOK))
		c.m.stats.update(func(st *Stats) { st.SendOK++ })
		if c.p == NonOS && c.live(s.l) {
			c.touch(s.l) // 1.x: an ACK restarts the idle timer (§5)
		}
	}
	c.endSend()
}

func (c *chip) endSend() {
	if c.send != nil {
		// The payload-idle timer keeps the op for a second: let the
		// payload go now, or a fast transfer holds a second of it.
		c.send.buf = nil
	}
	c.send = nil
	c.busy = busyNone
	c.surplusWatch = false
}

// sendDead ends a send whose client is gone (§7.3): 1.x prints
// "<id>,CLOSED" then SEND FAIL (Q8); 2.x SEND FAIL, CLOSED afterwards.
func (c *chip) sendDead(s *sendOp) {
	l := s.l
	s.handedOff = true
	if c.p == NonOS {
		if c.live(l) {
			c.writeClosed(l)
		}
		c.finalReply(c.write(msgSendFail))
	} else {
		c.finalReply(c.write(msgSendFail))
		c.pump(l)
	}
	c.m.stats.update(func(st *Stats) { st.SendFail++ })
	c.endSend()
}
