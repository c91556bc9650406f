package handlers

import (
	"bytes"
	"errors"
	"iter"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Cookie returns the value of the first cookie named name the client sent
// (surrounding double quotes removed), and whether there is one. The value
// is a view, valid until the handler returns.
func (r *Request) Cookie(name string) ([]byte, bool) {
	for k, v := range r.Cookies() {
		if string(k) == name {
			return v, true
		}
	}
	return nil, false
}

// Cookies yields every cookie the client sent, in order, as name and
// value views. Pairs with an invalid name are skipped.
func (r *Request) Cookies() iter.Seq2[[]byte, []byte] {
	return func(yield func(name, value []byte) bool) {
		for i := 0; i < r.NumHeaders(); i++ {
			k, line := r.HeaderAt(i)
			if !equalFold(k, "Cookie") {
				continue
			}
			for len(line) > 0 {
				var pair []byte
				if j := bytes.IndexByte(line, ';'); j >= 0 {
					pair, line = line[:j], line[j+1:]
				} else {
					pair, line = line, nil
				}
				name, value, _ := bytes.Cut(trimOWS(pair), []byte{'='})
				if !isToken(name) {
					continue
				}
				if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
					value = value[1 : len(value)-1]
				}
				if !yield(name, value) {
					return
				}
			}
		}
	}
}

// Errors of SetCookie.
var (
	ErrCookieName     = errors.New("handlers: cookie name is empty or not a token")
	ErrCookieValue    = errors.New("handlers: cookie value has a byte outside US-ASCII printable, or \" ; \\")
	ErrCookiePath     = errors.New("handlers: cookie path has a control byte or ';'")
	ErrCookieDomain   = errors.New("handlers: cookie domain is not a host name or IPv4 address")
	ErrCookieExpires  = errors.New("handlers: cookie expires before 1601")
	ErrCookieTooLong  = errors.New("handlers: cookie name and value exceed 4096 bytes")
	ErrCookieInsecure = errors.New("handlers: SameSite=None, Partitioned, __Secure- and __Host- cookies need Secure")
	ErrCookieHost     = errors.New("handlers: a __Host- cookie needs Path=/ and no Domain")
)

// SetCookie adds a Set-Cookie header line for c with every attribute it
// sets: Path, Domain, Expires, Max-Age (as in net/http: negative means
// "delete now", zero means absent), Secure, HttpOnly, SameSite and
// Partitioned. A value with a space or comma, or with c.Quoted, is sent
// in double quotes. Where net/http silently drops what is invalid,
// SetCookie refuses the whole cookie with an error and adds nothing: an
// invalid name, value, path or domain, an expiry before 1601, more than
// 4096 bytes of name and value, and what browsers reject (SameSite=None,
// Partitioned and the __Secure- and __Host- prefixes without Secure; a
// __Host- cookie with a Domain or a Path other than /). Raw and Unparsed
// are ignored. It allocates nothing.
func (w *ResponseWriter) SetCookie(c *http.Cookie) error {
	if err := checkCookie(c); err != nil {
		return err
	}
	h := append(w.header, "Set-Cookie: "...)
	h = append(h, c.Name...)
	h = append(h, '=')
	if c.Quoted || strings.ContainsAny(c.Value, " ,") {
		h = append(h, '"')
		h = append(h, c.Value...)
		h = append(h, '"')
	} else {
		h = append(h, c.Value...)
	}
	if c.Path != "" {
		h = append(append(h, "; Path="...), c.Path...)
	}
	if c.Domain != "" {
		h = append(append(h, "; Domain="...), strings.TrimPrefix(c.Domain, ".")...)
	}
	if !c.Expires.IsZero() {
		h = c.Expires.UTC().AppendFormat(append(h, "; Expires="...), http.TimeFormat)
	}
	switch {
	case c.MaxAge > 0:
		h = strconv.AppendInt(append(h, "; Max-Age="...), int64(c.MaxAge), 10)
	case c.MaxAge < 0:
		h = append(h, "; Max-Age=0"...)
	}
	if c.HttpOnly {
		h = append(h, "; HttpOnly"...)
	}
	if c.Secure {
		h = append(h, "; Secure"...)
	}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		h = append(h, "; SameSite=Lax"...)
	case http.SameSiteStrictMode:
		h = append(h, "; SameSite=Strict"...)
	case http.SameSiteNoneMode:
		h = append(h, "; SameSite=None"...)
	}
	if c.Partitioned {
		h = append(h, "; Partitioned"...)
	}
	w.header = append(h, "\r\n"...)
	return nil
}

func checkCookie(c *http.Cookie) error {
	if c.Name == "" || !isTokenString(c.Name) {
		return ErrCookieName
	}
	for i := 0; i < len(c.Value); i++ {
		if b := c.Value[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return ErrCookieValue
		}
	}
	if len(c.Name)+len(c.Value) > 4096 {
		return ErrCookieTooLong
	}
	for i := 0; i < len(c.Path); i++ {
		if b := c.Path[i]; b < 0x20 || b >= 0x7f || b == ';' {
			return ErrCookiePath
		}
	}
	if c.Domain != "" && !validCookieDomain(strings.TrimPrefix(c.Domain, ".")) {
		return ErrCookieDomain
	}
	if !c.Expires.IsZero() && c.Expires.Year() < 1601 {
		return ErrCookieExpires
	}
	if !c.Secure && (c.SameSite == http.SameSiteNoneMode || c.Partitioned ||
		strings.HasPrefix(c.Name, "__Secure-") || strings.HasPrefix(c.Name, "__Host-")) {
		return ErrCookieInsecure
	}
	if strings.HasPrefix(c.Name, "__Host-") && (c.Domain != "" || c.Path != "/") {
		return ErrCookieHost
	}
	return nil
}

func isTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// validCookieDomain accepts a host name (letters, digits, '-' and '_' in
// dot-separated labels of at most 63 bytes, no label starting or ending
// with '-') or an IPv4 address.
func validCookieDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	if a, err := netip.ParseAddr(d); err == nil {
		return a.Is4()
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
