// Command dashboard serves espgate's live status page through the modem
// (or, with no -device, through the embedded emulator), with a greeting at
// /hello to make some traffic and the Prometheus metrics at /metrics:
//
//	go run ./examples/dashboard
//
// Open the printed URL, then watch the page while something requests
// /hello: for i in $(seq 50); do curl -s http://127.0.0.1:8080/hello; done
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/dashboard"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/metrics"
)

func main() {
	device := flag.String("device", "", "modem line; empty: the embedded emulator")
	baud := flag.Int("baud", 115200, "line rate")
	ssid := flag.String("ssid", "", "Wi-Fi network to join")
	password := flag.String("password", "", "Wi-Fi password")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reg := prometheus.NewRegistry()
	mx := metrics.New(reg)
	dash := dashboard.New(dashboard.Options{Baud: *baud, Metrics: mx})
	rt := handlers.NewRouter()
	dash.Mount(rt, "/")
	rt.HandleFunc("GET /hello", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString("Hello from espgate!\n")
	})
	rt.Handle("GET /metrics", metrics.Handler(reg))
	srv := &espgate.Server{
		Device:    *device,
		Baud:      *baud,
		SSID:      *ssid,
		Password:  *password,
		Routes:    rt,
		Metrics:   mx,
		Observe:   dash.Observe,
		OnServing: func(url string) { fmt.Println("serving", url) },
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
