package handlers

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/espgate/espgate/parser"
)

// parsed builds a Request from a raw request head, as the loop does.
func parsed(t testing.TB, head string) *Request {
	t.Helper()
	p := parser.NewRequestParser(parser.DefaultLimits())
	in := []byte(head + "\r\n")
	for range 10 {
		n, ev := p.Feed(in)
		in = in[n:]
		switch ev.Kind {
		case parser.HTTPError:
			t.Fatalf("parsing %q: %d %s", head, ev.Status, ev.Reason)
		case parser.HTTPDone:
			r := &Request{}
			r.Reset(p.Request(), 0, nil, 0, nil)
			return r
		}
	}
	t.Fatalf("parsing %q: incomplete", head)
	return nil
}

func TestCleanFilePath(t *testing.T) {
	for _, c := range []struct {
		raw, name string
		dir       bool
		status    int
	}{
		{"/", ".", true, 0},
		{"/a.txt", "a.txt", false, 0},
		{"/css/site.css", "css/site.css", false, 0},
		{"/sub/", "sub", true, 0},
		{"/J%C3%BCrgen.txt", "Jürgen.txt", false, 0},
		{"/with%20space", "with space", false, 0},
		{"/..", "", false, 400},
		{"/a/../b", "", false, 400},
		{"/%2e%2e/secret", "", false, 400},
		{"/%2E%2e/secret", "", false, 400},
		{"/.%2e/secret", "", false, 400},
		{"/a/%2e/b", "", false, 400},
		{"/a%2fb", "", false, 400},
		{"/%2F..%2Fsecret", "", false, 400},
		{"/..%5csecret", "", false, 400},
		{"/a\\b", "", false, 400},
		{"/a%00b", "", false, 400},
		{"/a%0ab", "", false, 400},
		{"/a%7f", "", false, 400},
		{"//etc/passwd", "", false, 400},
		{"/a//b", "", false, 400},
		{"/a%", "", false, 400},
		{"/a%zz", "", false, 400},
		{"a.txt", "", false, 400},
		{"", "", false, 400},
		{"/.env", "", false, 404},
		{"/.git/config", "", false, 404},
		{"/sub/.hidden", "", false, 404},
		{"/%2egit/config", "", false, 404},
	} {
		name, dir, status := cleanFilePath([]byte(c.raw))
		if name != c.name || dir != c.dir || status != c.status {
			t.Errorf("cleanFilePath(%q) = %q, %v, %d; want %q, %v, %d", c.raw, name, dir, status, c.name, c.dir, c.status)
		}
	}
}

func TestParseRange(t *testing.T) {
	const size = 100
	for _, c := range []struct {
		h        string
		start, n int64
		ok       bool
	}{
		{"bytes=0-9", 0, 10, true},
		{"bytes=10-", 10, 90, true},
		{"bytes=-10", 90, 10, true},
		{"bytes=-1000", 0, 100, true},
		{"bytes=90-1000", 90, 10, true},
		{"bytes=99-99", 99, 1, true},
		{"BYTES=5-5", 5, 1, true},
		{" bytes= 1-2 ", 1, 2, true},
		{"bytes=100-", 0, -1, true},
		{"bytes=100-200", 0, -1, true},
		{"bytes=-0", 0, -1, true},
		{"bytes=9-0", 0, 0, false},
		{"bytes=0-1,5-6", 0, 0, false},
		{"bytes=a-b", 0, 0, false},
		{"bytes=-", 0, 0, false},
		{"bytes=1", 0, 0, false},
		{"items=0-1", 0, 0, false},
		{"bytes=99999999999999999999-", 0, 0, false},
		{"", 0, 0, false},
	} {
		start, n, ok := parseRange([]byte(c.h), size)
		if start != c.start || n != c.n || ok != c.ok {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %d, %d, %v", c.h, start, n, ok, c.start, c.n, c.ok)
		}
	}
	if _, n, ok := parseRange([]byte("bytes=-5"), 0); !ok || n >= 0 {
		t.Errorf("a suffix range of an empty file must be unsatisfiable: %d %v", n, ok)
	}
}

func TestAcceptedCodings(t *testing.T) {
	for _, c := range []struct {
		ae     string // "" sends no field
		br, gz int
	}{
		{"", 0, 0},
		{"gzip", 0, 1000},
		{"gzip, deflate, br", 1000, 1000},
		{"br;q=0, gzip", 0, 1000},
		{"gzip;q=0", 0, 0},
		{"gzip; q=0.000", 0, 0},
		{"gzip;q=0.5, br;q=0.8", 800, 500},
		{"*", 1000, 1000},
		{"*;q=0, gzip", 0, 1000},
		{"identity", 0, 0},
		{"x-gzip", 0, 1000},
		{"GZIP;Q=1.0", 0, 1000},
		{"gzip;q=2", 0, 0},
		{"gzip;q=0.1234", 0, 0},
		{"gzip;q=x", 0, 0},
	} {
		head := "GET / HTTP/1.1\r\nHost: x\r\n"
		if c.ae != "" {
			head += "Accept-Encoding: " + c.ae + "\r\n"
		}
		br, gz := acceptedCodings(parsed(t, head))
		if br != c.br || gz != c.gz {
			t.Errorf("Accept-Encoding %q: br %d gzip %d, want %d %d", c.ae, br, gz, c.br, c.gz)
		}
	}
	// Several fields make one list.
	br, gz := acceptedCodings(parsed(t, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nAccept-Encoding: br\r\n"))
	if br != 1000 || gz != 1000 {
		t.Errorf("two fields: br %d gzip %d", br, gz)
	}
}

func TestNotModified(t *testing.T) {
	mod := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	const tag = `"abc"`
	for _, c := range []struct {
		fields []string
		etag   string
		want   bool
	}{
		{nil, tag, false},
		{[]string{`If-None-Match: "abc"`}, tag, true},
		{[]string{`If-None-Match: W/"abc"`}, tag, true},
		{[]string{`If-None-Match: "abc"`}, `W/"abc"`, true},
		{[]string{`If-None-Match: "x", "y,z", "abc"`}, tag, true},
		{[]string{`If-None-Match: "x"`, `If-None-Match: "abc"`}, tag, true},
		{[]string{`If-None-Match: "abcd"`}, tag, false},
		{[]string{`If-None-Match: abc`}, tag, false},
		{[]string{`If-None-Match: *`}, tag, true},
		{[]string{"If-Modified-Since: " + mod.Format(http.TimeFormat)}, tag, true},
		{[]string{"If-Modified-Since: " + mod.Add(time.Hour).Format(http.TimeFormat)}, tag, true},
		{[]string{"If-Modified-Since: " + mod.Add(-time.Second).Format(http.TimeFormat)}, tag, false},
		{[]string{"If-Modified-Since: yesterday"}, tag, false},
		// If-None-Match decides alone when present.
		{[]string{`If-None-Match: "old"`, "If-Modified-Since: " + mod.Format(http.TimeFormat)}, tag, false},
	} {
		head := "GET / HTTP/1.1\r\nHost: x\r\n"
		for _, f := range c.fields {
			head += f + "\r\n"
		}
		if got := notModified(parsed(t, head), c.etag, mod.Add(300*time.Millisecond)); got != c.want {
			t.Errorf("%q with ETag %s: %v, want %v", c.fields, c.etag, got, c.want)
		}
	}
	// Without a modification time only If-None-Match can match.
	r := parsed(t, "GET / HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: "+mod.Format(http.TimeFormat)+"\r\n")
	if notModified(r, tag, time.Time{}) {
		t.Error("If-Modified-Since matched a file without a time")
	}
}

func TestIfRange(t *testing.T) {
	mod := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ifRange, etag string
		want          bool
	}{
		{"", `"abc"`, true},
		{`"abc"`, `"abc"`, true},
		{`"abd"`, `"abc"`, false},
		{`W/"abc"`, `"abc"`, false},
		{`"abc"`, `W/"abc"`, false},
		{mod.Format(http.TimeFormat), `"abc"`, true},
		{mod.Add(time.Second).Format(http.TimeFormat), `"abc"`, false},
		{"garbage", `"abc"`, false},
	} {
		head := "GET / HTTP/1.1\r\nHost: x\r\n"
		if c.ifRange != "" {
			head += "If-Range: " + c.ifRange + "\r\n"
		}
		if got := ifRangeHolds(parsed(t, head), c.etag, mod); got != c.want {
			t.Errorf("If-Range %q, ETag %s: %v, want %v", c.ifRange, c.etag, got, c.want)
		}
	}
}

func TestContentType(t *testing.T) {
	for _, c := range []struct {
		name, ctype  string
		compressible bool
	}{
		{"index.html", "text/html; charset=utf-8", true},
		{"INDEX.HTM", "text/html; charset=utf-8", true},
		{"app.js", "text/javascript; charset=utf-8", true},
		{"site.css", "text/css; charset=utf-8", true},
		{"data.json", "application/json", true},
		{"logo.svg", "image/svg+xml", true},
		{"photo.jpg", "image/jpeg", false},
		{"font.woff2", "font/woff2", false},
		{"app.js.gz", "application/gzip", false},
		{"README", "application/octet-stream", false},
		{"blob.unknownext", "application/octet-stream", false},
	} {
		ctype, comp := contentType(c.name)
		if ctype != c.ctype || comp != c.compressible {
			t.Errorf("contentType(%q) = %q, %v; want %q, %v", c.name, ctype, comp, c.ctype, c.compressible)
		}
	}
	if ctype, _ := contentType("x.wasm"); !strings.HasPrefix(ctype, "application/wasm") {
		t.Errorf("wasm: %q", ctype)
	}
}

func TestStripPrefix(t *testing.T) {
	for _, c := range []struct {
		prefix, target string
		status         int
		seen, loc      string
	}{
		{"/static", "/static/css/a.css", 200, "/css/a.css", ""},
		{"/static/", "/static/css/a.css", 200, "/css/a.css", ""},
		{"/static", "/static/", 200, "/", ""},
		{"/static/", "/static/", 200, "/", ""},
		{"/static", "/static", 301, "", "./static/"},
		{"/static", "/static?v=2", 301, "", "./static/?v=2"},
		{"/static", "/staticfoo", 404, "", ""},
		{"/static", "/other/x", 404, "", ""},
		{"/static", "/stat", 404, "", ""},
	} {
		seen := ""
		h := StripPrefix(c.prefix, HandlerFunc(func(w *ResponseWriter, r *Request) { seen = string(r.Path) }))
		r := request("GET", c.target)
		before := string(r.Path)
		var w ResponseWriter
		w.Reset(nil)
		h.ServeModem(&w, r)
		header, _, _, _, _ := w.Parts()
		loc := ""
		for _, line := range strings.Split(string(header), "\r\n") {
			if v, ok := strings.CutPrefix(line, "Location: "); ok {
				loc = v
			}
		}
		if w.Status() != c.status || seen != c.seen || loc != c.loc || string(r.Path) != before {
			t.Errorf("StripPrefix(%q) on %s: %d, handler saw %q, Location %q, Path after %q; want %d %q %q",
				c.prefix, c.target, w.Status(), seen, loc, r.Path, c.status, c.seen, c.loc)
		}
	}
}

// noSeekFS hides everything but Read, Stat and Close of its files, as a
// file system of compressed archive entries does.
type noSeekFS struct{ fs.FS }

type noSeekFile struct{ f fs.File }

func (n noSeekFile) Read(p []byte) (int, error) { return n.f.Read(p) }
func (n noSeekFile) Stat() (fs.FileInfo, error) { return n.f.Stat() }
func (n noSeekFile) Close() error               { return n.f.Close() }

func (n noSeekFS) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return noSeekFile{f}, nil
}

// serveFile runs h on a request head and returns the status, the header
// lines and the body, read from the stream as the loop would.
func serveFile(t *testing.T, h Handler, head string) (int, string, []byte) {
	t.Helper()
	var w ResponseWriter
	w.Reset(nil)
	h.ServeModem(&w, parsed(t, head))
	header, body, stream, length, _ := w.Parts()
	if stream != nil {
		b, err := io.ReadAll(stream)
		if err != nil {
			t.Fatalf("%q: reading the stream: %v", head, err)
		}
		if length >= 0 && int64(len(b)) != length {
			t.Fatalf("%q: stream of %d bytes, announced %d", head, len(b), length)
		}
		if c, ok := stream.(io.Closer); ok {
			c.Close()
		}
		body = b
	}
	return w.Status(), string(header), body
}

// A file system whose files cannot seek still gets ETags and 304s; a
// Range gets the whole file.
func TestFileServerWithoutSeek(t *testing.T) {
	content := []byte(strings.Repeat("body text ", 100))
	h := FileServer(noSeekFS{fstest.MapFS{"a.txt": {Data: content}}}, StaticOptions{GzipMinSize: -1})
	status, header, body := serveFile(t, h, "GET /a.txt HTTP/1.1\r\nHost: x\r\n")
	etag := headerValue(header, "ETag")
	if status != 200 || !bytes.Equal(body, content) || etag == "" {
		t.Fatalf("GET: %d, %d bytes, ETag %q", status, len(body), etag)
	}
	if status, _, _ := serveFile(t, h, "GET /a.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+etag+"\r\n"); status != 304 {
		t.Errorf("revalidation: %d", status)
	}
	status, header, body = serveFile(t, h, "GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=5-9\r\n")
	if status != 200 || !bytes.Equal(body, content) || headerValue(header, "Content-Range") != "" {
		t.Errorf("Range without seeking: %d, %d bytes, Content-Range %q", status, len(body), headerValue(header, "Content-Range"))
	}
}

// Files without times (embed.FS) get no Last-Modified, and
// If-Modified-Since never matches them.
func TestFileServerWithoutTimes(t *testing.T) {
	h := FileServer(fstest.MapFS{"a.css": {Data: []byte("p{color:red}")}}, StaticOptions{})
	status, header, _ := serveFile(t, h, "GET /a.css HTTP/1.1\r\nHost: x\r\n")
	if status != 200 || headerValue(header, "Last-Modified") != "" || headerValue(header, "ETag") == "" {
		t.Fatalf("GET: %d\n%s", status, header)
	}
	ims := "If-Modified-Since: " + time.Now().Format(http.TimeFormat) + "\r\n"
	if status, _, _ := serveFile(t, h, "GET /a.css HTTP/1.1\r\nHost: x\r\n"+ims); status != 200 {
		t.Errorf("If-Modified-Since on a file without a time: %d", status)
	}
}

func headerValue(header, name string) string {
	for _, line := range strings.Split(header, "\r\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// BenchmarkFileServer measures the handler's own cost per request (the
// body read from an in-memory file system), for a 200 and a 304.
func BenchmarkFileServer(b *testing.B) {
	content := bytes.Repeat([]byte("body{margin:0}\n"), 400)
	h := FileServer(fstest.MapFS{"site.css": {Data: content, ModTime: time.Unix(1e9, 0)}}, StaticOptions{CacheControl: "no-cache"})
	get := parsed(b, "GET /site.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n")
	var w ResponseWriter
	w.Reset(nil)
	h.ServeModem(&w, get)
	header, _, _, _, _ := w.Parts()
	etag := headerValue(string(header), "ETag")
	revalidate := parsed(b, "GET /site.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+etag+"\r\n")
	buf := make([]byte, 2048)
	for _, c := range []struct {
		name   string
		r      *Request
		status int
	}{{"200", get, 200}, {"304", revalidate, 304}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(nil)
				h.ServeModem(&w, c.r)
				if w.Status() != c.status {
					b.Fatalf("status %d", w.Status())
				}
				if _, _, stream, _, _ := w.Parts(); stream != nil {
					for {
						if _, err := stream.Read(buf); err != nil {
							break
						}
					}
					stream.(io.Closer).Close()
				}
			}
		})
	}
}
