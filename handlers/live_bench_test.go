package handlers_test

import (
	"context"
	"iter"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	sse "github.com/tmaxmax/go-sse"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
)

// pacedServer runs srv on an emulator paced at 115200 baud with the
// modem's latencies, as a real line would be.
func pacedServer(b *testing.B, run func(b *testing.B, srv *espgate.Server)) {
	for _, p := range e2etest.Profiles {
		b.Run(string(p), func(b *testing.B) {
			srv := &espgate.Server{}
			srv.Emulator.Baud = 115200
			srv.Emulator.Profile = p
			run(b, srv)
		})
	}
}

// The time from Send to the client having the event, one event at a time.
func BenchmarkEventStreamPaced(b *testing.B) {
	pacedServer(b, func(b *testing.B, srv *espgate.Server) {
		rt := handlers.NewRouter()
		streams := streamRoute(rt, "/events", handlers.EventStreamOptions{Heartbeat: -1})
		srv.Routes = rt
		env := e2etest.Start(b, srv.Emulator.Profile, srv)
		req, _ := http.NewRequest("GET", env.URL+"events", nil)
		resp, err := env.Client(b).Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		es := <-streams
		next, stop := iter.Pull2(iter.Seq2[sse.Event, error](sse.Read(resp.Body, nil)))
		defer stop()
		data := strings.Repeat("x", 100)
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := es.Send("", "", data); err != nil {
				b.Fatal(err)
			}
			if _, err, ok := next(); err != nil || !ok {
				b.Fatal(err)
			}
		}
	})
}

// A 100-byte WebSocket echo round trip.
func BenchmarkWebSocketEchoPaced(b *testing.B) {
	pacedServer(b, func(b *testing.B, srv *espgate.Server) {
		rt := handlers.NewRouter()
		rt.Handle("GET /echo", handlers.WebSocket(nil, nativeEcho(make(chan error, 1))))
		srv.Routes = rt
		env := e2etest.Start(b, srv.Emulator.Profile, srv)
		ctx := context.Background()
		c, _, err := websocket.Dial(ctx, wsURL(env, "echo"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		msg := make([]byte, 100)
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
