package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// nativeEcho echoes messages; "ping me" makes it ping the client and
// answer "pong ok", and "close <code>" makes it close with that code.
// Each connection's end (the error Read returned) goes to ends.
func nativeEcho(ends chan<- error) func(c *handlers.WSConn) {
	return func(c *handlers.WSConn) {
		ctx := context.Background()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				ends <- err
				return
			}
			switch string(data) {
			case "ping me":
				pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := c.Ping(pctx)
				cancel()
				if err != nil {
					c.Write(ctx, handlers.MessageText, []byte("ping failed: "+err.Error()))
					continue
				}
				data = []byte("pong ok")
			case "close 4001":
				c.Close(4001, "bye")
				ends <- nil
				return
			}
			if err := c.Write(ctx, typ, data); err != nil {
				ends <- err
				return
			}
		}
	}
}

func wsURL(env *e2etest.Env, path string) string { return "ws://" + env.Addr + "/" + path }

func dial(t *testing.T, env *e2etest.Env, path string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(env, path), opts)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", path, err, code)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// echoRoundTrip sends msg and expects it back.
func echoRoundTrip(t *testing.T, ctx context.Context, c *websocket.Conn, typ websocket.MessageType, msg []byte, frame int) {
	t.Helper()
	w, err := c.Writer(ctx, typ)
	if err != nil {
		t.Fatal(err)
	}
	for b := msg; len(b) > 0; { // one frame per Write
		k := min(frame, len(b))
		if _, err := w.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	gotTyp, got, err := c.Read(ctx)
	if err != nil || gotTyp != typ || !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes: type %v, %d bytes, %v", len(msg), gotTyp, len(got), err)
	}
}

func closeStatus(t *testing.T, err error) websocket.StatusCode {
	t.Helper()
	code := websocket.CloseStatus(err)
	if code == -1 {
		t.Fatalf("want a close frame, got %v", err)
	}
	return code
}

func receive(t *testing.T, ends <-chan error) error {
	t.Helper()
	select {
	case err := <-ends:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the server's connection did not end")
		return nil
	}
}

// The native WebSocket against coder/websocket's client: subprotocol,
// echo, a 64 KiB message in 4 KiB fragments (echoed in 2 KiB frames),
// pings both ways, and close codes both ways.
func TestWebSocketNative(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ends := make(chan error, 4)
		rt := handlers.NewRouter()
		rt.Handle("GET /echo", handlers.WebSocket(&handlers.WebSocketOptions{Subprotocols: []string{"echo.v1", "echo.v2"}}, nativeEcho(ends)))
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		ctx := testCtx(t)

		c := dial(t, env, "echo", &websocket.DialOptions{Subprotocols: []string{"other", "echo.v2", "echo.v1"}})
		if c.Subprotocol() != "echo.v1" {
			t.Fatalf("subprotocol %q, want the server's first choice", c.Subprotocol())
		}
		c.SetReadLimit(1 << 20)
		echoRoundTrip(t, ctx, c, websocket.MessageText, []byte("hello, modem"), 4096)
		big := make([]byte, 64<<10)
		for i := range big {
			big[i] = byte(i * 7)
		}
		echoRoundTrip(t, ctx, c, websocket.MessageBinary, big, 4096)
		echoRoundTrip(t, ctx, c, websocket.MessageText, []byte{}, 1)

		msgs := make(chan string, 4)
		readErr := make(chan error, 1)
		go func() { // coder's Ping needs a reader running
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					readErr <- err
					return
				}
				msgs <- string(b)
			}
		}()
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("client ping: %v", err)
		}
		c.Write(ctx, websocket.MessageText, []byte("ping me"))
		if m := <-msgs; m != "pong ok" {
			t.Fatalf("server ping: %q", m)
		}
		c.Write(ctx, websocket.MessageText, []byte("close 4001"))
		err := <-readErr
		if closeStatus(t, err) != 4001 || !strings.Contains(err.Error(), "bye") {
			t.Fatalf("server close: %v", err)
		}
		if err := receive(t, ends); err != nil {
			t.Fatal(err)
		}

		// The client closes: the server reads its code and reason.
		c2 := dial(t, env, "echo", nil)
		echoRoundTrip(t, ctx, c2, websocket.MessageText, []byte("x"), 1)
		if err := c2.Close(websocket.StatusGoingAway, "tab closed"); err != nil {
			t.Fatalf("client close: %v", err)
		}
		var ce *handlers.CloseError
		if err := receive(t, ends); !errors.As(err, &ce) || ce.Code != handlers.CloseGoingAway || ce.Reason != "tab closed" {
			t.Fatalf("server saw %v", err)
		}
	})
}

// Bad input from the client closes with the code RFC 6455 asks for.
func TestWebSocketNativeCloseCodes(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ends := make(chan error, 8)
		rt := handlers.NewRouter()
		rt.Handle("GET /small", handlers.WebSocket(&handlers.WebSocketOptions{MaxMessage: 1024}, nativeEcho(ends)))
		rt.Handle("GET /echo", handlers.WebSocket(nil, nativeEcho(ends)))
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		ctx := testCtx(t)

		c := dial(t, env, "small", nil)
		echoRoundTrip(t, ctx, c, websocket.MessageBinary, make([]byte, 1024), 300) // at the limit
		c.Write(ctx, websocket.MessageBinary, make([]byte, 1025))
		if _, _, err := c.Read(ctx); closeStatus(t, err) != websocket.StatusMessageTooBig {
			t.Fatalf("over the limit: %v", err)
		}
		receive(t, ends)

		c = dial(t, env, "echo", nil)
		c.SetReadLimit(1 << 20)
		c.Write(ctx, websocket.MessageBinary, make([]byte, 64<<10+1)) // the default limit
		if _, _, err := c.Read(ctx); closeStatus(t, err) != websocket.StatusMessageTooBig {
			t.Fatalf("over the default limit: %v", err)
		}
		receive(t, ends)

		c = dial(t, env, "echo", nil)
		c.Write(ctx, websocket.MessageText, []byte("caf\xe9"))
		if _, _, err := c.Read(ctx); closeStatus(t, err) != websocket.StatusInvalidFramePayloadData {
			t.Fatalf("invalid UTF-8: %v", err)
		}
		receive(t, ends)
	})
}

// rawHandshake opens a WebSocket by hand; extra is sent right after the
// request, in the same write.
func rawHandshake(t *testing.T, env *e2etest.Env, path string, extra []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", env.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	req := "GET /" + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), extra...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The accept value of RFC 6455's own example key.
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	return conn, br
}

func maskedFrame(b0 byte, payload []byte) []byte {
	key := []byte{1, 2, 3, 4}
	b := append([]byte{b0, 0x80 | byte(len(payload))}, key...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// readFrame reads one server frame (small: no extended length).
func readFrame(t *testing.T, br *bufio.Reader) (b0 byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	if h[1]&0x80 != 0 || h[1]&127 > 125 {
		t.Fatalf("unexpected frame header % x", h)
	}
	payload = make([]byte, h[1]&127)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	return h[0], payload
}

// A frame sent in the same packet as the handshake is read; an unmasked
// frame closes the connection with 1002 and then the link.
func TestWebSocketNativeRawFrames(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ends := make(chan error, 4)
		rt := handlers.NewRouter()
		rt.Handle("GET /echo", handlers.WebSocket(nil, nativeEcho(ends)))
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})

		conn, br := rawHandshake(t, env, "echo", maskedFrame(0x81, []byte("early")))
		if b0, msg := readFrame(t, br); b0 != 0x81 || string(msg) != "early" {
			t.Fatalf("early frame echoed as %x %q", b0, msg)
		}
		conn.Write([]byte{0x81, 0x02, 'h', 'i'}) // not masked
		b0, payload := readFrame(t, br)
		if b0 != 0x88 || len(payload) < 2 || binary.BigEndian.Uint16(payload) != 1002 {
			t.Fatalf("unmasked frame answered %x % x, want close 1002", b0, payload)
		}
		conn.Write(maskedFrame(0x88, payload[:2])) // complete the handshake
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("after the close the link should end, got %v", err)
		}
		var ce *handlers.CloseError
		if err := receive(t, ends); !errors.As(err, &ce) || ce.Code != 1002 {
			t.Fatalf("server saw %v", err)
		}
	})
}

// Requests that are not a valid version-13 handshake are refused with a
// status that says why.
func TestWebSocketNativeBadHandshakes(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		rt.Handle("/echo", handlers.WebSocket(nil, func(c *handlers.WSConn) {}))
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		client := env.Client(t)
		good := map[string]string{"Upgrade": "websocket", "Connection": "Upgrade",
			"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
		for _, tc := range []struct {
			name, method string
			change       map[string]string
			status       int
			header       [2]string
		}{
			{"plain GET", "GET", map[string]string{"Upgrade": "", "Connection": ""}, 426, [2]string{"Upgrade", "websocket"}},
			{"version 8", "GET", map[string]string{"Sec-WebSocket-Version": "8"}, 426, [2]string{"Sec-WebSocket-Version", "13"}},
			{"short key", "GET", map[string]string{"Sec-WebSocket-Key": "c2hvcnQ="}, 400, [2]string{}},
			{"no key", "GET", map[string]string{"Sec-WebSocket-Key": ""}, 400, [2]string{}},
			{"POST", "POST", nil, 405, [2]string{"Allow", "GET"}},
			{"cross-origin", "GET", map[string]string{"Origin": "http://elsewhere.example"}, 403, [2]string{}},
		} {
			req, _ := http.NewRequest(tc.method, env.URL+"echo", nil)
			for k, v := range good {
				req.Header.Set(k, v)
			}
			for k, v := range tc.change {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
				t.Fatalf("%s: %d %v, want %d", tc.name, resp.StatusCode, resp.Header, tc.status)
			}
		}
		// A same-origin browser request is fine.
		c := dial(t, env, "echo", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + env.Addr}}})
		c.Close(websocket.StatusNormalClosure, "")
	})
}

// gatewayEcho is a net/http handler that serves WebSocket with
// coder/websocket's server side over the gateway's Hijacker.
func gatewayEcho(limit int64, ends chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"echo.v1"}})
		if err != nil {
			ends <- err
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(limit)
		ctx := r.Context()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				ends <- err
				return
			}
			if err := c.Write(ctx, typ, data); err != nil {
				ends <- err
				return
			}
		}
	}
}

// coder/websocket's server, run by an ordinary net/http handler through
// the gateway, against its client: echo, a fragmented 64 KiB message,
// ping, close codes both ways, its own message limit.
func TestWebSocketGateway(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ends := make(chan error, 4)
		mux := http.NewServeMux()
		mux.Handle("/ws", gatewayEcho(1<<20, ends))
		mux.Handle("/small", gatewayEcho(1024, ends))
		env := e2etest.Start(t, p, &espgate.Server{Handler: mux})
		ctx := testCtx(t)

		c := dial(t, env, "ws", &websocket.DialOptions{Subprotocols: []string{"echo.v1"}})
		if c.Subprotocol() != "echo.v1" {
			t.Fatalf("subprotocol %q", c.Subprotocol())
		}
		c.SetReadLimit(1 << 20)
		echoRoundTrip(t, ctx, c, websocket.MessageText, []byte("hello through net/http"), 4096)
		big := bytes.Repeat([]byte("espgate "), 8<<10)
		echoRoundTrip(t, ctx, c, websocket.MessageBinary, big, 4096)
		readErr := make(chan error, 1)
		go func() { _, _, err := c.Read(ctx); readErr <- err }()
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if err := c.Close(websocket.StatusGoingAway, "leaving"); err != nil {
			t.Fatalf("close: %v", err)
		}
		if err := receive(t, ends); closeStatus(t, err) != websocket.StatusGoingAway {
			t.Fatalf("server saw %v", err)
		}

		c = dial(t, env, "small", nil)
		c.Write(ctx, websocket.MessageBinary, make([]byte, 2000))
		if _, _, err := c.Read(ctx); closeStatus(t, err) != websocket.StatusMessageTooBig {
			t.Fatalf("over the limit: %v", err)
		}
		receive(t, ends)
	})
}

// WebSockets, native and through the gateway, hold long-lived slots: with
// a limit of 1 the second gets 503 with Retry-After until the first ends.
func TestWebSocketLongLivedLimit(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ends := make(chan error, 8)
		rt := handlers.NewRouter()
		rt.Handle("GET /native", handlers.WebSocket(nil, nativeEcho(ends)))
		mux := http.NewServeMux()
		mux.Handle("/gateway", gatewayEcho(1024, ends))
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Handler: mux, MaxLongLived: 1})
		ctx := testCtx(t)
		refused := func(path string) {
			t.Helper()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(dctx, wsURL(env, path), nil)
			if err == nil {
				c.CloseNow()
				t.Fatalf("%s: accepted over the limit", path)
			}
			if resp == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("%s: %v, want 503 with Retry-After", path, err)
			}
		}
		// A slot is freed a moment after the client's close: retry on 503.
		dialFree := func(path string) *websocket.Conn {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				c, resp, err := websocket.Dial(dctx, wsURL(env, path), nil)
				cancel()
				if err == nil {
					return c
				}
				if resp == nil || resp.StatusCode != 503 || time.Now().After(deadline) {
					t.Fatalf("%s: %v", path, err)
				}
			}
		}
		for _, first := range []string{"native", "gateway", "native"} {
			c := dialFree(first)
			echoRoundTrip(t, ctx, c, websocket.MessageText, []byte("hi"), 10)
			refused("native")
			refused("gateway")
			c.Close(websocket.StatusNormalClosure, "")
			receive(t, ends)
		}
	})
}

// At shutdown a native WebSocket is closed with 1001 (going away).
func TestWebSocketNativeShutdown(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ends := make(chan error, 4)
		rt := handlers.NewRouter()
		rt.Handle("GET /echo", handlers.WebSocket(nil, nativeEcho(ends)))
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, ShutdownTimeout: time.Minute})
		ctx := testCtx(t)
		c := dial(t, env, "echo", nil)
		echoRoundTrip(t, ctx, c, websocket.MessageText, []byte("hi"), 10)
		readErr := make(chan error, 1)
		go func() { _, _, err := c.Read(ctx); readErr <- err }()
		stopped := make(chan error, 1)
		go func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stopped <- env.Server.Shutdown(sctx)
		}()
		if err := <-readErr; closeStatus(t, err) != websocket.StatusGoingAway {
			t.Fatalf("at shutdown: %v", err)
		}
		if err := <-stopped; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
}

// A net/http handler that hijacks an ordinary request when every
// long-lived slot is taken never gets the link: the client gets 503.
func TestHijackWithoutSlot(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		streams := streamRoute(rt, "/events", handlers.EventStreamOptions{})
		hijackErr := make(chan error, 1)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /raw", func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				hijackErr <- err
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nmine!\n")
			brw.Flush()
			_, err = conn.Read(make([]byte, 1)) // the link is not ours: EOF
			hijackErr <- err
		})
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Handler: mux, MaxLongLived: 1})
		openStream(t, env.Client(t), env.URL+"events")
		recvStream(t, streams)
		resp, err := env.Client(t).Get(env.URL + "raw")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("hijack over the limit: %d", resp.StatusCode)
		}
		select {
		case err := <-hijackErr:
			if err != io.EOF {
				t.Fatalf("the handler's conn: %v, want EOF", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the refused handler's conn never ended")
		}
	})
}
