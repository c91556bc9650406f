package metrics

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/espgate/espgate/fsm"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const version174 = "AT version:1.7.4.0(May 11 2020 19:13:04)"

func TestLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	m.Observe(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte(version174)}, t0)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// series flattens a gather into "name{labels}" -> value, histograms as
// their _bucket, _sum and _count series.
func series(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			name := mf.GetName()
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := func(suffix string, extra ...string) string {
				all := append(append([]string(nil), ls...), extra...)
				sort.Strings(all)
				return name + suffix + "{" + strings.Join(all, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key("")] = m.Counter.GetValue()
			case dto.MetricType_GAUGE:
				out[key("")] = m.Gauge.GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.Histogram
				for _, b := range h.Bucket {
					out[key("_bucket", fmt.Sprintf("le=%q", fmt.Sprint(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
				}
				out[key("_bucket", `le="+Inf"`)] = float64(h.GetSampleCount())
				out[key("_sum")] = h.GetSampleSum()
				out[key("_count")] = float64(h.GetSampleCount())
			default:
				t.Fatalf("%s: unexpected type %v", name, mf.GetType())
			}
		}
	}
	return out
}

// diff returns the series whose value changed, appeared or vanished
// (vanished ones as NaN), as after minus before.
func diff(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range after {
		if b, ok := before[k]; !ok || b != v {
			d[k] = v - b
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			d[k] = math.NaN()
		}
	}
	return d
}

// hist is the change one observation of v makes to a histogram.
func hist(d map[string]float64, name, labels string, buckets []float64, v float64) {
	sep := ""
	if labels != "" {
		sep = ","
	}
	for _, b := range buckets {
		if v <= b {
			d[fmt.Sprintf("%s_bucket{%s%sle=%q}", name, labels, sep, fmt.Sprint(b))]++
		}
	}
	d[fmt.Sprintf("%s_bucket{%s%sle=\"+Inf\"}", name, labels, sep)]++
	d[name+"_sum{"+labels+"}"] += v
	d[name+"_count{"+labels+"}"]++
}

func TestObserve(t *testing.T) {
	type step func(m *Metrics)
	note := func(n fsm.Note, at time.Duration) step {
		return func(m *Metrics) { m.Observe(n, t0.Add(at)) }
	}
	state := func(s fsm.ModemState, at time.Duration) step {
		return note(fsm.Note{Kind: fsm.NoteModemState, State: s, Link: -1}, at)
	}
	counter := func(name string, v float64) map[string]float64 { return map[string]float64{name: v} }
	histWant := func(name, labels string, buckets []float64, v float64) map[string]float64 {
		d := map[string]float64{}
		hist(d, name, labels, buckets, v)
		return d
	}
	merge := func(ms ...map[string]float64) map[string]float64 {
		d := map[string]float64{}
		for _, m := range ms {
			for k, v := range m {
				d[k] += v
			}
		}
		return d
	}
	modemStates := func(cur string) map[string]float64 {
		d := map[string]float64{}
		d[`espgate_modem_state{state="`+cur+`"}`] = 1
		return d
	}

	tests := []struct {
		name  string
		steps []step
		want  map[string]float64
	}{
		{"link open", []step{note(fsm.Note{Kind: fsm.NoteLinkOpen, Link: 2}, 0)},
			counter("espgate_connections_accepted_total{}", 1)},
		{"link closed idle", []step{note(fsm.Note{Kind: fsm.NoteLinkClosed, Link: 2, Reason: fsm.ClosedIdle}, 0)},
			counter(`espgate_connections_closed_total{reason="idle"}`, 1)},
		{"link closed shutdown", []step{note(fsm.Note{Kind: fsm.NoteLinkClosed, Reason: fsm.ClosedShutdown}, 0)},
			counter(`espgate_connections_closed_total{reason="shutdown"}`, 1)},
		{"200 GET", []step{note(fsm.Note{Kind: fsm.NoteResponseDone, Method: fsm.MethodGet, Status: 200, Bytes: 1500, Dur: 300 * time.Millisecond}, 0)},
			map[string]float64{
				`espgate_http_requests_total{code="2xx",method="GET"}`:    1,
				`espgate_http_response_bytes_total{}`:                     1500,
				`espgate_http_request_duration_seconds_bucket{le="0.5"}`:  1,
				`espgate_http_request_duration_seconds_bucket{le="1"}`:    1,
				`espgate_http_request_duration_seconds_bucket{le="2.5"}`:  1,
				`espgate_http_request_duration_seconds_bucket{le="5"}`:    1,
				`espgate_http_request_duration_seconds_bucket{le="10"}`:   1,
				`espgate_http_request_duration_seconds_bucket{le="30"}`:   1,
				`espgate_http_request_duration_seconds_bucket{le="60"}`:   1,
				`espgate_http_request_duration_seconds_bucket{le="+Inf"}`: 1,
				`espgate_http_request_duration_seconds_sum{}`:             0.3,
				`espgate_http_request_duration_seconds_count{}`:           1,
			}},
		{"404 HEAD without body bytes", []step{note(fsm.Note{Kind: fsm.NoteResponseDone, Method: fsm.MethodHead, Status: 404, Dur: 20 * time.Millisecond}, 0)},
			merge(counter(`espgate_http_requests_total{code="4xx",method="HEAD"}`, 1),
				histWant("espgate_http_request_duration_seconds", "", httpBuckets, 0.02))},
		{"status outside 100..599", []step{note(fsm.Note{Kind: fsm.NoteResponseDone, Method: fsm.MethodOther, Status: 799, Bytes: 10, Dur: time.Second}, 0)},
			merge(counter(`espgate_http_requests_total{code="other",method="other"}`, 1),
				counter("espgate_http_response_bytes_total{}", 10),
				histWant("espgate_http_request_duration_seconds", "", httpBuckets, 1))},
		{"first byte", []step{note(fsm.Note{Kind: fsm.NoteFirstByte, Dur: 40 * time.Millisecond}, 0)},
			histWant("espgate_http_time_to_first_byte_seconds", "", httpBuckets, 0.04)},
		{"command", []step{note(fsm.Note{Kind: fsm.NoteCommand, Cmd: fsm.CmdSend, Dur: 180 * time.Millisecond}, 0)},
			histWant("espgate_at_command_duration_seconds", `command="AT+CIPSEND"`, commandBuckets, 0.18)},
		{"command none", []step{note(fsm.Note{Kind: fsm.NoteCommand, Cmd: fsm.CmdNone, Dur: time.Millisecond}, 0)},
			map[string]float64{}},
		{"failure busy", []step{note(fsm.Note{Kind: fsm.NoteATFailure, Failure: fsm.FailBusy, Cmd: fsm.CmdSend}, 0)},
			counter(`espgate_at_failures_total{kind="busy"}`, 1)},
		{"failure timeout", []step{note(fsm.Note{Kind: fsm.NoteATFailure, Failure: fsm.FailTimeout, Cmd: fsm.CmdProbe}, 0)},
			counter(`espgate_at_failures_total{kind="timeout"}`, 1)},
		{"reset", []step{note(fsm.Note{Kind: fsm.NoteModemReset, Link: -1}, 0)},
			counter("espgate_modem_resets_total{}", 1)},
		{"firmware", []step{note(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte(version174)}, 0)},
			counter(`espgate_modem_info{generation="nonos",version="`+version174+`"}`, 1)},
		{"firmware replaced", []step{
			note(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte(version174)}, 0),
			note(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenESPAT, Text: []byte("AT version:2.2.0.0(s-b097cdf - ESP8266 - Jun 17 2021 12:57:45)")}, 0),
		},
			counter(`espgate_modem_info{generation="espat",version="AT version:2.2.0.0(s-b097cdf - ESP8266 - Jun 17 2021 12:57:45)"}`, 1)},
		{"firmware invalid utf-8", []step{note(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte("AT version:1.\xff")}, 0)},
			counter(`espgate_modem_info{generation="nonos",version="AT version:1.`+"\uFFFD"+`"}`, 1)},
		{"wifi", []step{
			note(fsm.Note{Kind: fsm.NoteWifi, Text: []byte("got_ip")}, 0),
			note(fsm.Note{Kind: fsm.NoteWifi, Text: []byte("disconnected")}, 0),
			note(fsm.Note{Kind: fsm.NoteWifi, Text: []byte("connected")}, 0),
			note(fsm.Note{Kind: fsm.NoteWifi, Text: []byte("something else")}, 0),
		},
			map[string]float64{
				`espgate_wifi_events_total{event="got_ip"}`:       1,
				`espgate_wifi_events_total{event="disconnected"}`: 1,
				`espgate_wifi_events_total{event="connected"}`:    1,
			}},
		{"join failed", []step{note(fsm.Note{Kind: fsm.NoteJoinFailed, Status: 2}, 0)},
			counter("espgate_wifi_join_failures_total{}", 1)},
		{"request and serving change nothing", []step{
			note(fsm.Note{Kind: fsm.NoteRequest, Link: 1}, 0),
			note(fsm.Note{Kind: fsm.NoteServing, Text: []byte("192.168.4.1")}, 0),
		}, map[string]float64{}},
		{"bring-up", []step{
			state(fsm.ModemBooting, 0),
			state(fsm.ModemSyncing, time.Second),
			state(fsm.ModemConfiguring, 2*time.Second),
			state(fsm.ModemJoining, 3*time.Second),
			state(fsm.ModemServing, 8*time.Second),
		}, merge(modemStates("serving"), histWant("espgate_modem_bringup_duration_seconds", "", bringupBuckets, 8))},
		{"reset by ready, then recovery", []step{
			state(fsm.ModemServing, 0), // from the start: no bring-up to time
			state(fsm.ModemConfiguring, time.Minute),
			state(fsm.ModemJoining, time.Minute+time.Second),
			state(fsm.ModemServing, time.Minute+3*time.Second),
			state(fsm.ModemRecovering, 2*time.Minute),
			state(fsm.ModemSyncing, 2*time.Minute+time.Second),
			state(fsm.ModemServing, 2*time.Minute+40*time.Second),
		}, merge(modemStates("serving"),
			histWant("espgate_modem_bringup_duration_seconds", "", bringupBuckets, 3),
			histWant("espgate_modem_bringup_duration_seconds", "", bringupBuckets, 40))},
		{"state without serving", []step{state(fsm.ModemBooting, 0), state(fsm.ModemSyncing, time.Second)},
			modemStates("syncing")},
		{"uart", []step{func(m *Metrics) {
			m.UARTRead(1152)
			m.UARTWrite(0)
			m.UARTRead(-1)
			m.SetBaud(230400)
			m.SetBaud(0)
			m.UARTWrite(2304)
		}}, map[string]float64{
			`espgate_uart_bytes_total{direction="rx"}`:        1152,
			`espgate_uart_bytes_total{direction="tx"}`:        2304,
			`espgate_uart_busy_seconds_total{direction="rx"}`: 0.1,
			`espgate_uart_busy_seconds_total{direction="tx"}`: 0.1,
			`espgate_uart_baud{}`:                             230400 - 115200,
		}},
		{"links and queue", []step{func(m *Metrics) {
			m.Links([...]int{fsm.LinkFree: 1, fsm.LinkReceiving: 2, fsm.LinkSending: 1, fsm.LinkClosing: 1})
			m.SendQueue(3)
		}}, map[string]float64{
			`espgate_links{state="free"}`:      1,
			`espgate_links{state="receiving"}`: 2,
			`espgate_links{state="sending"}`:   1,
			`espgate_links{state="closing"}`:   1,
			`espgate_send_queue_links{}`:       3,
		}},
		{"links and queue change back", []step{func(m *Metrics) {
			m.Links([fsm.LinkClosing + 1]int{fsm.LinkFree: 3, fsm.LinkReceiving: 2})
			m.SendQueue(2)
			m.Links([fsm.LinkClosing + 1]int{fsm.LinkFree: 3, fsm.LinkReceiving: 2})
			m.Links([fsm.LinkClosing + 1]int{fsm.LinkFree: 4, fsm.LinkSending: 1})
			m.SendQueue(2)
			m.SendQueue(1)
		}}, map[string]float64{
			`espgate_links{state="free"}`:    4,
			`espgate_links{state="sending"}`: 1,
			`espgate_send_queue_links{}`:     1,
		}},
		{"panics and dropped logs", []step{func(m *Metrics) {
			m.HandlerPanic()
			m.LogDropped(4)
			m.LogDropped(0)
			m.LogDropped(-2)
		}}, map[string]float64{
			`espgate_handler_panics_total{}`:       1,
			`espgate_log_messages_dropped_total{}`: 4,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m := New(reg)
			before := series(t, reg)
			for _, s := range tt.steps {
				s(m)
			}
			got := diff(before, series(t, reg))
			for k, v := range got {
				w, ok := tt.want[k]
				switch {
				case !ok:
					t.Errorf("unexpected change %s by %v", k, v)
				case math.Abs(v-w) > 1e-9:
					t.Errorf("%s changed by %v, want %v", k, v, w)
				}
			}
			for k, w := range tt.want {
				if _, ok := got[k]; !ok {
					t.Errorf("%s unchanged, want change by %v", k, w)
				}
			}
		})
	}
}

// TestSequence feeds a run of notes and compares the result in the text
// format.
func TestSequence(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	notes := []fsm.Note{
		{Kind: fsm.NoteLinkOpen, Link: 0},
		{Kind: fsm.NoteFirstByte, Link: 0, Dur: 30 * time.Millisecond},
		{Kind: fsm.NoteResponseDone, Link: 0, Method: fsm.MethodGet, Status: 200, Bytes: 512, Dur: 60 * time.Millisecond},
		{Kind: fsm.NoteResponseDone, Link: 0, Method: fsm.MethodGet, Status: 404, Bytes: 100, Dur: 40 * time.Millisecond},
		{Kind: fsm.NoteCommand, Cmd: fsm.CmdClose, Dur: 5 * time.Millisecond},
		{Kind: fsm.NoteATFailure, Failure: fsm.FailBusy},
		{Kind: fsm.NoteModemReset},
		{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte(version174)},
		{Kind: fsm.NoteLinkClosed, Link: 0, Reason: fsm.ClosedReset},
		{Kind: fsm.NoteWifi, Text: []byte("got_ip")},
	}
	for _, n := range notes {
		m.Observe(n, t0)
	}
	want := `
# HELP espgate_http_requests_total HTTP responses sent in full, by request method and status class.
# TYPE espgate_http_requests_total counter
` + requestsText(map[string]int{"GET/2xx": 1, "GET/4xx": 1}) + `
# HELP espgate_modem_info The modem's firmware as AT+GMR reported it; always 1.
# TYPE espgate_modem_info gauge
espgate_modem_info{generation="nonos",version="AT version:1.7.4.0(May 11 2020 19:13:04)"} 1
# HELP espgate_connections_accepted_total Client connections the modem accepted.
# TYPE espgate_connections_accepted_total counter
espgate_connections_accepted_total 1
# HELP espgate_modem_resets_total Modem resets: an unexpected "ready", or a forced recovery.
# TYPE espgate_modem_resets_total counter
espgate_modem_resets_total 1
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"espgate_http_requests_total", "espgate_modem_info", "espgate_connections_accepted_total", "espgate_modem_resets_total")
	if err != nil {
		t.Error(err)
	}
	checks := []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.closed[fsm.ClosedReset], 1},
		{m.closed[fsm.ClosedByClient], 0},
		{m.failures[fsm.FailBusy], 1},
		{m.wifi[1], 1},
		{m.respBytes, 612},
	}
	for i, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("check %d: got %v, want %v", i, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.info); n != 1 {
		t.Errorf("%d info series, want 1", n)
	}
}

// requestsText renders espgate_http_requests_total for every method and
// class, with the counts given as "METHOD/class".
func requestsText(counts map[string]int) string {
	var lines []string
	for _, meth := range enumNames[fsm.Method]() {
		for _, c := range statusClasses {
			lines = append(lines, fmt.Sprintf("espgate_http_requests_total{code=%q,method=%q} %d", c, meth, counts[meth+"/"+c]))
		}
	}
	return strings.Join(lines, "\n")
}

// Every value of the fsm enums used as labels has its series.
func TestLabelsCoverEnums(t *testing.T) {
	m := New(nil)
	if len(m.closed) != int(fsm.ClosedOverrun)+1 {
		t.Errorf("%d close reasons, want %d", len(m.closed), fsm.ClosedOverrun+1)
	}
	if len(m.failures) != int(fsm.FailTimeout)+1 {
		t.Errorf("%d failures, want %d", len(m.failures), fsm.FailTimeout+1)
	}
	if len(m.modemState) != int(fsm.ModemRecovering)+1 {
		t.Errorf("%d modem states, want %d", len(m.modemState), fsm.ModemRecovering+1)
	}
	if len(m.requests) != len(fsm.Methods()) {
		t.Errorf("%d methods, want %d", len(m.requests), len(fsm.Methods()))
	}
	for _, c := range fsm.Cmds() {
		if m.cmdDuration[c] == nil {
			t.Errorf("no series for %v", c)
		}
	}
	for s := fsm.LinkFree; s <= fsm.LinkClosing; s++ {
		if m.links[s] == nil {
			t.Errorf("no series for link state %v", s)
		}
	}
}

func TestStatusClass(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   string
	}{{99, "other"}, {100, "1xx"}, {101, "1xx"}, {200, "2xx"}, {299, "2xx"}, {304, "3xx"}, {404, "4xx"}, {503, "5xx"}, {599, "5xx"}, {600, "other"}, {999, "other"}, {0, "other"}, {-1, "other"}} {
		if got := statusClasses[statusClass(tt.status)]; got != tt.want {
			t.Errorf("statusClass(%d) = %s, want %s", tt.status, got, tt.want)
		}
	}
}

// UART accounting is safe from the pumps while the loop changes the rate.
func TestUARTConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	done := make(chan struct{})
	go func() {
		for range 1000 {
			m.UARTRead(10)
		}
		close(done)
	}()
	for range 1000 {
		m.UARTWrite(10)
		m.SetBaud(115200)
		if r, w := m.UARTBytes(); r > 10000 || w > 10000 {
			t.Fatalf("UARTBytes %d, %d mid-way", r, w)
		}
	}
	<-done
	if r, w := m.UARTBytes(); r != 10000 || w != 10000 {
		t.Errorf("UARTBytes %d, %d, want 10000 each", r, w)
	}
	if got := testutil.ToFloat64(m.uartBytes[rx]); got != 10000 {
		t.Errorf("rx bytes %v, want 10000", got)
	}
	if got := testutil.ToFloat64(m.uartBusy[tx]); math.Abs(got-10000*10/115200.0) > 1e-9 {
		t.Errorf("tx busy %v s, want %v", got, 10000*10/115200.0)
	}
}

// A scrape from another goroutine (a host-side listener) may run while the
// loop observes notes.
func TestGatherWhileObserving(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			m.Observe(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte(version174)}, t0)
			m.Observe(fsm.Note{Kind: fsm.NoteModemState, State: fsm.ModemState(i % 6)}, t0.Add(time.Duration(i)*time.Second))
			m.Observe(fsm.Note{Kind: fsm.NoteResponseDone, Method: fsm.MethodGet, Status: 200, Dur: time.Millisecond}, t0)
		}
	}()
	for range 20 {
		if _, err := reg.Gather(); err != nil {
			t.Error(err)
		}
	}
	<-done
	if n := testutil.CollectAndCount(m.info); n != 1 {
		t.Errorf("%d info series, want 1", n)
	}
}
