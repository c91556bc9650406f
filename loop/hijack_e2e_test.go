package loop_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// A WebSocket library written for net/http works over the modem: the
// gateway's Hijacker hands it the link.
func TestWebSocketOverTheModem(t *testing.T) {
	echo := websocket.Handler(func(ws *websocket.Conn) {
		for {
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(ws, "echo: "+msg); err != nil {
				return
			}
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", echo)
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		s := start(t, serverOpts{profile: p, handler: handlers.Gateway(mux)})
		ws, err := websocket.Dial("ws://"+s.addr+"/ws", "", "http://"+s.addr+"/")
		if err != nil {
			t.Fatal(err)
		}
		ws.SetDeadline(time.Now().Add(10 * time.Second))
		e2etest.WebSocketEcho(t, ws)
		ws.Close()
		// The server serves ordinary requests again on a fresh link.
		if code, _ := e2etest.Get(t, newClient(), s.url("/nothing")); code != 404 {
			t.Fatalf("after the websocket: %d", code)
		}
	})
}

// Bytes the client sends right after its request reach the hijacker first,
// and closing the conn closes the link.
func TestHijackRawConn(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil || line == "quit\n" {
				return
			}
			fmt.Fprintf(brw, "%d:%s", len(line), line)
			brw.Flush()
		}
	})
	s := start(t, serverOpts{profile: sim.NonOS, handler: handlers.Gateway(h)})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: lines\r\n\r\nearly\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if line, _ := br.ReadString('\n'); line != "6:early\n" {
		t.Fatalf("early bytes: %q", line)
	}
	io.WriteString(conn, "second\n")
	if line, _ := br.ReadString('\n'); line != "7:second\n" {
		t.Fatalf("second: %q", line)
	}
	io.WriteString(conn, "quit\n")
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after quit the link should close, got %v", err)
	}
}
