package main

import (
	"net/http"
	"strings"
	"testing"

	sse "github.com/tmaxmax/go-sse"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// The page loads and its stream delivers numbered ticks.
func TestClock(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: routes()})
		c := env.Client(t)
		resp, err := c.Get(env.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("page: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		req, _ := http.NewRequest("GET", env.URL+"clock", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n := 0
		for ev, err := range sse.Read(resp.Body, nil) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if ev.Type != "tick" || len(ev.Data) != len("15:04:05") {
				t.Fatalf("event %+v", ev)
			}
			if n == 2 {
				if ev.LastEventID != "2" {
					t.Fatalf("second event has id %q", ev.LastEventID)
				}
				return
			}
		}
		t.Fatal("the stream ended early")
	})
}
