// Package metrics defines espgate's Prometheus collectors. The loop reports
// fsm notes, UART traffic and link counts to a Metrics; Handler serves any
// registry over the modem.
package metrics

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/espgate/espgate/fsm"
)

const namespace = "espgate"

// Bucket bounds in seconds.
var (
	// httpBuckets spans a small page (a few ms of modem latency) to a large
	// download at 11,520 bytes/s.
	httpBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	// commandBuckets spans a bare "AT" to a slow AT+CWJAP.
	commandBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	// bringupBuckets spans a warm restart to a long wait for the network.
	bringupBuckets = []float64{1, 2.5, 5, 10, 20, 30, 60, 120, 300}
)

// statusClasses labels response status codes by class; "other" takes codes
// outside 100..599.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

// wifiEvents are the NoteWifi texts fsm reports.
var wifiEvents = [...]string{"connected", "got_ip", "disconnected"}

// Directions of UART traffic, as label values and array indexes.
const (
	rx = iota
	tx
)

// Metrics holds espgate's collectors, registered under the espgate_
// namespace.
//
// Observe, Links and SendQueue are called from the loop goroutine only.
// UARTRead, UARTWrite, UARTBytes, SetBaud, HandlerPanic and LogDropped
// are safe from any goroutine. None of them allocates except Observe for NoteFirmware.
type Metrics struct {
	links        [fsm.LinkClosing + 1]prometheus.Gauge
	accepted     prometheus.Counter
	closed       []prometheus.Counter                     // by fsm.CloseReason
	requests     [][len(statusClasses)]prometheus.Counter // by fsm.Method, then status class
	reqDuration  prometheus.Histogram
	firstByte    prometheus.Histogram
	respBytes    prometheus.Counter
	uartBytes    [2]prometheus.Counter // rx, tx
	uartBusy     [2]prometheus.Counter // rx, tx
	uartTotal    [2]atomic.Uint64      // rx, tx: what UARTBytes reads
	baud         prometheus.Gauge
	secPerByte   atomic.Uint64         // float64 bits: seconds one 8N1 byte takes on the line
	cmdDuration  []prometheus.Observer // by fsm.Cmd; nil for CmdNone
	failures     []prometheus.Counter  // by fsm.Failure
	resets       prometheus.Counter
	bringup      prometheus.Histogram
	modemState   []prometheus.Gauge // by fsm.ModemState
	info         *infoCollector
	wifi         [len(wifiEvents)]prometheus.Counter
	joinFailures prometheus.Counter
	sendQueue    prometheus.Gauge
	panics       prometheus.Counter
	logDropped   prometheus.Counter

	// Owned by the loop goroutine.
	bringupStart time.Time // when the modem last left ModemServing or started; zero while serving
	// What the links and send queue gauges were last set to (they start
	// at 0), so that an unchanged count costs no atomic store.
	lastLinks [fsm.LinkClosing + 1]int
	lastQueue int
}

// New returns espgate's collectors registered with reg, every labelled
// series created at zero. If reg is nil they are not registered.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{}
	var cs []prometheus.Collector
	add := func(c prometheus.Collector) { cs = append(cs, c) }
	counter := func(sub, name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help})
		add(c)
		return c
	}
	gauge := func(sub, name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help})
		add(g)
		return g
	}
	histogram := func(sub, name, help string, buckets []float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help, Buckets: buckets})
		add(h)
		return h
	}
	counterVec := func(sub, name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help}, labels)
		add(v)
		return v
	}
	gaugeVec := func(sub, name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help}, labels)
		add(v)
		return v
	}
	histogramVec := func(sub, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help, Buckets: buckets}, labels)
		add(v)
		return v
	}

	links := gaugeVec("", "links", "The modem's five links, by state.", "state")
	for s := range m.links {
		m.links[s] = links.WithLabelValues(fsm.LinkState(s).String())
	}

	m.accepted = counter("", "connections_accepted_total", "Client connections the modem accepted.")
	closed := counterVec("", "connections_closed_total", "Client connections closed, by reason.", "reason")
	for _, r := range enumNames[fsm.CloseReason]() {
		m.closed = append(m.closed, closed.WithLabelValues(r))
	}

	requests := counterVec("http", "requests_total",
		"HTTP responses sent in full, by request method and status class.", "method", "code")
	for _, meth := range enumNames[fsm.Method]() {
		var row [len(statusClasses)]prometheus.Counter
		for i, c := range statusClasses {
			row[i] = requests.WithLabelValues(meth, c)
		}
		m.requests = append(m.requests, row)
	}
	m.reqDuration = histogram("http", "request_duration_seconds",
		"Time from a request's first byte to its response's last chunk accepted by the modem.", httpBuckets)
	m.firstByte = histogram("http", "time_to_first_byte_seconds",
		"Time from a request's first byte to its response's first chunk accepted by the modem.", httpBuckets)
	m.respBytes = counter("http", "response_bytes_total",
		"HTTP response bytes written to the modem for completed responses (head and body, without AT framing).")

	uartBytes := counterVec("uart", "bytes_total", "Bytes read from (rx) and written to (tx) the modem UART.", "direction")
	uartBusy := counterVec("uart", "busy_seconds_total",
		"Seconds the UART line was busy, per direction, at 10 bits per byte (8N1); its rate is the line's utilisation.", "direction")
	for d, name := range [2]string{rx: "rx", tx: "tx"} {
		m.uartBytes[d] = uartBytes.WithLabelValues(name)
		m.uartBusy[d] = uartBusy.WithLabelValues(name)
	}
	m.baud = gauge("uart", "baud", "Line rate of the modem UART in baud.")
	m.SetBaud(115200)

	cmds := histogramVec("at", "command_duration_seconds",
		"Time from an AT command line written to its OK (AT+CIPSEND: to SEND OK), by command.",
		commandBuckets, "command")
	all := fsm.Cmds()
	maxCmd := fsm.CmdNone
	for _, c := range all {
		maxCmd = max(maxCmd, c)
	}
	m.cmdDuration = make([]prometheus.Observer, maxCmd+1)
	for _, c := range all {
		m.cmdDuration[c] = cmds.WithLabelValues(c.String())
	}
	failures := counterVec("at", "failures_total",
		"Failed AT exchanges, by kind: busy, error (ERROR or FAIL), send_fail, timeout.", "kind")
	for _, f := range enumNames[fsm.Failure]() {
		m.failures = append(m.failures, failures.WithLabelValues(f))
	}

	m.resets = counter("modem", "resets_total", "Modem resets: an unexpected \"ready\", or a forced recovery.")
	m.bringup = histogram("modem", "bringup_duration_seconds",
		"Time from the modem leaving the serving state (or from start) until it serves again.", bringupBuckets)
	state := gaugeVec("modem", "state", "The modem's state: 1 for the current state, 0 for the others.", "state")
	for _, s := range enumNames[fsm.ModemState]() {
		m.modemState = append(m.modemState, state.WithLabelValues(s))
	}
	m.info = &infoCollector{desc: prometheus.NewDesc(prometheus.BuildFQName(namespace, "modem", "info"),
		"The modem's firmware as AT+GMR reported it; always 1.", []string{"generation", "version"}, nil)}
	add(m.info)

	wifi := counterVec("wifi", "events_total", "Wi-Fi events the modem reported (WIFI CONNECTED, WIFI GOT IP, WIFI DISCONNECT).", "event")
	for i, e := range wifiEvents {
		m.wifi[i] = wifi.WithLabelValues(e)
	}
	m.joinFailures = counter("wifi", "join_failures_total", "Failed or unanswered attempts to join the network (AT+CWJAP).")

	m.sendQueue = gauge("", "send_queue_links", "Links with response bytes waiting to be sent.")
	m.panics = counter("handler", "panics_total", "Handler calls that panicked (answered with 500).")
	m.logDropped = counter("log", "messages_dropped_total", "Log messages dropped because the log writer was full.")

	if reg != nil {
		reg.MustRegister(cs...)
	}
	return m
}

// enumNames returns the names of an fsm enum's values, from 0 up to the
// first value whose String is "invalid".
func enumNames[E interface {
	~uint8
	String() string
}]() []string {
	var names []string
	for e := E(0); len(names) < math.MaxUint8; e++ {
		s := e.String()
		if s == "invalid" {
			break
		}
		names = append(names, s)
	}
	return names
}

// Observe records one note at now. Wi-Fi events other than connected,
// got_ip and disconnected are not counted.
func (m *Metrics) Observe(n fsm.Note, now time.Time) {
	switch n.Kind {
	case fsm.NoteLinkOpen:
		m.accepted.Inc()
	case fsm.NoteLinkClosed:
		if int(n.Reason) < len(m.closed) {
			m.closed[n.Reason].Inc()
		}
	case fsm.NoteResponseDone:
		if int(n.Method) < len(m.requests) {
			m.requests[n.Method][statusClass(n.Status)].Inc()
		}
		m.reqDuration.Observe(n.Dur.Seconds())
		if n.Bytes > 0 {
			m.respBytes.Add(float64(n.Bytes))
		}
	case fsm.NoteFirstByte:
		m.firstByte.Observe(n.Dur.Seconds())
	case fsm.NoteModemState:
		m.modemStateChanged(n.State, now)
	case fsm.NoteModemReset:
		m.resets.Inc()
	case fsm.NoteATFailure:
		if int(n.Failure) < len(m.failures) {
			m.failures[n.Failure].Inc()
		}
	case fsm.NoteCommand:
		if int(n.Cmd) < len(m.cmdDuration) && m.cmdDuration[n.Cmd] != nil {
			m.cmdDuration[n.Cmd].Observe(n.Dur.Seconds())
		}
	case fsm.NoteFirmware:
		m.info.set(n.Firmware.String(), strings.ToValidUTF8(string(n.Text), "\uFFFD"))
	case fsm.NoteWifi:
		for i, e := range wifiEvents {
			if string(n.Text) == e {
				m.wifi[i].Inc()
				break
			}
		}
	case fsm.NoteJoinFailed:
		m.joinFailures.Inc()
	case fsm.NoteRequest, fsm.NoteServing:
		// Counted when answered; the address is logged, not measured.
	}
}

// statusClass returns the index in statusClasses for an HTTP status code.
func statusClass(status int) int {
	if status < 100 || status > 599 {
		return len(statusClasses) - 1
	}
	return status/100 - 1
}

// modemStateChanged sets the state gauges and times bring-up: from the
// first state other than serving until serving.
func (m *Metrics) modemStateChanged(s fsm.ModemState, now time.Time) {
	for i, g := range m.modemState {
		if i == int(s) {
			g.Set(1)
		} else {
			g.Set(0)
		}
	}
	switch {
	case s == fsm.ModemServing && !m.bringupStart.IsZero():
		m.bringup.Observe(now.Sub(m.bringupStart).Seconds())
		m.bringupStart = time.Time{}
	case s != fsm.ModemServing && m.bringupStart.IsZero():
		m.bringupStart = now
	}
}

// UARTRead counts n bytes read from the modem.
func (m *Metrics) UARTRead(n int) { m.uart(rx, n) }

// UARTWrite counts n bytes written to the modem.
func (m *Metrics) UARTWrite(n int) { m.uart(tx, n) }

func (m *Metrics) uart(d, n int) {
	if n <= 0 {
		return
	}
	m.uartBytes[d].Add(float64(n))
	m.uartTotal[d].Add(uint64(n))
	m.uartBusy[d].Add(float64(n) * math.Float64frombits(m.secPerByte.Load()))
}

// UARTBytes returns the bytes read from the modem and written to it so
// far.
func (m *Metrics) UARTBytes() (read, written uint64) {
	return m.uartTotal[rx].Load(), m.uartTotal[tx].Load()
}

// SetBaud records the line rate, used from now on to convert UART bytes
// to busy time. New assumes 115200. Rates <= 0 are ignored.
func (m *Metrics) SetBaud(baud int) {
	if baud <= 0 {
		return
	}
	m.secPerByte.Store(math.Float64bits(10 / float64(baud)))
	m.baud.Set(float64(baud))
}

// Links records how many links are in each state, indexed by fsm.LinkState.
func (m *Metrics) Links(counts [fsm.LinkClosing + 1]int) {
	if counts == m.lastLinks {
		return
	}
	for s, n := range counts {
		if n != m.lastLinks[s] {
			m.links[s].Set(float64(n))
		}
	}
	m.lastLinks = counts
}

// SendQueue records how many links have output waiting to be sent.
func (m *Metrics) SendQueue(n int) {
	if n != m.lastQueue {
		m.sendQueue.Set(float64(n))
		m.lastQueue = n
	}
}

// HandlerPanic counts a handler panic.
func (m *Metrics) HandlerPanic() { m.panics.Inc() }

// LogDropped counts n log messages the log writer dropped.
func (m *Metrics) LogDropped(n int) {
	if n > 0 {
		m.logDropped.Add(float64(n))
	}
}

// infoCollector exposes one espgate_modem_info series, replaced whenever
// the firmware is reported again.
type infoCollector struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	cur  prometheus.Metric // nil until the first report
}

func (c *infoCollector) set(generation, version string) {
	met, err := prometheus.NewConstMetric(c.desc, prometheus.GaugeValue, 1, generation, version)
	if err != nil {
		return
	}
	c.mu.Lock()
	c.cur = met
	c.mu.Unlock()
}

func (c *infoCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *infoCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	met := c.cur
	c.mu.Unlock()
	if met != nil {
		ch <- met
	}
}
