//go:build !race

package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/espgate/espgate/fsm"
)

// Everything the loop and the pumps call per note, read or write allocates
// nothing; only NoteFirmware, which is rare, may.
func TestZeroAllocs(t *testing.T) {
	m := New(prometheus.NewRegistry())
	now := t0
	notes := []fsm.Note{
		{Kind: fsm.NoteRequest, Link: 1},
		{Kind: fsm.NoteLinkOpen, Link: 1},
		{Kind: fsm.NoteLinkClosed, Link: 1, Reason: fsm.ClosedEvicted},
		{Kind: fsm.NoteResponseDone, Link: 1, Method: fsm.MethodPost, Status: 201, Bytes: 300, Dur: 80 * time.Millisecond},
		{Kind: fsm.NoteFirstByte, Link: 1, Dur: 50 * time.Millisecond},
		{Kind: fsm.NoteModemState, State: fsm.ModemJoining},
		{Kind: fsm.NoteModemState, State: fsm.ModemServing},
		{Kind: fsm.NoteServing, Text: []byte("192.168.1.20")},
		{Kind: fsm.NoteModemReset},
		{Kind: fsm.NoteATFailure, Failure: fsm.FailSendFail, Cmd: fsm.CmdSend},
		{Kind: fsm.NoteCommand, Cmd: fsm.CmdSend, Dur: 200 * time.Millisecond},
		{Kind: fsm.NoteWifi, Text: []byte("disconnected")},
		{Kind: fsm.NoteJoinFailed, Status: 3},
	}
	for _, n := range notes {
		if a := testing.AllocsPerRun(100, func() {
			now = now.Add(time.Second)
			m.Observe(n, now)
		}); a != 0 {
			t.Errorf("Observe(kind %d): %.1f allocations, want 0", n.Kind, a)
		}
	}
	// Bring-up timing across a full cycle.
	cycle := []fsm.ModemState{fsm.ModemRecovering, fsm.ModemSyncing, fsm.ModemConfiguring, fsm.ModemServing}
	if a := testing.AllocsPerRun(100, func() {
		for _, s := range cycle {
			now = now.Add(time.Second)
			m.Observe(fsm.Note{Kind: fsm.NoteModemState, State: s}, now)
		}
	}); a != 0 {
		t.Errorf("modem state cycle: %.1f allocations, want 0", a)
	}
	others := map[string]func(){
		"UARTRead":     func() { m.UARTRead(512) },
		"UARTWrite":    func() { m.UARTWrite(2048) },
		"SetBaud":      func() { m.SetBaud(921600) },
		"Links":        func() { m.Links([5]int{3, 1, 0, 1, 0}) },
		"SendQueue":    func() { m.SendQueue(2) },
		"HandlerPanic": func() { m.HandlerPanic() },
		"LogDropped":   func() { m.LogDropped(7) },
	}
	for name, f := range others {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %.1f allocations, want 0", name, a)
		}
	}
}
