//go:build !race

package handlers

import "testing"

var static = []byte("static body")

// Matching and a simple native handler allocate nothing per request.
func TestRouterZeroAllocs(t *testing.T) {
	rt := NewRouter()
	for _, p := range routerPatterns {
		rt.HandleFunc(p, func(w *ResponseWriter, r *Request) {
			w.AddHeader("Content-Type", "text/plain")
			_ = r.Param("name")
			w.SetBody(static)
		})
	}
	var w ResponseWriter
	for _, target := range []string{"/users/ada/posts/3", "/static/css/site.css", "/items/new", "/", "/docs/intro", "/users/J%C3%BCrgen/posts/1"} {
		r := request("GET", target)
		serve := func() {
			r.Reset(r.Request, 0, nil, 0, nil)
			w.Reset(nil)
			rt.ServeModem(&w, r)
		}
		serve()
		if w.Status() != 200 {
			t.Fatalf("%s: status %d", target, w.Status())
		}
		if a := testing.AllocsPerRun(100, serve); a != 0 {
			t.Errorf("%s: %.1f allocations per request", target, a)
		}
	}
}

func BenchmarkRouter(b *testing.B) {
	rt := NewRouter()
	for _, p := range routerPatterns {
		rt.HandleFunc(p, func(w *ResponseWriter, r *Request) { w.SetBody(static) })
	}
	r := request("GET", "/users/ada/posts/3")
	var w ResponseWriter
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(r.Request, 0, nil, 0, nil)
		w.Reset(nil)
		rt.ServeModem(&w, r)
	}
}
