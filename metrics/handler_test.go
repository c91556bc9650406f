package metrics

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/parser"
)

// request parses a GET /metrics with the given extra header lines.
func request(t testing.TB, header ...string) *handlers.Request {
	t.Helper()
	p := parser.NewRequestParser(parser.Limits{})
	raw := "GET /metrics HTTP/1.1\r\nHost: 192.168.4.1\r\n" + strings.Join(header, "") + "\r\n"
	if _, ev := p.Feed([]byte(raw)); ev.Kind != parser.HTTPHead {
		t.Fatalf("parsing %q: %v %s", raw, ev.Kind, ev.Reason)
	}
	return &handlers.Request{Request: p.Request()}
}

// serve runs h and returns the status, the header fields and the body.
func serve(h handlers.Handler, r *handlers.Request) (int, map[string]string, []byte) {
	var w handlers.ResponseWriter
	h.ServeModem(&w, r)
	header, body, _, _, _ := w.Parts()
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(header), "\r\n"), "\r\n") {
		if name, value, ok := strings.Cut(line, ": "); ok {
			fields[name] = value
		}
	}
	return w.Status(), fields, bytes.Clone(body)
}

// trafficRegistry is a registry after a stretch of ordinary traffic.
func trafficRegistry() (*prometheus.Registry, *Metrics) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	now := t0
	m.Observe(fsm.Note{Kind: fsm.NoteModemState, State: fsm.ModemBooting}, now)
	for _, c := range fsm.Cmds() {
		m.Observe(fsm.Note{Kind: fsm.NoteCommand, Cmd: c, Dur: 3 * time.Millisecond}, now)
	}
	m.Observe(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte(version174)}, now)
	m.Observe(fsm.Note{Kind: fsm.NoteWifi, Text: []byte("connected")}, now)
	m.Observe(fsm.Note{Kind: fsm.NoteWifi, Text: []byte("got_ip")}, now)
	now = now.Add(6 * time.Second)
	m.Observe(fsm.Note{Kind: fsm.NoteModemState, State: fsm.ModemServing}, now)
	statuses := []int{200, 200, 200, 304, 404, 200, 500, 201}
	methods := []fsm.Method{fsm.MethodGet, fsm.MethodGet, fsm.MethodHead, fsm.MethodGet, fsm.MethodGet, fsm.MethodPost, fsm.MethodGet, fsm.MethodPut}
	for i := range 500 {
		d := time.Duration(i%97) * 7 * time.Millisecond
		m.Observe(fsm.Note{Kind: fsm.NoteLinkOpen, Link: i % 5}, now)
		m.Observe(fsm.Note{Kind: fsm.NoteCommand, Cmd: fsm.CmdSend, Dur: 20*time.Millisecond + d}, now)
		m.Observe(fsm.Note{Kind: fsm.NoteFirstByte, Link: i % 5, Dur: 30*time.Millisecond + d}, now)
		m.Observe(fsm.Note{Kind: fsm.NoteResponseDone, Link: i % 5, Method: methods[i%len(methods)],
			Status: statuses[i%len(statuses)], Bytes: int64(200 + i*13%4000), Dur: 50*time.Millisecond + 3*d}, now)
		m.Observe(fsm.Note{Kind: fsm.NoteCommand, Cmd: fsm.CmdClose, Dur: 4 * time.Millisecond}, now)
		m.Observe(fsm.Note{Kind: fsm.NoteLinkClosed, Link: i % 5, Reason: fsm.CloseReason(i % 3)}, now)
		if i%50 == 0 {
			m.Observe(fsm.Note{Kind: fsm.NoteATFailure, Failure: fsm.FailBusy}, now)
		}
		m.UARTRead(150)
		m.UARTWrite(400 + i*13%4000)
		m.Links([...]int{4, 0, 0, 1, 0})
		m.SendQueue(i % 2)
	}
	return reg, m
}

// parse reads the text exposition format.
func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// counterValue finds the counter with exactly the given labels.
func counterValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("no %s", name)
	}
next:
	for _, m := range mf.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		return m.Counter.GetValue()
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

func TestHandler(t *testing.T) {
	reg, _ := trafficRegistry()
	h := Handler(reg)
	get2xx := map[string]string{"method": "GET", "code": "2xx"}
	for _, tt := range []struct {
		name   string
		header []string
		gzip   bool
	}{
		{"no Accept-Encoding", nil, false},
		{"gzip", []string{"Accept-Encoding: gzip\r\n"}, true},
		{"Prometheus", []string{"Accept-Encoding: gzip\r\n", "Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"}, true},
		{"identity", []string{"Accept-Encoding: identity\r\n"}, false},
		{"gzip refused", []string{"Accept-Encoding: gzip;q=0, deflate\r\n"}, false},
		{"second field", []string{"Accept-Encoding: br\r\n", "accept-encoding: GZIP;q=0.5\r\n"}, true},
		{"again plain", nil, false},
		{"again gzip", []string{"Accept-Encoding: deflate, gzip\r\n"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := serve(h, request(t, tt.header...))
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if got := hdr["Content-Type"]; got != "text/plain; version=0.0.4; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := hdr["Vary"]; got != "Accept-Encoding" {
				t.Errorf("Vary %q", got)
			}
			var r io.Reader = bytes.NewReader(body)
			if tt.gzip {
				if got := hdr["Content-Encoding"]; got != "gzip" {
					t.Fatalf("Content-Encoding %q, want gzip", got)
				}
				zr, err := gzip.NewReader(r)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				r = bytes.NewReader(plain)
			} else if got, ok := hdr["Content-Encoding"]; ok {
				t.Fatalf("Content-Encoding %q on a plain response", got)
			}
			mfs := parse(t, r)
			if v := counterValue(t, mfs, "espgate_http_requests_total", get2xx); v != 126 {
				t.Errorf("GET 2xx = %v, want 126", v)
			}
			if _, ok := mfs["espgate_modem_info"]; !ok {
				t.Error("no espgate_modem_info")
			}
		})
	}
}

// The response carries what the registry held at the scrape.
func TestHandlerFresh(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	h := Handler(reg)
	want := map[string]string{"reason": "evicted"}
	for i := 1; i <= 3; i++ {
		m.Observe(fsm.Note{Kind: fsm.NoteLinkClosed, Reason: fsm.ClosedEvicted}, t0)
		_, _, body := serve(h, request(t))
		if v := counterValue(t, parse(t, bytes.NewReader(body)), "espgate_connections_closed_total", want); v != float64(i) {
			t.Errorf("scrape %d: %v evicted", i, v)
		}
	}
}

func TestHandlerGatherError(t *testing.T) {
	h := Handler(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return nil, errors.New("collector broke")
	}))
	status, hdr, body := serve(h, request(t, "Accept-Encoding: gzip\r\n"))
	if status != 500 || !strings.Contains(string(body), "collector broke") {
		t.Errorf("status %d, body %q", status, body)
	}
	if _, ok := hdr["Content-Encoding"]; ok {
		t.Error("Content-Encoding on the error response")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tt := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"Accept-Encoding: gzip\r\n", true},
		{"Accept-Encoding: x-gzip\r\n", true},
		{"Accept-Encoding: GZip\r\n", true},
		{"Accept-Encoding: deflate, br\r\n", false},
		{"Accept-Encoding: gzip;q=0\r\n", false},
		{"Accept-Encoding: gzip; q=0.000\r\n", false},
		{"Accept-Encoding: gzip;Q=0.\r\n", false},
		{"Accept-Encoding: gzip;q=0.001\r\n", true},
		{"Accept-Encoding: gzip;q=1.0\r\n", true},
		{"Accept-Encoding: gzip;level=1;q=0\r\n", false},
		{"Accept-Encoding: gzip;q=0, x-gzip\r\n", true},
		{"Accept-Encoding: *\r\n", true},
		{"Accept-Encoding: *;q=0\r\n", false},
		{"Accept-Encoding: *, gzip;q=0\r\n", false},
		{"Accept-Encoding: *;q=0, gzip\r\n", true},
		{"Accept-Encoding: identity;q=1, *;q=0.5\r\n", true},
		{"Accept-Encoding: gzipx\r\n", false},
		{"Accept-Encoding: ,, gzip ,\r\n", true},
		{"Accept-Encodings: gzip\r\n", false},
		{"Accept-Encoding:\r\n", false},
	} {
		r := request(t, tt.header)
		if got := r.AcceptsEncoding("gzip"); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestScrapeSize reports how long a scrape after some traffic holds the
// line at 115200 baud, plain and gzipped.
func TestScrapeSize(t *testing.T) {
	reg, _ := trafficRegistry()
	h := Handler(reg)
	_, _, plain := serve(h, request(t))
	_, _, gz := serve(h, request(t, "Accept-Encoding: gzip\r\n"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.Metric)
	}
	const rate = 115200 / 10 // bytes per second, 8N1
	t.Logf("%d families, %d series (a histogram counts once), %d lines", len(mfs), n, bytes.Count(plain, []byte("\n")))
	t.Logf("plain %d bytes, %.2f s at 115200 baud", len(plain), float64(len(plain))/rate)
	t.Logf("gzip  %d bytes, %.2f s at 115200 baud", len(gz), float64(len(gz))/rate)
	if len(gz)*4 > len(plain) {
		t.Errorf("gzip %d bytes is not a quarter of plain %d", len(gz), len(plain))
	}
}

func BenchmarkHandler(b *testing.B) {
	reg, _ := trafficRegistry()
	h := Handler(reg)
	for _, enc := range []string{"plain", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			var hdr []string
			if enc == "gzip" {
				hdr = []string{"Accept-Encoding: gzip\r\n"}
			}
			r := request(b, hdr...)
			var w handlers.ResponseWriter
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(nil)
				h.ServeModem(&w, r)
				_, body, _, _, _ := w.Parts()
				n = len(body)
			}
			b.ReportMetric(float64(n), "bytes/scrape")
		})
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New(prometheus.NewRegistry())
	n := fsm.Note{Kind: fsm.NoteResponseDone, Method: fsm.MethodGet, Status: 200, Bytes: 1400, Dur: 120 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(n, t0)
	}
}
