package espgate_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/sim"
)

// An ordinary net/http app and a native route served through the embedded
// emulator of the modem.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s\n", r.PathValue("name"))
	})
	routes := handlers.NewRouter()
	routes.HandleFunc("GET /ping", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.WriteString("pong\n")
	})

	urls := make(chan string, 1)
	srv := &espgate.Server{
		Handler:   mux,
		Routes:    routes,
		Emulator:  sim.Config{Listen: "127.0.0.1:0", Unpaced: true},
		OnServing: func(url string) { urls <- url },
	}
	go srv.ListenAndServe(context.Background())
	defer srv.Shutdown(context.Background())

	url := <-urls
	for _, path := range []string{"hello/gopher", "ping"} {
		resp, err := http.Get(url + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(string(body))
	}
	// Output:
	// hello, gopher
	// pong
}
