package handlers

import (
	"net/http"
	"path"
	"slices"
	"strings"
)

// Router dispatches native handlers by method and path. Its patterns mean
// what Go 1.22 net/http.ServeMux patterns mean:
//
//	"GET /items/{id}"      a method and a path with a one-segment wildcard
//	"/static/{path...}"    any method; the wildcard takes the rest of the path
//	"/docs/"               a subtree: /docs/ and everything below it
//	"/docs/{$}"            /docs/ only
//
// Precedence: at each segment a literal beats a wildcard, and a wildcard
// beats a rest wildcard or subtree; a pattern with the request's method
// beats one with none. (Where ServeMux panics on two patterns that overlap
// without either being more specific, Router takes the one whose first
// literal segment comes earlier.) GET also serves HEAD. A path that
// matches only under other methods gets 405 with Allow; OPTIONS without a
// handler gets 204 with Allow. A subtree's root without its slash is
// redirected (307, keeping the method, as ServeMux does) to it, and so is
// an unclean path (//, /./, /../) to its clean form, unless a NotFound
// handler is set and no pattern claims the clean form: then the unclean
// path goes to NotFound as it is (a proxied app sees what the client sent).
// Anything else goes to the NotFound handler (404 by default).
//
// Patterns are registered before serving; matching allocates nothing.
type Router struct {
	root     rnode
	notFound Handler
}

type rnode struct {
	lit      map[string]*rnode
	wild     *rnode // {name}
	wildName string
	exact    *endpoint // the pattern ends here
	rest     *endpoint // {name...} or a trailing slash: the rest of the path
	restName string
}

type endpoint struct {
	pattern string
	methods map[string]Handler
	any     Handler
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{} }

// HandleFunc registers f for pattern.
func (rt *Router) HandleFunc(pattern string, f func(w *ResponseWriter, r *Request)) {
	rt.Handle(pattern, HandlerFunc(f))
}

// Handle registers h for pattern. It panics, as ServeMux does, on a
// malformed pattern or one registered twice.
func (rt *Router) Handle(pattern string, h Handler) {
	method, p, ok := strings.Cut(pattern, " ")
	if !ok {
		method, p = "", pattern
	}
	p = strings.TrimLeft(p, " \t")
	if !strings.HasPrefix(p, "/") {
		panic("handlers: pattern " + pattern + ": path must start with / (host patterns are not supported)")
	}
	if method != "" && !validMethod(method) {
		panic("handlers: pattern " + pattern + ": bad method")
	}
	n := &rt.root
	segs := strings.Split(p[1:], "/")
	var ep **endpoint
	for i, seg := range segs {
		last := i == len(segs)-1
		switch {
		case last && seg == "": // trailing slash: a subtree
			ep = &n.rest
		case last && seg == "{$}":
			if n.lit == nil {
				n.lit = map[string]*rnode{}
			}
			// "/a/{$}" is the exact path "/a/": an empty last segment.
			if n.lit[""] == nil {
				n.lit[""] = &rnode{}
			}
			ep = &n.lit[""].exact
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "...}"):
			if !last {
				panic("handlers: pattern " + pattern + ": {name...} must be the last segment")
			}
			n.restName = seg[1 : len(seg)-4]
			ep = &n.rest
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			if name == "" || strings.ContainsAny(name, "{}/") {
				panic("handlers: pattern " + pattern + ": bad wildcard " + seg)
			}
			if n.wild == nil {
				n.wild = &rnode{wildName: name}
			}
			n = n.wild
			if n.wildName != name {
				panic("handlers: pattern " + pattern + ": wildcard {" + name + "} conflicts with {" + n.wildName + "} at the same place")
			}
			if last {
				ep = &n.exact
			}
		default:
			if strings.ContainsAny(seg, "{}") {
				panic("handlers: pattern " + pattern + ": bad segment " + seg)
			}
			if n.lit == nil {
				n.lit = map[string]*rnode{}
			}
			next := n.lit[seg]
			if next == nil {
				next = &rnode{}
				n.lit[seg] = next
			}
			n = next
			if last {
				ep = &n.exact
			}
		}
	}
	if *ep == nil {
		*ep = &endpoint{pattern: p, methods: map[string]Handler{}}
	}
	e := *ep
	if method == "" {
		if e.any != nil {
			panic("handlers: pattern " + pattern + " registered twice")
		}
		e.any = h
		return
	}
	if e.methods[method] != nil {
		panic("handlers: pattern " + pattern + " registered twice")
	}
	e.methods[method] = h
}

// NotFound sets the handler for requests no pattern matches (for example
// Gateway(mux), to serve native routes and a net/http app side by side).
func (rt *Router) NotFound(h Handler) { rt.notFound = h }

func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return m != ""
}

// ServeModem dispatches r.
func (rt *Router) ServeModem(w *ResponseWriter, r *Request) {
	p := r.Path
	if len(p) == 0 || p[0] != '/' {
		rt.serveNotFound(w, r)
		return
	}
	if !isClean(p) {
		// With a NotFound handler (an app behind the router), a path no
		// pattern would claim even clean goes to it as the client sent it.
		clean := cleanPath(string(p))
		if rt.notFound != nil && !rt.claims(clean) {
			rt.notFound.ServeModem(w, r)
			return
		}
		rt.redirect(w, r, clean)
		return
	}
	r.nparams = 0
	if h := rt.root.match(r, p[1:], string(r.Method), false); h != nil {
		h.ServeModem(w, r)
		return
	}
	r.nparams = 0
	// The path matches, but not for this method?
	if allow := rt.allowed(r, p); len(allow) > 0 {
		w.AddHeader("Allow", strings.Join(allow, ", "))
		if string(r.Method) == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusMethodNotAllowed)
		w.WriteString("Method Not Allowed\n")
		return
	}
	// A subtree's root named without its trailing slash.
	if len(p) > 1 && p[len(p)-1] != '/' {
		if n := rt.root.find(p[1:]); n != nil && n.rest != nil {
			rt.redirect(w, r, string(p)+"/")
			return
		}
	}
	rt.serveNotFound(w, r)
}

// StreamsBody implements BodyStreamer: it asks the handler r would go to.
func (rt *Router) StreamsBody(r *Request) bool {
	p := r.Path
	var h Handler
	if len(p) > 0 && p[0] == '/' && isClean(p) {
		r.nparams = 0
		h = rt.root.match(r, p[1:], string(r.Method), false)
		r.nparams = 0
		if h == nil && len(rt.allowed(r, p)) == 0 {
			h = rt.notFound
		}
	}
	s, ok := h.(BodyStreamer)
	return ok && s.StreamsBody(r)
}

func (rt *Router) serveNotFound(w *ResponseWriter, r *Request) {
	if rt.notFound != nil {
		rt.notFound.ServeModem(w, r)
		return
	}
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.WriteString("404 page not found\n")
}

func (rt *Router) redirect(w *ResponseWriter, r *Request, to string) {
	if len(r.RawQuery) > 0 {
		to += "?" + string(r.RawQuery)
	}
	w.AddHeader("Location", to)
	w.WriteHeader(http.StatusTemporaryRedirect) // as ServeMux: the method is kept
}

// match finds the handler for the rest of the path p (without its leading
// slash) under n, for method (or any method when anyMethod), recording
// wildcard values in r.
func (n *rnode) match(r *Request, p []byte, method string, anyMethod bool) Handler {
	seg, rest, more := cutSegment(p)
	mark := r.nparams
	if !more {
		// The last segment: an exact endpoint of a literal or wildcard child.
		if c := n.lit[string(seg)]; c != nil {
			if h := c.exact.handler(method, anyMethod); h != nil {
				return h
			}
		}
		if n.wild != nil && len(seg) > 0 {
			if h := n.wild.exact.handler(method, anyMethod); h != nil {
				r.addParam(n.wild.wildName, seg)
				return h
			}
		}
	} else {
		if c := n.lit[string(seg)]; c != nil {
			if h := c.match(r, rest, method, anyMethod); h != nil {
				return h
			}
			r.nparams = mark
		}
		if n.wild != nil && len(seg) > 0 {
			r.addParam(n.wild.wildName, seg)
			if h := n.wild.match(r, rest, method, anyMethod); h != nil {
				return h
			}
			r.nparams = mark
		}
	}
	if h := n.rest.handler(method, anyMethod); h != nil {
		if n.restName != "" {
			r.addParam(n.restName, p)
		}
		return h
	}
	return nil
}

// find returns the node the literal path p leads to, if any.
func (n *rnode) find(p []byte) *rnode {
	for {
		seg, rest, more := cutSegment(p)
		c := n.lit[string(seg)]
		if c == nil {
			return nil
		}
		if !more {
			return c
		}
		n, p = c, rest
	}
}

func cutSegment(p []byte) (seg, rest []byte, more bool) {
	for i, c := range p {
		if c == '/' {
			return p[:i], p[i+1:], true
		}
	}
	return p, nil, false
}

func (e *endpoint) handler(method string, anyMethod bool) Handler {
	if e == nil {
		return nil
	}
	if anyMethod {
		if e.any != nil {
			return e.any
		}
		for _, h := range e.methods {
			return h
		}
		return nil
	}
	if h := e.methods[method]; h != nil {
		return h
	}
	if method == http.MethodHead {
		if h := e.methods[http.MethodGet]; h != nil {
			return h
		}
	}
	return e.any
}

// allowed lists the methods the patterns matching path p accept (off the
// fast path: only for 405 and OPTIONS).
func (rt *Router) allowed(r *Request, p []byte) []string {
	var allow []string
	rt.root.walkMatches(p[1:], func(e *endpoint) {
		for m := range e.methods {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	})
	r.nparams = 0
	if len(allow) == 0 {
		return nil
	}
	allow = append(allow, http.MethodOptions)
	slices.Sort(allow)
	return slices.Compact(allow)
}

// claims reports whether a pattern matches the clean path p under some
// method, or p is a subtree's root without its slash (off the fast path).
func (rt *Router) claims(p string) bool {
	found := false
	rt.root.walkMatches([]byte(p[1:]), func(*endpoint) { found = true })
	if !found && len(p) > 1 {
		n := rt.root.find([]byte(p[1:]))
		found = n != nil && n.rest != nil
	}
	return found
}

// walkMatches calls f for every endpoint whose path matches p.
func (n *rnode) walkMatches(p []byte, f func(*endpoint)) {
	seg, rest, more := cutSegment(p)
	if !more {
		if c := n.lit[string(seg)]; c != nil && c.exact != nil {
			f(c.exact)
		}
		if n.wild != nil && len(seg) > 0 && n.wild.exact != nil {
			f(n.wild.exact)
		}
	} else {
		if c := n.lit[string(seg)]; c != nil {
			c.walkMatches(rest, f)
		}
		if n.wild != nil && len(seg) > 0 {
			n.wild.walkMatches(rest, f)
		}
	}
	if n.rest != nil {
		f(n.rest)
	}
}

// isClean reports whether p has no empty, "." or ".." segments (a final
// slash is fine).
func isClean(p []byte) bool {
	for i := 1; i < len(p); i++ {
		if p[i-1] != '/' {
			continue
		}
		switch {
		case p[i] == '/':
			return false
		case p[i] == '.' && (i+1 == len(p) || p[i+1] == '/'):
			return false
		case p[i] == '.' && i+1 < len(p) && p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/'):
			return false
		}
	}
	return true
}

// cleanPath is path.Clean keeping a trailing slash, as ServeMux does.
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
