//go:build unix

package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/proxy"
	"github.com/espgate/espgate/sim"
)

const benchBody = "hello, world\n"

func benchHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, benchBody)
}

// cpuTime is the CPU time this process has used, user and system: on a
// shared machine it measures the work better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRequest serves the same small answer three ways through the
// unpaced emulator: a native handler, a net/http handler in the process
// (the gateway), and an app on loopback behind the proxy. wire-B/op is
// what the host writes on the modem line per request (AT+CIPSEND
// framing and the response); cpu-ns/op is the process's CPU time per
// request, client and emulator included. The differences between the
// three are what each layer adds.
func BenchmarkRequest(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(benchHandler))
	defer up.Close()
	native := handlers.NewRouter()
	native.HandleFunc("GET /", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString(benchBody)
	})
	for _, c := range []struct {
		name string
		srv  func() *espgate.Server
	}{
		{"native", func() *espgate.Server { return &espgate.Server{Routes: native} }},
		{"nethttp", func() *espgate.Server { return &espgate.Server{Handler: http.HandlerFunc(benchHandler)} }},
		{"proxy", func() *espgate.Server { return &espgate.Server{Upstream: up.URL} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			env := e2etest.Start(b, sim.NonOS, c.srv())
			client := env.Client(b)
			get := func() {
				resp, err := client.Get(env.URL)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(body) != benchBody {
					b.Fatalf("%q %v", body, err)
				}
			}
			get() // the link and the upstream connection are open
			before, cpu := env.Modem.Stats().BytesFromHost, cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				get()
			}
			b.StopTimer()
			b.ReportMetric(float64(env.Modem.Stats().BytesFromHost-before)/float64(b.N), "wire-B/op")
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkHop is the proxy's own cost on the host, without the modem: a
// request handed straight to a net/http handler, and the same request
// through the proxy to that handler served on loopback (the upstream
// server's work included).
func BenchmarkHop(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		h := http.HandlerFunc(benchHandler)
		b.ReportAllocs()
		cpu := cpuTime()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "http://modem.lan/", nil))
			if rec.Body.String() != benchBody {
				b.Fatal(rec.Body.String())
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("proxy", func(b *testing.B) {
		up := httptest.NewServer(http.HandlerFunc(benchHandler))
		defer up.Close()
		p, err := proxy.New(up.URL, proxy.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer p.CloseIdleConnections()
		b.ReportAllocs()
		cpu := cpuTime()
		for b.Loop() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "http://modem.lan/", nil)
			req.RemoteAddr = "192.168.1.23:50000"
			p.ServeHTTP(rec, req)
			if rec.Body.String() != benchBody {
				b.Fatal(rec.Body.String())
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
}
