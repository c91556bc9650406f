// Command api is a small JSON API for a browser app on another origin,
// served through the modem (or, with no -device, through the embedded
// emulator):
//
//	go run ./examples/api
//	curl http://127.0.0.1:8080/api/lamps
//	curl -X POST -H 'Authorization: Bearer let-me-in' -H 'Content-Type: application/json' \
//	     -d '{"name":"porch","on":true}' http://127.0.0.1:8080/api/lamps
//	curl -N http://127.0.0.1:8080/api/ticks
//
// It shows JSON decoding with limits and clear 400s, JSON answers, a
// Bearer token on the routes that change things, CORS for the whole
// server (native routes and a net/http handler alike), and a chunked
// response written progressively from a goroutine.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
)

type lamp struct {
	Name string `json:"name"`
	On   bool   `json:"on"`
}

type lamps struct {
	mu  sync.Mutex
	all []lamp
}

func (l *lamps) routes(token string) *handlers.Router {
	write := handlers.BearerAuth("lamps", handlers.BearerTokens(token))
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /api/lamps", func(w *handlers.ResponseWriter, r *handlers.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		handlers.WriteJSON(w, http.StatusOK, append([]lamp{}, l.all...)) // [] rather than null
	})
	rt.Handle("POST /api/lamps", write(handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
		var v lamp
		// 415 without application/json, 413 over 512 bytes, 400 saying what is wrong.
		if err := handlers.DecodeJSON(r, &v, handlers.JSONOptions{MaxBytes: 512, DisallowUnknownFields: true}); err != nil {
			handlers.WriteError(w, err)
			return
		}
		if v.Name == "" {
			handlers.Error(w, `"name" is required`, http.StatusBadRequest)
			return
		}
		l.mu.Lock()
		l.all = append(l.all, v)
		l.mu.Unlock()
		handlers.WriteJSON(w, http.StatusCreated, v)
	})))
	// Ten ticks, one a second, each sent as soon as it is written.
	rt.HandleFunc("GET /api/ticks", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "application/x-ndjson")
		s := w.Stream()
		go func() {
			defer s.Close()
			for i := range 10 {
				if _, err := fmt.Fprintf(s, "{\"tick\":%d}\n", i); err != nil {
					return // the client went away
				}
				select {
				case <-time.After(time.Second):
				case <-s.Done():
					return
				}
			}
		}()
	})
	return rt
}

// version is an ordinary net/http handler: the server-wide CORS
// middleware covers it too.
func version() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"version":"1.0"}`)
	})
	return mux
}

// server returns the configured server; main and the test share it.
func server(l *lamps, token string, origins []string) *espgate.Server {
	return &espgate.Server{
		Routes:  l.routes(token),
		Handler: version(),
		Middleware: []handlers.Middleware{handlers.CORS(handlers.CORSOptions{
			AllowOrigins: origins,
			AllowHeaders: []string{"Content-Type", "Authorization"},
			MaxAge:       time.Hour, // fewer preflights over a slow line
		})},
	}
}

func main() {
	device := flag.String("device", "", "modem line; empty: the embedded emulator")
	ssid := flag.String("ssid", "", "Wi-Fi network to join")
	password := flag.String("password", "", "Wi-Fi password")
	token := flag.String("token", "let-me-in", "Bearer token for POST /api/lamps")
	origin := flag.String("origin", "http://localhost:3000", "origin of the browser app allowed to call the API")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := server(&lamps{}, *token, []string{*origin})
	srv.Device, srv.SSID, srv.Password = *device, *ssid, *password
	srv.OnServing = func(url string) { fmt.Println("serving", url+"api/lamps") }
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
