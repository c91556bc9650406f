package handlers

// Middleware wraps a Handler: it runs before (and around) the handler it
// wraps and may answer instead of it. Use one per route
// (rt.Handle("GET /admin", mw(h))), around a Router, or for the whole
// server (espgate.Server.Middleware), where it also sees the requests that
// go on to a net/http handler through Gateway.
type Middleware func(Handler) Handler

// Chain wraps h in mws, the first outermost: Chain(h, a, b) is a(b(h)).
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// wrapped is the handler a middleware of this package returns: serve runs
// around next. StreamsBody is forwarded to next when next has it, so a
// middleware does not hide a handler's choice to read request bodies as
// they arrive.
type wrapped struct {
	next  Handler
	serve func(w *ResponseWriter, r *Request, next Handler)
}

func (h *wrapped) ServeModem(w *ResponseWriter, r *Request) { h.serve(w, r, h.next) }

// StreamsBody reports what next says; false if it has no such method.
func (h *wrapped) StreamsBody(r *Request) bool {
	s, ok := h.next.(interface{ StreamsBody(*Request) bool })
	return ok && s.StreamsBody(r)
}

// addHeaderBytes is AddHeader for a value held as bytes.
func (w *ResponseWriter) addHeaderBytes(name string, value []byte) {
	for _, c := range value {
		if c == '\r' || c == '\n' || c == 0 {
			return
		}
	}
	w.header = append(w.header, name...)
	w.header = append(w.header, ": "...)
	w.header = append(w.header, value...)
	w.header = append(w.header, "\r\n"...)
}
