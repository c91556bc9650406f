package main

import (
	"math"
	"slices"
	"testing"

	"github.com/espgate/espgate/sim"
)

func testModel(p sim.Profile) model {
	return newModel(p, sim.LineParams{Baud: 10000, FrameBits: 10, BytesPerSecond: 1000, Timing: sim.DefaultTiming(p), MaxSend: 2048})
}

func TestByteCounts(t *testing.T) {
	if got, want := cipsendLen(3, 2048), len("AT+CIPSEND=3,2048\r\n"); got != want {
		t.Errorf("cipsendLen = %d, want %d", got, want)
	}
	if got, want := recvLen(134), len("\r\nRecv 134 bytes\r\n"); got != want {
		t.Errorf("recvLen = %d, want %d", got, want)
	}
	if got, want := testModel(sim.NonOS).ipdLen(45, "127.0.0.1", 41234), len("\r\n+IPD,0,45,127.0.0.1,41234:")+45; got != want {
		t.Errorf("nonos ipdLen = %d, want %d", got, want)
	}
	if got, want := testModel(sim.ESPAT).ipdLen(45, "127.0.0.1", 41234), len("\r\n+IPD,0,45,\"127.0.0.1\",41234:")+45; got != want {
		t.Errorf("espat ipdLen = %d, want %d", got, want)
	}
	if got, want := testModel(sim.NonOS).promptLen(), len("\r\nOK\r\n>"); got != want {
		t.Errorf("nonos prompt = %d, want %d", got, want)
	}
	if got, want := chunkSizes(5000, 2048), []int{2048, 2048, 904}; !slices.Equal(got, want) {
		t.Errorf("chunkSizes = %v, want %v", got, want)
	}
}

// TestDownloadByHand checks the single-download bound against the terms
// written out: 1000 bytes/s, NonOS default timing.
func TestDownloadByHand(t *testing.T) {
	m := testModel(sim.NonOS)
	tm := sim.DefaultTiming(sim.NonOS)
	w := func(s string) float64 { return float64(len(s)) / 1000 }
	ipd := 80
	want := tm.IPD.Seconds() + float64(ipd)/1000 +
		// chunk 1 of 2048, with its completion
		w("AT+CIPSEND=0,2048\r\n") + tm.Prompt.Seconds() + w("\r\nOK\r\n>") + 2.048 +
		math.Max(tm.ACK.Seconds(), w("\r\nRecv 2048 bytes\r\n")) + w("\r\nSEND OK\r\n") +
		// chunk 2 of 952, up to its last payload byte
		w("AT+CIPSEND=0,952\r\n") + tm.Prompt.Seconds() + w("\r\nOK\r\n>") + 0.952
	if got := m.download(3000, ipd); math.Abs(got-want) > 1e-12 {
		t.Errorf("download = %.9f s, want %.9f s", got, want)
	}
}

// TestBoundsConsistent checks relations any correct bound must satisfy.
func TestBoundsConsistent(t *testing.T) {
	for _, p := range []sim.Profile{sim.NonOS, sim.ESPAT} {
		m := testModel(p)
		// Goodput never beats the line.
		if got := 256e3 / m.download(256e3+100, 80); got >= m.rate {
			t.Errorf("%s: goodput bound %.0f >= line rate %.0f", p, got, m.rate)
		}
		// One request alone is the same either way.
		if a, b := m.sequential(1, 0, 134, 73, false), m.ipdFirst(73)+m.response(134).send(); math.Abs(a-b) > 1e-12 {
			t.Errorf("%s: sequential(1) = %v, want %v", p, a, b)
		}
		for _, close := range []bool{false, true} {
			for _, n := range []int{1, 2, 10, 100} {
				seq, conc := m.sequential(n, 0, 134, 73, close), m.concurrent(n, 5, 0, 134, 73, close)
				if conc > seq+1e-12 {
					t.Errorf("%s close=%v n=%d: concurrent %v > sequential %v", p, close, n, conc, seq)
				}
				// Every request costs at least its payload on the line.
				if conc < float64(n)*m.wire(134) {
					t.Errorf("%s close=%v n=%d: concurrent %v below the payloads' wire time", p, close, n, conc)
				}
				// A mix of failed and successful sends lies between the two.
				all := m.sequential(n, n, 134, 73, close)
				if mix := m.sequential(n, n/2, 134, 73, close); mix < min(seq, all)-1e-12 || mix > max(seq, all)+1e-12 {
					t.Errorf("%s close=%v n=%d: half failed %v outside [%v, %v]", p, close, n, mix, seq, all)
				}
			}
		}
		// Four assets on four connections never take longer than the
		// sum of their single downloads.
		sizes, ipds := []int{2200, 5300, 8300, 6300}, []int{80, 80, 80, 80}
		serial := m.download(3300, 80)
		for _, s := range sizes {
			serial += m.response(s).send() + m.response(s).tail + m.ipdFirst(80)
		}
		if pg := m.page(1, 3300, 80, sizes, ipds); pg > serial+m.response(3300).tail {
			t.Errorf("%s: page %v > serial %v", p, pg, serial)
		}
	}
}
