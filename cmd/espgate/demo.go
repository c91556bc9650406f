package main

import (
	"strconv"
	"time"

	"github.com/espgate/espgate/dashboard"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/metrics"
)

// demo is the application `make run` serves: the live dashboard at /, a
// small JSON status, a plain-text greeting and an echo of POST bodies.
type demo struct {
	dash     *dashboard.Dashboard
	started  time.Time
	requests int64
	links    int
	state    fsm.ModemState
	firmware string
	json     []byte // reused buffer for /api/status
}

// newDemo returns the demo; baud and mx give the dashboard the line's rate
// and byte counts.
func newDemo(now time.Time, baud int, mx *metrics.Metrics) *demo {
	return &demo{started: now, firmware: "unknown", dash: dashboard.New(dashboard.Options{Baud: baud, Metrics: mx})}
}

// observe follows the loop's notes; it runs on the loop.
func (d *demo) observe(n fsm.Note) {
	d.dash.Observe(n)
	switch n.Kind {
	case fsm.NoteResponseDone:
		d.requests++
	case fsm.NoteLinkOpen:
		d.links++
	case fsm.NoteLinkClosed:
		d.links--
	case fsm.NoteModemState:
		d.state = n.State
	case fsm.NoteFirmware:
		d.firmware = n.Firmware.String() + " (" + string(n.Text) + ")"
	}
}

// routes returns the demo's routes; metrics serves /metrics.
func (d *demo) routes(metrics handlers.Handler) *handlers.Router {
	rt := handlers.NewRouter()
	d.dash.Mount(rt, "/") // the page at /, its event stream at /events
	rt.HandleFunc("GET /hello", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain; charset=utf-8")
		w.WriteString("Hello from espgate!\n")
	})
	rt.HandleFunc("GET /api/status", d.status)
	rt.HandleFunc("POST /echo", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "application/octet-stream")
		w.Write(r.Body)
	})
	rt.Handle("GET /metrics", metrics)
	return rt
}

func (d *demo) status(w *handlers.ResponseWriter, r *handlers.Request) {
	w.AddHeader("Content-Type", "application/json")
	w.AddHeader("Cache-Control", "no-store")
	b := append(d.json[:0], `{"firmware":`...)
	b = strconv.AppendQuote(b, d.firmware)
	b = append(b, `,"state":`...)
	b = strconv.AppendQuote(b, d.state.String())
	b = append(b, `,"requests":`...)
	b = strconv.AppendInt(b, d.requests, 10)
	b = append(b, `,"links":`...)
	b = strconv.AppendInt(b, int64(d.links), 10)
	b = append(b, `,"uptime":`...)
	b = strconv.AppendQuote(b, time.Since(d.started).Truncate(time.Second).String())
	b = append(b, "}\n"...)
	d.json = b
	w.Write(b) // copied: d.json is reused by the next request while this one is sent
}
