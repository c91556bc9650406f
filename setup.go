package espgate

import (
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/loop"
)

// checkWiFi refuses Wi-Fi settings the modem could not take, before
// anything starts.
func (s *Server) checkWiFi() error {
	if s.SSID != "" {
		if err := fsm.ValidateCredentials(s.SSID, s.Password); err != nil {
			return fmt.Errorf("Wi-Fi: %w", err)
		}
		if s.SetupAP != "" {
			return errors.New("SetupAP opens a set-up network to choose the network to join; it cannot go with SSID")
		}
	}
	if s.SetupAP != "" || s.SetupPassword != "" {
		name := s.SetupAP
		if name == "" {
			name = "espgate" // the default name is valid
		}
		if err := fsm.ValidateSetupAP(name, s.SetupPassword); err != nil {
			return err
		}
	}
	if s.MDNSName != "" {
		if err := fsm.ValidateMDNSName(s.MDNSName); err != nil {
			return err
		}
	}
	return nil
}

// setupGate serves the set-up page while the modem's set-up network is
// open and no network has been chosen: every request gets a form for a
// network's name and password, and its POST makes the modem join that
// network (loop.Join); the answer reports the new address, or why the
// join failed. Otherwise requests go to the application. Its fields
// after lp are owned by the loop (ServeModem and observe run there).
type setupGate struct {
	app      handlers.Handler
	streamer handlers.BodyStreamer // app's, if it streams bodies
	mdnsName string
	port     int
	linger   time.Duration
	url      func(ip string) string
	lp       *loop.Loop

	on        bool   // the set-up page is on
	network   string // the set-up network's name
	announced bool   // OnSetup was called for this set-up
}

func newSetupGate(app handlers.Handler, mc fsm.Config, url func(string) string) *setupGate {
	g := &setupGate{app: app, mdnsName: mc.MDNSName, port: mc.ServerPort, linger: mc.SetupLinger, url: url}
	if g.linger <= 0 {
		g.linger = 2 * time.Minute // fsm's default
	}
	g.streamer, _ = app.(handlers.BodyStreamer)
	return g
}

// observe follows the machine's set-up notes.
func (g *setupGate) observe(n fsm.Note) {
	switch n.Kind {
	case fsm.NoteSetup:
		g.on = n.Status == fsm.SetupOpen
		if g.on {
			g.network, g.announced = string(n.Text), false
		}
	}
}

// StreamsBody implements handlers.BodyStreamer: the set-up page reads the
// form whole; the application decides for itself.
func (g *setupGate) StreamsBody(r *handlers.Request) bool {
	return !g.on && g.streamer != nil && g.streamer.StreamsBody(r)
}

// ServeModem implements handlers.Handler.
func (g *setupGate) ServeModem(w *handlers.ResponseWriter, r *handlers.Request) {
	switch {
	case !g.on && g.app != nil:
		g.app.ServeModem(w, r)
	case !g.on:
		w.WriteHeader(404)
		w.WriteString("404 page not found\n")
	case string(r.Method) == "POST":
		g.join(w, r)
	case string(r.Method) == "GET" || string(r.Method) == "HEAD":
		g.render(w, 200, &setupPage{})
	default:
		w.WriteHeader(405)
		w.AddHeader("Allow", "GET, HEAD, POST")
	}
}

// join takes the form and asks the modem to join; the answer waits for
// the outcome.
func (g *setupGate) join(w *handlers.ResponseWriter, r *handlers.Request) {
	form, err := url.ParseQuery(string(r.Body))
	ssid, pass := form.Get("ssid"), form.Get("password")
	if err == nil {
		err = fsm.ValidateCredentials(ssid, pass)
	}
	if err != nil {
		g.render(w, 400, &setupPage{SSID: ssid, Error: "Please check the form: " + err.Error() + "."})
		return
	}
	d := w.Detach()
	err = g.lp.Join(ssid, pass, func(res loop.JoinResult) {
		d.Respond(func(w *handlers.ResponseWriter) { g.result(w, ssid, res) })
	})
	if err != nil {
		d.Respond(func(w *handlers.ResponseWriter) {
			g.render(w, 503, &setupPage{SSID: ssid, Error: "The modem cannot join now (" + err.Error() + "); try again."})
		})
	}
}

// result renders the outcome of a join.
func (g *setupGate) result(w *handlers.ResponseWriter, ssid string, res loop.JoinResult) {
	if res.Err != nil {
		msg := "Could not join “" + ssid + "”: " + loop.JoinReason(res.Code)
		if res.Code > 0 {
			msg += fmt.Sprintf(" (code %d)", res.Code)
		}
		if !errors.Is(res.Err, loop.ErrJoinFailed) {
			msg = "Could not join “" + ssid + "”: " + res.Err.Error()
		}
		g.render(w, 200, &setupPage{SSID: ssid, Error: msg + "."})
		return
	}
	p := &setupPage{Joined: true, SSID: ssid, Network: g.network, Linger: minutes(g.linger)}
	if res.Address != "" {
		p.Address, p.URL = res.Address, g.url(res.Address)
	}
	if g.mdnsName != "" {
		p.MDNS = loop.MDNSURL(g.mdnsName, g.port)
	}
	g.render(w, 200, p)
}

// minutes words d for people: "2 minutes", "1 minute", "90 seconds".
func minutes(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return fmt.Sprintf("%d seconds", (d+time.Second/2)/time.Second)
}

// setupPage is what the set-up page shows.
type setupPage struct {
	Joined  bool
	SSID    string // the network chosen
	Error   string
	Address string // the device's address on the joined network
	URL     string // where clients reach it there
	MDNS    string // its mDNS URL, when one is asked for
	Network string // the set-up network
	Linger  string // how long the set-up network stays
}

func (g *setupGate) render(w *handlers.ResponseWriter, status int, p *setupPage) {
	w.WriteHeader(status)
	w.AddHeader("Content-Type", "text/html; charset=utf-8")
	w.AddHeader("Cache-Control", "no-store")
	w.WriteString(p.html())
}

// html renders the page. It is small on purpose: every byte crosses the
// modem's UART. It is written out by hand, with every value escaped, rather
// than with html/template, which would add about a megabyte to the binary.
func (p *setupPage) html() string {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString(`<!doctype html>
<meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">
<title>espgate Wi-Fi set-up</title>
<style>body{font:16px sans-serif;max-width:26em;margin:1.5em auto;padding:0 1em}input{display:block;width:100%;padding:.5em;margin:.3em 0 1em;box-sizing:border-box}button{padding:.6em 1.4em}.e{color:#b00}</style>
`)
	if p.Joined {
		ssid := e(p.SSID)
		b.WriteString("<h1>Joined " + ssid + "</h1>\n<p>This device is now on <b>" + ssid + "</b>")
		if p.Address != "" {
			b.WriteString(" with the address " + e(p.Address) + `: open <a href="` + e(p.URL) + `">` + e(p.URL) + "</a>")
		}
		if p.MDNS != "" {
			b.WriteString(` or <a href="` + e(p.MDNS) + `">` + e(p.MDNS) + "</a>")
		}
		b.WriteString(".\nIt joins this network by itself from now on.\n<p>Connect your phone to " + ssid +
			" again and open that address. The set-up network " + e(p.Network) + " closes in " + e(p.Linger) + ".\n")
		return b.String()
	}
	b.WriteString("<h1>Wi-Fi set-up</h1>\n")
	if p.Error != "" {
		b.WriteString("<p class=e>" + e(p.Error) + "\n")
	}
	b.WriteString(`<p>Choose the network this device should join.
<form method=post action=/>
<label>Network name<input name=ssid value="` + e(p.SSID) + `" maxlength=32 required autocapitalize=none autocorrect=off spellcheck=false></label>
<label>Password<input name=password type=password maxlength=64 autocomplete=off></label>
<button>Join</button>
</form>
<p><small>Joining takes up to 20 seconds; the phone may lose this network for a moment meanwhile.</small>
`)
	return b.String()
}
