package handlers

import (
	"bytes"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// fileTypes maps extensions to content types, so that the common web
// types do not depend on the host's mime files.
var fileTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".xml":         "application/xml",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".ico":         "image/x-icon",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".wasm":        "application/wasm",
	".pdf":         "application/pdf",
	".zip":         "application/zip",
	".gz":          "application/gzip",
	".mp3":         "audio/mpeg",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
}

// contentType returns the type to send for name and whether it is worth
// compressing.
func contentType(name string) (ctype string, compressible bool) {
	ext := strings.ToLower(path.Ext(name))
	ctype = fileTypes[ext]
	if ctype == "" && ext != "" {
		ctype = mime.TypeByExtension(ext)
		if strings.HasPrefix(ctype, "text/") && !strings.Contains(ctype, "charset") {
			ctype += "; charset=utf-8"
		}
	}
	if ctype == "" {
		return "application/octet-stream", false
	}
	return ctype, compressibleType(ctype)
}

// compressibleType reports whether a body of type ctype shrinks under
// gzip: text and text-like formats, not images, fonts in woff or archives,
// which are compressed already.
func compressibleType(ctype string) bool {
	t, _, _ := strings.Cut(ctype, ";")
	switch {
	case strings.HasPrefix(t, "text/"), strings.HasSuffix(t, "+json"), strings.HasSuffix(t, "+xml"):
		return true
	}
	switch t {
	case "application/json", "application/javascript", "application/xml", "application/wasm",
		"image/x-icon", "image/bmp", "font/ttf", "font/otf":
		return true
	}
	return false
}

// acceptedCodings returns the quality (0..1000) Accept-Encoding gives br
// and gzip.
func acceptedCodings(r *Request) (br, gz int) {
	return codingQ(r, "br"), codingQ(r, "gzip")
}

// AcceptsEncoding reports whether the request's Accept-Encoding admits
// the content coding (RFC 9110 section 12.5.3): the coding named with a
// non-zero q (for "gzip", also "x-gzip"), or, when it is not named, "*"
// with a non-zero q. Without the field the answer is no: clients that
// want compression ask for it.
func (r *Request) AcceptsEncoding(coding string) bool {
	return r.Request != nil && codingQ(r, coding) > 0
}

// codingQ returns the quality (0..1000) Accept-Encoding gives coding: its
// own q, else that of "*", else 0.
func codingQ(r *Request, coding string) int {
	q, star := -1, -1
	for i := range r.NumHeaders() {
		name, v := r.HeaderAt(i)
		if !equalFold(name, "Accept-Encoding") {
			continue
		}
		for len(v) > 0 {
			var e []byte
			e, v = listElem(v)
			c, params, _ := cutByte(e, ';')
			c = trimOWS(c)
			eq := 1000
			if params != nil {
				eq = qParam(params)
			}
			switch {
			case equalFold(c, coding), coding == "gzip" && equalFold(c, "x-gzip"):
				q = max(q, eq)
			case string(c) == "*":
				star = max(star, eq)
			}
		}
	}
	if q < 0 {
		return max(star, 0)
	}
	return q
}

// qParam returns the q parameter among ';'-separated parameters in
// thousandths: 1000 when absent, 0 when malformed (a coding the client
// may not want is not sent).
func qParam(params []byte) int {
	for len(params) > 0 {
		var p []byte
		p, params, _ = cutByte(params, ';')
		k, v, _ := cutByte(trimOWS(p), '=')
		if !equalFold(trimOWS(k), "q") {
			continue
		}
		return qValue(trimOWS(v))
	}
	return 1000
}

// qValue parses a qvalue: "0" ["." 0*3DIGIT] or "1" ["." 0*3("0")].
func qValue(v []byte) int {
	if len(v) == 0 || len(v) > 5 || v[0] != '0' && v[0] != '1' || len(v) > 1 && v[1] != '.' {
		return 0
	}
	q, scale := int(v[0]-'0')*1000, 100
	for _, c := range v[min(len(v), 2):] {
		if c < '0' || c > '9' {
			return 0
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0
	}
	return q
}

// notModified evaluates If-None-Match, or without it If-Modified-Since,
// for a GET or HEAD of the representation with etag and mod (RFC 9110
// section 13.2.2).
func notModified(r *Request, etag string, mod time.Time) bool {
	seen := false
	for i := range r.NumHeaders() {
		name, v := r.HeaderAt(i)
		if !equalFold(name, "If-None-Match") {
			continue
		}
		seen = true
		if string(v) == "*" {
			return true
		}
		for len(v) > 0 {
			var tag []byte
			if tag, v = nextETag(v); tag != nil && weakMatch(tag, etag) {
				return true
			}
		}
	}
	if seen || mod.IsZero() {
		return false
	}
	ims := r.Header("If-Modified-Since")
	if ims == nil {
		return false
	}
	t, err := http.ParseTime(string(ims))
	return err == nil && !mod.Truncate(time.Second).After(t)
}

// ifRangeHolds reports whether a Range may be served: no If-Range, or
// one that names this representation by a strong ETag or its exact
// Last-Modified date (RFC 9110 section 13.1.5).
func ifRangeHolds(r *Request, etag string, mod time.Time) bool {
	v := trimOWS(r.Header("If-Range"))
	switch {
	case v == nil:
		return true
	case len(v) > 0 && v[0] == '"':
		return string(v) == etag && etag[0] == '"'
	case len(v) > 1 && v[0] == 'W' && v[1] == '/':
		return false // a weak tag never allows a range
	}
	t, err := http.ParseTime(string(v))
	return err == nil && !mod.IsZero() && mod.Truncate(time.Second).Equal(t)
}

// nextETag returns the first entity-tag of the list v (with its W/, if
// any) and the rest; tag is nil for a malformed element, which is
// skipped.
func nextETag(v []byte) (tag, rest []byte) {
	i := 0
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == ',') {
		i++
	}
	v = v[i:]
	start := 0
	if len(v) >= 2 && v[0] == 'W' && v[1] == '/' {
		start = 2
	}
	if len(v) <= start || v[start] != '"' {
		_, rest, _ = cutByte(v, ',')
		return nil, rest
	}
	for j := start + 1; j < len(v); j++ {
		if v[j] == '"' {
			return v[:j+1], v[j+1:]
		}
	}
	return nil, nil
}

// weakMatch compares two entity-tags ignoring W/ (RFC 9110 section 8.8.3.2).
func weakMatch(a []byte, b string) bool {
	if len(a) >= 2 && a[0] == 'W' && a[1] == '/' {
		a = a[2:]
	}
	b = strings.TrimPrefix(b, "W/")
	return string(a) == b
}

// parseRange reads a Range field for a representation of size bytes. ok
// false means the field is to be ignored (malformed, another unit, or
// several ranges); otherwise n < 0 means unsatisfiable, and the range is
// n bytes from start.
func parseRange(h []byte, size int64) (start, n int64, ok bool) {
	h = trimOWS(h)
	if len(h) < 6 || !equalFold(h[:6], "bytes=") {
		return 0, 0, false
	}
	spec := trimOWS(h[6:])
	first, last, found := cutByte(spec, '-')
	if !found || bytes.IndexByte(spec, ',') >= 0 {
		return 0, 0, false
	}
	first, last = trimOWS(first), trimOWS(last)
	if len(first) == 0 { // the last n bytes
		k, ok := decimal(last)
		if !ok {
			return 0, 0, false
		}
		if k == 0 || size == 0 {
			return 0, -1, true
		}
		k = min(k, size)
		return size - k, k, true
	}
	a, ok := decimal(first)
	if !ok {
		return 0, 0, false
	}
	b := size - 1
	if len(last) > 0 {
		if b, ok = decimal(last); !ok || b < a {
			return 0, 0, false
		}
	}
	if a >= size {
		return 0, -1, true
	}
	b = min(b, size-1)
	return a, b - a + 1, true
}

// decimal parses 1 to 18 digits.
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}
