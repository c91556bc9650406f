// Command stdlib serves an ordinary net/http ServeMux app through the
// modem, unmodified (or, with no -device, through the embedded emulator):
//
//	go run ./examples/stdlib
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/espgate/espgate"
)

// notes is a tiny in-memory JSON API.
type notes struct {
	mu    sync.Mutex
	items []string
}

func (n *notes) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "A net/http app over an ESP8266. Try GET and POST /notes.")
	})
	mux.HandleFunc("GET /notes", func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		defer n.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(n.items)
	})
	mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		var text string
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&text); err != nil {
			http.Error(w, "want a JSON string: "+err.Error(), http.StatusBadRequest)
			return
		}
		n.mu.Lock()
		n.items = append(n.items, text)
		n.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	return mux
}

func main() {
	device := flag.String("device", "", "modem line; empty: the embedded emulator")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &espgate.Server{
		Device:  *device,
		Handler: (&notes{}).mux(),
		OnServing: func(url string) {
			fmt.Printf("serving %s\ntry: curl -d '\"buy milk\"' %snotes && curl %snotes\n", url, url, url)
		},
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
