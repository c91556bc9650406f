package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestParseUpstream(t *testing.T) {
	for _, c := range []struct {
		in, url, socket string
	}{
		{"http://127.0.0.1:8000", "http://127.0.0.1:8000", ""},
		{"http://localhost:3000/app", "http://localhost:3000/app", ""},
		{"unix:/run/app.sock", "http://localhost", "/run/app.sock"},
		{"unix:///run/app.sock", "http://localhost", "/run/app.sock"},
		{"unix:app.sock", "http://localhost", "app.sock"},
	} {
		u, socket, err := parseUpstream(c.in)
		if err != nil || u.String() != c.url || socket != c.socket {
			t.Errorf("%q: %v %q %v, want %s %q", c.in, u, socket, err, c.url, c.socket)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8000", ":8000", "https://example.com", "unix:", "ftp://x", "http://", "http://u:p@host:1", "http://h:1/#frag"} {
		if _, err := New(bad, Options{}); err == nil || !strings.Contains(err.Error(), "upstream") {
			t.Errorf("%q: err %v, want a clear upstream error", bad, err)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		ae   string
		want bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"*", true},
		{"*;q=0", false},
		{"*, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"identity", false},
		{"br", false},
		{"gzip;q=nonsense", false},
		{"deflate, gzip;q=0.5", true},
	} {
		h := http.Header{}
		if c.ae != "" {
			h.Set("Accept-Encoding", c.ae)
		}
		if got := acceptsGzip(h); got != c.want {
			t.Errorf("Accept-Encoding %q: %v, want %v", c.ae, got, c.want)
		}
	}
}

func TestCompressible(t *testing.T) {
	yes := []string{"text/html", "text/html; charset=utf-8", "text/css", "text/plain", "application/json",
		"application/javascript", "text/javascript", "application/xml", "image/svg+xml", "application/ld+json",
		"application/atom+xml", "application/manifest+json", "application/wasm"}
	no := []string{"", "image/png", "image/jpeg", "application/octet-stream", "application/zip",
		"application/gzip", "video/mp4", "font/woff2", "garbage;;"}
	for _, ct := range yes {
		if !compressible(ct) {
			t.Errorf("%q: not compressible, want compressible", ct)
		}
	}
	for _, ct := range no {
		if compressible(ct) {
			t.Errorf("%q: compressible, want not", ct)
		}
	}
}

// response builds what the Transport would hand ModifyResponse.
func response(method, acceptEncoding string, status int, length int64, header ...string) *http.Response {
	req := httptest.NewRequest(method, "/", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	res := &http.Response{StatusCode: status, Header: http.Header{}, ContentLength: length, Request: req}
	if length >= 0 {
		res.Header.Set("Content-Length", fmt.Sprint(length))
	}
	for i := 0; i+1 < len(header); i += 2 {
		res.Header.Add(header[i], header[i+1])
	}
	return res
}

func TestGzipDecision(t *testing.T) {
	const html = "text/html; charset=utf-8"
	for _, c := range []struct {
		name string
		res  *http.Response
		gz   bool
		vary bool
	}{
		{"html, gzip accepted", response("GET", "gzip", 200, 5000, "Content-Type", html), true, true},
		{"unknown length", response("GET", "gzip", 200, -1, "Content-Type", html), true, true},
		{"404 page", response("GET", "gzip", 404, 5000, "Content-Type", html), true, true},
		{"not accepted", response("GET", "", 200, 5000, "Content-Type", html), false, true},
		{"refused", response("GET", "gzip;q=0", 200, 5000, "Content-Type", html), false, true},
		{"below threshold", response("GET", "gzip", 200, 1023, "Content-Type", html), false, false},
		{"at threshold", response("GET", "gzip", 200, 1024, "Content-Type", html), true, true},
		{"image", response("GET", "gzip", 200, 50000, "Content-Type", "image/png"), false, false},
		{"no type", response("GET", "gzip", 200, 50000), false, false},
		{"already gzip", response("GET", "gzip", 200, 5000, "Content-Type", html, "Content-Encoding", "gzip"), false, false},
		{"already br", response("GET", "gzip", 200, 5000, "Content-Type", html, "Content-Encoding", "br"), false, false},
		{"identity", response("GET", "gzip", 200, 5000, "Content-Type", html, "Content-Encoding", "identity"), true, true},
		{"range", response("GET", "gzip", 206, 5000, "Content-Type", html, "Content-Range", "bytes 0-4999/9000"), false, false},
		{"HEAD", response("HEAD", "gzip", 200, 5000, "Content-Type", html), false, false},
		{"304", response("GET", "gzip", 304, -1, "Content-Type", html), false, false},
		{"204", response("GET", "gzip", 204, -1, "Content-Type", html), false, false},
		{"no-transform", response("GET", "gzip", 200, 5000, "Content-Type", html, "Cache-Control", "public, no-transform"), false, false},
	} {
		res := c.res
		got := gzipResponse(res, DefaultGzipMinSize)
		vary := hasToken(res.Header["Vary"], "Accept-Encoding")
		if got != c.gz || vary != c.vary {
			t.Errorf("%s: gzip %v, Vary %v; want %v, %v", c.name, got, vary, c.gz, c.vary)
		}
		if got && (res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Content-Length") != "") {
			t.Errorf("%s: header after: %v", c.name, res.Header)
		}
	}
	// A compressed form: strong validators weaken, byte ranges go, an
	// existing Vary is kept.
	res := response("GET", "gzip", 200, 5000, "Content-Type", html, "Etag", `"v1"`, "Accept-Ranges", "bytes", "Vary", "Cookie")
	if !gzipResponse(res, DefaultGzipMinSize) || res.Header.Get("Etag") != `W/"v1"` || res.Header.Get("Accept-Ranges") != "" ||
		strings.Join(res.Header.Values("Vary"), ",") != "Cookie,Accept-Encoding" {
		t.Fatalf("compressed header: %v", res.Header)
	}
}

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, c := range []struct {
		err    error
		status int
		says   string
	}{
		{refused, 502, "refused"},
		{&net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ENOENT)}, 502, "refused"},
		{io.EOF, 502, "without answering"},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), 502, "without answering"},
		{errors.New("malformed HTTP response"), 502, "no valid answer"},
		{context.DeadlineExceeded, 504, "in time"},
		{&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, 504, "in time"},
	} {
		status, msg := classify(c.err)
		if status != c.status || !strings.Contains(msg, c.says) {
			t.Errorf("%v: %d %q, want %d %q", c.err, status, msg, c.status, c.says)
		}
	}
}

// Hop-by-hop headers stop at the proxy in both directions; forwarding
// headers replace what the client claimed; Via grows by one hop.
func TestHeadersAtTheUpstream(t *testing.T) {
	var seen http.Header
	var seenHost string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, seenHost = r.Header.Clone(), r.Host
		w.Header().Set("Connection", "X-Upstream-Hop")
		w.Header().Set("X-Upstream-Hop", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	p, err := New(up.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdleConnections()
	req := httptest.NewRequest("GET", "http://modem.lan/a/b?c=d", nil)
	req.RemoteAddr = "192.168.1.23:50000"
	req.Header.Set("Connection", "keep-alive, X-Client-Hop")
	req.Header.Set("X-Client-Hop", "1")
	req.Header.Set("Proxy-Authorization", "Basic eA==")
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("Via", "1.0 fred")
	req.Header.Set("Cookie", "a=1; b=2")
	req.Header.Set("Expect", "100-continue")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	for _, h := range []string{"X-Client-Hop", "Proxy-Authorization", "Keep-Alive", "Expect"} {
		if seen.Get(h) != "" {
			t.Errorf("upstream saw hop-by-hop %s", h)
		}
	}
	if seen.Get("X-Forwarded-For") != "192.168.1.23" || seen.Get("X-Forwarded-Proto") != "http" ||
		seen.Get("X-Forwarded-Host") != "modem.lan" || seen.Get("Via") != "1.0 fred, 1.1 espgate" ||
		seen.Get("Cookie") != "a=1; b=2" || seenHost != "modem.lan" {
		t.Errorf("upstream saw Host %q, header %v", seenHost, seen)
	}
	if rec.Header().Get("X-Upstream-Hop") != "" || rec.Header().Get("Keep-Alive") != "" || rec.Header().Get("Via") != "1.1 espgate" {
		t.Errorf("client got %v", rec.Header())
	}

	// Without the modem's report of the client, no X-Forwarded-For.
	req = httptest.NewRequest("GET", "http://modem.lan/", nil)
	req.RemoteAddr = "0.0.0.0:0"
	p.ServeHTTP(httptest.NewRecorder(), req)
	if _, ok := seen["X-Forwarded-For"]; ok {
		t.Errorf("X-Forwarded-For %q for an unknown client", seen.Get("X-Forwarded-For"))
	}
}

// A unix-socket upstream with a base path: the path is prefixed, and with
// RewriteHost the Host is the upstream's.
func TestUnixSocketUpstream(t *testing.T) {
	dir, err := os.MkdirTemp("", "espgate") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", r.Host, r.URL.Path, r.URL.RawQuery)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	p, err := New("unix:"+sock, Options{RewriteHost: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdleConnections()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "http://modem.lan/x?y=1", nil))
	if rec.Code != 200 || rec.Body.String() != "localhost /x y=1" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	pb, err := New("http://"+tcpEcho(t)+"/base", Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	pb.ServeHTTP(rec, httptest.NewRequest("GET", "http://modem.lan/x?y=1", nil))
	if rec.Body.String() != "modem.lan /base/x y=1" {
		t.Fatalf("base path: %q", rec.Body)
	}
}

// tcpEcho serves the same echo on loopback TCP and returns its address.
func tcpEcho(t *testing.T) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", r.Host, r.URL.Path, r.URL.RawQuery)
	}))
	t.Cleanup(up.Close)
	return strings.TrimPrefix(up.URL, "http://")
}

// A streamed body is compressed as it arrives: each piece the upstream
// flushes reaches the client's side while the upstream still holds the
// rest back.
func TestGzipStreamsAsItArrives(t *testing.T) {
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: event %d %s\n\n", i, strings.Repeat("x", 100))
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer up.Close()
	p, err := New(up.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdleConnections()
	front := httptest.NewServer(p)
	defer front.Close()
	req, _ := http.NewRequest("GET", front.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		line := make([]byte, len(fmt.Sprintf("data: event %d %s\n\n", i, strings.Repeat("x", 100))))
		done := make(chan error, 1)
		go func() { _, err := io.ReadFull(zr, line); done <- err }()
		select {
		case err := <-done:
			if err != nil || !bytes.HasPrefix(line, fmt.Appendf(nil, "data: event %d ", i)) {
				t.Fatalf("event %d: %q %v", i, line, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d did not arrive while the upstream waited", i)
		}
		if i < 2 {
			next <- struct{}{}
		}
	}
	close(next)
	if rest, err := io.ReadAll(zr); err != nil || len(rest) != 0 {
		t.Fatalf("after the events: %q %v", rest, err)
	}
}

// Requests reuse pooled keep-alive connections to the upstream.
func TestKeepAlivePool(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	up.Start()
	defer up.Close()
	p, err := New(up.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdleConnections()
	for range 20 {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("GET", "http://modem.lan/", nil))
		if rec.Body.String() != "ok" {
			t.Fatalf("%d %q", rec.Code, rec.Body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Fatalf("20 requests in turn opened %d connections to the upstream, want 1", conns)
	}
}
