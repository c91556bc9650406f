package proxy

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// gzipResponse decides whether to compress res's body on the way and, if
// so, rewrites its header for the compressed form. A compressible body
// the client could have had compressed gets Vary: Accept-Encoding either
// way, so caches keep the two forms apart.
func gzipResponse(res *http.Response, minSize int64) bool {
	h := res.Header
	switch {
	case res.Request == nil || res.Request.Method == http.MethodHead,
		res.StatusCode < 200, res.StatusCode == http.StatusNoContent,
		res.StatusCode == http.StatusNotModified,
		res.StatusCode == http.StatusPartialContent, h.Get("Content-Range") != "":
		return false
	case res.ContentLength >= 0 && res.ContentLength < minSize:
		return false
	case !compressible(h.Get("Content-Type")):
		return false
	case hasToken(h["Cache-Control"], "no-transform"):
		return false
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false // the upstream compressed it already
	}
	if !hasToken(h["Vary"], "Accept-Encoding") && !hasToken(h["Vary"], "*") {
		h.Add("Vary", "Accept-Encoding")
	}
	if !acceptsGzip(res.Request.Header) {
		return false
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	h.Del("Accept-Ranges") // byte ranges of the identity form no longer apply
	if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("Etag", "W/"+et) // the same content, other bytes
	}
	return true
}

// compressible reports whether a body of this media type shrinks under
// gzip: text, JSON, JavaScript, XML and SVG, and a few uncompressed
// binary formats.
func compressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") {
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/x-javascript",
		"application/ecmascript", "application/xml", "application/x-ndjson",
		"application/x-www-form-urlencoded", "application/wasm", "application/x-yaml",
		"application/yaml", "application/toml", "application/vnd.ms-fontobject",
		"font/ttf", "font/otf", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp":
		return true
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding allows gzip: named (or
// x-gzip) with a non-zero weight, or covered by * with one.
func acceptsGzip(h http.Header) bool {
	gz, star := -1.0, -1.0 // weights; -1: not named
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				name, value, _ := strings.Cut(p, "=")
				if strings.EqualFold(strings.TrimSpace(name), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0 // a weight we cannot read does not grant anything
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gz = max(gz, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// hasToken reports whether a comma-separated header holds token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(part, "=")
			if strings.EqualFold(strings.TrimSpace(name), token) {
				return true
			}
		}
	}
	return false
}

// gzipWriters keeps compressors between responses: each holds about
// 800 KB of tables.
var gzipWriters sync.Pool

// compressWriter is the http.ResponseWriter ReverseProxy writes to: it
// compresses the body when the exchange says so, and flushes compressed
// output whenever ReverseProxy flushes (after every upstream read for
// streamed bodies), so nothing waits in the compressor. Hijack and the
// rest reach the server's writer through Unwrap.
type compressWriter struct {
	http.ResponseWriter
	x  *exchange
	gz *gzip.Writer
}

func (c *compressWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *compressWriter) Write(b []byte) (int, error) {
	if !c.x.gzip {
		return c.ResponseWriter.Write(b)
	}
	if c.gz == nil {
		c.start()
	}
	return c.gz.Write(b)
}

func (c *compressWriter) start() {
	if gz, ok := gzipWriters.Get().(*gzip.Writer); ok {
		gz.Reset(c.ResponseWriter)
		c.gz = gz
		return
	}
	c.gz = gzip.NewWriter(c.ResponseWriter)
}

// FlushError sends what the compressor holds, then flushes the server's
// writer.
func (c *compressWriter) FlushError() error {
	if c.gz != nil {
		if err := c.gz.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(c.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (c *compressWriter) Flush() { c.FlushError() }

// close ends the compressed stream, if any.
func (c *compressWriter) close() {
	if !c.x.gzip {
		return
	}
	if c.gz == nil {
		c.start() // an empty body is still a gzip stream
	}
	c.gz.Close()
	c.gz.Reset(io.Discard)
	gzipWriters.Put(c.gz)
	c.gz = nil
}

// abandon drops the compressor without ending the stream: a cut response
// must not end in a valid gzip trailer.
func (c *compressWriter) abandon() {
	if c.gz != nil {
		c.gz.Reset(io.Discard)
		gzipWriters.Put(c.gz)
		c.gz = nil
	}
}
