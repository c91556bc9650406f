package sim

import (
	"runtime"
	"time"
)

// Precise waits (Config.PreciseTiming). The Go timer is coarse for short
// waits: on Linux the runtime's poller sleeps in whole milliseconds, so a
// wait under a millisecond ends about a millisecond late, and every short
// message the emulator paces costs a millisecond more than its model. A
// precise wait leaves only its first part to the Go timer, up to
// preciseMargin before the deadline, then sleeps with the OS's
// high-resolution sleep (osSleep) and yields the processor for the last
// spinFor, which the OS sleep would overshoot by its timer slack.
const (
	preciseMargin = 2 * time.Millisecond
	spinFor       = 100 * time.Microsecond
	// fineSlice bounds one OS sleep, so that cancellation is noticed soon.
	fineSlice = 200 * time.Microsecond
)

// fineStep brings the caller closer to at: an OS sleep while more than
// spinFor remains, a yield after that. It reports whether at has passed.
func fineStep(at time.Time) bool {
	r := time.Until(at)
	switch {
	case r <= 0:
		return true
	case r > spinFor:
		osSleep(min(r-spinFor, fineSlice))
	default:
		runtime.Gosched()
	}
	return !time.Now().Before(at)
}

// fineWait waits for at with fineSteps, checking done between them. It
// reports whether at was reached (false: done closed first).
func fineWait(at time.Time, done ...<-chan struct{}) bool {
	var c1, c2 <-chan struct{}
	if len(done) > 0 {
		c1 = done[0]
	}
	if len(done) > 1 {
		c2 = done[1]
	}
	for !fineStep(at) {
		select {
		case <-c1:
			return false
		case <-c2:
			return false
		default:
		}
	}
	return true
}

// PacingStats is how late the emulator's timed actions came, past their
// deadlines: bytes released on the line (each piece when its last bit
// would have crossed it) and the firmware's latencies (prompt, SEND OK,
// +IPD, command results). Every one counts, also one whose deadline had
// passed before its wait began.
type PacingStats struct {
	Waits int           // timed actions measured
	Early int           // ... that came before their deadline (a bug if not 0)
	Late  time.Duration // summed lateness
	Max   time.Duration // the latest one
	// Hist counts the waits by lateness: Hist[i] those up to
	// PacingBuckets[i], the last entry those above every bucket.
	Hist [len(PacingBuckets) + 1]int
}

// PacingBuckets are the upper bounds of PacingStats.Hist.
var PacingBuckets = [...]time.Duration{
	10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
}

func (p *PacingStats) add(late time.Duration) {
	p.Waits++
	if late < 0 {
		p.Early++
		late = 0
	}
	p.Late += late
	p.Max = max(p.Max, late)
	i := 0
	for i < len(PacingBuckets) && late > PacingBuckets[i] {
		i++
	}
	p.Hist[i]++
}

// Mean is the average lateness.
func (p PacingStats) Mean() time.Duration {
	if p.Waits == 0 {
		return 0
	}
	return p.Late / time.Duration(p.Waits)
}

// Quantile returns the upper bound of the bucket that holds the q-th
// quantile (0 < q <= 1) of lateness: at least that fraction of the waits
// came no later than it. Above the last bucket it returns Max.
func (p PacingStats) Quantile(q float64) time.Duration {
	if p.Waits == 0 {
		return 0
	}
	need := q * float64(p.Waits)
	n := 0
	for i, c := range p.Hist {
		n += c
		if float64(n) >= need {
			if i < len(PacingBuckets) {
				return PacingBuckets[i]
			}
			break
		}
	}
	return p.Max
}

// Add returns the waits of p and q together.
func (p PacingStats) Add(q PacingStats) PacingStats {
	p.Waits += q.Waits
	p.Early += q.Early
	p.Late += q.Late
	p.Max = max(p.Max, q.Max)
	for i := range p.Hist {
		p.Hist[i] += q.Hist[i]
	}
	return p
}

// Sub returns the waits in p that are not in an earlier snapshot q (Max
// stays p's).
func (p PacingStats) Sub(q PacingStats) PacingStats {
	p.Waits -= q.Waits
	p.Early -= q.Early
	p.Late -= q.Late
	for i := range p.Hist {
		p.Hist[i] -= q.Hist[i]
	}
	return p
}
