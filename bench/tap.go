package main

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/espgate/espgate/sim"
)

// tap sits between espgate and the emulator's host end and times what
// crosses: when each read returns to the server, when the server calls
// Write and when the write returns (the emulator returns once the last
// byte has crossed the line). From that it splits each AT+CIPSEND chunk's
// cycle into the server's own time (reply read -> next write called) and
// the emulator's time beyond the model (line pacing, prompt latency,
// SEND OK latency), so a shortfall against the bound can be attributed.
type tap struct {
	rwc io.ReadWriteCloser
	m   model

	mu       sync.Mutex
	lastRead time.Time
	state    int
	cmdDone  time.Time // AT command written
	promptAt time.Time
	payDone  time.Time
	payLen   int
	acc      tapAcc
}

const (
	tapIdle = iota
	tapPrompt
	tapPayload
	tapSendOK
	tapCloseReply
)

// tapAcc accumulates over one scenario.
type tapAcc struct {
	chunks     int
	closes     int             // AT+CIPCLOSE commands the server wrote
	hostCmd    []time.Duration // last read -> AT+CIPSEND or AT+CIPCLOSE called
	hostPay    []time.Duration // prompt read -> payload write called
	lineExtra  time.Duration   // writes: time beyond their bytes' wire time
	modemExtra time.Duration   // prompt, SEND OK and close reply beyond the model
}

func newTap(rwc io.ReadWriteCloser, m model) *tap { return &tap{rwc: rwc, m: m} }

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.rwc.Read(p)
	if n > 0 {
		now := time.Now()
		b := p[:n]
		t.mu.Lock()
		t.lastRead = now
		switch t.state {
		case tapPrompt:
			if bytes.IndexByte(b, '>') >= 0 {
				t.promptAt = now
				// The whole prompt write, NonOS's trailing space included,
				// arrives at once.
				full := t.m.promptLen()
				if t.m.profile == sim.NonOS {
					full++
				}
				t.acc.modemExtra += extra(now.Sub(t.cmdDone), t.m.tPrompt()+t.m.wire(full))
				t.state = tapPayload
			}
		case tapSendOK:
			// SEND FAIL ends a send when the client's close overtook it;
			// its timing is the client's, not counted.
			if ok := bytes.Contains(b, []byte("SEND OK")); ok || bytes.Contains(b, []byte("SEND FAIL")) {
				if ok {
					t.acc.modemExtra += extra(now.Sub(t.payDone), t.m.completion(t.payLen))
				}
				t.acc.chunks++
				t.state = tapIdle
			}
		case tapCloseReply:
			if bytes.Contains(b, []byte("OK\r\n")) || bytes.Contains(b, []byte("ERROR\r\n")) {
				t.acc.modemExtra += extra(now.Sub(t.cmdDone), t.m.tCommand()+t.m.wire(closeReplyMin))
				t.state = tapIdle
			}
		}
		t.mu.Unlock()
	}
	return n, err
}

func (t *tap) Write(p []byte) (int, error) {
	call := time.Now()
	t.mu.Lock()
	state := t.state
	isSend := bytes.HasPrefix(p, []byte("AT+CIPSEND="))
	isClose := bytes.HasPrefix(p, []byte("AT+CIPCLOSE="))
	switch {
	case state == tapPayload:
		t.acc.hostPay = append(t.acc.hostPay, call.Sub(t.promptAt))
	case isSend || isClose:
		t.acc.hostCmd = append(t.acc.hostCmd, call.Sub(t.lastRead))
	}
	t.mu.Unlock()

	n, err := t.rwc.Write(p)

	done := time.Now()
	t.mu.Lock()
	switch {
	case state == tapPayload:
		t.acc.lineExtra += extra(done.Sub(call), t.m.wire(n))
		t.payDone, t.payLen, t.state = done, n, tapSendOK
	case isSend:
		t.acc.lineExtra += extra(done.Sub(call), t.m.wire(n))
		t.cmdDone, t.state = done, tapPrompt
	case isClose:
		t.acc.closes++
		t.acc.lineExtra += extra(done.Sub(call), t.m.wire(n))
		t.cmdDone, t.state = done, tapCloseReply
	}
	t.mu.Unlock()
	return n, err
}

func (t *tap) Close() error { return t.rwc.Close() }

// SetBaud passes a rate change on to the emulator's host end.
func (t *tap) SetBaud(baud int) error {
	if s, ok := t.rwc.(interface{ SetBaud(int) error }); ok {
		return s.SetBaud(baud)
	}
	return nil
}

func (t *tap) setModel(m model) {
	t.mu.Lock()
	t.m = m
	t.mu.Unlock()
}

// take returns what was accumulated since the last call and starts afresh.
func (t *tap) take() tapAcc {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.acc
	t.acc = tapAcc{}
	return a
}

func extra(took time.Duration, model float64) time.Duration {
	return took - time.Duration(model*float64(time.Second))
}

// hostPerChunk is the server's mean time per AT+CIPSEND chunk: its
// reaction to the reply before the command and to the prompt.
func (a tapAcc) hostPerChunk() time.Duration {
	if a.chunks == 0 {
		return 0
	}
	var s time.Duration
	for _, d := range a.hostCmd {
		s += d
	}
	for _, d := range a.hostPay {
		s += d
	}
	return s / time.Duration(a.chunks)
}

// emulatorPerChunk is the emulator's mean time beyond the model per chunk.
func (a tapAcc) emulatorPerChunk() time.Duration {
	if a.chunks == 0 {
		return 0
	}
	return (a.lineExtra + a.modemExtra) / time.Duration(a.chunks)
}
