package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sse "github.com/tmaxmax/go-sse"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// streamRoute serves an event stream at path and hands each stream to
// the test.
func streamRoute(rt *handlers.Router, path string, opts handlers.EventStreamOptions) <-chan *handlers.EventStream {
	streams := make(chan *handlers.EventStream, 8)
	rt.HandleFunc("GET "+path, func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("X-Stream", "yes")
		if es := handlers.NewEventStream(w, opts); es != nil {
			streams <- es
		}
	})
	return streams
}

func recvStream(t *testing.T, streams <-chan *handlers.EventStream) *handlers.EventStream {
	t.Helper()
	select {
	case es := <-streams:
		return es
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not start a stream")
		return nil
	}
}

func openStream(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not done after 10 s", what)
	}
}

// Events with a type, an id and multi-line data reach an SSE reader as
// sent; the stream ends cleanly on Close and the link serves on.
func TestEventStream(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		streams := streamRoute(rt, "/events", handlers.EventStreamOptions{Retry: 2500 * time.Millisecond})
		rt.HandleFunc("GET /plain", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("plain") })
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		c := env.Client(t)
		resp := openStream(t, c, env.URL+"events")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" ||
			resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("X-Stream") != "yes" {
			t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
		}
		if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
			t.Fatalf("framing %v, want chunked", resp.TransferEncoding)
		}
		es := recvStream(t, streams)
		for _, bad := range [][2]string{{"a\nb", ""}, {"", "1\r"}, {"x", "\x00"}} {
			if err := es.Send(bad[0], bad[1], "d"); err != handlers.ErrBadField {
				t.Fatalf("Send(%q, %q): %v", bad[0], bad[1], err)
			}
		}
		want := []sse.Event{
			{Type: "greeting", LastEventID: "1", Data: "hello"},
			{LastEventID: "2", Data: "line one\nline two\nline three\n"},
			{Type: "empty", LastEventID: "2", Data: ""},
			{Type: "big", LastEventID: "4", Data: strings.Repeat("x", 5000)},
		}
		go func() {
			es.Send("greeting", "1", "hello")
			es.Send("", "2", "line one\nline two\r\nline three\r")
			es.Send("empty", "", "")
			es.Send("big", "4", strings.Repeat("x", 5000))
			es.Close()
		}()
		var raw bytes.Buffer
		var got []sse.Event
		for ev, err := range sse.Read(io.TeeReader(resp.Body, &raw), nil) {
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			got = append(got, ev)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events\n got %q\nwant %q", got, want)
		}
		if !strings.HasPrefix(raw.String(), "retry: 2500\n") {
			t.Fatalf("stream starts %q, want the retry field", raw.String()[:20])
		}
		waitDone(t, es.Done(), "stream")
		if es.Err() != nil {
			t.Fatalf("Err after Close: %v", es.Err())
		}
		if err := es.Send("", "", "late"); err != handlers.ErrStreamClosed {
			t.Fatalf("Send after Close: %v", err)
		}
		// The chunked stream ended cleanly: the same connection serves on.
		if code, body := e2etest.Get(t, c, env.URL+"plain"); code != 200 || body != "plain" {
			t.Fatalf("after the stream: %d %q", code, body)
		}
	})
}

// A quiet stream sends heartbeat comments; when the client goes away,
// Done closes with ErrLinkClosed and Send says so.
func TestEventStreamHeartbeatAndDisconnect(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		streams := streamRoute(rt, "/events", handlers.EventStreamOptions{Heartbeat: 20 * time.Millisecond})
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", env.URL+"events", nil)
		resp, err := env.Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		es := recvStream(t, streams)
		br := bufio.NewReader(resp.Body)
		for i := range 3 {
			line, err := br.ReadString('\n')
			if err != nil || line != ":\n" {
				t.Fatalf("heartbeat %d: %q %v", i, line, err)
			}
		}
		cancel() // the client goes away
		waitDone(t, es.Done(), "stream after the client left")
		if es.Err() != handlers.ErrLinkClosed {
			t.Fatalf("Err: %v", es.Err())
		}
		if err := es.Send("", "", "anyone?"); err != handlers.ErrLinkClosed {
			t.Fatalf("Send to a gone client: %v", err)
		}
	})
}

// A client that cannot keep up is disconnected, not sent a stream with
// holes: every event Send accepted arrives, in order, then the stream
// ends cleanly. The line is paced at 115200 baud here, so the queue fills.
func TestEventStreamSlowClient(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		streams := streamRoute(rt, "/events", handlers.EventStreamOptions{QueueBytes: 4096, Heartbeat: -1})
		srv := &espgate.Server{Routes: rt}
		srv.Emulator.Baud = 115200
		env := e2etest.Start(t, p, srv)
		resp := openStream(t, env.Client(t), env.URL+"events")
		es := recvStream(t, streams)
		accepted := 0
		var err error
		for i := range 100 {
			if err = es.Send("", fmt.Sprint(i), strings.Repeat("e", 400)); err != nil {
				break
			}
			accepted++
		}
		if err != handlers.ErrSlowClient || accepted == 0 || accepted == 100 {
			t.Fatalf("after %d events: %v, want ErrSlowClient", accepted, err)
		}
		n := 0
		for ev, err := range sse.Read(resp.Body, nil) {
			if err != nil {
				t.Fatalf("event %d: %v", n, err)
			}
			if ev.LastEventID != fmt.Sprint(n) {
				t.Fatalf("event %d has id %q", n, ev.LastEventID)
			}
			n++
		}
		if n != accepted {
			t.Fatalf("received %d events, Send accepted %d", n, accepted)
		}
	})
}

// At shutdown a stream ends cleanly rather than holding the server up.
func TestEventStreamShutdown(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		streams := streamRoute(rt, "/events", handlers.EventStreamOptions{})
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, ShutdownTimeout: time.Minute})
		resp := openStream(t, env.Client(t), env.URL+"events")
		es := recvStream(t, streams)
		if err := es.Send("", "1", "before"); err != nil {
			t.Fatal(err)
		}
		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stopped <- env.Server.Shutdown(ctx)
		}()
		var got []string
		for ev, err := range sse.Read(resp.Body, nil) {
			if err != nil {
				t.Fatalf("stream cut at shutdown: %v", err)
			}
			got = append(got, ev.Data)
		}
		if len(got) != 1 || got[0] != "before" {
			t.Fatalf("events %q", got)
		}
		if err := <-stopped; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := es.Send("", "", "late"); !errors.Is(err, handlers.ErrGoingAway) {
			t.Fatalf("Send after shutdown: %v", err)
		}
	})
}

// ticker is a net/http SSE handler using only http.Flusher; it reports
// when its request's context ends.
func ticker(ended chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fl := w.(http.Flusher)
		for i := 1; ; i++ {
			fmt.Fprintf(w, "id: %d\nevent: tick\ndata: tick %d\n\n", i, i)
			fl.Flush()
			select {
			case <-r.Context().Done():
				ended <- struct{}{}
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// An ordinary net/http SSE handler streams through the gateway with
// Flush, learns from its context that the client left, and holds a
// long-lived slot: with a limit of 1 a second stream gets 503, whether
// the client asked for text/event-stream or not.
func TestEventStreamNetHTTP(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ended := make(chan struct{}, 4)
		mux := http.NewServeMux()
		mux.Handle("GET /ticks", ticker(ended))
		env := e2etest.Start(t, p, &espgate.Server{Handler: mux, MaxLongLived: 1})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", env.URL+"ticks", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := env.Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		n := 0
		for ev, err := range sse.Read(resp.Body, nil) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if ev.Type != "tick" || ev.LastEventID != fmt.Sprint(n) || ev.Data != fmt.Sprintf("tick %d", n) {
				t.Fatalf("event %d: %+v", n, ev)
			}
			if n == 3 {
				break
			}
		}
		for _, accept := range []string{"text/event-stream", ""} {
			req, _ := http.NewRequest("GET", env.URL+"ticks", nil)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			r2, err := env.Client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(r2.Body)
			r2.Body.Close()
			if r2.StatusCode != 503 || r2.Header.Get("Retry-After") != "5" || len(body) > 64 {
				t.Fatalf("second stream (Accept %q): %d Retry-After %q, %d-byte body", accept, r2.StatusCode, r2.Header.Get("Retry-After"), len(body))
			}
		}
		cancel()      // the first client leaves: its handler's context ends
		for range 2 { // the refused handler without Accept ran too
			select {
			case <-ended:
			case <-time.After(10 * time.Second):
				t.Fatal("a handler's context did not end after its client left")
			}
		}
	})
}

// Long-lived responses of every kind share the limit (here 2 of 5): the
// third gets 503 with Retry-After, ordinary requests are still served on
// both remaining links at once, and a slot freed by a client leaving is
// taken by the next stream.
func TestLongLivedLimit(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		streams := streamRoute(rt, "/events", handlers.EventStreamOptions{})
		ended := make(chan struct{}, 4)
		mux := http.NewServeMux()
		mux.Handle("GET /ticks", ticker(ended))
		mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
		closed := make(chan struct{}, 16)
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Handler: mux, MaxLongLived: 2,
			Observe: func(n fsm.Note) {
				if n.Kind == fsm.NoteLinkClosed {
					closed <- struct{}{}
				}
			}})

		ctx, leave := context.WithCancel(context.Background())
		defer leave()
		req, _ := http.NewRequestWithContext(ctx, "GET", env.URL+"events", nil)
		native, err := env.Client(t).Do(req)
		if err != nil || native.StatusCode != 200 {
			t.Fatalf("native stream: %v %v", native, err)
		}
		defer native.Body.Close()
		first := recvStream(t, streams)
		if resp := openStream(t, env.Client(t), env.URL+"ticks"); resp.StatusCode != 200 {
			t.Fatalf("net/http stream: %d", resp.StatusCode)
		}

		for _, path := range []string{"events", "ticks"} {
			resp := openStream(t, env.Client(t), env.URL+path)
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("third stream /%s: %d, Retry-After %q", path, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			resp.Body.Close()
			waitDone(t, closed, "the refused stream's link") // three links are free again
		}

		// Two ordinary clients at once, each holding its keep-alive link.
		c1, c2 := env.Client(t), env.Client(t)
		for range 2 {
			for _, c := range []*http.Client{c1, c2} {
				if code, body := e2etest.Get(t, c, env.URL+"hello"); code != 200 || body != "hello" {
					t.Fatalf("ordinary request: %d %q", code, body)
				}
			}
		}

		// An upgrade other than WebSocket that is not taken up (h2c, as
		// curl offers it) is an ordinary request.
		conn, err := net.Dial("tcp", env.Addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("h2c offer with every slot taken: %v %v", resp, err)
		}
		conn.Close()

		leave()
		waitDone(t, first.Done(), "the first stream after its client left")
		resp := openStream(t, env.Client(t), env.URL+"events")
		if resp.StatusCode != 200 {
			t.Fatalf("stream after a slot was freed: %d", resp.StatusCode)
		}
		recvStream(t, streams)
	})
}
