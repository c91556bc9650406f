package loop_test

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// closeCounter is a response stream that counts how often it is closed.
type closeCounter struct {
	io.Reader
	closes *atomic.Int32
}

func (c closeCounter) Close() error {
	c.closes.Add(1)
	return nil
}

// A stream that is an io.Closer is closed exactly once: after its
// response is sent, when the client vanishes mid-body, and when the
// handler panics after setting it.
func TestStreamClosedWhenDone(t *testing.T) {
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		var opened, closes atomic.Int32
		rt := handlers.NewRouter()
		rt.HandleFunc("GET /file", func(w *handlers.ResponseWriter, r *handlers.Request) {
			opened.Add(1)
			b := patternCached(64 << 10)
			w.SetStream(closeCounter{bytes.NewReader(b), &closes}, int64(len(b)))
		})
		rt.HandleFunc("GET /panic", func(w *handlers.ResponseWriter, r *handlers.Request) {
			opened.Add(1)
			w.SetStream(closeCounter{bytes.NewReader(nil), &closes}, 0)
			panic("after SetStream")
		})
		// Paced, so that a 64 KiB body is still being sent when the
		// client leaves.
		s := start(t, serverOpts{profile: p, handler: rt, simCfg: func(c *sim.Config) {
			c.Unpaced = false
			c.Baud = 921600
		}})
		waitCloses := func(want int32) {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for closes.Load() != want && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := closes.Load(); got != want || opened.Load() != want {
				t.Fatalf("opened %d, closed %d, want %d each", opened.Load(), got, want)
			}
		}

		if code, body := e2etest.Get(t, newClient(), s.url("/file")); code != 200 || len(body) != 64<<10 {
			t.Fatalf("GET /file: %d, %d bytes", code, len(body))
		}
		waitCloses(1)

		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := io.ReadFull(conn, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		conn.Close() // mid-body
		waitCloses(2)

		if code, _ := e2etest.Get(t, newClient(), s.url("/panic")); code != 500 {
			t.Fatalf("GET /panic: %d, want 500", code)
		}
		waitCloses(3)
	})
}
