package loop_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// logLines returns the JSON log lines in s whose message is msg.
func logLines(t *testing.T, s *e2etest.SyncBuffer, msg string) []map[string]any {
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line %q: %v", ln, err)
		}
		if m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// The access log has one line per request with what happened on the wire,
// and no query string or header values.
func TestAccessLog(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		var sink e2etest.SyncBuffer
		log := zerolog.New(&sink).Level(zerolog.InfoLevel)
		rt := handlers.NewRouter()
		rt.HandleFunc("GET /page", func(w *handlers.ResponseWriter, r *handlers.Request) {
			w.Write(bytes.Repeat([]byte("x"), 5000))
		})
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Logger: &log})

		c, err := net.Dial("tcp", env.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req := "GET /page?token=s3cret HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0psecret\r\n\r\n" +
			"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		var counted countingReader
		counted.r = c
		br := bufio.NewReader(&counted)
		var sizes []int64
		for range 2 {
			before := counted.n - int64(br.Buffered())
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sizes = append(sizes, counted.n-int64(br.Buffered())-before)
		}

		var got []map[string]any
		deadline := time.Now().Add(5 * time.Second)
		for len(got) < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			got = logLines(t, &sink, "request")
		}
		if len(got) != 2 {
			t.Fatalf("%d access-log lines, want 2", len(got))
		}
		first := strings.Index(req, "GET /missing")
		want := []struct {
			path      string
			status    float64
			in        int
			sends     float64
			bytesOut  int64
			hasHeader bool
		}{
			{"/page", 200, first, 3, sizes[0], true}, // 5000 bytes and a head: three 2048-byte sends
			{"/missing", 404, len(req) - first, 1, sizes[1], true},
		}
		for i, w := range want {
			g := got[i]
			if g["path"] != w.path || g["method"] != "GET" || g["status"] != w.status || g["ip"] != "127.0.0.1" {
				t.Errorf("line %d = %v, want GET %s %v from 127.0.0.1", i, g, w.path, w.status)
			}
			if g["bytes_in"] != float64(w.in) || g["bytes_out"] != float64(w.bytesOut) || g["at_sends"] != w.sends {
				t.Errorf("line %d: bytes_in %v bytes_out %v at_sends %v, want %d %d %v", i, g["bytes_in"], g["bytes_out"], g["at_sends"], w.in, w.bytesOut, w.sends)
			}
			for _, k := range []string{"link", "port", "wire_us", "handler_us", "total_us"} {
				if _, ok := g[k]; !ok {
					t.Errorf("line %d has no %q: %v", i, k, g)
				}
			}
		}
		all := sink.String()
		for _, secret := range []string{"s3cret", "t0psecret"} {
			if strings.Contains(all, secret) {
				t.Errorf("the log contains %q:\n%s", secret, all)
			}
		}
	})
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
