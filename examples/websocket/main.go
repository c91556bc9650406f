// Command websocket serves a chat page over WebSocket through the modem
// (or, with no -device, through the embedded emulator):
//
//	go run ./examples/websocket
//
// Open the printed URL in two windows and type: every message goes to
// every open page. Each page holds one of the server's long-lived slots
// (two by default).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
)

var page = []byte(`<!doctype html>
<meta charset="utf-8"><title>espgate chat</title>
<ul id="log"></ul>
<form id="form"><input id="text" autocomplete="off" autofocus> <button>send</button></form>
<script>
const ws = new WebSocket("ws://" + location.host + "/chat");
const say = s => { const li = document.createElement("li"); li.textContent = s; log.append(li); };
ws.onopen = () => say("(connected)");
ws.onclose = e => say("(closed: " + e.code + ")");
ws.onmessage = e => say(e.data);
form.onsubmit = e => { e.preventDefault(); if (text.value) ws.send(text.value); text.value = ""; };
</script>
`)

// room is the set of open connections; a message goes to all of them.
type room struct {
	mu    sync.Mutex
	conns map[*handlers.WSConn]bool
}

func (rm *room) join(c *handlers.WSConn) {
	rm.mu.Lock()
	rm.conns[c] = true
	rm.mu.Unlock()
}

func (rm *room) leave(c *handlers.WSConn) {
	rm.mu.Lock()
	delete(rm.conns, c)
	rm.mu.Unlock()
}

func (rm *room) broadcast(msg []byte) {
	rm.mu.Lock()
	conns := make([]*handlers.WSConn, 0, len(rm.conns))
	for c := range rm.conns {
		conns = append(conns, c)
	}
	rm.mu.Unlock()
	for _, c := range conns {
		// Write waits while the modem is behind; a reader that stays
		// behind for 5 s is dropped.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if c.Write(ctx, handlers.MessageText, msg) != nil {
			go c.Close(handlers.ClosePolicyViolation, "too slow")
		}
		cancel()
	}
}

func routes() *handlers.Router {
	rm := &room{conns: map[*handlers.WSConn]bool{}}
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /{$}", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/html; charset=utf-8")
		w.SetBody(page)
	})
	opts := &handlers.WebSocketOptions{MaxMessage: 1 << 10}
	rt.Handle("GET /chat", handlers.WebSocket(opts, func(c *handlers.WSConn) {
		rm.join(c)
		defer rm.leave(c)
		for {
			_, msg, err := c.Read(context.Background())
			if err != nil {
				return // closed by the client, too big (1009), or the link dropped
			}
			rm.broadcast(msg)
		}
	}))
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
		OnServing: func(url string) { fmt.Println("serving", url, "- open it in two browser windows") },
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
