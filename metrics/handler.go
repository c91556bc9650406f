package metrics

import (
	"bufio"
	"compress/gzip"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/parser"
)

// contentType is the Prometheus text exposition format, version 0.0.4.
const contentType = string(expfmt.FmtText)

// Handler serves g's metrics in the text exposition format as a native
// handler: it gathers and encodes on the loop, into the ResponseWriter,
// gzip-compressed when the request's Accept-Encoding admits gzip. Its
// encoders are reused across requests; a mutex guards them if the handler
// is shared between loops.
func Handler(g prometheus.Gatherer) handlers.Handler {
	return &scrapeHandler{g: g, bw: bufio.NewWriterSize(nil, 4096)}
}

type scrapeHandler struct {
	g  prometheus.Gatherer
	mu sync.Mutex
	bw *bufio.Writer
	zw *gzip.Writer // created on the first gzip request
}

func (h *scrapeHandler) ServeModem(w *handlers.ResponseWriter, r *handlers.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()

	mfs, err := h.g.Gather()
	if err != nil {
		fail(w, "gathering metrics: "+err.Error())
		return
	}
	gz := r.Request != nil && acceptsGzip(r.Request)
	w.AddHeader("Content-Type", contentType)
	w.AddHeader("Vary", "Accept-Encoding")
	if gz {
		w.AddHeader("Content-Encoding", "gzip")
		if h.zw == nil {
			h.zw = gzip.NewWriter(w)
		} else {
			h.zw.Reset(w)
		}
		h.bw.Reset(h.zw)
	} else {
		h.bw.Reset(w)
	}
	for _, mf := range mfs {
		if _, err = expfmt.MetricFamilyToText(h.bw, mf); err != nil {
			break
		}
	}
	if err == nil {
		err = h.bw.Flush()
	}
	if gz && err == nil {
		err = h.zw.Close()
	}
	h.bw.Reset(nil)
	if gz {
		h.zw.Reset(nil)
	}
	if err != nil {
		fail(w, "encoding metrics: "+err.Error())
	}
}

func fail(w *handlers.ResponseWriter, msg string) {
	w.Discard()
	w.WriteHeader(500)
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteString(msg)
	w.WriteString("\n")
}

// acceptsGzip reports whether Accept-Encoding admits gzip (RFC 9110
// section 12.5.3): gzip or x-gzip with a non-zero q, or, when neither is
// named, "*" with a non-zero q. Without the field the answer is no, as
// Prometheus always asks for gzip when it wants it.
func acceptsGzip(r *parser.Request) bool {
	named, ok, star := false, false, false
	for i := range r.NumHeaders() {
		name, v := r.HeaderAt(i)
		if !equalFold(name, "Accept-Encoding") {
			continue
		}
		for len(v) > 0 {
			var e []byte
			e, v = nextElem(v)
			coding, q := e, []byte(nil)
			for j, c := range e {
				if c == ';' {
					coding, q = trimOWS(e[:j]), qParam(e[j+1:])
					break
				}
			}
			switch {
			case equalFold(coding, "gzip"), equalFold(coding, "x-gzip"):
				named = true
				ok = ok || !qZero(q)
			case string(coding) == "*":
				star = star || !qZero(q)
			}
		}
	}
	if named {
		return ok
	}
	return star
}

// nextElem splits a comma-separated list: the first element, trimmed, and
// the rest.
func nextElem(v []byte) (elem, rest []byte) {
	for i, c := range v {
		if c == ',' {
			return trimOWS(v[:i]), v[i+1:]
		}
	}
	return trimOWS(v), nil
}

// qParam returns the value of the q parameter among ';'-separated
// parameters, or nil.
func qParam(params []byte) []byte {
	for len(params) > 0 {
		p := params
		params = nil
		for i, c := range p {
			if c == ';' {
				p, params = p[:i], p[i+1:]
				break
			}
		}
		p = trimOWS(p)
		if len(p) >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' {
			return trimOWS(p[2:])
		}
	}
	return nil
}

// qZero reports whether a qvalue is zero ("0", "0.", "0.000"). A missing or
// malformed value counts as non-zero.
func qZero(q []byte) bool {
	if len(q) == 0 || q[0] != '0' {
		return false
	}
	if len(q) == 1 {
		return true
	}
	if q[1] != '.' || len(q) > 5 {
		return false
	}
	for _, c := range q[2:] {
		if c != '0' {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b equals s, ASCII case-insensitive.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
