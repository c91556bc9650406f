package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/espgate/espgate/sim"
)

// Hand-written SVG: a panel with log or linear axes, lines, markers and a
// legend.

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"}

type svgDoc struct {
	b    strings.Builder
	w, h int
}

func newSVG(w, h int) *svgDoc {
	d := &svgDoc{w: w, h: h}
	fmt.Fprintf(&d.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&d.b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	return d
}

func (d *svgDoc) text(x, y float64, anchor, s string, attrs ...string) {
	fmt.Fprintf(&d.b, `<text x="%.1f" y="%.1f" text-anchor="%s" %s>%s</text>`+"\n", x, y, anchor, strings.Join(attrs, " "), escapeXML(s))
}

func (d *svgDoc) line(x1, y1, x2, y2 float64, stroke string, width float64, dash string) {
	da := ""
	if dash != "" {
		da = fmt.Sprintf(` stroke-dasharray="%s"`, dash)
	}
	fmt.Fprintf(&d.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n", x1, y1, x2, y2, stroke, width, da)
}

func (d *svgDoc) polyline(pts [][2]float64, stroke string, width float64, dash string) {
	if len(pts) == 0 {
		return
	}
	var p strings.Builder
	for _, q := range pts {
		fmt.Fprintf(&p, "%.1f,%.1f ", q[0], q[1])
	}
	da := ""
	if dash != "" {
		da = fmt.Sprintf(` stroke-dasharray="%s"`, dash)
	}
	fmt.Fprintf(&d.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%.1f"%s/>`+"\n", strings.TrimSpace(p.String()), stroke, width, da)
}

func (d *svgDoc) circle(x, y, r float64, fill string) {
	fmt.Fprintf(&d.b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>`+"\n", x, y, r, fill)
}

func (d *svgDoc) String() string { return d.b.String() + "</svg>\n" }

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// axis maps data values to pixels, linearly or logarithmically.
type axis struct {
	lo, hi   float64 // data range
	p0, p1   float64 // pixel range
	log      bool
	tickVals []float64
}

func (a axis) pos(v float64) float64 {
	f := (v - a.lo) / (a.hi - a.lo)
	if a.log {
		f = (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	}
	return a.p0 + f*(a.p1-a.p0)
}

// logTicks returns 1-2-5 ticks covering [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var ts []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				ts = append(ts, v)
			}
		}
	}
	return ts
}

// niceRange widens [lo, hi] to 1-2-5 decade steps for a log axis.
func niceLogRange(lo, hi float64) (float64, float64) {
	down := func(v float64) float64 {
		e := math.Pow(10, math.Floor(math.Log10(v)))
		for _, m := range []float64{5, 2, 1} {
			if m*e <= v {
				return m * e
			}
		}
		return e
	}
	up := func(v float64) float64 {
		e := math.Pow(10, math.Floor(math.Log10(v)))
		for _, m := range []float64{1, 2, 5, 10} {
			if m*e >= v {
				return m * e
			}
		}
		return 10 * e
	}
	return down(lo), up(hi)
}

func siUnit(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(v/1e6) + "M"
	case v >= 1e3:
		return trimZero(v/1e3) + "k"
	default:
		return trimZero(v)
	}
}

func trimZero(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") }

func durLabel(ms float64) string {
	if ms >= 1000 {
		return trimZero(ms/1000) + " s"
	}
	return trimZero(ms) + " ms"
}

// frame draws the plot box, grid, ticks and axis titles.
func (d *svgDoc) frame(x, y axis, xLabel func(float64) string, yLabel func(float64) string, xTitle, yTitle string) {
	left, right := x.p0, x.p1
	bottom, top := y.p0, y.p1
	for _, v := range x.tickVals {
		px := x.pos(v)
		d.line(px, top, px, bottom, "#e5e5e5", 1, "")
		d.line(px, bottom, px, bottom+4, "#333", 1, "")
		d.text(px, bottom+17, "middle", xLabel(v))
	}
	for _, v := range y.tickVals {
		py := y.pos(v)
		d.line(left, py, right, py, "#e5e5e5", 1, "")
		d.line(left-4, py, left, py, "#333", 1, "")
		d.text(left-7, py+4, "end", yLabel(v))
	}
	fmt.Fprintf(&d.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", left, top, right-left, bottom-top)
	d.text((left+right)/2, bottom+36, "middle", xTitle)
	fmt.Fprintf(&d.b, `<text x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
		left-52, (top+bottom)/2, left-52, (top+bottom)/2, escapeXML(yTitle))
}

// legend draws entries top-left at (x, y): color, dash, label.
func (d *svgDoc) legend(x, y float64, entries [][3]string) {
	w := 0
	for _, e := range entries {
		w = max(w, len(e[2]))
	}
	fmt.Fprintf(&d.b, `<rect x="%.1f" y="%.1f" width="%d" height="%d" fill="white" fill-opacity="0.9" stroke="#999"/>`+"\n",
		x, y, 40+7*w, 8+18*len(entries))
	for i, e := range entries {
		yy := y + 16 + 18*float64(i)
		d.line(x+8, yy-4, x+32, yy-4, e[0], 2, e[1])
		d.text(x+38, yy, "start", e[2])
	}
}

// goodputSVG plots goodput against baud per profile, with the bound and
// the line rate.
func goodputSVG(combos []*combo) string {
	const W, H = 840, 480
	d := newSVG(W, H)
	d.text(W/2, 24, "middle", "Goodput of a large response against line rate", `font-size="15" font-weight="bold"`)
	series := map[sim.Profile][]goodputPoint{}
	var profiles []sim.Profile
	var bauds []float64
	lo, hi := math.Inf(1), 0.0
	for _, c := range combos {
		for _, r := range c.results {
			if r.scenario != "goodput" || r.err != nil {
				continue
			}
			if _, ok := series[c.profile]; !ok {
				profiles = append(profiles, c.profile)
			}
			series[c.profile] = append(series[c.profile], goodputPoint{float64(c.baud), r.achieved, r.bound})
			if !slices.Contains(bauds, float64(c.baud)) {
				bauds = append(bauds, float64(c.baud))
			}
			lo = min(lo, r.achieved)
			hi = max(hi, c.params.BytesPerSecond)
		}
	}
	if len(bauds) == 0 {
		d.text(W/2, H/2, "middle", "no goodput results")
		return d.String()
	}
	slices.Sort(bauds)
	bLo, bHi := bauds[0]/4, bauds[len(bauds)-1]*3 // room for the labels
	yLo, yHi := niceLogRange(lo*0.8, hi*1.05)
	x := axis{lo: bLo, hi: bHi, p0: 90, p1: W - 30, log: true, tickVals: bauds}
	y := axis{lo: yLo, hi: yHi, p0: H - 70, p1: 50, log: true, tickVals: logTicks(yLo, yHi)}
	d.frame(x, y, func(v float64) string { return fmt.Sprintf("%.0f", v) }, func(v float64) string { return siUnit(v) },
		"line rate (baud, 8N1)", "goodput (body bytes/s)")

	// The raw line rate, baud/10, for reference.
	var wire [][2]float64
	for _, b := range []float64{bLo, bHi} {
		wire = append(wire, [2]float64{x.pos(b), y.pos(b / 10)})
	}
	fmt.Fprintf(&d.b, `<clipPath id="plot"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath>`+"\n", x.p0, y.p1, x.p1-x.p0, y.p0-y.p1)
	d.b.WriteString(`<g clip-path="url(#plot)">` + "\n")
	d.polyline(wire, "#999", 1.2, "2,4")
	d.b.WriteString("</g>\n")
	entries := [][3]string{{"#999", "2,4", "line rate: baud/10 bytes/s"}}
	for i, p := range profiles {
		col := palette[i%len(palette)]
		var got, bound [][2]float64
		for _, q := range series[p] {
			got = append(got, [2]float64{x.pos(q.baud), y.pos(q.got)})
			bound = append(bound, [2]float64{x.pos(q.baud), y.pos(q.bound)})
		}
		d.polyline(bound, col, 1.5, "6,4")
		d.polyline(got, col, 2, "")
		for j, q := range got {
			d.circle(q[0], q[1], 4, col)
			s := series[p][j]
			// Left of the first point, right of the others; the higher
			// profile's label above its point, the others below.
			anchor, dx := "start", 8.0
			if j == 0 {
				anchor, dx = "end", -8
			}
			dy := 16.0
			if higher(series, p, s.baud) {
				dy = -8
			}
			d.text(q[0]+dx, q[1]+dy, anchor, fmt.Sprintf("%s B/s, %.1f%% of bound", siUnit(s.got), 100*s.got/s.bound), fmt.Sprintf(`fill="%s" font-size="11"`, col))
		}
		entries = append(entries, [3]string{col, "", string(p) + ": achieved"}, [3]string{col, "6,4", string(p) + ": bound (performance model)"})
	}
	d.legend(100, 58, entries)
	return d.String()
}

// goodputPoint is one profile's goodput at one baud.
type goodputPoint struct{ baud, got, bound float64 }

// higher reports whether p's goodput at baud is the highest of all profiles.
func higher(series map[sim.Profile][]goodputPoint, p sim.Profile, baud float64) bool {
	get := func(q sim.Profile) float64 {
		for _, v := range series[q] {
			if v.baud == baud {
				return v.got
			}
		}
		return -1
	}
	for q := range series {
		if q != p && get(q) > get(p) {
			return false
		}
	}
	return true
}

// latencySVG plots each scenario's latency distribution (CDF, log time
// axis), one panel per profile and baud.
func latencySVG(combos []*combo) string {
	var profiles []sim.Profile
	var bauds []int
	var names []string
	lo, hi := math.Inf(1), 0.0
	for _, c := range combos {
		if !slices.Contains(profiles, c.profile) {
			profiles = append(profiles, c.profile)
		}
		if !slices.Contains(bauds, c.baud) {
			bauds = append(bauds, c.baud)
		}
		for _, r := range c.results {
			if r.err != nil || len(r.lat) == 0 {
				continue
			}
			if !slices.Contains(names, r.scenario) {
				names = append(names, r.scenario)
			}
			for _, l := range r.lat {
				v := float64(l) / float64(time.Millisecond)
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	slices.Sort(bauds)
	const pw, ph = 430, 300
	cols, rows := max(len(bauds), 1), max(len(profiles), 1)
	W, H := 40+cols*pw, 60+rows*ph+50+18*((len(names)+2)/3)
	d := newSVG(W, H)
	d.text(float64(W)/2, 24, "middle", "Latency distribution per scenario (CDF)", `font-size="15" font-weight="bold"`)
	if len(names) == 0 {
		d.text(float64(W)/2, float64(H)/2, "middle", "no latency samples")
		return d.String()
	}
	xLo, xHi := niceLogRange(lo*0.9, hi*1.1)
	for _, c := range combos {
		ci, ri := slices.Index(bauds, c.baud), slices.Index(profiles, c.profile)
		ox, oy := 40+float64(ci*pw), 50+float64(ri*ph)
		x := axis{lo: xLo, hi: xHi, p0: ox + 60, p1: ox + pw - 20, log: true, tickVals: logTicks(xLo, xHi)}
		y := axis{lo: 0, hi: 1, p0: oy + ph - 60, p1: oy + 20, tickVals: []float64{0, 0.25, 0.5, 0.75, 1}}
		labelled := func(v float64) string {
			m := v / math.Pow(10, math.Floor(math.Log10(v)))
			if m > 1.5 && len(x.tickVals) > 6 {
				return ""
			}
			return durLabel(v)
		}
		d.frame(x, y, labelled, func(v float64) string { return fmt.Sprintf("%.2g", v) }, "latency", "fraction of requests")
		d.text((x.p0+x.p1)/2, oy+12, "middle", fmt.Sprintf("%s, %d baud", c.profile, c.baud), `font-weight="bold"`)
		for _, r := range c.results {
			if r.err != nil || len(r.lat) == 0 {
				continue
			}
			col := palette[slices.Index(names, r.scenario)%len(palette)]
			s := slices.Clone(r.lat)
			slices.Sort(s)
			var pts [][2]float64
			prevY := y.pos(0)
			for i, l := range s {
				px := x.pos(float64(l) / float64(time.Millisecond))
				py := y.pos(float64(i+1) / float64(len(s)))
				pts = append(pts, [2]float64{px, prevY}, [2]float64{px, py})
				prevY = py
			}
			d.polyline(pts, col, 1.8, "")
			if len(s) == 1 {
				d.circle(pts[1][0], pts[1][1], 3.5, col)
			}
		}
	}
	// One legend for all panels, below them.
	ly := float64(50 + rows*ph + 10)
	for i, n := range names {
		col := palette[i%len(palette)]
		lx := 60 + float64((i%3)*260)
		yy := ly + 18*float64(i/3) + 12
		d.line(lx, yy-4, lx+24, yy-4, col, 2.5, "")
		d.text(lx+30, yy, "start", scenarioTitle(n))
	}
	d.text(60, float64(H)-12, "start", "Latency: request written (with Connection: close, its dial) to last byte read; page: HTML request to last asset byte.",
		`font-size="11" fill="#555"`)
	return d.String()
}

// scenarioTitle describes a scenario name for a legend.
func scenarioTitle(n string) string {
	switch n {
	case "goodput":
		return "large response (per download)"
	case "page":
		return "page: HTML + 4 assets (per page)"
	}
	var mode string
	var c int
	if _, err := fmt.Sscanf(strings.Replace(strings.TrimPrefix(n, "small-"), "-c", " ", 1), "%s %d", &mode, &c); err == nil {
		if mode == "ka" {
			mode = "keep-alive"
		} else {
			mode = "Connection: close"
		}
		clients := "1 client"
		if c != 1 {
			clients = fmt.Sprintf("%d clients", c)
		}
		return fmt.Sprintf("small, %s, %s", clients, mode)
	}
	return n
}
