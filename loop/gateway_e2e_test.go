package loop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// stdlibApp is an ordinary ServeMux app with Go 1.22 patterns.
func stdlibApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "created %v\n", v["name"])
	})
	mux.HandleFunc("/static/{path...}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "file %s", r.PathValue("path"))
	})
	return mux
}

func TestServeMuxAppThroughTheModem(t *testing.T) {
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		s := start(t, serverOpts{profile: p, handler: handlers.Gateway(stdlibApp())})
		c := newClient()
		if code, body := e2etest.Get(t, c, s.url("/items/42")); code != 200 || body != "{\"id\":\"42\"}\n" {
			t.Fatalf("GET /items/42: %d %q", code, body)
		}
		resp, err := c.Post(s.url("/items"), "application/json", strings.NewReader(`{"name":"lamp"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || string(b) != "created lamp\n" {
			t.Fatalf("POST: %d %q", resp.StatusCode, b)
		}
		if code, body := e2etest.Get(t, c, s.url("/static/css/site.css")); code != 200 || body != "file css/site.css" {
			t.Fatalf("static: %d %q", code, body)
		}
		if code, _ := e2etest.Get(t, c, s.url("/nothing")); code != 404 {
			t.Fatalf("404: %d", code)
		}
		req, _ := http.NewRequest("DELETE", s.url("/items/1"), nil)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || !strings.Contains(resp.Header.Get("Allow"), "GET") {
			t.Fatalf("405: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
}

func TestChiAppThroughTheModem(t *testing.T) {
	r := chi.NewRouter()
	r.Get("/users/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", chi.URLParam(r, "name"))
	})
	r.Route("/api", func(r chi.Router) {
		r.Put("/v1/thing", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Len", fmt.Sprint(len(b)))
			w.WriteHeader(http.StatusAccepted)
		})
	})
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		s := start(t, serverOpts{profile: p, handler: handlers.Gateway(r)})
		c := newClient()
		if code, body := e2etest.Get(t, c, s.url("/users/ada")); code != 200 || body != "hello ada" {
			t.Fatalf("chi GET: %d %q", code, body)
		}
		req, _ := http.NewRequest("PUT", s.url("/api/v1/thing"), strings.NewReader("12345"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 || resp.Header.Get("X-Len") != "5" {
			t.Fatalf("chi PUT: %d X-Len %q", resp.StatusCode, resp.Header.Get("X-Len"))
		}
	})
}

// seen is what a handler observed of a request, for the differential test.
type seen struct {
	Method, URL, RequestURI, Proto string
	ProtoMajor, ProtoMinor         int
	Header                         http.Header
	Host                           string
	ContentLength                  int64
	TransferEncoding               []string
	Close                          bool
	Body                           string
	RemoteHost                     string
	Form                           string
}

func capture(out chan<- seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ParseForm()
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		out <- seen{r.Method, r.URL.String(), r.RequestURI, r.Proto, r.ProtoMajor, r.ProtoMinor,
			r.Header, r.Host, r.ContentLength, r.TransferEncoding, r.Close, string(b), host, r.Form.Encode()}
		w.Write([]byte("ok"))
	})
}

// The *http.Request the gateway builds matches, field by field, what
// net/http's own server builds from the same bytes.
func TestGatewayRequestMatchesNetHTTP(t *testing.T) {
	corpus := []string{
		"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
		"GET /p/a%20b?q=1&r=%C3%A9&q=2 HTTP/1.1\r\nHost: a.example:8080\r\nUser-Agent: t\r\nAccept: */*\r\nX-Multi: 1\r\nX-Multi: 2\r\ncontent-type: text/plain\r\n\r\n",
		"POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\n\r\nname=x&age=42",
		"POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"GET /old HTTP/1.0\r\n\r\n",
		"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"PUT /empty HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		"GET http://proxy.example/abs?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n",
		"GET /sp HTTP/1.1\r\nHost: h\r\nX-Space:   padded value  \r\n\r\n",
	}
	viaNetHTTP := make(chan seen, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: capture(viaNetHTTP)}
	go srv.Serve(ln)
	defer srv.Close()

	viaModem := make(chan seen, 1)
	s := start(t, serverOpts{profile: sim.NonOS, handler: handlers.Gateway(capture(viaModem))})

	send := func(addr, raw string, got <-chan seen) seen {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, raw)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		resp.Body.Close()
		select {
		case v := <-got:
			return v
		case <-time.After(5 * time.Second):
			t.Fatalf("%q: handler not called", raw)
			return seen{}
		}
	}
	// net/http answers OPTIONS * itself, without calling the handler; so
	// does the gateway.
	for _, addr := range []string{ln.Addr().String(), s.addr} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil || resp.StatusCode != 200 || resp.ContentLength != 0 {
			t.Fatalf("OPTIONS * via %s: %v %v", addr, resp, err)
		}
	}
	for _, raw := range corpus {
		want := send(ln.Addr().String(), raw, viaNetHTTP)
		got := send(s.addr, raw, viaModem)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("request %q\n gateway: %+v\n net/http: %+v", raw, got, want)
		}
	}
}

// A handler that writes 1 MB slowly, flushing, is received intact while
// another link keeps being served; a disconnect cancels the context.
func TestGatewayStreamingAndCancel(t *testing.T) {
	big := patternCached(1 << 20)
	cancelled := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for off := 0; off < len(big); off += 32 << 10 {
			if _, err := w.Write(big[off:min(off+32<<10, len(big))]); err != nil {
				return
			}
			rc.Flush()
			time.Sleep(2 * time.Millisecond)
		}
	})
	mux.HandleFunc("/quick", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "quick") })
	mux.HandleFunc("/forever", func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			cancelled <- r.Context().Err()
		case <-time.After(20 * time.Second):
			cancelled <- fmt.Errorf("context not cancelled")
		}
	})
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		s := start(t, serverOpts{profile: p, handler: handlers.Gateway(mux)})
		var wg sync.WaitGroup
		wg.Add(1)
		var slowErr error
		go func() {
			defer wg.Done()
			code, body := e2etest.Get(t, newClient(), s.url("/slow"))
			if code != 200 || sha256.Sum256([]byte(body)) != sha256.Sum256(big) {
				slowErr = fmt.Errorf("slow: %d, %d bytes, sha256 mismatch", code, len(body))
			}
		}()
		c := newClient()
		for range 10 {
			if code, body := e2etest.Get(t, c, s.url("/quick")); code != 200 || body != "quick" {
				t.Fatalf("quick during the stream: %d %q", code, body)
			}
		}
		wg.Wait()
		if slowErr != nil {
			t.Fatal(slowErr)
		}

		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(conn)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("forever: %q %v", line, err)
		}
		conn.Close()
		if err := <-cancelled; err != context.Canceled {
			t.Fatalf("handler context after disconnect: %v", err)
		}
	})
}
