// Command espgate serves web applications to Wi-Fi clients through an
// ESP8266 running Espressif's AT firmware on a serial line. Without
// --device it serves through the embedded emulator of that modem.
//
//	espgate [serve flags]     serve the demo (default)
//	espgate sim [flags]       run the ESP8266 emulator on a pseudo-terminal
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/diode"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/metrics"
	"github.com/espgate/espgate/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	if len(args) > 0 {
		switch args[0] {
		case "sim":
			os.Exit(sim.Main(ctx, args[1:], os.Stdout, os.Stderr))
		case "serve":
			args = args[1:]
		}
	}
	os.Exit(serve(ctx, args, os.Stdout, os.Stderr))
}

type serveFlags struct {
	device     string
	baud       int
	profile    string
	listen     string
	ssid       string
	password   string
	serverPort int
	logLevel   string
	logFormat  string
	faults     string
	seed       int64
	metricsOn  string
	metricsKey string
	unpaced    bool
}

func parseServe(args []string, stderr io.Writer) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("espgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: espgate [flags]        serve (through the emulator unless --device is given)\n"+
			"       espgate sim [flags]    run the ESP8266 emulator (see espgate sim -h)\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.device, "device", "", "modem line: a serial device (/dev/serial0), a pty, or tcp://host:port; empty: the embedded emulator")
	fs.IntVar(&f.baud, "baud", 115200, "line rate of --device (and of the emulator)")
	fs.StringVar(&f.profile, "profile", "nonos", "emulator firmware: nonos (NonOS AT 1.7) or espat (ESP-AT 2.2)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "emulator: the loopback address clients connect to")
	fs.StringVar(&f.ssid, "ssid", "", "join this Wi-Fi network")
	fs.StringVar(&f.password, "password", "", "Wi-Fi password (or set ESPGATE_WIFI_PASSWORD)")
	fs.IntVar(&f.serverPort, "server-port", 80, "the modem's TCP server port")
	fs.StringVar(&f.logLevel, "log-level", "info", "trace, debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "auto", "json, console, or auto (console on a terminal)")
	fs.StringVar(&f.faults, "faults", "", "emulator: faults to inject, e.g. reset=0.01,busy=0.02")
	fs.Int64Var(&f.seed, "seed", 1, "emulator: seed for injected faults")
	fs.BoolVar(&f.unpaced, "unpaced", false, "emulator: no line pacing or modem latency (as fast as the host goes)")
	fs.StringVar(&f.metricsOn, "metrics-listen", "", "also serve /metrics on this host address (e.g. 127.0.0.1:9101)")
	fs.StringVar(&f.metricsKey, "metrics-auth", "", "require HTTP Basic auth user:password for /metrics (or set ESPGATE_METRICS_AUTH)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.password == "" {
		f.password = os.Getenv("ESPGATE_WIFI_PASSWORD")
	}
	if f.metricsKey == "" {
		f.metricsKey = os.Getenv("ESPGATE_METRICS_AUTH")
	}
	if err := fsm.CheckCredentials(f.ssid, f.password); err != nil {
		return nil, fmt.Errorf("--ssid/--password: %w", err)
	}
	if f.metricsKey != "" && !strings.Contains(f.metricsKey, ":") {
		return nil, fmt.Errorf("--metrics-auth must be user:password")
	}
	if f.profile != "nonos" && f.profile != "espat" {
		return nil, fmt.Errorf("--profile must be nonos or espat, not %q", f.profile)
	}
	if f.baud <= 0 {
		return nil, fmt.Errorf("--baud must be positive")
	}
	if f.serverPort <= 0 || f.serverPort > 65535 {
		return nil, fmt.Errorf("--server-port must be 1..65535")
	}
	return f, nil
}

// newLogger builds a zerolog logger whose writes never block the loop;
// dropped counts the messages the full buffer had to drop.
func newLogger(f *serveFlags, stderr io.Writer, dropped func(int)) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(f.logLevel)
	if err != nil || f.logLevel == "" {
		return zerolog.Nop(), fmt.Errorf("--log-level %q: want trace, debug, info, warn or error", f.logLevel)
	}
	var w io.Writer = stderr
	switch f.logFormat {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}
	case "auto":
		if file, ok := stderr.(*os.File); ok && isatty.IsTerminal(file.Fd()) {
			w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}
		}
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format %q: want json, console or auto", f.logFormat)
	}
	dw := diode.NewWriter(w, 4096, 10*time.Millisecond, func(missed int) {
		dropped(missed)
		fmt.Fprintf(stderr, "espgate: log writer dropped %d messages\n", missed)
	})
	return zerolog.New(dw).Level(level).With().Timestamp().Logger(), nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseServe(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "espgate:", err)
		return 2
	}
	g, code, err := build(f, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "espgate:", err)
		return code
	}
	defer g.close()
	if err := g.run(ctx); err != nil {
		fmt.Fprintln(stderr, "espgate:", strings.TrimPrefix(err.Error(), "loop: "))
		return 1
	}
	return 0
}

// gateway is one configured espgate: its server and metrics.
type gateway struct {
	srv     *espgate.Server
	reg     *prometheus.Registry
	stdout  io.Writer
	closers []func()
}

// build assembles a gateway from flags. On error it returns the exit code.
func build(f *serveFlags, stdout, stderr io.Writer) (*gateway, int, error) {
	g := &gateway{reg: prometheus.NewRegistry(), stdout: stdout}
	mx := metrics.New(g.reg)
	log, err := newLogger(f, stderr, mx.LogDropped)
	if err != nil {
		return nil, 2, err
	}
	faults, err := sim.ParseFaults(f.faults)
	if err != nil {
		return nil, 2, fmt.Errorf("--faults: %w", err)
	}
	if f.metricsOn != "" {
		stop, err := serveHostMetrics(f.metricsOn, g.reg, f.metricsKey, log)
		if err != nil {
			return nil, 1, fmt.Errorf("--metrics-listen: %w", err)
		}
		g.closers = append(g.closers, stop)
	}
	app := newDemo(time.Now())
	routes := app.routes(basicAuth(f.metricsKey, metrics.Handler(g.reg)))
	g.srv = &espgate.Server{
		Device:    f.device,
		Baud:      f.baud,
		SSID:      f.ssid,
		Password:  f.password,
		ModemPort: f.serverPort,
		Emulator: sim.Config{Profile: sim.Profile(f.profile), Listen: f.listen, Faults: faults, Seed: f.seed, Unpaced: f.unpaced,
			Logf: func(format string, args ...any) { log.Debug().Str("component", "emulator").Msgf(format, args...) }},
		Routes:    routes,
		Logger:    &log,
		Metrics:   mx,
		OnServing: func(url string) { fmt.Fprintf(stdout, "espgate: serving %s\n", url) },
		Observe:   app.observe,
	}
	if f.device == "" {
		pace := fmt.Sprintf("%d baud", f.baud)
		if f.unpaced {
			pace = "unpaced"
		}
		fmt.Fprintf(stdout, "espgate: no --device given: serving through the emulated ESP8266 (%s firmware, %s)\n", f.profile, pace)
	}
	return g, 0, nil
}

// run serves until ctx ends.
func (g *gateway) run(ctx context.Context) error {
	err := g.srv.ListenAndServe(ctx)
	if m := g.srv.EmulatorModem(); m != nil {
		st := m.Stats()
		fmt.Fprintf(g.stdout, "espgate: emulator served %d links; %d bytes to the host, %d from it; %d host protocol violations\n",
			st.LinksServed, st.BytesToHost, st.BytesFromHost, st.Violations)
	}
	return err
}

func (g *gateway) close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
}
