package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/espgate/espgate/parser"
	"github.com/espgate/espgate/port"
)

// probeRates are the rates tried by default, most likely first: 115200 is
// the factory rate of the AT firmware (both generations); 9600 is what
// many tutorials store with AT+UART_DEF for software serial ports; early
// ESP-01 firmware shipped at 9600 or 57600; the faster ones are what
// AT+UART_DEF users pick.
var probeRates = []int{115200, 9600, 57600, 230400, 460800, 921600, 38400, 19200}

// probeMain runs `espgate probe`: it finds the modem's rate and reports its
// firmware and Wi-Fi state. It returns 0 when the modem answered, 1 when
// nothing did (or the device cannot be opened), 2 for bad flags.
func probeMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("espgate probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: espgate probe --device PATH [flags]\n\n"+
			"Finds the line rate of an ESP8266 with AT firmware, and reports its firmware,\n"+
			"Wi-Fi state and address. Stop espgate first: the probe needs the port.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	device := fs.String("device", "", "serial device (/dev/serial0), pty or tcp://host:port")
	rates := fs.String("baud", joinInts(probeRates), "rates to try, in order, comma-separated")
	wait := fs.Duration("wait", 400*time.Millisecond, "how long to wait for each answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "espgate probe: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if *device == "" {
		return bad("--device is required, e.g. --device /dev/serial0")
	}
	list, err := parseRates(*rates)
	if err != nil {
		return bad("--baud: %v", err)
	}
	if *wait <= 0 || *wait > time.Minute {
		return bad("--wait must be between 0 and 1m")
	}
	if strings.HasPrefix(*device, "tcp://") {
		list = list[:1] // a bridge keeps its own rate: one try
	}

	p, err := port.Open(*device, list[0])
	if err != nil {
		fmt.Fprintf(stderr, "espgate probe: cannot open the device: %v\n", err)
		return 1
	}
	pr := newProber(p, *wait)
	defer pr.close()
	rep, err := pr.run(ctx, list)
	if err != nil {
		fmt.Fprintf(stderr, "espgate probe: %v\n", err)
		return 1
	}
	rep.device = *device
	rep.write(stdout)
	return 0
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 300 || n > 4608000 {
			return nil, fmt.Errorf("%q is not a rate between 300 and 4608000", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// prober talks to the modem one command at a time. A reader goroutine
// hands it what the port reads; every wait has a deadline.
type prober struct {
	p    port.Port
	wait time.Duration
	in   chan []byte
	errc chan error
	sc   parser.ATScanner
	// evs holds scanned events not yet consumed, lines copied.
	evs []probeEvent
}

type probeEvent struct {
	kind parser.ATKind
	line string
}

func newProber(p port.Port, wait time.Duration) *prober {
	pr := &prober{p: p, wait: wait, in: make(chan []byte, 64), errc: make(chan error, 1)}
	go pr.read()
	return pr
}

func (pr *prober) read() {
	for {
		b := make([]byte, 512)
		n, err := pr.p.Read(b)
		if n > 0 {
			pr.in <- b[:n]
		}
		if err != nil {
			pr.errc <- err
			return
		}
	}
}

func (pr *prober) close() {
	pr.p.Close()
	// The reader ends with ErrClosed; let it go without waiting for it.
	go func() {
		for {
			select {
			case <-pr.in:
			case <-pr.errc:
				return
			}
		}
	}()
}

// flush forgets what arrived so far (noise from another rate).
func (pr *prober) flush() {
	for {
		select {
		case <-pr.in:
		default:
			pr.sc.Reset()
			pr.evs = pr.evs[:0]
			return
		}
	}
}

// errNoAnswer: the modem did not finish its answer in time.
var errNoAnswer = errors.New("no answer")

// command sends line (without CR LF) and returns the lines of the answer
// and its final result (OK, ERROR or FAIL), waiting at most pr.wait
// beyond the time the bytes take on the line. The echo of the command is
// left out. "busy p..." is retried up to three times.
func (pr *prober) command(ctx context.Context, line string, baud int) ([]string, parser.ATKind, error) {
	for try := 0; ; try++ {
		lines, final, err := pr.once(ctx, line, baud)
		if err != nil || (final != parser.ATBusyP && final != parser.ATBusyS) || try == 3 {
			return lines, final, err
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func (pr *prober) once(ctx context.Context, line string, baud int) ([]string, parser.ATKind, error) {
	pr.evs = pr.evs[:0]
	if _, err := pr.p.Write([]byte(line + "\r\n")); err != nil {
		return nil, 0, err
	}
	wire := time.Duration(0)
	if baud > 0 {
		wire = time.Duration(int64(len(line)+2+200) * 10 * int64(time.Second) / int64(baud))
	}
	deadline := time.NewTimer(pr.wait + wire)
	defer deadline.Stop()
	var lines []string
	for {
		for len(pr.evs) > 0 {
			ev := pr.evs[0]
			pr.evs = pr.evs[1:]
			switch ev.kind {
			case parser.ATOK, parser.ATError, parser.ATFail, parser.ATBusyP, parser.ATBusyS:
				return lines, ev.kind, nil
			case parser.ATLine:
				if ev.line != line { // not the echo
					lines = append(lines, ev.line)
				}
			}
		}
		select {
		case b := <-pr.in:
			for len(b) > 0 {
				n, ev := pr.sc.Scan(b)
				b = b[n:]
				if ev.Kind != parser.ATNone && ev.Kind != parser.ATData {
					pr.evs = append(pr.evs, probeEvent{kind: ev.Kind, line: string(bytes.TrimRight(ev.Data, "\r"))})
				}
			}
		case err := <-pr.errc:
			return nil, 0, err
		case <-deadline.C:
			return lines, 0, errNoAnswer
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// probeReport is what the probe found.
type probeReport struct {
	device     string
	baud       int
	silentAt   []int
	bridge     bool
	generation string // "NonOS AT" or "ESP-AT", or empty when unknown
	version    string // "1.7.4.0"
	gmr        []string
	stored     int    // AT+UART_DEF rate, 0 if unknown
	mode       string // station, soft AP, ...
	joined     bool
	ssid       string
	channel    string
	rssi       string
	staIP      string
	apIP       string
}

// run finds the rate and asks the modem about itself.
func (pr *prober) run(ctx context.Context, rates []int) (*probeReport, error) {
	rep := &probeReport{bridge: pr.p.Name() != "" && strings.HasPrefix(pr.p.Name(), "tcp://")}
	found := false
	for i, r := range rates {
		if i > 0 {
			if err := pr.p.SetBaud(r); err != nil {
				return nil, err
			}
		}
		time.Sleep(10 * time.Millisecond) // let noise from the last rate arrive
		pr.flush()
		// Any result means the modem understood a line at this rate; a
		// second AT, answered OK, makes sure it was not noise.
		_, _, err := pr.command(ctx, "AT", r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err == nil {
			if _, final, err := pr.command(ctx, "AT", r); err == nil && final == parser.ATOK {
				rep.baud, found = r, true
				break
			}
		}
		rep.silentAt = append(rep.silentAt, r)
	}
	if !found {
		what := fmt.Sprintf("at %s baud", strings.ReplaceAll(joinInts(rates), ",", ", "))
		if rep.bridge {
			what = "through the bridge"
		}
		return nil, fmt.Errorf("nothing answered AT on %s %s. Check that the module has a steady 3.3 V "+
			"and CH_PD/EN high, that its TX goes to the host's RX and its RX to the host's TX with a "+
			"common ground, and that no serial console or other program uses the port", pr.p.Name(), what)
	}
	b := rep.baud
	pr.command(ctx, "ATE0", b) // echo off: shorter answers; espgate does the same

	lines, final, err := pr.command(ctx, "AT+GMR", b)
	if err == nil && final == parser.ATOK {
		rep.gmr = lines
		for _, l := range lines {
			if v, ok := strings.CutPrefix(l, "AT version:"); ok {
				v, _, _ = strings.Cut(v, "(")
				rep.version = v
				if major, _, _ := strings.Cut(v, "."); major == "0" || major == "1" {
					rep.generation = "NonOS AT"
				} else if major != "" {
					rep.generation = "ESP-AT"
				}
			}
		}
	}
	nonos := rep.generation != "ESP-AT"
	ask := func(q string) []string {
		if nonos { // NonOS AT 1.x names the current setting _CUR; older ones had none
			if lines, final, err := pr.command(ctx, "AT+"+q+"_CUR?", b); err == nil && final == parser.ATOK {
				return lines
			}
		}
		if lines, final, err := pr.command(ctx, "AT+"+q+"?", b); err == nil && final == parser.ATOK {
			return lines
		}
		return nil
	}
	if lines, final, err := pr.command(ctx, "AT+UART_DEF?", b); err == nil && final == parser.ATOK {
		for _, l := range lines {
			if v, ok := strings.CutPrefix(l, "+UART_DEF:"); ok {
				v, _, _ = strings.Cut(v, ",")
				rep.stored, _ = strconv.Atoi(v)
			}
		}
	}
	for _, l := range ask("CWMODE") {
		if _, v, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(l, "+CWMODE") {
			rep.mode = map[string]string{"0": "Wi-Fi off", "1": "station", "2": "soft AP", "3": "station and soft AP"}[v]
			if rep.mode == "" {
				rep.mode = "mode " + v
			}
		}
	}
	for _, l := range ask("CWJAP") {
		if _, v, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(l, "+CWJAP") {
			rep.joined = true
			rep.ssid, rep.channel, rep.rssi = parseCWJAP(v)
		}
	}
	if lines, final, err := pr.command(ctx, "AT+CIFSR", b); err == nil && final == parser.ATOK {
		for _, l := range lines {
			// "0.0.0.0" is a station without an address
			if v, ok := strings.CutPrefix(l, "+CIFSR:STAIP,"); ok && strings.Trim(v, `"`) != "0.0.0.0" {
				rep.staIP = strings.Trim(v, `"`)
			}
			if v, ok := strings.CutPrefix(l, "+CIFSR:APIP,"); ok && strings.Trim(v, `"`) != "0.0.0.0" {
				rep.apIP = strings.Trim(v, `"`)
			}
		}
	}
	return rep, ctx.Err()
}

// parseCWJAP reads `"ssid","bssid",channel,rssi[,...]`. The SSID is
// printed unescaped, so the BSSID (17 characters) is found from its end.
func parseCWJAP(v string) (ssid, channel, rssi string) {
	if len(v) < 2 || v[0] != '"' {
		return v, "", ""
	}
	rest := v[1:]
	end := strings.Index(rest, `","`)
	for i := end; i >= 0; {
		if j := i + 3 + 17; j < len(rest) && rest[j] == '"' && strings.Count(rest[i+3:j], ":") == 5 {
			end = i
			break
		}
		k := strings.Index(rest[i+1:], `","`)
		if k < 0 {
			break
		}
		i += 1 + k
	}
	if end < 0 {
		return strings.TrimSuffix(rest, `"`), "", ""
	}
	ssid = rest[:end]
	after := rest[end+3:]
	if q := strings.IndexByte(after, '"'); q >= 0 {
		f := strings.Split(strings.TrimPrefix(after[q+1:], ","), ",")
		if len(f) >= 2 {
			channel, rssi = f[0], f[1]
		}
	}
	return ssid, channel, rssi
}

func (r *probeReport) write(w io.Writer) {
	fmt.Fprintf(w, "espgate probe: %s\n", r.device)
	line := fmt.Sprintf("%d baud, 8N1", r.baud)
	if r.bridge {
		line = "through a TCP bridge (its serial side keeps its own rate)"
	} else if len(r.silentAt) > 0 {
		line += fmt.Sprintf(" (no answer at %s)", strings.ReplaceAll(joinInts(r.silentAt), ",", ", "))
	}
	fmt.Fprintf(w, "  line       %s\n", line)
	if r.stored != 0 && r.stored != r.baud && !r.bridge {
		fmt.Fprintf(w, "  boot rate  %d baud (stored with AT+UART_DEF; the module runs at another rate until it resets)\n", r.stored)
	}
	switch {
	case r.generation != "":
		fmt.Fprintf(w, "  firmware   %s %s\n", r.generation, r.version)
	case len(r.gmr) > 0:
		fmt.Fprintf(w, "  firmware   unknown: %q\n", r.gmr[0])
	default:
		fmt.Fprintf(w, "  firmware   unknown (AT+GMR did not answer)\n")
	}
	for _, l := range r.gmr {
		if !strings.HasPrefix(l, "AT version:") {
			fmt.Fprintf(w, "             %s\n", l)
		}
	}
	wifi := r.mode
	if wifi == "" {
		wifi = "mode unknown"
	}
	switch {
	case r.joined:
		wifi += fmt.Sprintf(", joined %q", r.ssid)
		if r.channel != "" {
			wifi += fmt.Sprintf(" (channel %s, %s dBm)", r.channel, r.rssi)
		}
	case r.mode == "station" || r.mode == "station and soft AP":
		wifi += ", not joined to a network"
	}
	fmt.Fprintf(w, "  Wi-Fi      %s\n", wifi)
	addr := ""
	if r.staIP != "" {
		addr = r.staIP + " (station)"
	}
	if r.apIP != "" {
		if addr != "" {
			addr += ", "
		}
		addr += r.apIP + " (soft AP)"
	}
	if addr == "" {
		addr = "none"
	}
	fmt.Fprintf(w, "  address    %s\n", addr)
	if r.generation == "" {
		return
	}
	hint := "espgate --device " + r.device
	if boot := r.stored; !r.bridge {
		if boot == 0 {
			boot = r.baud
		}
		if boot != 115200 {
			hint += fmt.Sprintf(" --baud %d", boot)
		}
	}
	fmt.Fprintf(w, "\nServe with: %s --ssid NAME --password ...\n", hint)
}
