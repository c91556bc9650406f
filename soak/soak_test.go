package soak_test

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

var (
	soakRequests = flag.Int("soak.requests", 300, "TestSoak: requests per firmware profile (make soak: 10000)")
	soakTime     = flag.Duration("soak.time", 3*time.Minute, "TestSoak: time limit per firmware profile")
	soakSeed     = flag.Int64("soak.seed", 1, "TestSoak: seed of the fault decisions and of the request mix")
	soakTrace    = flag.String("soak.trace", "", "TestSoak: write the emulator's serial-line trace to this file (with the profile appended)")
)

const (
	soakClients = 5
	// perByteFaults is the drop and flip rate per byte to the host: about
	// one request in a hundred meets each (a request costs some 300 bytes
	// on the line towards the host: its +IPD frames and the replies to its
	// sends).
	perByteFaults = 0.01 / 300
	// recoveryBound is how soon the server must serve again after a reset.
	recoveryBound = 2 * time.Second
	// gapBound is the longest the server may go without completing a
	// response while clients keep asking: a server that stops serving
	// (a modem it lost track of) fails it.
	gapBound = 5 * time.Second
	// stallLimit ends a run whose server has completed nothing for this
	// long.
	stallLimit = 4 * gapBound
)

// soakFaults injects every fault the emulator has, each about 1%: the
// rates per decision point (command line, send, client data chunk,
// boundary) are 1%, a reset comes after every 100th send since boot, and
// the per-byte line faults hit about 1% of the requests.
func soakFaults() sim.Faults {
	return sim.Faults{
		Reset: 0.01, ResetAfter: 100, Busy: 0.01,
		SendFail: 0.01, FailOK: 0.01, NoSendOK: 0.01,
		Drop: perByteFaults, Flip: perByteFaults,
		Interleave: 0.01, GlueClosed: 0.01, Vanish: 0.01, WiFiDrop: 0.01,
	}
}

// resetClock timestamps the emulator's injected resets, from its
// diagnostics, and the responses the server completes, from its notes.
type resetClock struct {
	mu     sync.Mutex
	resets []time.Time
	// done holds, per completed response, when its request began and
	// when its last byte was accepted by the modem.
	done []span
}

type span struct{ begun, end time.Time }

func (c *resetClock) logf(format string, args ...any) {
	if strings.HasPrefix(format, "sim: fault: reset") || strings.HasPrefix(format, "sim: reset injected") {
		c.mu.Lock()
		c.resets = append(c.resets, time.Now())
		c.mu.Unlock()
	}
}

func (c *resetClock) responseDone(dur time.Duration) {
	now := time.Now()
	c.served(now.Add(-dur), now)
}

// served records a response to a request begun at begun, complete at end.
func (c *resetClock) served(begun, end time.Time) {
	c.mu.Lock()
	c.done = append(c.done, span{begun, end})
	c.mu.Unlock()
}

// recoveries returns, for every reset, the time until the server had
// served a request begun after it; pending counts resets not followed by
// one.
func (c *resetClock) recoveries() (d []time.Duration, pending int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.resets {
		best := time.Duration(-1)
		for _, s := range c.done {
			if s.begun.After(r) && (best < 0 || s.end.Sub(r) < best) {
				best = s.end.Sub(r)
			}
		}
		if best < 0 {
			pending++
			continue
		}
		d = append(d, best)
	}
	return d, pending
}

// longestGap returns the longest time between completed responses in
// [from, to].
func (c *resetClock) longestGap(from, to time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	ends := []time.Time{from}
	for _, s := range c.done {
		ends = append(ends, s.end)
	}
	ends = append(ends, to)
	slices.SortFunc(ends, func(a, b time.Time) int { return a.Compare(b) })
	var g time.Duration
	for i := 1; i < len(ends); i++ {
		g = max(g, ends[i].Sub(ends[i-1]))
	}
	return g
}

// lastResetServed reports whether the server has served since the last reset.
func (c *resetClock) lastResetServed() bool {
	_, pending := c.recoveries()
	return pending == 0
}

// notes counts the server's notes by kind and reason.
type notes struct {
	mu      sync.Mutex
	closed  map[fsm.CloseReason]int
	failure map[fsm.Failure]int
	resets  int
}

func (n *notes) observe(note fsm.Note) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch note.Kind {
	case fsm.NoteLinkClosed:
		n.closed[note.Reason]++
	case fsm.NoteATFailure:
		n.failure[note.Failure]++
	case fsm.NoteModemReset:
		n.resets++
	}
}

// mix draws the soak's requests: mostly small, some large, a sixth of
// them uploads, some streamed, some through the net/http gateway, some
// closing their connection.
func mix(r *rand.Rand) request {
	var n int
	switch x := r.IntN(100); {
	case x < 50:
		n = r.IntN(600)
	case x < 80:
		n = 600 + r.IntN(5400)
	case x < 95:
		n = 6000 + r.IntN(24000)
	default:
		n = 30000 + r.IntN(90000)
	}
	q := request{method: http.MethodGet, path: "/bytes", n: n, seed: r.Uint64() >> 1, close: r.IntN(5) == 0}
	switch x := r.IntN(100); {
	case x < 15:
		q.method, q.path = http.MethodPost, "/echo"
		q.body = gen(1+r.IntN(min(n+1, 8000)), q.seed)
	case x < 30:
		q.path = "/stream"
	case x < 40:
		q.path = "/nh/bytes"
	}
	return q
}

// soakResult is what one profile's soak saw.
type soakResult struct {
	requests   int
	outcomes   [numOutcomes]int
	failures   []string
	faults     map[string]int
	stats      sim.Stats
	closed     map[fsm.CloseReason]int
	failure    map[fsm.Failure]int
	recovery   []time.Duration
	pending    int
	elapsed    time.Duration
	gap        time.Duration
	hostResets int
	goroutine  [2]int
	heap       [2]uint64
	timedOut   bool
}

// TestSoak runs -soak.requests requests of mixed sizes from five clients
// through a server whose emulated modem injects every fault it has, and
// checks the oracles: each request gets its own byte-exact response or a
// closed connection (or, if the line corrupted the request, a complete
// error answer), the emulator counts no host protocol violation, the
// server serves again after every reset and never goes 5 s without
// completing a response, and goroutines and heap return to their baseline
// once the server has stopped.
//
// The emulator runs unpaced: it has no emulated time, and the time to
// serve again after a reset is reported in wall time. TestRecoveryPaced
// holds the server to 2 s at 115200 baud.
func TestSoak(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		res := runSoak(t, p, *soakRequests, *soakTime, *soakSeed)
		report(t, p, res)
		for _, f := range res.failures {
			t.Error(f)
		}
		if res.timedOut {
			t.Errorf("time limit %v reached after %d of %d requests", *soakTime, res.requests, *soakRequests)
		}
		if res.stats.Violations != 0 {
			t.Errorf("the emulator counted %d host protocol violations: %v", res.stats.Violations, res.stats.ViolationsByKind)
		}
		if res.gap > gapBound {
			t.Errorf("the server completed no response for %v (bound %v)", res.gap, gapBound)
		}
		if res.pending > 0 {
			t.Errorf("%d resets were not followed by serving", res.pending)
		}
		if res.outcomes[outOK] == 0 {
			t.Error("no request was served")
		}
		for _, name := range []string{sim.FaultReset, sim.FaultResetAfter, sim.FaultBusy, sim.FaultSendFail, sim.FaultFailOK,
			sim.FaultNoSendOK, sim.FaultDrop, sim.FaultFlip, sim.FaultInterleave, sim.FaultGlueClosed, sim.FaultVanish, sim.FaultWiFiDrop} {
			if res.faults[name] == 0 && res.requests >= 1000 {
				t.Errorf("fault %s was never injected in %d requests", name, res.requests)
			}
		}
	})
}

func runSoak(t *testing.T, p sim.Profile, total int, limit time.Duration, seed int64) *soakResult {
	res := &soakResult{}
	res.goroutine[0], res.heap[0] = settle(0, 0, 0)

	a := newApp()
	clock := &resetClock{}
	nt := &notes{closed: map[fsm.CloseReason]int{}, failure: map[fsm.Failure]int{}}
	quiet := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	srv := &espgate.Server{
		Routes:         a.routes(),
		Handler:        a.nethttp(),
		Logger:         &quiet,
		HeaderTimeout:  time.Second,
		BodyTimeout:    time.Second,
		IdleTimeout:    2 * time.Second,
		CommandTimeout: time.Second,
		SendOKTimeout:  300 * time.Millisecond,
		Emulator:       sim.Config{Unpaced: true, Faults: soakFaults(), Seed: seed, Logf: clock.logf},
		Observe: func(n fsm.Note) {
			if n.Kind == fsm.NoteResponseDone {
				clock.responseDone(n.Dur)
			}
			nt.observe(n)
		},
	}
	if *soakTrace != "" {
		// The trace, and beside it the server's debug log, whose first line
		// gives the wall time of the trace's zero.
		f, err := os.Create(*soakTrace + "." + string(p))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		lf, err := os.Create(*soakTrace + "." + string(p) + ".log")
		if err != nil {
			t.Fatal(err)
		}
		defer lf.Close()
		fmt.Fprintf(lf, "trace zero: %s\n", time.Now().Format(time.RFC3339Nano))
		zerolog.TimeFieldFormat = time.RFC3339Nano
		l := zerolog.New(lf).Level(zerolog.DebugLevel).With().Timestamp().Logger()
		srv.Logger = &l
		srv.Emulator.Trace = f
		var lmu sync.Mutex
		srv.Emulator.Logf = func(format string, args ...any) {
			clock.logf(format, args...)
			lmu.Lock()
			defer lmu.Unlock()
			fmt.Fprintf(lf, "%s emulator: %s\n", time.Now().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
		}
	}
	env := e2etest.Start(t, p, srv)

	start := time.Now()
	deadline := start.Add(limit)
	var (
		next   atomic.Int64
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	for i := range soakClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
			c := &client{addr: env.Addr, app: a, timeout: 20 * time.Second}
			defer c.drop()
			var backoff time.Duration
			for {
				k := next.Add(1)
				if k > int64(total) {
					return
				}
				if time.Now().After(deadline) {
					mu.Lock()
					res.timedOut = true
					mu.Unlock()
					return
				}
				q := mix(r)
				id := fmt.Sprintf("c%d-%d", i, k)
				o, detail := c.do(&q, id)
				mu.Lock()
				res.requests++
				res.outcomes[o]++
				if o.failure() && len(res.failures) < 20 {
					res.failures = append(res.failures, fmt.Sprintf("%s %s (%s %s, %d bytes): %s", o, id, q.method, q.path, len(q.want()), detail))
				}
				mu.Unlock()
				if o == outHung {
					failed.Store(true)
				}
				if failed.Load() {
					return
				}
				if o == outClosed {
					// The modem may be recovering: do not spend the
					// budget on clients it resets at once.
					backoff = min(2*backoff+20*time.Millisecond, 400*time.Millisecond)
					time.Sleep(backoff)
				} else {
					backoff = 0
				}
			}
		}()
	}
	// A server that stops serving ends the run early, not at the time
	// limit: the gap check below reports it.
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				if clock.longestGap(start, now) > stallLimit {
					failed.Store(true)
					return
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	res.elapsed = time.Since(start)
	res.gap = clock.longestGap(start, time.Now())

	// A reset near the end: the server must come back before it stops.
	if !clock.lastResetServed() {
		c := &client{addr: env.Addr, app: a, timeout: 5 * time.Second}
		for end := time.Now().Add(5 * time.Second); !clock.lastResetServed() && time.Now().Before(end); {
			q := request{method: http.MethodGet, path: "/bytes", n: 10, seed: 1}
			c.do(&q, "final")
			time.Sleep(20 * time.Millisecond)
		}
		c.drop()
	}
	if err := env.Stop(); err != nil {
		t.Error(err)
	}
	res.stats = env.Modem.Stats()
	res.faults = res.stats.Faults
	res.recovery, res.pending = clock.recoveries()
	nt.mu.Lock()
	res.closed, res.failure, res.hostResets = maps.Clone(nt.closed), maps.Clone(nt.failure), nt.resets
	nt.mu.Unlock()

	// The app's records are the run's only deliberate leftovers.
	a.mu.Lock()
	a.produced = nil
	a.mu.Unlock()
	res.goroutine[1], res.heap[1] = settle(res.goroutine[0], res.heap[0], 10*time.Second)
	if res.goroutine[1] > res.goroutine[0]+goroutineSlack {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines: %d before, %d after the server stopped\n%s", res.goroutine[0], res.goroutine[1], buf[:n])
	}
	if res.heap[1] > res.heap[0]+heapSlack {
		t.Errorf("heap in use: %d bytes before, %d after the server stopped (slack %d)", res.heap[0], res.heap[1], heapSlack)
	}
	return res
}

// Slack for the baseline comparison: the runtime and the test framework
// keep a few goroutines and some heap of their own.
const (
	goroutineSlack = 2
	heapSlack      = 4 << 20
)

// settle collects garbage until goroutines and heap are back within
// slack of the baseline (g0, h0) or wait has passed, and returns them.
// With wait 0 it measures once.
func settle(g0 int, h0 uint64, wait time.Duration) (int, uint64) {
	end := time.Now().Add(wait)
	for {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		g := runtime.NumGoroutine()
		if wait == 0 || (g <= g0+goroutineSlack && ms.HeapInuse <= h0+heapSlack) || time.Now().After(end) {
			return g, ms.HeapInuse
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// report logs the figures of a run.
func report(t *testing.T, p sim.Profile, r *soakResult) {
	var b strings.Builder
	fmt.Fprintf(&b, "soak %s: %d requests in %v, %d clients, seed %d\n", p, r.requests, r.elapsed.Round(time.Millisecond), soakClients, *soakSeed)
	fmt.Fprintf(&b, "  outcomes:")
	for o := range numOutcomes {
		fmt.Fprintf(&b, " %s=%d", o, r.outcomes[o])
	}
	fmt.Fprintf(&b, "\n  faults injected:")
	for _, k := range slices.Sorted(maps.Keys(r.faults)) {
		fmt.Fprintf(&b, " %s=%d", k, r.faults[k])
	}
	s := r.stats
	fmt.Fprintf(&b, "\n  emulator: links %d, rejected %d, commands %d, sends %d, SEND OK %d, SEND FAIL %d, +IPD %d, resets %d, violations %d %v\n",
		s.LinksServed, s.ClientsRejected, s.Commands, s.Sends, s.SendOK, s.SendFail, s.IPDFrames, s.Resets, s.Violations, s.ViolationsByKind)
	fmt.Fprintf(&b, "  line: %d bytes to the host, %d from it; clients: %d bytes in, %d out\n", s.BytesToHost, s.BytesFromHost, s.ClientBytesIn, s.ClientBytesOut)
	fmt.Fprintf(&b, "  links closed by reason:")
	for _, k := range slices.Sorted(maps.Keys(r.closed)) {
		fmt.Fprintf(&b, " %s=%d", k, r.closed[k])
	}
	fmt.Fprintf(&b, "\n  modem resets the server saw: %d", r.hostResets)
	fmt.Fprintf(&b, "\n  AT failures:")
	for _, k := range slices.Sorted(maps.Keys(r.failure)) {
		fmt.Fprintf(&b, " %s=%d", k, r.failure[k])
	}
	rec := slices.Clone(r.recovery)
	slices.Sort(rec)
	if len(rec) > 0 {
		fmt.Fprintf(&b, "\n  serving again after %d resets (wall, unpaced): p50 %v, p99 %v, max %v; %d pending",
			len(rec), rec[len(rec)/2].Round(time.Millisecond), rec[len(rec)*99/100].Round(time.Millisecond), rec[len(rec)-1].Round(time.Millisecond), r.pending)
	}
	fmt.Fprintf(&b, "\n  longest time without a completed response: %v", r.gap.Round(time.Millisecond))
	fmt.Fprintf(&b, "\n  goroutines %d -> %d, heap in use %.1f -> %.1f MiB", r.goroutine[0], r.goroutine[1], float64(r.heap[0])/(1<<20), float64(r.heap[1])/(1<<20))
	t.Log(b.String())
}
