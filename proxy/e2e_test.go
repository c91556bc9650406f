package proxy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/proxy"
	"github.com/espgate/espgate/sim"
)

// echoDoc is what testdata/wsgi_app.py's /echo answers.
type echoDoc struct {
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Query      string              `json:"query"`
	Args       map[string][]string `json:"args"`
	Cookie     string              `json:"cookie"`
	Type       string              `json:"content_type"`
	Headers    map[string]string   `json:"headers"`
	BodyLen    int                 `json:"body_len"`
	BodySHA256 string              `json:"body_sha256"`
}

func decodeEcho(t *testing.T, resp *http.Response) echoDoc {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %q", resp.StatusCode, b)
	}
	var d echoDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatalf("decoding /echo: %v", err)
	}
	return d
}

// A Python WSGI app served by wsgiref on loopback is reachable through
// the modem as it is: GET and POST with bodies, query strings and cookies
// intact, forwarding headers set, native routes answering beside it.
func TestWSGIAppThroughTheModem(t *testing.T) {
	app := startPython(t, "testdata/wsgi_app.py")
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		rt.HandleFunc("GET /native", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("native") })
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Upstream: app.URL})
		c := env.Client(t)
		jar, _ := cookiejar.New(nil)
		c.Jar = jar
		u, _ := url.Parse(env.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en"}})

		// GET with a query string and a cookie.
		resp, err := c.Get(env.URL + "echo?name=J%C3%BCrgen&tag=a&tag=b+c")
		if err != nil {
			t.Fatal(err)
		}
		setCookies := resp.Header.Values("Set-Cookie")
		via := resp.Header.Get("Via")
		d := decodeEcho(t, resp)
		if d.Method != "GET" || d.Path != "/echo" || d.Query != "name=J%C3%BCrgen&tag=a&tag=b+c" ||
			d.Args["name"][0] != "Jürgen" || len(d.Args["tag"]) != 2 || d.Args["tag"][1] != "b c" {
			t.Fatalf("GET reached the app as %+v", d)
		}
		if d.Cookie != "lang=en" {
			t.Fatalf("app saw cookies %q, want lang=en", d.Cookie)
		}
		h := d.Headers
		if h["X-Forwarded-For"] != "127.0.0.1" || h["X-Forwarded-Proto"] != "http" ||
			h["X-Forwarded-Host"] != env.Addr || h["Host"] != env.Addr || h["Via"] != "1.1 espgate" {
			t.Fatalf("forwarding headers at the app: %v", h)
		}
		if len(setCookies) != 2 || via != "1.0 espgate" {
			t.Fatalf("client got Set-Cookie %q, Via %q", setCookies, via)
		}

		// The app's cookies come back on the next request; a POST body
		// arrives byte for byte.
		body := make([]byte, 48<<10)
		rand.Read(body)
		resp, err = c.Post(env.URL+"echo?kind=upload", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		d = decodeEcho(t, resp)
		sum := sha256.Sum256(body)
		if d.Method != "POST" || d.Query != "kind=upload" || d.Type != "application/octet-stream" ||
			d.BodyLen != len(body) || d.BodySHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("POST reached the app as %+v", d)
		}
		for _, want := range []string{"lang=en", "session=abc123", "theme=dark"} {
			if !strings.Contains(d.Cookie, want) {
				t.Fatalf("app saw cookies %q, want %s among them", d.Cookie, want)
			}
		}
		form := url.Values{"q": {"a&b=c"}, "n": {"1"}}
		resp, err = c.PostForm(env.URL+"echo", form)
		if err != nil {
			t.Fatal(err)
		}
		if d = decodeEcho(t, resp); d.BodyLen != len(form.Encode()) || d.Type != "application/x-www-form-urlencoded" {
			t.Fatalf("form POST reached the app as %+v", d)
		}

		// A POST that waits for 100 Continue; a HEAD answered with the
		// length a GET would have.
		req, _ := http.NewRequest("POST", env.URL+"echo?expect=1", bytes.NewReader(body[:3000]))
		req.Header.Set("Expect", "100-continue")
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if d = decodeEcho(t, resp); d.BodyLen != 3000 || d.Query != "expect=1" {
			t.Fatalf("POST with Expect reached the app as %+v", d)
		}
		resp, err = c.Head(env.URL + "page?n=5000")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 5000 {
			t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
		}

		// A native route answers beside the app; the app's 404 is its own.
		if code, b := e2etest.Get(t, c, env.URL+"native"); code != 200 || b != "native" {
			t.Fatalf("native route: %d %q", code, b)
		}
		if code, b := e2etest.Get(t, c, env.URL+"nothing"); code != 404 || b != "not found\n" {
			t.Fatalf("app's 404: %d %q", code, b)
		}
	})
}

// RewriteHost sends the upstream's own host; X-Forwarded-Host keeps the
// client's.
func TestRewriteHost(t *testing.T) {
	app := startPython(t, "testdata/wsgi_app.py")
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Upstream: app.URL, Proxy: proxy.Options{RewriteHost: true}})
		resp, err := env.Client(t).Get(env.URL + "echo")
		if err != nil {
			t.Fatal(err)
		}
		d := decodeEcho(t, resp)
		if d.Headers["Host"] != fmt.Sprintf("127.0.0.1:%d", app.Port) || d.Headers["X-Forwarded-Host"] != env.Addr {
			t.Fatalf("Host %q, X-Forwarded-Host %q", d.Headers["Host"], d.Headers["X-Forwarded-Host"])
		}
	})
}

// rawClient does not ask for or decode gzip by itself.
func rawClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func fetchEncoded(t *testing.T, c *http.Client, url, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp, b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("bad gzip: %v", err)
	}
	return out
}

// An uncompressed compressible body is gzipped on the way when the client
// accepts it, and the line carries fewer bytes; a small one, or one for a
// client that does not accept gzip, goes as it is.
func TestGzipOnTheWay(t *testing.T) {
	app := startPython(t, "testdata/wsgi_app.py")
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Upstream: app.URL})
		c := rawClient(t)
		const n = 20000

		before := env.Modem.Stats().BytesFromHost
		resp, plain := fetchEncoded(t, c, env.URL+fmt.Sprintf("page?n=%d", n), "")
		identityWire := env.Modem.Stats().BytesFromHost - before
		if resp.Header.Get("Content-Encoding") != "" || len(plain) != n || resp.ContentLength != n ||
			resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("without Accept-Encoding: %q, %d bytes, length %d, Vary %q",
				resp.Header.Get("Content-Encoding"), len(plain), resp.ContentLength, resp.Header.Get("Vary"))
		}

		before = env.Modem.Stats().BytesFromHost
		resp, zipped := fetchEncoded(t, c, env.URL+fmt.Sprintf("page?n=%d", n), "br, gzip;q=0.8")
		gzipWire := env.Modem.Stats().BytesFromHost - before
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("with gzip accepted: Content-Encoding %q, Vary %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
		}
		if got := gunzip(t, zipped); !bytes.Equal(got, plain) {
			t.Fatalf("gunzipped body differs: %d bytes, want %d", len(got), len(plain))
		}
		if gzipWire*4 > identityWire {
			t.Fatalf("line bytes: %d gzipped vs %d identity; want at most a quarter", gzipWire, identityWire)
		}
		t.Logf("a %d-byte page: %d bytes on the line as it is, %d gzipped", n, identityWire, gzipWire)

		// gzip;q=0 refuses it; a small body is not worth it.
		if resp, _ := fetchEncoded(t, c, env.URL+"page?n=20000", "gzip;q=0, identity"); resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("gzip;q=0: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		if resp, b := fetchEncoded(t, c, env.URL+"page?n=300", "gzip"); resp.Header.Get("Content-Encoding") != "" || len(b) != 300 {
			t.Fatalf("a 300-byte page: Content-Encoding %q, %d bytes", resp.Header.Get("Content-Encoding"), len(b))
		}

		// A body of unknown length streams compressed and ends complete.
		resp, zipped = fetchEncoded(t, c, env.URL+"stream?n=400", "gzip")
		got := gunzip(t, zipped)
		if resp.Header.Get("Content-Encoding") != "gzip" || bytes.Count(got, []byte("\n")) != 400 ||
			!bytes.HasPrefix(got, []byte("line 00000 ")) || !bytes.Contains(got, []byte("line 00399 ")) {
			t.Fatalf("streamed body: Content-Encoding %q, %d bytes unzipped", resp.Header.Get("Content-Encoding"), len(got))
		}
	})
}

// python -m http.server serves a 1 MB file through the modem byte for
// byte, streamed at the line rate: the heap in use while it flows (sampled
// after a collection) grows by far less than the file's size.
func TestLargeDownloadStreams(t *testing.T) {
	const lineBaud = 4_608_000 // the ESP8266's fastest UART rate
	dir := t.TempDir()
	data := make([]byte, 1<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	data = nil
	srv := startPython(t, "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, "0")
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		// A paced line, fast enough for a test: the body flows at the
		// line rate, and the emulator's own garbage stays small.
		env := e2etest.Start(t, p, &espgate.Server{Upstream: srv.URL,
			Emulator: sim.Config{Baud: lineBaud, Timing: sim.Timing{Command: time.Nanosecond}}})
		c := env.Client(t)

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var (
			peak uint64
			stop = make(chan struct{})
			wg   sync.WaitGroup
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}()
		start := time.Now()
		resp, err := c.Get(env.URL + "big.bin")
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		close(stop)
		wg.Wait()
		if err != nil || resp.StatusCode != 200 || n != 1<<20 || resp.ContentLength != 1<<20 {
			t.Fatalf("download: status %d, %d bytes (length %d), %v", resp.StatusCode, n, resp.ContentLength, err)
		}
		if !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatal("the downloaded file differs from the upstream's (sha256)")
		}
		growth := int64(peak) - int64(base)
		t.Logf("1 MiB in %v; heap in use grew by at most %d KiB during the transfer", time.Since(start).Round(time.Millisecond), growth>>10)
		if growth > 256<<10 {
			t.Fatalf("heap in use grew by %d KiB during a 1024 KiB transfer: the body is buffered, not streamed", growth>>10)
		}
	})
}

// A WebSocket app behind the proxy works over the modem: the upgrade
// passes through and messages flow both ways.
func TestWebSocketThroughTheProxy(t *testing.T) {
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
	up := httptest.NewServer(echo)
	defer up.Close()
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Upstream: up.URL})
		ws, err := websocket.Dial("ws://"+env.Addr+"/ws", "", "http://"+env.Addr+"/")
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		ws.SetDeadline(time.Now().Add(15 * time.Second))
		e2etest.WebSocketEcho(t, ws)
	})
}

// A stopped upstream gives 502, a stalled one 504, each with a short body
// that says so, and a log line.
func TestUpstreamFailures(t *testing.T) {
	stalled := rawUpstream(t, func(c net.Conn) {
		readHead(c)
		io.Copy(io.Discard, c) // never answers; returns when the proxy gives up
	})
	silent := rawUpstream(t, func(c net.Conn) {
		readHead(c)
		c.Close() // accepts the request, dies without a word
	})
	killed := startPython(t, "testdata/wsgi_app.py")
	killed.Kill()
	cases := []struct {
		name, upstream string
		want           int
		says           string
	}{
		{"nothing listening", "http://" + closedAddr(t), 502, "refused the connection"},
		{"killed process", killed.URL, 502, "refused the connection"},
		{"no socket", "unix:" + filepath.Join(t.TempDir(), "app.sock"), 502, "refused the connection"},
		{"closes without answering", silent, 502, "closed the connection without answering"},
		{"stalled", stalled, 504, "did not answer in time"},
	}
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		for _, tc := range cases {
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				var logs e2etest.SyncBuffer
				env := e2etest.Start(t, p, &espgate.Server{Upstream: tc.upstream, Logger: warnLogger(&logs),
					Proxy: proxy.Options{ResponseTimeout: 300 * time.Millisecond}})
				code, body := e2etest.Get(t, env.Client(t), env.URL+"some/page?x=1")
				if code != tc.want || !strings.Contains(body, tc.says) || len(body) > 100 {
					t.Fatalf("got %d %q, want %d saying %q", code, body, tc.want, tc.says)
				}
				if l := logs.String(); !strings.Contains(l, fmt.Sprintf(`"status":%d`, tc.want)) || !strings.Contains(l, `"path":"/some/page"`) {
					t.Fatalf("log: %s", l)
				}
			})
		}
	})
}

// An upstream that dies in the middle of a body gives the client a cut
// response, never one that looks complete, whether the part sent so far
// is small or large, plain or gzipped on the way.
func TestUpstreamDiesMidBody(t *testing.T) {
	dying := func(head string, n int) string {
		return rawUpstream(t, func(c net.Conn) {
			if readHead(c) != nil {
				return
			}
			io.WriteString(c, head)
			c.Write(bytes.Repeat([]byte("espgate "), n/8))
			c.Close()
		})
	}
	cases := []struct{ name, upstream, accept string }{
		{"small", dying("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", 2000), ""},
		{"large", dying("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", 40000), ""},
		{"chunked", dying("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n9c40\r\n", 20000), ""},
		{"gzipped", dying("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n9c40\r\n", 30000), "gzip"},
	}
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var logs e2etest.SyncBuffer
				env := e2etest.Start(t, p, &espgate.Server{Upstream: tc.upstream, Logger: warnLogger(&logs)})
				req, _ := http.NewRequest("GET", env.URL+"file", nil)
				if tc.accept != "" {
					req.Header.Set("Accept-Encoding", tc.accept)
				}
				resp, err := rawClient(t).Do(req)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.Header.Get("Content-Encoding") == "gzip" {
						_, err = gzip.NewReader(bytes.NewReader(b))
						if err == nil {
							_, err = io.ReadAll(must(gzip.NewReader(bytes.NewReader(b))))
						}
					}
					if err == nil {
						t.Fatalf("the client got a complete-looking response: %d, %d bytes", resp.StatusCode, len(b))
					}
				}
				if !strings.Contains(logs.String(), "upstream failed during the response body") {
					t.Fatalf("log: %s", logs.String())
				}
			})
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Server refuses an Upstream beside a Handler, and a malformed Upstream,
// before it touches the modem.
func TestServerUpstreamErrors(t *testing.T) {
	for _, c := range []struct {
		srv  *espgate.Server
		says string
	}{
		{&espgate.Server{Upstream: "http://127.0.0.1:1", Handler: http.NotFoundHandler()}, "not both"},
		{&espgate.Server{Upstream: "127.0.0.1:8000"}, "want http://host:port"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.srv.ListenAndServe(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: %v, want an error saying %q", c.srv, err, c.says)
		}
	}
}

// A request body goes up to the upstream as it arrives: the app has read
// the first half before the client sends the second.
func TestRequestBodyStreamsUp(t *testing.T) {
	firstHalf := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4000)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		firstHalf <- struct{}{}
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%x", sha256.Sum256(append(buf, rest...)))
	}))
	defer up.Close()
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Upstream: up.URL})
		body := make([]byte, 8000)
		rand.Read(body)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(body[:4000])
			select {
			case <-firstHalf:
				pw.Write(body[4000:])
				pw.Close()
			case <-time.After(10 * time.Second):
				pw.CloseWithError(fmt.Errorf("the upstream did not see the first half before the second was sent"))
			}
		}()
		req, _ := http.NewRequest("POST", env.URL+"up", pr)
		req.ContentLength = int64(len(body))
		resp, err := env.Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%x", sha256.Sum256(body)); resp.StatusCode != 200 || string(got) != want {
			t.Fatalf("%d %q, want 200 %q", resp.StatusCode, got, want)
		}
	})
}
