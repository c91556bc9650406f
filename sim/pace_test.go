package sim

import (
	"testing"
	"time"
)

func TestPacingStats(t *testing.T) {
	var p PacingStats
	for _, d := range []time.Duration{-time.Microsecond, 5 * time.Microsecond, 30 * time.Microsecond, 30 * time.Microsecond, 900 * time.Microsecond, 20 * time.Millisecond} {
		p.add(d)
	}
	if p.Waits != 6 || p.Early != 1 || p.Max != 20*time.Millisecond || p.Late != 20965*time.Microsecond {
		t.Fatalf("stats %+v", p)
	}
	if p.Hist[0] != 2 || p.Hist[2] != 2 || p.Hist[6] != 1 || p.Hist[len(PacingBuckets)] != 1 {
		t.Fatalf("histogram %v", p.Hist)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.3, 10 * time.Microsecond}, {0.5, 50 * time.Microsecond}, {0.8, time.Millisecond}, {1, 20 * time.Millisecond}} {
		if got := p.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if m := p.Mean(); m != p.Late/6 {
		t.Errorf("Mean %v", m)
	}
	q := p
	p.add(3 * time.Microsecond)
	if d := p.Sub(q); d.Waits != 1 || d.Hist[0] != 1 || d.Late != 3*time.Microsecond || d.Early != 0 {
		t.Errorf("Sub %+v", d)
	}
	if a := q.Add(p.Sub(q)); a != p {
		t.Errorf("Add: %+v, want %+v", a, p)
	}
}

// A precise wait never ends before its deadline, and ends at once when
// cancelled.
func TestFineWait(t *testing.T) {
	for _, d := range []time.Duration{0, 30 * time.Microsecond, 150 * time.Microsecond, 700 * time.Microsecond, 3 * time.Millisecond} {
		for range 5 {
			at := time.Now().Add(d)
			if !fineWait(at) {
				t.Fatal("fineWait without cancel reported cancelled")
			}
			if now := time.Now(); now.Before(at) {
				t.Fatalf("%v: woke %v early", d, at.Sub(now))
			}
		}
	}
	done := make(chan struct{})
	close(done)
	if fineWait(time.Now().Add(time.Hour), nil, done) {
		t.Fatal("fineWait ignored its cancel channel")
	}
	var s sleeper
	s.precise = true
	if s.until(time.Now().Add(time.Hour), done) {
		t.Fatal("a precise sleeper ignored its cancel channel")
	}
}

// lateness runs n AT exchanges on a modem paced at 115200 baud with its
// default timing and returns its pacing stats: each exchange has three
// short timed actions (the command line crossing the line, the command's
// execution time, the reply crossing back).
func lateness(tb testing.TB, precise bool, n int) PacingStats {
	h := startHost(tb, Config{Baud: 115200, PreciseTiming: precise, Logf: func(string, ...any) {}})
	h.echoOff()
	before := h.m.Stats().Pacing
	for range n {
		h.cmd("AT\r\n", msgOK)
	}
	return h.m.Stats().Pacing.Sub(before)
}

// Both pacing modes record their lateness, and neither ever releases
// bytes or runs a latency before its deadline. (How late each mode is
// depends on the machine and its load: BenchmarkPacingLateness reports it.)
func TestPacingLateness(t *testing.T) {
	t.Parallel()
	for _, precise := range []bool{false, true} {
		p := lateness(t, precise, 20)
		t.Logf("precise=%v: %d waits, p50 <= %v, p90 <= %v, mean %v, max %v", precise, p.Waits, p.Quantile(0.5), p.Quantile(0.9), p.Mean(), p.Max)
		if p.Waits != 3*20 {
			t.Errorf("precise=%v: %d timed actions recorded for 20 exchanges, want 60", precise, p.Waits)
		}
		if p.Early != 0 {
			t.Errorf("precise=%v: %d actions before their deadline", precise, p.Early)
		}
		sum := 0
		for _, c := range p.Hist {
			sum += c
		}
		if sum != p.Waits || p.Mean() > p.Max {
			t.Errorf("precise=%v: inconsistent stats %+v", precise, p)
		}
	}
	h := startHost(t, Config{Unpaced: true, PreciseTiming: true})
	h.echoOff()
	h.cmd("AT\r\n", msgOK)
	if p := h.m.Stats().Pacing; p != (PacingStats{}) {
		t.Errorf("unpaced modem recorded pacing %+v", p)
	}
}

// Precise pacing never runs ahead of the line rate either.
func TestPreciseTimingNeverFaster(t *testing.T) {
	t.Parallel()
	h2m, m2h := measurePacing(t, 921600, 200*time.Millisecond, true)
	bps := 92160.0
	t.Logf("921600 baud, precise: host->modem %.0f B/s (%.4f), modem->host %.0f B/s (%.4f)", h2m, h2m/bps, m2h, m2h/bps)
	if h2m > bps*1.001 || m2h > bps*1.001 {
		t.Fatalf("faster than %v B/s", bps)
	}
}

// BenchmarkPacingLateness reports how late the emulator's timed actions
// come with the Go timer alone and with PreciseTiming, on short AT
// exchanges at 115200 baud: the p50 and p90 (bucket upper bounds) and the
// mean, in µs.
func BenchmarkPacingLateness(b *testing.B) {
	for _, c := range []struct {
		name    string
		precise bool
	}{{"timer", false}, {"precise", true}} {
		b.Run(c.name, func(b *testing.B) {
			var p PacingStats
			for b.Loop() {
				p = p.Add(lateness(b, c.precise, 50))
			}
			us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
			b.ReportMetric(us(p.Quantile(0.5)), "p50-µs")
			b.ReportMetric(us(p.Quantile(0.9)), "p90-µs")
			b.ReportMetric(us(p.Mean()), "mean-µs")
		})
	}
}
