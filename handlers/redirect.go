package handlers

import (
	"bytes"
	"errors"
	"net/http"
	"path"
	"strings"
)

// ErrRedirectCode is returned by Redirect for a status that is not a
// redirect, ErrRedirectURL for a URL with a control byte.
var (
	ErrRedirectCode = errors.New("handlers: redirect status must be 301, 302, 303, 307 or 308")
	ErrRedirectURL  = errors.New("handlers: redirect URL has a control byte")
)

// Redirect answers with code (301, 302, 303, 307 or 308) and a Location
// of url, as net/http's Redirect does: a url with neither scheme nor host
// is resolved against r's path (and cleaned, keeping a trailing slash and
// the query), non-ASCII bytes are percent-escaped, and a GET or HEAD gets
// a short HTML body with the link. r may be nil (no resolving: url must
// then be absolute or start with /). Any other code, or a url with a
// control byte, returns an error and leaves w untouched.
func Redirect(w *ResponseWriter, r *Request, url string, code int) error {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return ErrRedirectCode
	}
	for i := 0; i < len(url); i++ {
		if url[i] < ' ' || url[i] == 0x7f {
			return ErrRedirectURL
		}
	}
	if r != nil && !hasSchemeOrHost(url) {
		url = resolve(string(r.Path), url)
	}
	w.header = append(w.header, "Location: "...)
	w.header = appendEscapedNonASCII(w.header, url)
	w.header = append(w.header, "\r\n"...)
	w.WriteHeader(code)
	if r != nil && (string(r.Method) == http.MethodGet || string(r.Method) == http.MethodHead) {
		if !w.hasHeader("Content-Type") {
			w.AddHeader("Content-Type", "text/html; charset=utf-8")
		}
		w.WriteString(`<a href="`)
		w.buf = appendHTMLEscaped(w.buf, url)
		w.WriteString(`">`)
		w.WriteString(http.StatusText(code))
		w.WriteString("</a>.\n")
	}
	return nil
}

// hasSchemeOrHost reports whether url starts with a scheme ("https:") or
// is network-path relative ("//host").
func hasSchemeOrHost(url string) bool {
	if strings.HasPrefix(url, "//") {
		return true
	}
	for i := 0; i < len(url); i++ {
		c := url[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return false
			}
		case c == ':':
			return i > 0
		default:
			return false
		}
	}
	return false
}

// resolve makes a path-only url absolute against the request path, as
// net/http's Redirect does.
func resolve(reqPath, url string) string {
	if reqPath == "" || reqPath[0] != '/' {
		reqPath = "/"
	}
	if url == "" || url[0] != '/' {
		dir, _ := path.Split(reqPath)
		url = dir + url
	}
	var query string
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url, query = url[:i], url[i:]
	}
	trailing := strings.HasSuffix(url, "/")
	url = path.Clean(url)
	if trailing && !strings.HasSuffix(url, "/") {
		url += "/"
	}
	return url + query
}

func appendEscapedNonASCII(b []byte, s string) []byte {
	const hex = "0123456789abcdef" // lower case, as net/http
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return b
}

func appendHTMLEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '"':
			b = append(b, "&#34;"...)
		case '\'':
			b = append(b, "&#39;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// hasHeader reports whether the response has a header line named name.
func (w *ResponseWriter) hasHeader(name string) bool {
	for h := w.header; len(h) > 0; {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		if k, _, ok := bytes.Cut(line, []byte{':'}); ok && equalFold(k, name) {
			return true
		}
	}
	return false
}
