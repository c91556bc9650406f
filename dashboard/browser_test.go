package dashboard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/metrics"
	"github.com/espgate/espgate/sim"
)

// chromium returns the path of a Chromium or Chrome on PATH, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// navTiming is the browser's record of a page load
// (PerformanceNavigationTiming): times in ms from the navigation's start.
type navTiming struct {
	ResponseEnd     float64 `json:"responseEnd"`
	LoadEventEnd    float64 `json:"loadEventEnd"`
	TransferSize    int     `json:"transferSize"` // the body and a nominal 300 for the head
	EncodedBodySize int     `json:"encodedBodySize"`
	DecodedBodySize int     `json:"decodedBodySize"`
}

const navTimingJS = `performance.getEntriesByType("navigation")[0].toJSON()`

// A person opens the dashboard in a browser over the emulated modem at
// 115200 baud with its real latencies: the title, five link rows and the
// modem's state are there, and the figures move while a client makes
// requests. The page load times (cold, then a reload) are logged, and a
// screenshot is written to $ESPGATE_SCREENSHOT_DIR or the test's temporary
// directory:
//
//	go test -v -run TestBrowser ./dashboard
//
// Without Chromium on PATH the test skips, unless ESPGATE_REQUIRE_BROWSER=1
// (CI), where it fails.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("paced at 115200 baud: several seconds")
	}
	exe := chromium()
	if exe == "" {
		const msg = "no Chromium on PATH (chromium, chromium-browser, google-chrome, headless-shell): apt-get install chromium to run the browser test"
		if os.Getenv("ESPGATE_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + "; ESPGATE_REQUIRE_BROWSER=1 requires it")
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", "new"),
		// The browser visits only the test's loopback server; as root (CI
		// containers) Chromium refuses to start with its sandbox.
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(900, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	start := time.Now()
	if err := chromedp.Do(browser); err != nil { // starts the browser; no timeout, which would stop it
		t.Fatalf("starting %s: %v", exe, err)
	}
	t.Logf("%s started in %v", exe, time.Since(start).Round(time.Millisecond))

	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		mx := metrics.New(nil)
		d := New(Options{Baud: 115200, Metrics: mx})
		rt := handlers.NewRouter()
		d.Mount(rt, "/")
		rt.HandleFunc("GET /hello", func(w *handlers.ResponseWriter, r *handlers.Request) {
			w.WriteString("Hello from espgate!\n")
		})
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Metrics: mx, Observe: d.Observe,
			Emulator: sim.Config{Baud: 115200}}) // paced, with the modem's latencies

		tab, cancelTab := chromedp.NewContext(browser) // a tab of its own: a cold cache for this server
		defer cancelTab()
		ctx, cancel := context.WithTimeout(tab, 40*time.Second)
		defer cancel()
		run := func(what string, a chromedp.Action[chromedp.Void]) {
			t.Helper()
			if _, err := chromedp.Run(ctx, a); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		eval := func(js string) string {
			t.Helper()
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
			if err != nil {
				t.Fatalf("%s: %v", js, err)
			}
			return s
		}

		// Cold load.
		before := env.Modem.Stats()
		run("loading the page", chromedp.Navigate(env.URL))
		after := env.Modem.Stats()
		cold, err := chromedp.Run(ctx, chromedp.Evaluate[navTiming](navTimingJS))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("cold load: %.0f ms to the load event (the document in by %.0f ms); body %d bytes gzip (%d unzipped); "+
			"%d bytes on the serial line until the load event, the event stream's start included (%d to the host, %d from it)",
			cold.LoadEventEnd, cold.ResponseEnd, cold.EncodedBodySize, cold.DecodedBodySize,
			after.BytesToHost-before.BytesToHost+after.BytesFromHost-before.BytesFromHost,
			after.BytesToHost-before.BytesToHost, after.BytesFromHost-before.BytesFromHost)
		if page, _ := siteFiles.ReadFile("site/index.html.gz"); cold.EncodedBodySize != len(page) {
			t.Errorf("the page came as %d bytes, want its %d-byte gzip sibling", cold.EncodedBodySize, len(page))
		}

		// What a person sees once the page is live.
		if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title != "espgate dashboard" {
			t.Fatalf("title %q (%v)", title, err)
		}
		run("waiting for live updates", chromedp.Poll[chromedp.Void](`document.getElementById("live").textContent == "live"`,
			chromedp.WithPollingTimeout(10*time.Second)))
		if rows := eval(`String(document.querySelectorAll("#links tr").length)`); rows != "5" {
			t.Errorf("%s link rows, want 5", rows)
		}
		if got := eval(`document.getElementById("modem").textContent`); got != "serving" {
			t.Errorf("modem state %q", got)
		}
		if got := eval(`document.getElementById("fw").textContent`); got == "–" || got == "" {
			t.Errorf("no firmware shown")
		}
		// The page's own event stream holds a link, sending to the browser.
		run("the stream's link", chromedp.Poll[chromedp.Void](`[...document.querySelectorAll("#links tr")].some(r =>
			r.cells[1].textContent == "sending" && r.cells[2].textContent == "127.0.0.1")`, chromedp.WithPollingTimeout(5*time.Second)))

		// Traffic from a client moves the figures.
		served0, _ := strconv.Atoi(eval(`document.getElementById("req").textContent`))
		const requests = 20
		c := env.Client(t)
		for i := range requests {
			if code, err := get(c, env.URL+"hello"); err != nil || code != 200 {
				t.Fatalf("GET /hello %d: %d %v", i, code, err)
			}
		}
		run("the page showing the requests", chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`+document.getElementById("req").textContent >= %d && document.getElementById("rps").textContent != "0.0"`, served0+requests),
			chromedp.WithPollingTimeout(10*time.Second)))
		t.Logf("after %d requests the page shows %s requests served, %s req/s, line in %s, out %s", requests,
			eval(`document.getElementById("req").textContent`), eval(`document.getElementById("rps").textContent`),
			eval(`document.getElementById("in").textContent`), eval(`document.getElementById("out").textContent`))
		// The page asked for nothing but itself and its stream (no icon).
		if s := d.Snapshot(); s.Requests != requests+1 {
			t.Errorf("%d responses, want %d: the page made requests of its own", s.Requests, requests+1)
		}

		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		dir := os.Getenv("ESPGATE_SCREENSHOT_DIR")
		if dir == "" {
			dir = t.TempDir()
		}
		shot := filepath.Join(dir, "dashboard-"+string(p)+".png")
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", shot, len(png))

		// Warm load: the browser revalidates the page (304).
		before = env.Modem.Stats()
		run("reloading", chromedp.Reload())
		after = env.Modem.Stats()
		warm, err := chromedp.Run(ctx, chromedp.Evaluate[navTiming](navTimingJS))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("warm load: %.0f ms to the load event; transfer size %d (the browser's figure for a 304); "+
			"%d bytes on the serial line, the old stream's end and the new one's start included",
			warm.LoadEventEnd, warm.TransferSize, after.BytesToHost-before.BytesToHost+after.BytesFromHost-before.BytesFromHost)
		if warm.TransferSize >= cold.EncodedBodySize {
			t.Errorf("the reload took %d bytes: the page was sent again, not revalidated", warm.TransferSize)
		}
	})
}
