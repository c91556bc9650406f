// Command hello serves native handlers through the modem (or, with no
// -device, through the embedded emulator):
//
//	go run ./examples/hello
//	go run ./examples/hello -device /dev/serial0 -ssid MyNet -password ...
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
)

var greeting = []byte("Hello from a native espgate handler!\n")

func main() {
	device := flag.String("device", "", "modem line; empty: the embedded emulator")
	ssid := flag.String("ssid", "", "Wi-Fi network to join")
	password := flag.String("password", "", "Wi-Fi password")
	flag.Parse()

	routes := handlers.NewRouter()
	// Static bytes, no copy, no allocation.
	routes.HandleFunc("GET /{$}", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain; charset=utf-8")
		w.SetBody(greeting)
	})
	// A route parameter and a query parameter.
	routes.HandleFunc("GET /hello/{name}", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString("Hello, ")
		w.Write(r.Param("name"))
		if lang, ok := r.Query("lang"); ok {
			w.WriteString(" (")
			w.Write(lang)
			w.WriteString(")")
		}
		w.WriteString("!\n")
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &espgate.Server{
		Device:    *device,
		SSID:      *ssid,
		Password:  *password,
		Routes:    routes,
		OnServing: func(url string) { fmt.Println("serving", url, "- try", url+"hello/gopher?lang=go") },
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
