// Package dashboard is a live status page for an espgate server: the
// modem's five links (state, client, bytes), the request rate and the
// serial line's utilisation in each direction, the modem's state and
// firmware, pushed to the browser over Server-Sent Events once a second.
//
// The page is one small HTML file (inline CSS and JavaScript, no external
// resources) embedded with its gzip sibling: about 2.5 kB on the line.
// Wire it to a server with Observe and Mount:
//
//	mx := metrics.New(reg)
//	d := dashboard.New(dashboard.Options{Baud: 115200, Metrics: mx})
//	rt := handlers.NewRouter()
//	d.Mount(rt, "/")
//	srv := &espgate.Server{Routes: rt, Metrics: mx, Observe: d.Observe}
//
// Each open page holds one of the server's long-lived slots
// (espgate.Server.MaxLongLived) for its event stream; a page that finds none
// free says so and tries again every few seconds.
package dashboard

//go:generate go run gen_gz.go

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/metrics"
)

//go:embed site
var siteFiles embed.FS

// Window is the span the rates of a Snapshot are averaged over.
const Window = 5 * time.Second

// Options configures a Dashboard; the zero value is usable.
type Options struct {
	// Baud is the serial line's rate: the line carries Baud/10 bytes/s in
	// each direction (8N1). 0 means 115200.
	Baud int
	// Metrics, when set, supplies the serial line's byte counts (give the
	// server's own: espgate.Server.Metrics). Without it, the line's bytes
	// are counted from finished exchanges only: requests and responses,
	// without the AT commands around them, and a response only once it
	// has ended.
	Metrics *metrics.Metrics
	// Interval is the time between two snapshots sent to a page; 0 means
	// 1 s.
	Interval time.Duration
}

// Dashboard follows a server's notes and serves the page that shows
// them. Observe runs on the server's loop; everything else is safe from
// any goroutine.
type Dashboard struct {
	baud     int
	mx       *metrics.Metrics
	interval time.Duration
	started  time.Time
	now      func() time.Time
	page     handlers.Handler

	mu   sync.Mutex
	st   state    // written by Observe on the loop, read by Snapshot
	hist []sample // Snapshot's past counts, oldest first, at most histCap
}

const histCap = 16

// state is what the notes tell; it holds no pointers, so copying it under
// the lock is a snapshot.
type state struct {
	modem             fsm.ModemState
	firmware          string
	address           string
	requests          uint64
	bytesIn, bytesOut uint64 // of finished exchanges, for when there is no Metrics
	links             [fsm.MaxLinks]linkState
}

type linkState struct {
	state    fsm.LinkState
	ip       [46]byte // room for any IPv6 text form
	ipLen    uint8
	requests uint32
	in, out  uint64
}

type sample struct {
	t                 time.Time
	requests, in, out uint64
}

// New returns a Dashboard whose uptime counts from now.
func New(o Options) *Dashboard {
	if o.Baud <= 0 {
		o.Baud = 115200
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	site, err := fs.Sub(siteFiles, "site")
	if err != nil {
		panic(err) // the embedded tree always has it
	}
	d := &Dashboard{
		baud:     o.Baud,
		mx:       o.Metrics,
		interval: o.Interval,
		now:      time.Now,
		hist:     make([]sample, 0, histCap),
		// no-cache: a browser revalidates the page on each visit, and an
		// unchanged one costs a 304 of about 150 bytes.
		page: handlers.FileServer(site, handlers.StaticOptions{CacheControl: "no-cache"}),
	}
	d.started = d.now()
	return d
}

// Observe follows one note of the server's loop (espgate.Server.Observe).
// It holds the Dashboard's lock for a few field updates and allocates
// nothing but for the firmware and address notes, which come once per
// bring-up.
func (d *Dashboard) Observe(n fsm.Note) {
	switch n.Kind {
	case fsm.NoteLinkOpen, fsm.NoteRequest, fsm.NoteFirstByte, fsm.NoteResponseDone,
		fsm.NoteLinkClosing, fsm.NoteLinkClosed:
		if n.Link < 0 || n.Link >= fsm.MaxLinks {
			return
		}
	case fsm.NoteModemState, fsm.NoteFirmware, fsm.NoteServing:
	default:
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	st := &d.st
	switch n.Kind {
	case fsm.NoteModemState:
		st.modem = n.State
	case fsm.NoteFirmware:
		st.firmware = fmt.Sprintf("%s: %s", n.Firmware, n.Text)
	case fsm.NoteServing:
		st.address = string(n.Text)
	case fsm.NoteLinkOpen:
		l := &st.links[n.Link]
		*l = linkState{state: fsm.LinkReceiving}
		l.setIP(n.Text)
	case fsm.NoteRequest:
		l := &st.links[n.Link]
		l.state = fsm.LinkHandling
		l.setIP(n.Text)
	case fsm.NoteFirstByte:
		st.links[n.Link].state = fsm.LinkSending
	case fsm.NoteResponseDone:
		l := &st.links[n.Link]
		l.state = fsm.LinkReceiving // keep-alive; NoteLinkClosing follows otherwise
		l.requests++
		l.in += uint64(max(n.BytesIn, 0))
		l.out += uint64(max(n.Bytes, 0))
		st.requests++
		st.bytesIn += uint64(max(n.BytesIn, 0))
		st.bytesOut += uint64(max(n.Bytes, 0))
	case fsm.NoteLinkClosing:
		st.links[n.Link].state = fsm.LinkClosing
	case fsm.NoteLinkClosed:
		st.links[n.Link] = linkState{}
	}
}

func (l *linkState) setIP(ip []byte) {
	if len(ip) > 0 {
		l.ipLen = uint8(copy(l.ip[:], ip))
	}
}

// Snapshot is the server's state at one moment.
type Snapshot struct {
	Uptime   time.Duration // since New
	Modem    string        // the modem's state (fsm.ModemState)
	Firmware string        // the generation and AT+GMR's version line
	Address  string        // the address clients use, as the modem reports it
	Requests uint64        // responses sent, the server's own error answers included
	// RequestRate is responses per second over the last Window (or since
	// the previous Snapshot, if that is longer ago).
	RequestRate float64
	// In and Out are the bytes read from the modem (requests, with the AT
	// framing around them) and written to it (responses, with their
	// AT+CIPSEND commands); InRate and OutRate their bytes per second over
	// the same span as RequestRate.
	In, Out         uint64
	InRate, OutRate float64
	// Capacity is what the line carries in each direction, in bytes per
	// second: Baud/10.
	Capacity int
	Links    [fsm.MaxLinks]Link
}

// Link is one of the modem's links in a Snapshot.
type Link struct {
	State    fsm.LinkState
	Client   string // the client's IP, when the modem reported it
	Requests int    // responses sent on this connection
	// In and Out are the bytes of its finished exchanges: requests as
	// received, responses as sent (head, body and chunk framing).
	In, Out uint64
}

// Snapshot returns the state now, with rates over the last Window.
func (d *Dashboard) Snapshot() Snapshot {
	now := d.now()
	var rx, tx uint64
	if d.mx != nil {
		rx, tx = d.mx.UARTBytes()
	}
	d.mu.Lock()
	st := d.st
	if d.mx == nil {
		rx, tx = st.bytesIn, st.bytesOut
	}
	cur := sample{t: now, requests: st.requests, in: rx, out: tx}
	base, ok := d.record(cur)
	d.mu.Unlock()

	s := Snapshot{
		Uptime:   now.Sub(d.started),
		Modem:    st.modem.String(),
		Firmware: st.firmware,
		Address:  st.address,
		Requests: st.requests,
		In:       rx,
		Out:      tx,
		Capacity: d.baud / 10,
	}
	if ok {
		sec := now.Sub(base.t).Seconds()
		s.RequestRate = float64(cur.requests-base.requests) / sec
		s.InRate = float64(cur.in-base.in) / sec
		s.OutRate = float64(cur.out-base.out) / sec
	}
	for i := range st.links {
		l := &st.links[i]
		s.Links[i] = Link{State: l.state, Client: string(l.ip[:l.ipLen]), Requests: int(l.requests), In: l.in, Out: l.out}
	}
	return s
}

// record keeps cur in the history and returns the sample to measure rates
// against: the newest one at least Window old, or the oldest there is.
// d.mu is held.
func (d *Dashboard) record(cur sample) (base sample, ok bool) {
	drop := 0
	for drop+1 < len(d.hist) && cur.t.Sub(d.hist[drop+1].t) >= Window {
		drop++
	}
	d.hist = d.hist[:copy(d.hist, d.hist[drop:])]
	if len(d.hist) > 0 && cur.t.After(d.hist[0].t) {
		base, ok = d.hist[0], true
	}
	// A sample per half interval is enough, however many pages ask.
	if len(d.hist) == 0 || cur.t.Sub(d.hist[len(d.hist)-1].t) >= d.interval/2 {
		if len(d.hist) == histCap {
			d.hist = d.hist[:copy(d.hist, d.hist[1:])]
		}
		d.hist = append(d.hist, cur)
	}
	return base, ok
}

// wire is a Snapshot as the page reads it: short names, rounded rates.
type wire struct {
	Up       int64      `json:"up"`
	Modem    string     `json:"modem"`
	Firmware string     `json:"fw,omitempty"`
	Address  string     `json:"addr,omitempty"`
	Requests uint64     `json:"req"`
	RPS      float64    `json:"rps"`
	In       uint64     `json:"in"`
	Out      uint64     `json:"out"`
	InBps    float64    `json:"inBps"`
	OutBps   float64    `json:"outBps"`
	Capacity int        `json:"cap"`
	Links    []wireLink `json:"links"`
}

type wireLink struct {
	State    string `json:"s"`
	Client   string `json:"ip,omitempty"`
	Requests int    `json:"n,omitempty"`
	In       uint64 `json:"in,omitempty"`
	Out      uint64 `json:"out,omitempty"`
}

// MarshalJSON encodes s as the page reads it (about 300 bytes): uptime in
// seconds, rates rounded, link states by name.
func (s Snapshot) MarshalJSON() ([]byte, error) { return json.Marshal(s.wire()) }

func (s Snapshot) wire() wire {
	w := wire{
		Up: int64(s.Uptime / time.Second), Modem: s.Modem, Firmware: s.Firmware, Address: s.Address,
		Requests: s.Requests, RPS: math.Round(s.RequestRate*10) / 10,
		In: s.In, Out: s.Out, InBps: math.Round(s.InRate), OutBps: math.Round(s.OutRate),
		Capacity: s.Capacity, Links: make([]wireLink, len(s.Links)),
	}
	for i, l := range s.Links {
		w.Links[i] = wireLink{State: l.State.String(), Client: l.Client, Requests: l.Requests, In: l.In, Out: l.Out}
	}
	return w
}

// Mount serves the page at prefix and its event stream at prefix+"events"
// on rt: Mount(rt, "/") serves GET / and GET /events. prefix starts and
// ends with "/"; Mount panics otherwise, as rt does on a bad pattern.
func (d *Dashboard) Mount(rt *handlers.Router, prefix string) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		panic(fmt.Sprintf("dashboard: prefix %q must start and end with /", prefix))
	}
	page := d.page
	if prefix != "/" {
		page = handlers.StripPrefix(strings.TrimSuffix(prefix, "/"), page)
	}
	rt.Handle("GET "+prefix+"{$}", page)
	rt.HandleFunc("GET "+prefix+"events", d.serveEvents)
}

// serveEvents streams a snapshot at once, then one every interval, until
// the client goes or the server stops.
func (d *Dashboard) serveEvents(w *handlers.ResponseWriter, r *handlers.Request) {
	es := handlers.NewEventStream(w, handlers.EventStreamOptions{Retry: 3 * time.Second})
	if es == nil {
		return // every long-lived slot is taken: the client got 503
	}
	go d.stream(es)
}

// stream sends snapshots to es; the firmware and address only when they
// differ from the previous event's (the page keeps them).
func (d *Dashboard) stream(es *handlers.EventStream) {
	tick := time.NewTicker(d.interval)
	defer tick.Stop()
	var firmware, address string
	for {
		w := d.Snapshot().wire()
		if w.Firmware == firmware {
			w.Firmware = ""
		} else {
			firmware = w.Firmware
		}
		if w.Address == address {
			w.Address = ""
		} else {
			address = w.Address
		}
		b, err := json.Marshal(w)
		if err != nil || es.Send("", "", string(b)) != nil {
			es.Close()
			return
		}
		select {
		case <-es.Done():
			return
		case <-tick.C:
		}
	}
}
