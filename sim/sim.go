// Package sim emulates an ESP8266 running Espressif AT firmware: NonOS AT
// 1.7.x or ESP-AT 2.2, byte for byte as described in esp-at-protocol.md
// (section numbers in comments refer to it).
//
// A Modem has a serial line — in process (Host) or a pseudo-terminal
// (OpenPTY) — paced at the configured baud rate, and a TCP listener standing
// for the module's server port: real TCP clients connect to Addr and become
// links 0-4, their bytes reach the host as +IPD frames, and what the host
// sends with AT+CIPSEND reaches them. Clients are accepted only while the
// host's server runs (AT+CIPMUX=1, AT+CIPSERVER=1) and the module has a
// network (a station IP, see Config.Joined, or the soft AP); otherwise they
// are reset at once. One goroutine (the chip) owns all firmware state; line,
// listener and link goroutines feed it over channels.
//
// The emulator also records host protocol violations (Violations) and can
// inject the firmware's known faults, reproducibly from a seed (Faults).
package sim

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// Config configures a Modem. The zero value is usable.
type Config struct {
	Profile Profile // default NonOS
	// Listen is the loopback TCP address clients connect to; the module's
	// server port (AT+CIPSERVER) is mapped here whatever its number.
	// Default "127.0.0.1:8080"; "127.0.0.1:0" picks a free port.
	Listen  string
	Baud    int  // initial line rate (8N1), default 115200
	Unpaced bool // no line pacing and zero latencies (fast unit tests)
	// PreciseTiming makes the line's pacing and the modem's latencies
	// accurate to tens of microseconds instead of about a millisecond: the
	// Go timer is used only until shortly before each deadline, the rest is
	// slept with the OS's high-resolution sleep and the last stretch spun.
	// It costs CPU (a tenth of a core or so while the line is busy). Stats
	// reports the lateness either way (Pacing). Ignored when Unpaced.
	PreciseTiming bool
	// Timing: the zero value means DefaultTiming(Profile); any other value
	// is used as given (so Timing{Command: time.Nanosecond} is paced with
	// no latencies). Ignored when Unpaced.
	Timing Timing
	// SSID and Password describe the emulated access point: AT+CWJAP
	// succeeds only with these (after unescaping, §2.1). Defaults
	// "espgate-sim" / "espgate-sim-pass".
	SSID, Password string
	// Joined stores the access point's credentials in the module: it starts
	// associated (WIFI CONNECTED and WIFI GOT IP right after the first
	// "ready") and reconnects Timing.AutoConnect after later resets.
	// Without it the host must join with AT+CWJAP (or turn on the soft AP
	// with AT+CWMODE) before clients are accepted.
	Joined bool
	// StationIP is the station address the module reports (AT+CIFSR,
	// AT+CIPSTA?). Clients really use Listen. Default "192.168.1.50".
	StationIP string
	MaxIPD    int    // max payload per active-mode +IPD frame, default 1460
	Faults    Faults // injected faults, none by default
	Seed      int64  // seeds the fault decisions and the boot garbage
	// Trace, if set, receives every byte crossing the serial line, one
	// record per write: seconds since New, direction (M>H modem to host,
	// H>M host to modem) and the bytes quoted with \r \n \t \" \\ \xNN
	// escapes, e.g. `    0.012345 M>H "\r\nOK\r\n"`. Lines starting with
	// '#' are notes (rate changes, resets). Wi-Fi passwords (the
	// parameters of AT+CWJAP and AT+CWSAP) are shown as <redacted>.
	Trace io.Writer
	Logf  func(format string, args ...any) // optional diagnostics
}

// Defaults.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultBaud      = 115200
	DefaultSSID      = "espgate-sim"
	DefaultPassword  = "espgate-sim-pass"
	DefaultStationIP = "192.168.1.50"
	DefaultMaxIPD    = 1460
	// MaxSend is the largest AT+CIPSEND length (§7.1).
	MaxSend = 2048
	// MaxLinks is the number of link ids, 0-4 (§5).
	MaxLinks = 5
)

// LineParams is the current line-rate model, enough for a benchmark to
// compute the theoretical bound of the same run.
type LineParams struct {
	Baud           int     // current rate (changes with AT+UART_CUR)
	FrameBits      float64 // bits per byte on the wire (8N1: 10)
	BytesPerSecond float64 // Baud/FrameBits, each direction
	Timing         Timing  // the modem latencies in effect (zero when Unpaced)
	MaxSend        int     // largest CIPSEND payload
	MaxIPD         int     // largest active-mode +IPD payload
	Unpaced        bool
}

// Modem is an emulated ESP8266 with AT firmware.
type Modem struct {
	cfg    Config
	timing Timing
	start  time.Time

	ln    *net.TCPListener
	line  *line
	trace *tracer
	stats *statsBox
	chip  *chip

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	rxCh     chan rxChunk
	acceptCh chan *net.TCPConn
	linkCh   chan linkEvent
	ctlCh    chan func(*chip)

	tmu      sync.Mutex
	host     *hostEnd
	pty      *ptyTransport
	attached bool

	lmu   sync.Mutex
	links map[*link]struct{} // every live client connection
}

// New binds the TCP listener and boots the firmware: boot garbage, then
// "\r\nready\r\n" on the line. Output waits for a transport (Host or
// OpenPTY) to be attached.
func New(cfg Config) (*Modem, error) {
	if cfg.Profile == "" {
		cfg.Profile = NonOS
	}
	if !cfg.Profile.valid() {
		return nil, fmt.Errorf("sim: unknown profile %q (want %q or %q)", cfg.Profile, NonOS, ESPAT)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Baud == 0 {
		cfg.Baud = DefaultBaud
	}
	if cfg.Baud < 80 || cfg.Baud > 4608000 {
		return nil, fmt.Errorf("sim: baud %d out of range", cfg.Baud)
	}
	if cfg.SSID == "" {
		cfg.SSID = DefaultSSID
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.StationIP == "" {
		cfg.StationIP = DefaultStationIP
	}
	if ip := net.ParseIP(cfg.StationIP); ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("sim: station IP %q is not an IPv4 address", cfg.StationIP)
	}
	if cfg.MaxIPD <= 0 {
		cfg.MaxIPD = DefaultMaxIPD
	}
	if err := cfg.Faults.validate(); err != nil {
		return nil, err
	}
	timing := cfg.Timing
	if timing == (Timing{}) {
		timing = DefaultTiming(cfg.Profile)
	}
	if cfg.Unpaced {
		timing = Timing{}
	}
	addr, err := net.ResolveTCPAddr("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sim: listen address: %w", err)
	}
	ln, err := net.ListenTCP("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	m := &Modem{
		cfg:      cfg,
		timing:   timing,
		start:    time.Now(),
		ln:       ln,
		stats:    newStatsBox(),
		done:     make(chan struct{}),
		rxCh:     make(chan rxChunk),
		acceptCh: make(chan *net.TCPConn),
		linkCh:   make(chan linkEvent),
		ctlCh:    make(chan func(*chip)),
		links:    map[*link]struct{}{},
	}
	m.trace = newTracer(cfg.Trace, m.start)
	m.line = newLine(m, rate{baud: cfg.Baud, frameBits: 10}, cfg.Unpaced, cfg.PreciseTiming)
	m.chip = newChip(m)
	m.chip.boot(false)
	m.wg.Add(2)
	go m.chip.run()
	go m.acceptLoop()
	return m, nil
}

func (m *Modem) logf(format string, args ...any) {
	if m.cfg.Logf != nil {
		m.cfg.Logf(format, args...)
	}
}

// Host returns the host end of the in-process serial line, paced both ways
// unless Unpaced. Read blocks until data arrives; Close unblocks it. Every
// call returns the same end. If OpenPTY was used, the returned end fails.
//
// The end also has a method SetBaud(int) error: the rate the host's UART is
// set to, Config.Baud at first. While it differs from the modem's rate
// (after AT+UART_CUR, say), bytes cross the line garbled both ways, as on a
// real line.
func (m *Modem) Host() io.ReadWriteCloser {
	m.tmu.Lock()
	defer m.tmu.Unlock()
	if m.host != nil {
		return m.host
	}
	select {
	case <-m.done:
		return deadEnd{errClosed}
	default:
	}
	if m.attached {
		return deadEnd{errors.New("sim: the modem's serial line is a pty")}
	}
	m.host = newHostEnd(m.line, m.cfg.Baud)
	m.attach(m.host)
	return m.host
}

// attach starts the transmitter towards t. Called with tmu held.
func (m *Modem) attach(t transport) {
	m.attached = true
	select {
	case <-m.done:
		return
	default:
	}
	m.wg.Add(1)
	go m.line.txLoop(t)
}

// Addr is where TCP clients connect.
func (m *Modem) Addr() net.Addr { return m.ln.Addr() }

// Params returns the current line-rate model.
func (m *Modem) Params() LineParams {
	r := m.line.rate()
	return LineParams{
		Baud:           r.baud,
		FrameBits:      r.frameBits,
		BytesPerSecond: r.bytesPerSecond(),
		Timing:         m.timing,
		MaxSend:        MaxSend,
		MaxIPD:         m.cfg.MaxIPD,
		Unpaced:        m.cfg.Unpaced,
	}
}

// Reset injects a spontaneous reset now (Q12): boot garbage and "ready",
// all links dropped without CLOSED (their clients are reset), state back to
// defaults. It returns once the chip has reset.
func (m *Modem) Reset() {
	m.control(func(c *chip) {
		c.m.stats.update(func(s *Stats) { s.Resets++ })
		c.m.logf("sim: reset injected")
		c.boot(true)
	})
}

// DropWiFi takes the access point away for outage, as a router that
// reboots (Q23): an associated station prints WIFI DISCONNECT and every
// link closes. While the access point is gone AT+CWJAP fails with
// +CWJAP:3 (AP not found) and the station stays down. Once it is back the
// station reconnects by itself (WIFI CONNECTED, WIFI GOT IP,
// Timing.AutoConnect later) if reconnect is set and the host has not
// taken over meanwhile (AT+CWJAP, AT+CWQAP, a mode change); otherwise it
// waits for the host's AT+CWJAP, as firmware whose own reconnection is off
// or has given up. It returns once the chip has acted.
func (m *Modem) DropWiFi(outage time.Duration, reconnect bool) {
	m.control(func(c *chip) {
		c.m.logf("sim: access point gone for %v (reconnect %v)", outage, reconnect)
		c.dropWiFi(outage, reconnect)
	})
}

// MDNSInfo is what the module announces over mDNS (AT+MDNS).
type MDNSInfo struct {
	On   bool
	Host string // answers for <Host>.local
	// Service is the DNS-SD service type as the firmware forms it from
	// AT+MDNS's service parameter, e.g. "_http._tcp".
	Service string
	Port    int
}

// MDNS returns the module's current mDNS announcement; a reset clears it.
func (m *Modem) MDNS() MDNSInfo {
	var v MDNSInfo
	m.control(func(c *chip) { v = c.mdns })
	return v
}

// control runs f on the chip goroutine and waits for it.
func (m *Modem) control(f func(*chip)) {
	ack := make(chan struct{})
	select {
	case m.ctlCh <- func(c *chip) { f(c); close(ack) }:
	case <-m.done:
		return
	}
	select {
	case <-ack:
	case <-m.done:
	}
}

// Stats returns a snapshot of the counters.
func (m *Modem) Stats() Stats { return m.stats.snapshot() }

// Violations returns the host protocol violations seen so far.
func (m *Modem) Violations() []Violation { return m.stats.violations() }

// Close stops the modem: listener, clients, transports, goroutines. It is
// idempotent and returns once everything has stopped.
func (m *Modem) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.done)
		err = m.ln.Close()
		m.lmu.Lock()
		live := slices.Collect(maps.Keys(m.links))
		m.lmu.Unlock()
		for _, l := range live {
			l.abort()
		}
		m.tmu.Lock()
		m.attached = true
		p := m.pty
		m.tmu.Unlock()
		if p != nil {
			if perr := p.close(); err == nil {
				err = perr
			}
		}
		m.wg.Wait()
		if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
			err = nil
		}
	})
	return err
}
