package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/espgate/espgate/internal/e2etest"
)

// runGateway runs the binary's gateway on the emulator with args (after
// a loopback listener, an unpaced line and warn-level logs) until the test
// ends, then checks the emulator saw no protocol violation.
func runGateway(t *testing.T, args ...string) (g *gateway, stdout, stderr *e2etest.SyncBuffer) {
	t.Helper()
	stdout, stderr = new(e2etest.SyncBuffer), new(e2etest.SyncBuffer)
	f, err := parseServe(append([]string{"--listen", "127.0.0.1:0", "--unpaced", "--log-level", "warn"}, args...), stderr)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err = build(f, stdout, stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		g.close()
		for _, v := range g.srv.EmulatorModem().Violations() {
			t.Errorf("host protocol violation: %v", v)
		}
	})
	return g, stdout, stderr
}

// startGateway runs the binary's gateway on the emulator and returns its URL.
func startGateway(t *testing.T, args ...string) (*gateway, string) {
	t.Helper()
	g, stdout, stderr := runGateway(t, args...)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, after, ok := strings.Cut(stdout.String(), "espgate: serving "); ok {
			url, _, _ := strings.Cut(after, "\n")
			return g, strings.TrimSuffix(url, "/")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not serving after 10 s; stdout %q stderr %q", stdout.String(), stderr.String())
	return nil, ""
}

func TestDemoPages(t *testing.T) {
	_, url := startGateway(t)
	c := &http.Client{Timeout: 10 * time.Second}
	if code, body := e2etest.Get(t, c, url+"/"); code != 200 || !strings.Contains(body, "<title>espgate dashboard</title>") {
		t.Fatalf("index: %d %q", code, body)
	}
	// The dashboard's live snapshots.
	resp, err := c.Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	for err == nil && !strings.HasPrefix(line, "data: ") {
		line, err = br.ReadString('\n')
	}
	resp.Body.Close()
	if err != nil || !strings.Contains(line, `"modem":"serving"`) || !strings.Contains(line, `"cap":11520`) {
		t.Fatalf("events: %q %v", line, err)
	}
	if code, body := e2etest.Get(t, c, url+"/api/status"); code != 200 || !strings.Contains(body, `"state":"serving"`) {
		t.Fatalf("status: %d %q", code, body)
	}
	resp, err = c.Post(url+"/echo", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ping" {
		t.Fatalf("echo %q", b)
	}
}

// scrape fetches /metrics through the modem (gzip, as Prometheus asks) and
// parses it with the Prometheus text parser.
func scrape(t *testing.T, c *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the body arrives compressed
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("scrape: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bufio.NewReader(zr))
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// value returns the value of the series of name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, want)
	return 0
}

func TestMetricsThroughTheModem(t *testing.T) {
	g, url := startGateway(t)
	c := &http.Client{Timeout: 10 * time.Second}
	for range 7 {
		if code, _ := e2etest.Get(t, c, url+"/hello"); code != 200 {
			t.Fatal(code)
		}
	}
	for range 3 {
		if code, _ := e2etest.Get(t, c, url+"/missing"); code != 404 {
			t.Fatal(code)
		}
	}
	resp, err := c.Post(url+"/echo", "text/plain", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The client can have a response before the host has the modem's SEND
	// OK for it: wait until the registry has counted all eleven.
	waitCounted(t, g, 11)

	// The emulator resets; the server recovers and serves again.
	c.CloseIdleConnections()
	g.srv.EmulatorModem().Reset()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url + "/hello")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after the reset: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	waitCounted(t, g, 12)
	fams := scrape(t, c, url)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"espgate_http_requests_total", map[string]string{"method": "GET", "code": "2xx"}, 8}, // 7 + the one after the reset
		{"espgate_http_requests_total", map[string]string{"method": "GET", "code": "4xx"}, 3},
		{"espgate_http_requests_total", map[string]string{"method": "POST", "code": "2xx"}, 1},
		{"espgate_modem_resets_total", nil, 1},
		{"espgate_modem_info", map[string]string{"generation": "nonos"}, 1},
		{"espgate_modem_state", map[string]string{"state": "serving"}, 1},
		{"espgate_http_request_duration_seconds", nil, 12},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if rx := value(t, fams, "espgate_uart_bytes_total", map[string]string{"direction": "rx"}); rx < 500 {
		t.Errorf("uart rx bytes %v", rx)
	}
	if n := value(t, fams, "espgate_at_command_duration_seconds", map[string]string{"command": "AT+CIPSEND"}); n < 12 {
		t.Errorf("AT+CIPSEND observations %v, want at least one per response", n)
	}
}

// waitCounted waits until the gateway's registry has counted n responses.
func waitCounted(t *testing.T, g *gateway, n float64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		fams, err := g.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*dto.MetricFamily{}
		for _, f := range fams {
			byName[f.GetName()] = f
		}
		if value(t, byName, "espgate_http_request_duration_seconds", nil) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v responses were not all counted", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMetricsAuth(t *testing.T) {
	_, url := startGateway(t, "--metrics-auth", "prom:s3cret")
	c := &http.Client{Timeout: 10 * time.Second}
	if code, _ := e2etest.Get(t, c, url+"/metrics"); code != 401 {
		t.Fatalf("without credentials: %d", code)
	}
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.SetBasicAuth("prom", "s3cret")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "espgate_links") {
		t.Fatalf("with credentials: %d", resp.StatusCode)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--profile", "esp32"}, {"--baud", "0"}, {"--metrics-auth", "nocolon"}, {"stray"},
		{"--upstream", "127.0.0.1:8000"}, {"--upstream", "https://example.com"}, {"--upstream-gzip-min", "0"}, {"--upstream-timeout", "0s"},
		{"--setup-password", "short"}, {"--setup-ap", "x", "--ssid", "home"}, {"--mdns", "pi.local"}, {"--ssid", "a\nb"}} {
		var out, errOut bytes.Buffer
		if code := serve(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}

// With --upstream the app owns every path (the demo's too) and espgate
// keeps only /metrics.
func TestUpstreamFlag(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "app: %s %s %s via %s", r.Method, r.URL.RequestURI(), b, r.Header.Get("Via"))
	}))
	defer up.Close()
	_, url := startGateway(t, "--upstream", up.URL, "--upstream-timeout", "5s")
	c := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/", "/events", "/hello", "/api/status?x=1"} {
		if code, body := e2etest.Get(t, c, url+path); code != 200 || body != "app: GET "+path+"  via 1.1 espgate" {
			t.Fatalf("GET %s: %d %q", path, code, body)
		}
	}
	resp, err := c.Post(url+"/echo", "text/plain", strings.NewReader("ping"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "app: POST /echo ping via 1.1 espgate" {
		t.Fatalf("POST /echo: %q", b)
	}
	if code, _ := e2etest.Get(t, c, url+"/missing"); code != 404 {
		t.Fatalf("the app's 404: %d", code)
	}
	if code, body := e2etest.Get(t, c, url+"/metrics"); code != 200 || !strings.Contains(body, "espgate_links") {
		t.Fatalf("/metrics: %d", code)
	}
}

// Credentials that cannot go into an AT command are refused before
// anything starts, with an error that names the flag but not the value.
func TestUnsendableCredentials(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--ssid", "net", "--password", "s3cret\r\nAT+RESTORE"}, "", "control character 0x0d"},
		{[]string{"--ssid", "net"}, "s3cret\x01", "control character 0x01"},
		{[]string{"--ssid", strings.Repeat("n", 33), "--password", "s3cret"}, "", "33 bytes, at most 32"},
		{[]string{"--ssid", "net", "--password", strings.Repeat("s3cret", 11)}, "", "66 bytes, at most 64"},
	} {
		t.Setenv("ESPGATE_WIFI_PASSWORD", c.env)
		var out, errOut bytes.Buffer
		code := serve(context.Background(), c.args, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.want) || strings.Contains(errOut.String(), "s3cret") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q, without the password", c.args, code, errOut.String(), c.want)
		}
	}
}
