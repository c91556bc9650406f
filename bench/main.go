// Command bench is espgate's end-to-end load harness. In one process it
// runs the ESP8266 emulator, paced at the given baud with its profile's
// default timing, and espgate over the emulator's serial line; real TCP
// clients then load it on loopback. Each scenario's result is reported
// against the bound of DESIGN.md's performance model, computed from the
// emulator's parameters in the same run (see model.go).
//
//	go run ./bench [-quick] [-out DIR] [-profiles nonos,espat] [-bauds 115200,921600]
//	               [-target-baud N] [-scenarios goodput,small-ka-c1,...] [-trace]
//
// Scenarios, for each profile and baud: goodput of a large response
// (goodput); small requests per second from one and from five clients,
// with keep-alive and with Connection: close (small-ka-c1, small-ka-c5,
// small-close-c1, small-close-c5); pages per second, the HTML and then
// four assets on four connections (page); latency percentiles of each.
// It writes goodput.svg and latency.svg to -out, and with -trace the
// emulator's line trace of each run. With -target-baud the modem starts
// at each of -bauds and espgate switches the line to N (AT+UART_CUR)
// before the scenarios run; the bound is computed at the rate served.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/espgate/espgate/sim"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// combo is one profile at one baud and what was measured there.
type combo struct {
	profile sim.Profile
	baud    int // the rate served at
	from    int // with -target-baud: the rate the modem started at
	params  sim.LineParams
	results []result
	viols   []sim.Violation
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "fewer samples and a smaller large body (under a minute)")
	out := fs.String("out", filepath.Join("bench", "out"), "directory for the SVG plots")
	profilesFlag := fs.String("profiles", "nonos,espat", "emulator profiles, comma-separated")
	baudsFlag := fs.String("bauds", "115200,921600", "line rates, comma-separated")
	traceFlag := fs.Bool("trace", false, "write the emulator's line trace of each run to -out")
	only := fs.String("scenarios", "", "run only these scenarios, comma-separated (default all)")
	target := fs.Int("target-baud", 0, "start the modem at each of -bauds and have espgate switch the line to this rate")
	precise := fs.Bool("precise", true, "pace the emulator with sim.Config.PreciseTiming (false: the Go timer alone, ~1 ms late per short wait on Linux)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var profiles []sim.Profile
	for _, p := range strings.Split(*profilesFlag, ",") {
		switch sim.Profile(p) {
		case sim.NonOS, sim.ESPAT:
			profiles = append(profiles, sim.Profile(p))
		default:
			return fmt.Errorf("unknown profile %q", p)
		}
	}
	var bauds []int
	for _, b := range strings.Split(*baudsFlag, ",") {
		v, err := strconv.Atoi(b)
		if err != nil || v < 9600 || v > 4608000 {
			return fmt.Errorf("bad baud %q", b)
		}
		bauds = append(bauds, v)
	}
	slices.Sort(bauds)

	bigSize := 256 << 10
	st := settings{
		downloadBudget: 40 * time.Second, minDownloads: 2, maxDownloads: 10,
		requestTime: 8 * time.Second,
		pageBudget:  15 * time.Second, minPages: 3, maxPages: 20,
	}
	if *quick {
		bigSize = 64 << 10
		st = settings{
			downloadBudget: 3 * time.Second, minDownloads: 1, maxDownloads: 4,
			requestTime: 800 * time.Millisecond,
			pageBudget:  2 * time.Second, minPages: 1, maxPages: 4,
		}
	}
	a := newApp(bigSize)

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	began := time.Now()
	fmt.Fprintf(stderr, "bench: %s, %d CPUs; large body %d bytes; emulator timing: %s\n", runtime.Version(), runtime.NumCPU(), bigSize,
		map[bool]string{true: "precise", false: "Go timer"}[*precise])
	// The emulator paces the line and its latencies with timers: how late
	// they wake on this machine is how far it can fall behind its model.
	timers := fmt.Sprintf("timer wake-up on this machine (p50 of 50): %v for 100µs, %v for 1ms, %v for 2ms",
		timerTook(100*time.Microsecond).Round(time.Microsecond), timerTook(time.Millisecond).Round(time.Microsecond),
		timerTook(2*time.Millisecond).Round(time.Microsecond))
	var combos []*combo
	for _, p := range profiles {
		for _, b := range bauds {
			tracePath := ""
			if *traceFlag {
				tracePath = filepath.Join(*out, fmt.Sprintf("trace-%s-%d.txt", p, b))
			}
			c, err := runCombo(p, b, *target, *precise, a, st, tracePath, *only, stderr)
			if err != nil {
				return fmt.Errorf("%s at %d baud: %w", p, b, err)
			}
			combos = append(combos, c)
		}
	}

	report(stdout, combos)
	fmt.Fprintln(stdout, timers)
	for name, svg := range map[string]string{
		"goodput.svg": goodputSVG(combos),
		"latency.svg": latencySVG(combos),
	} {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "plots: %s, %s; total %.1f s\n", filepath.Join(*out, "goodput.svg"), filepath.Join(*out, "latency.svg"), time.Since(began).Seconds())
	return nil
}

// runCombo brings up the emulator and espgate and runs every scenario.
func runCombo(p sim.Profile, baud, target int, precise bool, a *app, st settings, tracePath, only string, log io.Writer) (*combo, error) {
	c := &combo{profile: p, baud: baud}
	var tw io.Writer
	if tracePath != "" {
		f, err := os.Create(tracePath)
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		defer func() {
			bw.Flush()
			f.Close()
		}()
		tw = bw
	}
	t0 := time.Now()
	s, err := startServer(p, baud, target, precise, a, tw)
	if err != nil {
		return nil, err
	}
	c.params = s.modem.Params()
	if c.params.Baud != baud {
		c.from, c.baud = baud, c.params.Baud
	}
	fmt.Fprintf(log, "bench: %s %s baud: serving after %.1f s\n", p, c.label(), time.Since(t0).Seconds())
	run := func(name string, f func() result) {
		if only != "" && !slices.Contains(strings.Split(only, ","), name) {
			return
		}
		s.idle(30 * time.Millisecond)
		s.tap.take()
		s.notes.take()
		pace := s.modem.Stats().Pacing
		t := time.Now()
		r := f()
		r.tap = s.tap.take()
		r.notes = s.notes.take()
		r.notes.hostClose = r.tap.closes
		r.pace = s.modem.Stats().Pacing.Sub(pace)
		c.results = append(c.results, r)
		if r.err != nil {
			fmt.Fprintf(log, "bench: %s %d %s: error: %v\n", p, baud, r.scenario, r.err)
			return
		}
		fmt.Fprintf(log, "bench: %s %d %-15s %5d in %5.1f s  ratio %.3f\n", p, baud, r.scenario, r.count, time.Since(t).Seconds(), r.ratio())
	}
	run("goodput", func() result { return runGoodput(s, a, st) })
	for _, close := range []bool{false, true} {
		for _, n := range []int{1, 5} {
			run(requestsName(n, close), func() result { return runRequests(s, a, st, n, close) })
		}
	}
	run("page", func() result { return runPages(s, a, st) })
	s.idle(30 * time.Millisecond)
	c.viols = s.modem.Violations()
	if err := s.close(); err != nil && !errors.Is(err, os.ErrClosed) {
		fmt.Fprintf(log, "bench: %s %d: stopping: %v\n", p, baud, err)
	}
	return c, nil
}

// label names the combo's rate: "921600", or "115200>921600" after a switch.
func (c *combo) label() string {
	if c.from != 0 {
		return fmt.Sprintf("%d>%d", c.from, c.baud)
	}
	return strconv.Itoa(c.baud)
}

// fromField is " from=<rate>" after a switch, for the BENCH lines.
func (c *combo) fromField() string {
	if c.from != 0 {
		return fmt.Sprintf(" from=%d", c.from)
	}
	return ""
}

// report prints the table, the machine-readable lines and any warnings.
func report(w io.Writer, combos []*combo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "profile\tbaud\tscenario\tn\tachieved\tbound\tratio\tunit\tp50\tp99\thost/chunk\temu+/chunk\tredials\tnotes\t")
	for _, c := range combos {
		for _, r := range c.results {
			if r.err != nil {
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t%s\t-\t-\t-\t-\t-\t-\t\n", c.profile, c.label(), r.scenario, r.unit)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.profile, c.label(), r.scenario, r.count,
				num(r.achieved), num(r.bound), r.ratio(), r.unit, ms(pct(r.lat, 50)), ms(pct(r.lat, 99)),
				us(r.tap.hostPerChunk()), us(r.tap.emulatorPerChunk()), r.retries, r.notes)
		}
	}
	tw.Flush()
	fmt.Fprint(w, `
n: downloads, requests or pages measured; achieved and bound in unit; p50, p99: latency.
host/chunk: espgate's own time per AT+CIPSEND chunk (reply read -> next write called).
emu+/chunk: the emulator's time per chunk beyond the model (pacing and timer lateness,
  unsolicited output queued ahead of a prompt or reply).
redials: connections reset by the modem (no free link) + closed by the server before
  answering, each retried. notes: links the server closed other than after
  Connection: close, SEND FAIL results, AT+CIPCLOSE commands (host_close).

`)
	for _, c := range combos {
		for _, r := range c.results {
			if r.err != nil {
				fmt.Fprintf(w, "WARNING: %s %s %s failed: %v\n", c.profile, c.label(), r.scenario, r.err)
				continue
			}
			fmt.Fprintf(w, "BENCH scenario=%s profile=%s baud=%d%s achieved=%.2f bound=%.2f ratio=%.4f\n",
				r.scenario, c.profile, c.baud, c.fromField(), r.achieved, r.bound, r.ratio())
		}
	}
	fmt.Fprintln(w)
	for _, c := range combos {
		var cmd, pay []time.Duration
		for _, r := range c.results {
			cmd = append(cmd, r.tap.hostCmd...)
			pay = append(pay, r.tap.hostPay...)
		}
		fmt.Fprintf(w, "espgate reaction, %s %s: reply read -> AT command written p50 %s p99 %s max %s (n=%d); '>' read -> payload written p50 %s p99 %s max %s (n=%d)\n",
			c.profile, c.label(), us(pct(cmd, 50)), us(pct(cmd, 99)), us(pct(cmd, 100)), len(cmd), us(pct(pay, 50)), us(pct(pay, 99)), us(pct(pay, 100)), len(pay))
	}
	for _, c := range combos {
		var p sim.PacingStats
		for _, r := range c.results {
			p = p.Add(r.pace)
		}
		fmt.Fprintf(w, "emulator lateness, %s %d: %d timed actions (line pieces, latencies), late p50 <= %s p90 <= %s p99 <= %s, mean %s, max %s\n",
			c.profile, c.baud, p.Waits, us(p.Quantile(0.5)), us(p.Quantile(0.9)), us(p.Quantile(0.99)), us(p.Mean()), us(p.Max))
	}
	for _, c := range combos {
		if len(c.viols) > 0 {
			fmt.Fprintf(w, "WARNING: %s %s: %d host protocol violations, first: %v\n", c.profile, c.label(), len(c.viols), c.viols[0])
		}
	}
}

// timerTook is the median time a timer of d takes to fire.
func timerTook(d time.Duration) time.Duration {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var took []time.Duration
	for range 50 {
		start := time.Now()
		t.Reset(d)
		<-t.C
		took = append(took, time.Since(start))
	}
	return pct(took, 50)
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string {
	v := d.Seconds() * 1000
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	default:
		return fmt.Sprintf("%.1fms", v)
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }

func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
