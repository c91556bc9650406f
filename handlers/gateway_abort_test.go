package handlers_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// A net/http handler that panics with http.ErrAbortHandler aborts the
// response, as under net/http: the client sees the link close with no
// answer (not a 500), whether or not the handler had written a little.
// Any other panic before the response started still yields a 500.
func TestGatewayAbortHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/abort", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, "the first part of a response that will not complete")
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Handler: mux})
		conn, err := net.DialTimeout("tcp", env.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
		got, err := io.ReadAll(conn)
		if err != nil || len(got) != 0 {
			t.Fatalf("aborted response: read %q, %v; want the link closed with nothing", got, err)
		}

		c2, err := net.DialTimeout("tcp", env.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c2, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 500 || !strings.Contains(string(b), "Internal Server Error") {
			t.Fatalf("panic: %d %q, want 500", resp.StatusCode, b)
		}
	})
}
