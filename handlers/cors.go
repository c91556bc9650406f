package handlers

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CORSOptions configures the CORS middleware.
type CORSOptions struct {
	// AllowOrigins lists the origins allowed to make cross-origin
	// requests, as browsers send them ("https://app.example.com",
	// "http://localhost:3000"); "*" allows any.
	AllowOrigins []string
	// AllowOriginFunc, if set, is asked about an origin AllowOrigins does
	// not list. It runs on the server's loop: it must not block.
	AllowOriginFunc func(origin []byte) bool
	// AllowMethods lists the methods a preflight may ask for, beyond GET,
	// HEAD and POST (which need no preflight), for example PUT, DELETE.
	AllowMethods []string
	// AllowHeaders lists the request headers a cross-origin request may
	// send beyond the CORS-safelisted ones; "*" allows any. nil means
	// Content-Type (for JSON bodies). Add Authorization for Basic or
	// Bearer auth.
	AllowHeaders []string
	// ExposeHeaders lists the response headers a page's script may read
	// beyond the safelisted ones.
	ExposeHeaders []string
	// AllowCredentials lets requests with cookies or Authorization through;
	// the allowed origin is then always named, never "*".
	AllowCredentials bool
	// MaxAge is how long a browser may cache a preflight's answer; zero
	// sends no Access-Control-Max-Age (browsers then keep it 5 s).
	MaxAge time.Duration
}

type cors struct {
	origins     []string
	anyOrigin   bool
	originFunc  func([]byte) bool
	methods     string
	headers     []string
	anyHeader   bool
	headerList  string
	expose      string
	credentials bool
	maxAge      string
}

// CORS returns a middleware that implements cross-origin resource
// sharing. A preflight (OPTIONS with Origin and
// Access-Control-Request-Method) is answered here with 204 and never
// reaches the wrapped handler: with the Access-Control-Allow-* headers
// when the origin is allowed, without them otherwise (the browser then
// reports which rule failed). Other requests from an allowed origin get
// Access-Control-Allow-Origin (and -Credentials, -Expose-Headers) and go
// on to the handler; requests from other origins go on untouched, so the
// browser keeps the response from the page. Put CORS outside auth
// middleware: preflights carry no credentials.
func CORS(o CORSOptions) Middleware {
	c := &cors{originFunc: o.AllowOriginFunc, credentials: o.AllowCredentials}
	for _, s := range o.AllowOrigins {
		if s == "*" {
			c.anyOrigin = true
		} else {
			c.origins = append(c.origins, strings.TrimSuffix(s, "/"))
		}
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost}
	for _, m := range o.AllowMethods {
		if !validMethod(m) {
			panic("handlers: CORS: bad method " + strconv.Quote(m))
		}
		if !contains(methods, m) {
			methods = append(methods, m)
		}
	}
	c.methods = strings.Join(methods, ", ")
	allow := o.AllowHeaders
	if allow == nil {
		allow = []string{"Content-Type"}
	}
	for _, h := range allow {
		if h == "*" {
			c.anyHeader = true
		} else if isTokenString(h) && h != "" {
			c.headers = append(c.headers, h)
		} else {
			panic("handlers: CORS: bad header name " + strconv.Quote(h))
		}
	}
	c.headerList = strings.Join(c.headers, ", ")
	for _, h := range o.ExposeHeaders {
		if h == "" || !isTokenString(h) {
			panic("handlers: CORS: bad header name " + strconv.Quote(h))
		}
	}
	c.expose = strings.Join(o.ExposeHeaders, ", ")
	if o.MaxAge > 0 {
		c.maxAge = strconv.FormatInt(int64(o.MaxAge/time.Second), 10)
	}
	return func(next Handler) Handler { return &wrapped{next: next, serve: c.serve} }
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *cors) serve(w *ResponseWriter, r *Request, next Handler) {
	origin := r.Header("Origin")
	if origin == nil {
		next.ServeModem(w, r)
		return
	}
	if string(r.Method) == http.MethodOptions && r.Header("Access-Control-Request-Method") != nil {
		c.preflight(w, r, origin)
		return
	}
	if !c.anyOrigin || c.credentials {
		w.AddHeader("Vary", "Origin")
	}
	if c.allowed(origin) {
		c.allowOrigin(w, origin)
		if c.expose != "" {
			w.AddHeader("Access-Control-Expose-Headers", c.expose)
		}
	}
	w.KeepHeaders() // error answers from next (401, 400, ...) stay readable
	next.ServeModem(w, r)
}

func (c *cors) preflight(w *ResponseWriter, r *Request, origin []byte) {
	w.AddHeader("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
	if !c.allowed(origin) {
		return
	}
	c.allowOrigin(w, origin)
	w.AddHeader("Access-Control-Allow-Methods", c.methods)
	if req := r.Header("Access-Control-Request-Headers"); len(req) > 0 {
		if c.headersAllowed(req) {
			w.addHeaderBytes("Access-Control-Allow-Headers", req)
		} else if c.headerList != "" {
			w.AddHeader("Access-Control-Allow-Headers", c.headerList)
		}
	}
	if c.maxAge != "" {
		w.AddHeader("Access-Control-Max-Age", c.maxAge)
	}
}

func (c *cors) allowed(origin []byte) bool {
	if c.anyOrigin {
		return true
	}
	for _, o := range c.origins {
		if string(origin) == o {
			return true
		}
	}
	return c.originFunc != nil && c.originFunc(origin)
}

func (c *cors) allowOrigin(w *ResponseWriter, origin []byte) {
	if c.anyOrigin && !c.credentials {
		w.AddHeader("Access-Control-Allow-Origin", "*")
		return
	}
	w.addHeaderBytes("Access-Control-Allow-Origin", origin)
	if c.credentials {
		w.AddHeader("Access-Control-Allow-Credentials", "true")
	}
}

// headersAllowed reports whether every header in the comma-separated
// list req is allowed.
func (c *cors) headersAllowed(req []byte) bool {
	if c.anyHeader {
		return true
	}
	for len(req) > 0 {
		var h []byte
		if i := bytes.IndexByte(req, ','); i >= 0 {
			h, req = trimOWS(req[:i]), req[i+1:]
		} else {
			h, req = trimOWS(req), nil
		}
		if len(h) == 0 {
			continue
		}
		ok := false
		for _, a := range c.headers {
			if equalFold(h, a) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
