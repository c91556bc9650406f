package sim

import (
	"strings"
	"testing"
	"time"
)

func TestMismatch(t *testing.T) {
	for _, c := range []struct {
		from, to int
		want     bool
	}{
		{115200, 115200, false},
		{115200, 115273, false}, // the ESP8266's divisor-rounded rate
		{921600, 930232, false},
		{115200, 57600, true},
		{74880, 115200, true},
		{115200, 0, false}, // unknown
	} {
		if got := mismatch(c.from, c.to); got != c.want {
			t.Errorf("mismatch(%d, %d) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	g := garble([]byte("AT\r\nOK\r\n"))
	for _, c := range g {
		if c < 0x80 {
			t.Fatalf("garbage %q holds ASCII", g)
		}
	}
}

// A host at the wrong rate gets garbage and is not understood, both ways,
// on the in-process line and on the pty; the line noise is not counted as
// a protocol violation, and once the rates agree the modem answers again.
func TestRateMismatch(t *testing.T) {
	for _, tr := range []string{"inproc", "pty"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Baud: 57600, Unpaced: true}
			var h *host
			if tr == "pty" {
				h = startPTYHost(t, cfg)
			} else {
				h = startHost(t, cfg)
			}
			h.echoOff()
			h.setBaud(115200)
			h.send("AT\r\n")
			h.quiet(50 * time.Millisecond) // no line end reached the modem
			if s := h.m.Stats(); s.GarbledFromHost != 4 || s.Commands != 1 {
				t.Fatalf("garbled from host %d, commands %d; want 4, 1", s.GarbledFromHost, s.Commands)
			}

			// The modem's output is garbage to the host.
			h.m.Reset()
			g := h.take(60)
			if strings.Contains(string(g), "\r\n") {
				t.Fatalf("garbled output holds a line end: %q", g)
			}
			h.settle(30 * time.Millisecond)
			if s := h.m.Stats(); s.GarbledToHost < 60 || strings.Count(string(h.transcript()), "ready") != 1 {
				t.Fatalf("garbled to host %d; transcript %q", s.GarbledToHost, h.transcript())
			}

			// At the modem's rate again: the junk the modem holds spoils
			// the first line (ERROR), then all is well.
			h.setBaud(57600)
			h.cmd("AT\r\n", echoOf(NonOS, "AT\r\n")+msgOK) // after the reset: echo on, and no junk yet
			h.echoOff()
			h.setBaud(9600)
			h.send("AT\r\n")
			// (a pty's reader samples the host's rate when it takes the bytes)
			waitChip(t, h.m, "garbled bytes", func(*chip) bool { return h.m.Stats().GarbledFromHost == 8 })
			h.setBaud(57600)
			h.quiet(20 * time.Millisecond)
			h.cmd("AT\r\n", msgError)
			h.cmd("AT\r\n", msgOK)
			wantViolations(t, h.m, nil)
		})
	}
}
