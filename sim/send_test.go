package sim

import (
	"io"
	"strings"
	"testing"
	"time"
)

// 1.x answers "busy s..." while a send awaits its ACK, 2.x "busy p..."
// until SEND OK (§7.4, Q4).
func TestBusyWhileSending(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			tm := Timing{ACK: 300 * time.Millisecond, SendOK: 300 * time.Millisecond}
			h := startHost(t, Config{Profile: p, Baud: 921600, Timing: tm, Joined: true})
			h.expect(wifiJoined)
			h.server()
			c := h.dial(0)
			h.cmd("AT+CIPSEND=0,5\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			h.cmd("hello", "\r\nRecv 5 bytes\r\n")
			h.cmd("AT+CIPSEND=0,5\r\n", pick(p, msgBusyS, msgBusyP))
			h.expect(msgSendOK)
			readN(t, c, 5)
			wantViolations(t, h.m, map[ViolationKind]int{ViolBusy: 1})
		})
	}
}

// Surplus bytes after the payload are parsed as command input (§7.2, Q25).
func TestSurplusAfterPayload(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c := h.dial(0)
			h.cmd("AT+CIPSEND=0,5\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			h.cmd("hello\r\n", "\r\nRecv 5 bytes\r\n"+pick(p, msgBusyS, msgBusyP)+msgSendOK)
			if got := readN(t, c, 5); string(got) != "hello" {
				t.Fatalf("client got %q", got)
			}
			wantViolations(t, h.m, map[ViolationKind]int{ViolPayloadLong: 1})
		})
	}
}

// A payload that stalls is counted after PayloadIdle; the firmware still
// waits for the rest (Q26).
func TestPayloadShort(t *testing.T) {
	t.Parallel()
	h := startServer(t, NonOS)
	c := h.dial(0)
	h.cmd("AT+CIPSEND=0,10\r\n", "\r\nOK\r\n> ")
	h.send("hello")
	waitChip(t, h.m, "payload-short", func(*chip) bool { return h.m.Stats().Violations > 0 })
	h.cmd("world", "\r\nRecv 10 bytes\r\n"+msgSendOK)
	if got := readN(t, c, 10); string(got) != "helloworld" {
		t.Fatalf("client got %q", got)
	}
	wantViolations(t, h.m, map[ViolationKind]int{ViolPayloadShort: 1})
}

// A command sent while the firmware collects payload becomes payload.
func TestCommandInPayload(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c := h.dial(0)
			h.cmd("AT+CIPSEND=0,4\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			h.cmd("AT\r\n", "\r\nRecv 4 bytes\r\n"+msgSendOK)
			if got := readN(t, c, 4); string(got) != "AT\r\n" {
				t.Fatalf("client got %q", got)
			}
			wantViolations(t, h.m, map[ViolationKind]int{ViolCommandInPayload: 1})
		})
	}
}

// Bytes written before the prompt are lost (and counted).
func TestBytesBeforePrompt(t *testing.T) {
	h := startServer(t, NonOS)
	c := h.dial(0)
	h.cmd("AT+CIPSEND=0,5\r\nhel", "\r\nOK\r\n> ")
	h.cmd("hello", "\r\nRecv 5 bytes\r\n"+msgSendOK)
	if got := readN(t, c, 5); string(got) != "hello" {
		t.Fatalf("client got %q", got)
	}
	wantViolations(t, h.m, map[ViolationKind]int{ViolBusy: 1})
}

// 2.x: SEND OK is the hand-off; a client that does not read stalls it once
// the send buffer is full. 1.x: SEND OK needs the data written.
func TestSendBackPressure(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			h := startServer(t, p)
			c := h.dial(0)
			_ = c.SetReadBuffer(4096)
			m := h.m
			m.control(func(c *chip) { _ = c.links[0].conn.SetWriteBuffer(4096) })
			chunk := string(make([]byte, MaxSend))
			prompt := pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>")
			sent := 0
			// Send until SEND OK stops coming.
			for range 1000 {
				h.cmd("AT+CIPSEND=0,2048\r\n", prompt)
				h.cmd(chunk, "\r\nRecv 2048 bytes\r\n")
				sent += MaxSend
				h.waitForOr(time.After(100*time.Millisecond), func(b []byte) bool { return len(b) >= len(msgSendOK) })
				h.mu.Lock()
				got := len(h.buf) >= len(msgSendOK)
				h.mu.Unlock()
				if !got {
					break
				}
				h.expect(msgSendOK)
			}
			t.Logf("%d sends before SEND OK stalled", sent/MaxSend)
			if s := h.m.Stats(); s.SendOK == s.Sends {
				t.Fatalf("all %d sends got SEND OK with a client that never reads", s.Sends)
			}
			// Reading releases it.
			readN(t, c, sent)
			h.expect(msgSendOK)
			noViolations(t, h.m)
		})
	}
}

// waitForOr waits until cond holds or stop is closed.
func (h *host) waitForOr(stop <-chan time.Time, cond func(b []byte) bool) {
	for {
		h.mu.Lock()
		ok := cond(h.buf)
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-h.notify:
		case <-stop:
			return
		}
	}
}

// Bytes the host wrote before it could see a reset are not violations,
// even when they reach the rebooted firmware as junk lines.
func TestResetExemptsInFlightBytes(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			h := startHost(t, Config{Profile: p, Baud: 9600, Timing: Timing{Command: time.Nanosecond}, Joined: true})
			h.expect(wifiJoined)
			h.server()
			h.dial(0)
			h.cmd("AT+CIPSEND=0,196\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			payload := strings.Repeat("line of data\r\n", 14) // 204 ms at 9600 baud
			go func() {
				time.Sleep(60 * time.Millisecond)
				h.m.Reset()
			}()
			h.send(payload)
			h.until(msgReady)
			h.expect(wifiJoined)
			h.settle(100 * time.Millisecond) // the junk lines' echo and ERRORs
			wantViolations(t, h.m, nil)
			h.cmd("\r\n", echoOf(p, "\r\n")+msgError) // now the host knows
			wantViolations(t, h.m, map[ViolationKind]int{ViolMalformed: 1})
		})
	}
}

// A busy link keeps one idle (AT+CIPSTO) check pending, not one per send:
// the emulator's timers do not grow with the traffic it carries.
func TestSendsDoNotPileUpTimers(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			h := startServer(t, p)
			prompt := pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>")
			c := h.dial(0)
			go io.Copy(io.Discard, c)
			for range 200 {
				h.cmd("AT+CIPSEND=0,5\r\n", prompt)
				h.cmd("hello", "\r\nRecv 5 bytes\r\n"+msgSendOK)
			}
			time.Sleep(PayloadIdle + 100*time.Millisecond) // each send's payload-idle check has run
			var events int
			h.m.control(func(c *chip) { events = len(c.events) })
			if events > 10 {
				t.Fatalf("%d timers pending after 200 sends on one link", events)
			}
			noViolations(t, h.m)
		})
	}
}

// A reset while the host writes a payload: the bytes that come during the
// boot are lost, and the first command after "ready" is answered (it does
// not continue a line begun before).
func TestBootDropsAPartialLine(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			h := startHost(t, Config{Profile: p, Baud: 921600, Timing: Timing{Command: time.Nanosecond, Boot: 200 * time.Millisecond}})
			h.m.Reset()
			h.take(50) // boot has begun
			h.send("tail of a payload, no line end")
			h.until(msgReady)
			h.cmd("AT\r\n", echoOf(p, "AT\r\n")+msgOK)
			wantViolations(t, h.m, nil)
		})
	}
}

// A host that cannot see its prompt, because a line fault hit it or hit
// the length of an +IPD frame just before (the host then reads the prompt
// as frame data), waits by its own deadline: a payload not begun then is
// not counted. Without such a fault it is.
func TestPromptFaultExcusesStall(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		fault func(c *chip)
		want  int
	}{
		{"no fault", func(*chip) {}, 1},
		{"in the prompt", func(c *chip) { c.lineFaultAt = c.send.promptFrom + 4 }, 0},
		{"in a frame header before", func(c *chip) { c.idFaultAt = c.send.promptFrom - 200 }, 0},
		{"in a frame header long before", func(c *chip) { c.idFaultAt = c.send.promptFrom - 5000 }, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := startServer(t, NonOS)
			cl := h.dial(0)
			h.cmd("AT+CIPSEND=0,5\r\n", "\r\nOK\r\n> ")
			h.m.control(c.fault)
			time.Sleep(PayloadIdle + 300*time.Millisecond)
			h.cmd("hello", "\r\nRecv 5 bytes\r\n"+msgSendOK)
			if got := readN(t, cl, 5); string(got) != "hello" {
				t.Fatalf("client got %q", got)
			}
			wantViolations(t, h.m, map[ViolationKind]int{ViolPayloadShort: c.want})
		})
	}
}
