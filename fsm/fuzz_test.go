package fsm

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// FuzzMachine feeds a serving machine arbitrary modem output, cut into
// pieces and interleaved with clock advances, and checks DESIGN.md's
// invariants on everything the host writes:
//  1. a payload only follows AT+CIPSEND for its link, and only carries that
//     link's current client's bytes;
//  2. a payload is exactly as long as announced;
//  4. the machine never panics and always has a defined state.
//
// Handlers answer every request with a body naming the link and generation,
// so a payload can be traced to the client it was made for.
func FuzzMachine(f *testing.F) {
	f.Add([]byte("0,CONNECT\r\n\r\n+IPD,0,28:GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\nOK\r\n> \r\nRecv 10 bytes\r\n\r\nSEND OK\r\n"), []byte{3, 200, 7})
	f.Add([]byte("\r\n+IPD,1,16:GET / HTTP/1.0\r\n\r\n\r\nOK\r\n\r\n>1,CLOSED\r\n1,CONNECT\r\n\r\nRecv 5 bytes\r\nSEND FAIL\r\nready\r\n"), []byte{1, 1, 1})
	f.Add([]byte("\r\nbusy s...\r\n\r\nERROR\r\n+IPD,4,3:GET\r\nUNLINK\r\n"), []byte{0, 255})
	f.Add([]byte("0,CONNECT\r\nWIFI DISCONNECT\r\n0,CLOSED\r\n+CWJAP:3\r\n\r\nFAIL\r\n\r\nERROR\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n+CIFSR:STAIP,\"10.0.0.2\"\r\n\r\nOK\r\n"), []byte{2, 140, 20, 140, 50, 140})
	f.Fuzz(func(t *testing.T, modem []byte, cuts []byte) {
		if len(modem) > 4096 || len(cuts) > 64 {
			return
		}
		// A hang is a failure: crash the worker so the fuzzer keeps the input.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("FuzzMachine: input hangs the machine") })
		defer watchdog.Stop()
		for _, g := range gens {
			fuzzOne(t, g, modem, cuts)
		}
	})
}

func fuzzOne(t *testing.T, g Generation, modem, cuts []byte) {
	var cfg Config
	if len(cuts) > 0 && cuts[0]&1 == 1 {
		cfg.StreamBody = streamAll // requests with bodies are answered at their head
	}
	if len(cuts) > 0 && cuts[0]&2 == 2 {
		cfg.SSID, cfg.Password = "home", "secret-pass" // WIFI DISCONNECT starts rejoining
	}
	tm := serving(t, g, cfg)
	tm.handler = func(link int, gen uint32) (Response, bool) {
		body := bytes.Repeat([]byte(fmt.Sprintf("<L%dG%d>", link, gen)), 300)
		return Response{Status: 200, Body: body}, true
	}
	announced := -1
	var annLink int
	var annGen uint32
	resets := 0
	check := func() {
		for {
			if n := tm.count(NoteModemReset); n != resets {
				resets, announced = n, -1 // a reset voids an announcement
			}
			out := tm.m.Output()
			if out == nil {
				return
			}
			var link, n int
			if _, err := fmt.Sscanf(string(out), "AT+CIPSEND=%d,%d\r\n", &link, &n); err == nil && bytes.HasPrefix(out, []byte("AT+CIPSEND=")) {
				announced, annLink, annGen = n, link, tm.m.LinkGen(link)
			} else if !bytes.HasPrefix(out, []byte("AT")) {
				filler := len(bytes.Trim(out, " ")) == 0 && len(out) <= MaxSend
				if announced < 0 {
					// Only filler may follow no announcement: it completes a
					// payload whose Recv never came, harmless as commands.
					if tm.m.State() == ModemServing && !filler {
						t.Fatalf("payload %q written without an announcement", out[:min(len(out), 40)])
					}
				} else if len(out) != announced && !(filler && tm.m.State() != ModemServing) {
					// (Recovery may complete an announced payload it never
					// wrote with a longer filler: the surplus spaces are a
					// line without an end, harmless as commands.)
					t.Fatalf("invariant 2: announced %d, wrote %d", announced, len(out))
				}
				// Invariant 1: only the announced link's current client's marker.
				for l := 0; l < MaxLinks; l++ {
					for _, gen := range []uint32{annGen - 1, annGen, annGen + 1, annGen + 2} {
						marker := []byte(fmt.Sprintf("<L%dG%d>", l, gen))
						if bytes.Contains(out, marker) && (l != annLink || gen != annGen) {
							t.Fatalf("invariant 1: payload for link %d gen %d carries %s", annLink, annGen, marker)
						}
					}
				}
				announced = -1
			}
			tm.m.WriteDone(tm.now)
			tm.collect()
		}
	}
	rest := modem
	for i := 0; len(rest) > 0; i++ {
		n := len(rest)
		if i < len(cuts) {
			n = min(n, int(cuts[i])+1)
		}
		tm.m.Input(tm.now, rest[:n])
		tm.collect()
		rest = rest[n:]
		check()
		if i < len(cuts) && cuts[i]%7 == 0 {
			tm.now = tm.now.Add(time.Duration(cuts[i]) * 100 * time.Millisecond)
			tm.m.Tick(tm.now)
			tm.collect()
			check()
		}
	}
	// Run every deadline that is left; the machine must settle.
	for range 50 {
		d := tm.m.NextDeadline()
		if d.IsZero() {
			break
		}
		if d.After(tm.now) {
			tm.now = d
		}
		tm.m.Tick(tm.now)
		tm.collect()
		check()
	}
	if s := tm.m.State(); s >= numModemStates {
		t.Fatalf("undefined state %d", s)
	}
}
