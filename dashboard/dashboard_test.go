package dashboard

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/metrics"
	"github.com/espgate/espgate/sim"
)

// The committed index.html.gz holds exactly the page: a stale one would
// send browsers an old version.
func TestSiblingFresh(t *testing.T) {
	src, err := siteFiles.ReadFile("site/index.html")
	if err != nil {
		t.Fatal(err)
	}
	gz, err := siteFiles.ReadFile("site/index.html.gz")
	if err != nil {
		t.Fatalf("no gzip sibling: run go generate ./dashboard (%v)", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(zr); err != nil || !bytes.Equal(b, src) {
		t.Fatalf("index.html.gz is stale (%v): run go generate ./dashboard", err)
	}
}

// clock is a fake time source for Snapshot's rates.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newTestDashboard(o Options) (*Dashboard, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	d := New(o)
	d.now = c.now
	d.started = c.t
	return d, c
}

func TestObserveFollowsLinks(t *testing.T) {
	d, c := newTestDashboard(Options{Baud: 115200})
	ip := []byte("192.168.1.9")
	d.Observe(fsm.Note{Kind: fsm.NoteModemState, State: fsm.ModemServing, Link: -1})
	d.Observe(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte("AT version:1.7.4.0"), Link: -1})
	d.Observe(fsm.Note{Kind: fsm.NoteServing, Text: []byte("192.168.1.50"), Link: -1})
	d.Observe(fsm.Note{Kind: fsm.NoteLinkOpen, Link: 2}) // NonOS: no address before +IPD
	d.Observe(fsm.Note{Kind: fsm.NoteLinkOpen, Link: 4, Text: ip})
	d.Observe(fsm.Note{Kind: fsm.NoteRequest, Link: 2, Text: ip})
	d.Observe(fsm.Note{Kind: fsm.NoteRequest, Link: 4, Text: ip})
	d.Observe(fsm.Note{Kind: fsm.NoteFirstByte, Link: 4})
	d.Observe(fsm.Note{Kind: fsm.NoteLinkOpen, Link: 7}) // no such link: ignored
	c.advance(90 * time.Second)

	s := d.Snapshot()
	if s.Modem != "serving" || s.Firmware != "nonos: AT version:1.7.4.0" || s.Address != "192.168.1.50" {
		t.Errorf("modem %q, firmware %q, address %q", s.Modem, s.Firmware, s.Address)
	}
	if s.Uptime != 90*time.Second || s.Capacity != 11520 {
		t.Errorf("uptime %v, capacity %d", s.Uptime, s.Capacity)
	}
	want := [fsm.MaxLinks]Link{2: {State: fsm.LinkHandling, Client: "192.168.1.9"}, 4: {State: fsm.LinkSending, Client: "192.168.1.9"}}
	if s.Links != want {
		t.Fatalf("links %+v, want %+v", s.Links, want)
	}

	// Link 4 answers and stays (keep-alive); link 2 answers and closes.
	d.Observe(fsm.Note{Kind: fsm.NoteResponseDone, Link: 4, Bytes: 300, BytesIn: 120})
	d.Observe(fsm.Note{Kind: fsm.NoteFirstByte, Link: 2})
	d.Observe(fsm.Note{Kind: fsm.NoteResponseDone, Link: 2, Bytes: 2000, BytesIn: 400})
	d.Observe(fsm.Note{Kind: fsm.NoteLinkClosing, Link: 2, Reason: fsm.ClosedByServer})
	s = d.Snapshot()
	want[4] = Link{State: fsm.LinkReceiving, Client: "192.168.1.9", Requests: 1, In: 120, Out: 300}
	want[2] = Link{State: fsm.LinkClosing, Client: "192.168.1.9", Requests: 1, In: 400, Out: 2000}
	if s.Links != want || s.Requests != 2 {
		t.Fatalf("links %+v (requests %d), want %+v", s.Links, s.Requests, want)
	}
	// Without Metrics the line's bytes are the exchanges'.
	if s.In != 520 || s.Out != 2300 {
		t.Errorf("in %d, out %d, want 520, 2300", s.In, s.Out)
	}
	d.Observe(fsm.Note{Kind: fsm.NoteLinkClosed, Link: 2})
	if s = d.Snapshot(); s.Links[2] != (Link{}) || s.Links[2].State.String() != "free" {
		t.Fatalf("closed link %+v", s.Links[2])
	}
}

func TestRates(t *testing.T) {
	mx := metrics.New(nil)
	d, c := newTestDashboard(Options{Baud: 9600, Metrics: mx})
	if s := d.Snapshot(); s.RequestRate != 0 || s.InRate != 0 || s.Capacity != 960 {
		t.Fatalf("first snapshot: %+v", s)
	}
	// Four requests a second and 100 bytes/s in, 500 out, for 10 s.
	for range 10 {
		c.advance(time.Second)
		for range 4 {
			d.Observe(fsm.Note{Kind: fsm.NoteResponseDone, Link: 0, Bytes: 1, BytesIn: 1})
		}
		mx.UARTRead(100)
		mx.UARTWrite(500)
		d.Snapshot()
	}
	// Then nothing for 2 s: the rate over the last 5 s falls to 3/5 of it.
	c.advance(2 * time.Second)
	s := d.Snapshot()
	if s.Requests != 40 || s.In != 1000 || s.Out != 5000 {
		t.Fatalf("counts %d, %d, %d", s.Requests, s.In, s.Out)
	}
	if s.RequestRate != 4*3.0/5 || s.InRate != 60 || s.OutRate != 300 {
		t.Errorf("rates %v req/s, %v B/s in, %v B/s out; want 2.4, 60, 300", s.RequestRate, s.InRate, s.OutRate)
	}
	// A snapshot long after the last: the rate is over the whole gap.
	c.advance(time.Minute)
	if s := d.Snapshot(); s.RequestRate != 0 || s.OutRate != 0 {
		t.Errorf("idle rates %v, %v", s.RequestRate, s.OutRate)
	}
	if len(d.hist) > histCap {
		t.Errorf("history holds %d samples", len(d.hist))
	}
}

// Observe runs on the server's loop for every note: it must not allocate.
func TestObserveAllocs(t *testing.T) {
	d := New(Options{})
	ip := []byte("192.168.1.9")
	notes := []fsm.Note{
		{Kind: fsm.NoteLinkOpen, Link: 1},
		{Kind: fsm.NoteRequest, Link: 1, Text: ip},
		{Kind: fsm.NoteFirstByte, Link: 1},
		{Kind: fsm.NoteResponseDone, Link: 1, Bytes: 100, BytesIn: 80},
		{Kind: fsm.NoteCommand, Cmd: fsm.CmdClose},
		{Kind: fsm.NoteLinkClosing, Link: 1},
		{Kind: fsm.NoteLinkClosed, Link: 1},
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, n := range notes {
			d.Observe(n)
		}
	}); n != 0 {
		t.Errorf("%v allocations per request cycle", n)
	}
}

// The loop observes while pages' goroutines take snapshots (run with -race).
func TestObserveWhileSnapshotting(t *testing.T) {
	d := New(Options{Metrics: metrics.New(nil)})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := json.Marshal(d.Snapshot()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	ip := []byte("10.0.0.7")
	for i := range 2000 {
		link := i % fsm.MaxLinks
		d.Observe(fsm.Note{Kind: fsm.NoteLinkOpen, Link: link, Text: ip})
		d.Observe(fsm.Note{Kind: fsm.NoteRequest, Link: link, Text: ip})
		d.Observe(fsm.Note{Kind: fsm.NoteResponseDone, Link: link, Bytes: 10})
		d.Observe(fsm.Note{Kind: fsm.NoteLinkClosed, Link: link})
	}
	close(stop)
	wg.Wait()
	if s := d.Snapshot(); s.Requests != 2000 {
		t.Errorf("requests %d, want 2000", s.Requests)
	}
}

func TestSnapshotJSON(t *testing.T) {
	s := Snapshot{Uptime: 61500 * time.Millisecond, Modem: "serving", Requests: 7, RequestRate: 1.26, InRate: 10.4, OutRate: 99.5, Capacity: 11520}
	s.Links[3] = Link{State: fsm.LinkSending, Client: "10.0.0.2", Requests: 2, In: 5, Out: 6}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"up":61,"modem":"serving","req":7,"rps":1.3,"in":0,"out":0,"inBps":10,"outBps":100,"cap":11520,"links":[{"s":"free"},{"s":"free"},{"s":"free"},{"s":"sending","ip":"10.0.0.2","n":2,"in":5,"out":6},{"s":"free"}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestMountBadPrefix(t *testing.T) {
	for _, p := range []string{"", "dash/", "/dash"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Mount(%q) did not panic", p)
				}
			}()
			New(Options{}).Mount(handlers.NewRouter(), p)
		}()
	}
}

// event reads the next event's data from an event stream.
func event(t *testing.T, r *bufio.Reader) wire {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var w wire
			if err := json.Unmarshal([]byte(data), &w); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			return w
		}
	}
}

// Through the modem: the page (gzip for a browser), and an event stream
// whose snapshots show the stream's own link and the traffic a client
// makes.
func TestThroughTheModem(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		mx := metrics.New(nil)
		d := New(Options{Metrics: mx, Interval: 100 * time.Millisecond})
		rt := handlers.NewRouter()
		d.Mount(rt, "/dash/")
		rt.HandleFunc("GET /hello", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("hi\n") })
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Metrics: mx, Observe: d.Observe})
		c := env.Client(t)

		req, _ := http.NewRequest("GET", env.URL+"dash/", nil)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: the body stays compressed
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		gz, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page, _ := siteFiles.ReadFile("site/index.html.gz")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gz, page) {
			t.Fatalf("page: %d, Content-Encoding %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(gz))
		}

		resp, err = c.Get(env.URL + "dash/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("events: %d %q", resp.StatusCode, ct)
		}
		r := bufio.NewReader(resp.Body)
		first := event(t, r)
		if first.Modem != "serving" || first.Firmware == "" || first.Capacity != 11520 || len(first.Links) != fsm.MaxLinks {
			t.Fatalf("first event %+v", first)
		}
		second := event(t, r)
		if second.Firmware != "" || second.Address != "" {
			t.Errorf("the firmware or address was sent again: %q, %q", second.Firmware, second.Address)
		}
		streaming := false // the stream's own link
		for _, l := range second.Links {
			streaming = streaming || l.State == "sending" && l.Client == "127.0.0.1"
		}
		if !streaming {
			t.Errorf("no link sending to 127.0.0.1: %+v", second.Links)
		}

		hc := env.Client(t)
		for i := range 10 {
			if code, err := get(hc, env.URL+"hello"); err != nil || code != 200 {
				t.Fatalf("hello %d: %d %v", i, code, err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			w := event(t, r)
			if w.Requests >= first.Requests+10 && w.RPS > 0 && w.OutBps > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 10 requests: %+v (first %d)", w, first.Requests)
			}
		}
	})
}

func get(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, fmt.Errorf("body: %w", err)
	}
	return resp.StatusCode, nil
}
