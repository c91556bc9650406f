package fsm

import (
	"fmt"
	"testing"
	"time"
)

// The line switch to Config.TargetBaud (modem_bringup.go), played as
// conversations on both firmware generations.

const fast = 921600

// wantBaud checks the rate the machine has set the line to, and that the
// last NoteBaud said so, for the reason given.
func (tm *testModem) wantBaud(baud int, why string) {
	tm.t.Helper()
	if got := tm.m.LineBaud(); got != baud {
		tm.t.Fatalf("line at %d baud, want %d", got, baud)
	}
	n, ok := tm.lastNote(NoteBaud)
	if !ok || n.Status != baud || string(n.Text) != why {
		tm.t.Fatalf("last NoteBaud %+v (found %v), want %d %q", n, ok, baud, why)
	}
}

// toEcho plays probe, reset, "ready" and ATE0 at the rate the line is at.
func (tm *testModem) toEcho() {
	tm.t.Helper()
	tm.wantWrite("probe", "AT\r\n")
	tm.says("AT\r\r\n" + tm.ok())
	tm.wantWrite("reset", "AT+RST\r\n")
	tm.says(tm.echo("AT+RST\r\n") + tm.ok())
	if got := tm.m.LineBaud(); got != 115200 {
		tm.t.Fatalf("line at %d baud while the modem reboots, want 115200", got)
	}
	tm.wantIdle()
	tm.says("\x8f\x12\xfe\r\n\r\nready\r\n")
	tm.advance(100 * time.Millisecond)
	tm.wantWrite("echo off", "ATE0\r\n")
	tm.says(tm.echo("ATE0\r\n") + tm.ok())
}

// toServing plays the rest of bring-up, from AT+GMR on.
func (tm *testModem) toServing() {
	tm.t.Helper()
	tm.wantWrite("version", "AT+GMR\r\n")
	if tm.gen == GenNonOS {
		tm.says("AT version:1.7.4.0(May 11 2020 19:13:04)\r\nSDK version:3.0.4(9532ceb)\r\n" + tm.ok())
	} else {
		tm.says("AT version:2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\n" + tm.ok())
	}
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:STAIP,\"192.168.1.50\"\r\n" + tm.ok())
	for _, c := range []string{"AT+CIPMUX=1\r\n", "AT+CIPSERVERMAXCONN=5\r\n", "AT+CIPSERVER=1,80\r\n"} {
		tm.wantWrite(c, c)
		tm.says(tm.ok())
	}
	tm.wantWritePrefix("server timeout", "AT+CIPSTO=")
	tm.says(tm.ok())
	tm.wantWrite("dinfo", "AT+CIPDINFO=1\r\n")
	tm.says(tm.ok())
	tm.wantIdle()
	if tm.m.State() != ModemServing {
		tm.t.Fatalf("state %v, want serving", tm.m.State())
	}
}

// switched plays bring-up with a successful switch to 921600.
func switched(t *testing.T, g Generation) *testModem {
	tm := newTestModem(t, g, Config{TargetBaud: fast})
	tm.advanceToDeadline()
	tm.toEcho()
	tm.wantWrite("switch", fmt.Sprintf("AT+UART_CUR=%d,8,1,0,0\r\n", fast))
	tm.says(tm.ok()) // at the old rate
	tm.wantBaud(fast, "switch")
	tm.wantIdle() // the modem finishes its last byte at the old rate
	tm.advance(baudSettle)
	tm.wantWrite("check at the new rate", "AT\r\n")
	tm.says(tm.ok())
	tm.wantBaud(fast, "verified")
	tm.toServing()
	return tm
}

func TestBaudSwitch(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := switched(t, g)
			tm.handler = text("hi")
			tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			if got := tm.sendChunk(0); len(got) == 0 {
				t.Fatal("no response")
			}
			if tm.m.LineBaud() != fast {
				t.Fatalf("line at %d", tm.m.LineBaud())
			}
		})
	}
}

// The modem takes the new rate but nothing answers there: the machine
// reverts it blind, goes back to the old rate, and brings the modem up
// again there without trying the switch a second time.
func TestBaudSwitchSilent(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := newTestModem(t, g, Config{TargetBaud: fast})
			tm.advanceToDeadline()
			tm.toEcho()
			tm.wantWritePrefix("switch", "AT+UART_CUR=921600,")
			tm.says(tm.ok())
			tm.advance(baudSettle)
			for i := range 2 {
				tm.wantWrite(fmt.Sprintf("check %d", i), "AT\r\n")
				tm.says("\xf0\x00\x80") // garbage, or nothing: no answer
				tm.advanceToDeadline()
				if i == 0 {
					tm.wantIdle()
					tm.advanceToDeadline()
				}
			}
			tm.wantWrite("blind revert, at the new rate", "AT+UART_CUR=115200,8,1,0,0\r\n")
			if tm.m.LineBaud() != fast {
				t.Fatalf("revert written at %d baud, want %d", tm.m.LineBaud(), fast)
			}
			tm.advanceToDeadline() // unanswered
			tm.wantBaud(115200, "silent")
			if s := tm.m.State(); s != ModemSyncing {
				t.Fatalf("state %v after the fallback, want syncing", s)
			}
			tm.wantIdle()
			tm.advanceToDeadline()
			tm.toEcho()
			tm.toServing() // no second AT+UART_CUR
			if tm.m.LineBaud() != 115200 {
				t.Fatalf("serving at %d baud", tm.m.LineBaud())
			}
			// A later recovery does not try again either.
			tm.says("\r\nready\r\n")
			tm.advance(100 * time.Millisecond)
			tm.wantWrite("echo off", "ATE0\r\n")
			tm.says(tm.ok())
			tm.wantWrite("version", "AT+GMR\r\n")
		})
	}
}

// A firmware that refuses the rate leaves the line where it is.
func TestBaudSwitchRefused(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := newTestModem(t, g, Config{TargetBaud: 5_000_000})
			tm.advanceToDeadline()
			tm.toEcho()
			tm.wantWrite("switch", "AT+UART_CUR=5000000,8,1,0,0\r\n")
			tm.says("\r\nERROR\r\n")
			tm.wantBaud(115200, "refused")
			tm.toServing()
		})
	}
}

// A modem left at the new rate (by an earlier run) is found there: probes
// alternate between the rates, and AT+RST brings it back to the old one.
func TestBaudProbeFindsSwitchedModem(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := newTestModem(t, g, Config{TargetBaud: fast})
			tm.advanceToDeadline()
			tm.wantWrite("probe at 115200", "AT\r\n")
			if tm.m.LineBaud() != 115200 {
				t.Fatalf("first probe at %d", tm.m.LineBaud())
			}
			tm.advanceToDeadline() // silent
			tm.advanceToDeadline()
			tm.wantBaud(fast, "probe")
			tm.toEcho() // answered at 921600; AT+RST brings it back to 115200
			tm.wantBaud(115200, "reset")
			tm.wantWritePrefix("switch again", "AT+UART_CUR=921600,")
		})
	}
}

// A modem that resets while serving on the switched line comes back at
// its stored rate: its boot is noise at 921600. The machine recovers,
// finds it at 115200 and switches again.
func TestBaudNoiseMeansReset(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := switched(t, g)
			tm.says("\x00\xf8\x80\xf8") // "ready" at 115200, read at 921600
			if tm.m.State() != ModemRecovering {
				t.Fatalf("state %v after noise, want recovering", tm.m.State())
			}
			tm.advanceToDeadline()
			tm.wantBaud(115200, "probe")
			tm.toEcho()
			tm.wantWritePrefix("switch again", "AT+UART_CUR=921600,")
		})
	}
}

// Noise on the switched line from a modem that did not reset (it still
// answers at the new rate) means the line cannot carry that rate: after
// the recovery the machine stays at the old one.
func TestBaudNoisyLine(t *testing.T) {
	tm := switched(t, GenNonOS)
	tm.says("+IPD\x80\r\n")
	tm.advanceToDeadline()
	tm.wantWrite("probe at 115200", "AT\r\n")
	tm.advanceToDeadline() // silent there
	tm.advanceToDeadline()
	tm.wantBaud(fast, "probe")
	tm.wantWrite("probe at 921600", "AT\r\n")
	tm.says(tm.ok())
	tm.wantBaud(fast, "noisy")
	tm.wantWrite("reset", "AT+RST\r\n")
	tm.says(tm.ok())
	tm.wantBaud(115200, "reset")
	tm.says("\r\nready\r\n")
	tm.advance(100 * time.Millisecond)
	tm.wantWrite("echo off", "ATE0\r\n")
	tm.says(tm.ok())
	tm.wantWrite("no switch", "AT+GMR\r\n")
	if tm.m.LineBaud() != 115200 {
		t.Fatalf("line at %d", tm.m.LineBaud())
	}
}

// Payload bytes are not noise, whatever they hold.
func TestBaudPayloadIsNotNoise(t *testing.T) {
	tm := switched(t, GenESPAT)
	tm.says("0,CONNECT\r\n" + ipd(0, "\x00\xff\x80"))
	if tm.m.State() != ModemServing {
		t.Fatalf("state %v after a binary payload", tm.m.State())
	}
}
