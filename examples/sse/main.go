// Command sse serves a clock over Server-Sent Events through the modem
// (or, with no -device, through the embedded emulator):
//
//	go run ./examples/sse
//
// Open the printed URL: the page's EventSource receives the time every
// second. Each open page holds one of the server's long-lived slots (two
// by default); a third page gets 503 until one closes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
)

var page = []byte(`<!doctype html>
<meta charset="utf-8"><title>espgate clock</title>
<h1 id="clock">…</h1>
<p id="state">connecting</p>
<script>
const es = new EventSource("/clock");
es.addEventListener("tick", e => { clock.textContent = e.data; state.textContent = "event " + e.lastEventId; });
es.onerror = () => { state.textContent = "reconnecting"; };
</script>
`)

func routes() *handlers.Router {
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /{$}", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/html; charset=utf-8")
		w.SetBody(page)
	})
	rt.HandleFunc("GET /clock", func(w *handlers.ResponseWriter, r *handlers.Request) {
		es := handlers.NewEventStream(w, handlers.EventStreamOptions{Retry: 3 * time.Second})
		if es == nil {
			return // every long-lived slot is taken: the client got 503
		}
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for n := 1; ; n++ {
				select {
				case <-es.Done():
					return // the client left
				case now := <-tick.C:
					if es.Send("tick", fmt.Sprint(n), now.Format(time.TimeOnly)) != nil {
						return // the stream ended
					}
				}
			}
		}()
	})
	return rt
}

func main() {
	device := flag.String("device", "", "modem line; empty: the embedded emulator")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &espgate.Server{
		Device:    *device,
		Routes:    routes(),
		OnServing: func(url string) { fmt.Println("serving", url, "- open it in a browser, or: curl -N", url+"clock") },
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
