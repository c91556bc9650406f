package sim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultPTYLink is where `espgate sim` links the serial line's pty.
const DefaultPTYLink = "./espgate-sim.pty"

// Main runs the `espgate sim` subcommand: an emulated modem on a pty (linked
// at --pty-link) and a TCP listener, until ctx is done; then it prints a
// summary. It returns 0, 1 if the modem cannot start, 2 for bad flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("espgate sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: espgate sim [flags]\n\n"+
			"Emulates an ESP8266 with AT firmware on a pseudo-terminal; TCP clients\n"+
			"connecting to --listen reach the emulated module's server. A host that\n"+
			"sets the pty to another rate than the module's reads garbage, as on a\n"+
			"real line.\n\nflags:\n")
		fs.PrintDefaults()
	}
	var (
		profile  = fs.String("profile", string(NonOS), "firmware: nonos (NonOS AT 1.7) or espat (ESP-AT 2.2)")
		listen   = fs.String("listen", DefaultListen, "TCP address clients connect to (the module's server port)")
		link     = fs.String("pty-link", DefaultPTYLink, "symlink to the serial line's pty (empty: none)")
		baud     = fs.Int("baud", DefaultBaud, "initial line rate, 8N1")
		faults   = fs.String("faults", "", "faults to inject, e.g. reset=0.01,busy=0.01,resetafter=200")
		seed     = fs.Int64("seed", 1, "seed of the fault decisions and the boot garbage")
		trace    = fs.String("trace", "", "write every byte on the serial line to FILE")
		ssid     = fs.String("ssid", DefaultSSID, "SSID of the emulated access point")
		password = fs.String("password", DefaultPassword, "password of the emulated access point")
		joined   = fs.Bool("joined", false, "credentials stored: join the access point after every boot")
		unpaced  = fs.Bool("unpaced", false, "no line pacing and no modem latencies")
		precise  = fs.Bool("precise-timing", false, "pace the line and the latencies to tens of µs (costs CPU; default: the Go timer, ~1 ms late on Linux)")
		verbose  = fs.Bool("v", false, "log clients, faults and violations as they happen")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "espgate sim: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if p := Profile(*profile); !p.valid() {
		return bad("--profile %q: want %s or %s", *profile, NonOS, ESPAT)
	}
	fl, err := ParseFaults(*faults)
	if err != nil {
		return bad("--faults: %v", err)
	}
	if *baud < 80 || *baud > 4608000 {
		return bad("--baud %d: want 80..4608000", *baud)
	}
	cfg := Config{
		Profile:       Profile(*profile),
		Listen:        *listen,
		Baud:          *baud,
		Unpaced:       *unpaced,
		PreciseTiming: *precise,
		SSID:          *ssid,
		Password:      *password,
		Joined:        *joined,
		Faults:        fl,
		Seed:          *seed,
	}
	var logMu sync.Mutex
	if *verbose {
		cfg.Logf = func(format string, a ...any) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}
	if *trace != "" {
		f, err := os.Create(*trace)
		if err != nil {
			fmt.Fprintf(stderr, "espgate sim: %v\n", err)
			return 1
		}
		defer f.Close()
		cfg.Trace = f
	}
	m, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "espgate sim: %v\n", err)
		return 1
	}
	defer m.Close()
	slave, err := m.OpenPTY(*link)
	if err != nil {
		fmt.Fprintf(stderr, "espgate sim: %v\n", err)
		return 1
	}
	started := time.Now()
	pacing := ""
	switch {
	case cfg.Unpaced:
		pacing = " (unpaced)"
	case cfg.PreciseTiming:
		pacing = " (precise timing)"
	}
	fmt.Fprintf(stdout, "espgate sim: ESP8266 AT firmware emulator, profile %s, %d baud 8N1%s\n", cfg.Profile, cfg.Baud, pacing)
	if *link != "" {
		fmt.Fprintf(stdout, "serial line: %s (linked at %s)\n", slave, *link)
	} else {
		fmt.Fprintf(stdout, "serial line: %s\n", slave)
	}
	fmt.Fprintf(stdout, "TCP clients: %s\n", m.Addr())
	if fl != (Faults{}) {
		fmt.Fprintf(stdout, "faults: %s (seed %d)\n", fl, cfg.Seed)
	}
	<-ctx.Done()
	_ = m.Close()
	printSummary(stdout, m, time.Since(started))
	return 0
}

func printSummary(w io.Writer, m *Modem, d time.Duration) {
	s := m.Stats()
	fmt.Fprintf(w, "espgate sim: stopped after %s\n", d.Round(time.Millisecond))
	fmt.Fprintf(w, "  links served %d, clients reset %d\n", s.LinksServed, s.ClientsRejected)
	fmt.Fprintf(w, "  serial bytes to host %d, from host %d\n", s.BytesToHost, s.BytesFromHost)
	if s.GarbledToHost+s.GarbledFromHost > 0 {
		fmt.Fprintf(w, "  garbled by a rate mismatch: %d to host, %d from host\n", s.GarbledToHost, s.GarbledFromHost)
	}
	fmt.Fprintf(w, "  client bytes in %d, out %d\n", s.ClientBytesIn, s.ClientBytesOut)
	fmt.Fprintf(w, "  commands %d, sends %d (SEND OK %d, SEND FAIL %d), +IPD %d, resets %d\n",
		s.Commands, s.Sends, s.SendOK, s.SendFail, s.IPDFrames, s.Resets)
	if len(s.Faults) > 0 {
		names := slices.Sorted(maps.Keys(s.Faults))
		var parts []string
		for _, k := range names {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Faults[k]))
		}
		fmt.Fprintf(w, "  faults injected: %s\n", strings.Join(parts, ", "))
	}
	if p := s.Pacing; p.Waits > 0 {
		fmt.Fprintf(w, "  pacing: %d timed actions, late p50 <= %v, p99 <= %v, mean %v, max %v\n",
			p.Waits, p.Quantile(0.5), p.Quantile(0.99), p.Mean().Round(time.Microsecond), p.Max.Round(time.Microsecond))
	}
	fmt.Fprintf(w, "  violations %d\n", s.Violations)
	const show = 20
	for i, v := range m.Violations() {
		if i == show {
			fmt.Fprintf(w, "    ... %d more\n", s.Violations-show)
			break
		}
		fmt.Fprintf(w, "    %s\n", v)
	}
}
