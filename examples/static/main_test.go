package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

var fixedNow = func() time.Time { return time.Unix(1_700_000_000, 0) }

// The committed .gz siblings hold exactly their files: a stale one would
// send browsers an old version.
func TestSiblingsFresh(t *testing.T) {
	err := fs.WalkDir(siteFiles, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) == ".gz" {
			return err
		}
		src, _ := siteFiles.ReadFile(p)
		gz, err := siteFiles.ReadFile(p + ".gz")
		if err != nil {
			if len(src) >= 512 && path.Ext(p) != ".png" {
				t.Errorf("%s has no .gz sibling: run go generate", p)
			}
			return nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Errorf("%s.gz: %v", p, err)
			return nil
		}
		if b, err := io.ReadAll(zr); err != nil || !bytes.Equal(b, src) {
			t.Errorf("%s.gz is stale (%v): run go generate", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, c *http.Client, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, b
}

func TestExample(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: routes(fixedNow)})
		c := env.Client(t)
		index, _ := siteFiles.ReadFile("site/index.html")
		indexGz, _ := siteFiles.ReadFile("site/index.html.gz")

		resp, body := get(t, c, env.URL, "Accept-Encoding: identity")
		etag := resp.Header.Get("Etag")
		if resp.StatusCode != 200 || !bytes.Equal(body, index) || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			resp.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(etag, `"`) {
			t.Fatalf("/: %d %q %q ETag %q, body is index.html: %v", resp.StatusCode, resp.Header.Get("Content-Type"),
				resp.Header.Get("Cache-Control"), etag, bytes.Equal(body, index))
		}
		if lm := resp.Header.Get("Last-Modified"); lm != "" {
			t.Errorf("embedded files have no time, yet Last-Modified %q", lm)
		}
		resp, body = get(t, c, env.URL+"index.html", "Accept-Encoding: gzip, deflate")
		if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, indexGz) || resp.Header.Get("Etag") == etag {
			t.Errorf("index.html with gzip: %q, ETag %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Etag"))
		}
		if resp, _ := get(t, c, env.URL, "Accept-Encoding: identity", "If-None-Match: "+etag); resp.StatusCode != 304 {
			t.Errorf("revalidating /: %d", resp.StatusCode)
		}
		for file, ctype := range map[string]string{
			"style.css":   "text/css; charset=utf-8",
			"app.js":      "text/javascript; charset=utf-8",
			"favicon.svg": "image/svg+xml",
		} {
			if resp, _ := get(t, c, env.URL+file); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype {
				t.Errorf("%s: %d %q", file, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}

		resp, body = get(t, c, env.URL+"api/readings")
		var data struct {
			Readings []struct {
				T                      int64
				Temp, Hum, Soil, Light float64
			}
		}
		if err := json.Unmarshal(body, &data); err != nil || resp.StatusCode != 200 || len(data.Readings) != window/readingEvery {
			t.Fatalf("api/readings: %d, %d readings, %v", resp.StatusCode, len(data.Readings), err)
		}
		last := data.Readings[len(data.Readings)-1].T
		_, body = get(t, c, env.URL+"api/readings?since="+itoa(last-readingEvery))
		if err := json.Unmarshal(body, &data); err != nil || len(data.Readings) != 1 || data.Readings[0].T != last {
			t.Errorf("api/readings?since: %s (%v)", body, err)
		}
		if resp, _ := get(t, c, env.URL+"api/readings?since=soon"); resp.StatusCode != 400 {
			t.Errorf("api/readings?since=soon: %d", resp.StatusCode)
		}
	})
}

func itoa(v int64) string { return string(appendInt(nil, v)) }

func appendInt(b []byte, v int64) []byte {
	if v >= 10 {
		b = appendInt(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// phase is one load of the page: what crossed the serial line and how
// long the page took.
type phase struct {
	name        string
	toHost      int64 // modem to host: requests in +IPD frames, prompts, SEND OK, link notices
	fromHost    int64 // host to modem: AT+CIPSEND commands and the responses
	bodies      int64 // response body bytes the client received
	elapsed     time.Duration
	statuses    map[string]int
	etags       map[string]string
	wireBytes   int64
	contentSame bool
}

var pageFiles = []string{"", "style.css", "app.js", "favicon.svg"}

// loadPage fetches the page as a browser does, on fresh connections:
// the HTML, then its stylesheet, script and icon in parallel. It returns
// once the links are closed, so that each phase pays for its own.
func loadPage(t *testing.T, env *e2etest.Env, links *linkCount, name string, header func(file string) []string) phase {
	t.Helper()
	tr := &http.Transport{MaxConnsPerHost: 5, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	ph := phase{name: name, statuses: map[string]int{}, etags: map[string]string{}, contentSame: true}
	var mu sync.Mutex
	fetch := func(file string) {
		req, _ := http.NewRequest("GET", env.URL+file, nil)
		for _, h := range header(file) {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("%s: GET /%s: %v", name, file, err)
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Errorf("%s: GET /%s: %v", name, file, err)
		}
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Errorf("%s: /%s: %v", name, file, err)
				return
			}
			b, _ = io.ReadAll(zr)
		}
		want, _ := siteFiles.ReadFile("site/" + file)
		if file == "" {
			want, _ = siteFiles.ReadFile("site/index.html")
		}
		mu.Lock()
		defer mu.Unlock()
		ph.statuses[file] = resp.StatusCode
		ph.etags[file] = resp.Header.Get("Etag")
		ph.bodies += resp.ContentLength
		if resp.StatusCode == 200 && !bytes.Equal(b, want) {
			ph.contentSame = false
		}
	}
	before := env.Modem.Stats()
	opened := links.opened.Load()
	start := time.Now()
	fetch(pageFiles[0])
	var wg sync.WaitGroup
	for _, f := range pageFiles[1:] {
		wg.Go(func() { fetch(f) })
	}
	wg.Wait()
	ph.elapsed = time.Since(start)
	tr.CloseIdleConnections()
	links.waitClosed(t, opened)
	after := env.Modem.Stats()
	ph.toHost = after.BytesToHost - before.BytesToHost
	ph.fromHost = after.BytesFromHost - before.BytesFromHost
	ph.wireBytes = ph.toHost + ph.fromHost
	t.Logf("%-26s %6d bytes on the line (%5d to the host, %5d from it; bodies %5d) in %4d ms",
		name+":", ph.wireBytes, ph.toHost, ph.fromHost, ph.bodies, ph.elapsed.Milliseconds())
	return ph
}

// linkCount follows links opening and closing on the server.
type linkCount struct{ opened, closed atomic.Int64 }

func (l *linkCount) observe(n fsm.Note) {
	switch n.Kind {
	case fsm.NoteLinkOpen:
		l.opened.Add(1)
	case fsm.NoteLinkClosed:
		l.closed.Add(1)
	}
}

// waitClosed waits until no link is open and at least one opened since
// the count opened.
func (l *linkCount) waitClosed(t *testing.T, opened int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if o := l.opened.Load(); o > opened && l.closed.Load() == o {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("links still open: %d opened, %d closed", l.opened.Load(), l.closed.Load())
}

// The page loaded cold without compression, cold with the precompressed
// siblings, and warm (every file revalidated: 304), at 115200 baud with
// the modem's real latencies. Bytes are asserted; times are logged
// (go test -v -run TestPageColdAndWarm ./examples/static).
func TestPageColdAndWarm(t *testing.T) {
	if testing.Short() {
		t.Skip("paced at 115200 baud: a few seconds")
	}
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		links := &linkCount{}
		srv := &espgate.Server{Routes: routes(fixedNow), Observe: links.observe, Emulator: sim.Config{Baud: 115200}}
		env := e2etest.Start(t, p, srv)

		identity := loadPage(t, env, links, "cold, no compression", func(string) []string {
			return []string{"Accept-Encoding: identity"}
		})
		gz := loadPage(t, env, links, "cold, gzip siblings", func(string) []string {
			return []string{"Accept-Encoding: gzip, deflate"}
		})
		warm := loadPage(t, env, links, "warm, 304 Not Modified", func(file string) []string {
			return []string{"Accept-Encoding: gzip, deflate", "If-None-Match: " + gz.etags[file]}
		})
		for _, ph := range []phase{identity, gz, warm} {
			want := 200
			if ph.name == warm.name {
				want = 304
			}
			for _, f := range pageFiles {
				if ph.statuses[f] != want {
					t.Errorf("%s: /%s got %d, want %d", ph.name, f, ph.statuses[f], want)
				}
			}
			if !ph.contentSame {
				t.Errorf("%s: a body differs from its file", ph.name)
			}
		}
		t.Logf("gzip siblings: %.0f%% of the cold bytes; warm: %.1f%%",
			100*float64(gz.wireBytes)/float64(identity.wireBytes), 100*float64(warm.wireBytes)/float64(identity.wireBytes))
		if gz.wireBytes*100 >= identity.wireBytes*45 {
			t.Errorf("precompression: %d wire bytes against %d without: want under 45%%", gz.wireBytes, identity.wireBytes)
		}
		if warm.wireBytes*100 >= identity.wireBytes*15 {
			t.Errorf("warm load: %d wire bytes against %d cold: want under 15%%", warm.wireBytes, identity.wireBytes)
		}
	})
}
