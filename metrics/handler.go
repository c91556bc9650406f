package metrics

import (
	"bufio"
	"compress/gzip"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/espgate/espgate/handlers"
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
	gz := r.AcceptsEncoding("gzip")
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
