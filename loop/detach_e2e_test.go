package loop_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// A native handler hands blocking work to a goroutine and answers later;
// the loop keeps serving meanwhile, and an answer for a client that has
// gone is never run.
func TestDetachedNativeHandler(t *testing.T) {
	release := make(chan struct{})
	gone := make(chan error, 1)
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /slow/{x}", func(w *handlers.ResponseWriter, r *handlers.Request) {
		name := string(r.Param("x")) // copy what the goroutine needs: r dies on return
		d := w.Detach()
		go func() {
			<-release
			d.Respond(func(w *handlers.ResponseWriter) { w.WriteString("done" + name) })
		}()
	})
	rt.HandleFunc("GET /abandoned", func(w *handlers.ResponseWriter, r *handlers.Request) {
		d := w.Detach()
		go func() {
			<-d.Done()
			ran := false
			d.Respond(func(w *handlers.ResponseWriter) { ran = true })
			if ran {
				gone <- io.ErrUnexpectedEOF
				return
			}
			gone <- d.Err()
		}()
	})
	rt.HandleFunc("GET /quick", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("quick") })
	s := start(t, serverOpts{profile: sim.NonOS, handler: rt})

	slow := make(chan string, 1)
	go func() {
		_, body := e2etest.Get(t, newClient(), s.url("/slow/abc"))
		slow <- string(body)
	}()
	c := newClient()
	for range 3 { // served while /slow waits
		if code, body := e2etest.Get(t, c, s.url("/quick")); code != 200 || body != "quick" {
			t.Fatalf("quick: %d %q", code, body)
		}
	}
	close(release)
	select {
	case b := <-slow:
		if b != "doneabc" {
			t.Fatalf("slow: %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("detached answer never arrived")
	}

	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /abandoned HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	conn.Close()
	select {
	case err := <-gone:
		if err != handlers.ErrLinkClosed {
			t.Fatalf("after the client left: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Done never closed after the client left")
	}
}
