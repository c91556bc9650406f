package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/espgate/espgate/parser"
)

var routerPatterns = []string{
	"GET /items/{id}",
	"POST /items/{id}",
	"GET /items/new",
	"/static/{path...}",
	"/docs/",
	"GET /docs/{$}",
	"GET /users/{name}/posts/{post}",
	"DELETE /users/{name}",
	"GET /a/b/c",
	"/files/{p...}",
	"GET /{$}",
	"PUT /only-put",
}

// request builds a Request view the way the loop does.
func request(method, target string) *Request {
	path, query, _ := strings.Cut(target, "?")
	pr := &parser.Request{Method: []byte(method), Target: []byte(target), Path: []byte(path), RawQuery: []byte(query)}
	r := &Request{}
	r.Reset(pr, 0, nil, 0, nil)
	return r
}

// outcome is what a router did with a request, comparable across routers.
type outcome struct {
	status  int
	pattern string
	allow   string
	loc     string
}

func serveRouter(rt *Router, method, target string) (outcome, *Request) {
	r := request(method, target)
	var w ResponseWriter
	w.Reset(nil)
	rt.ServeModem(&w, r)
	header, body, _, _, _ := w.Parts()
	o := outcome{status: w.Status()}
	for _, line := range strings.Split(string(header), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Allow: "); ok {
			o.allow = v
		}
		if v, ok := strings.CutPrefix(line, "Location: "); ok {
			o.loc = v
		}
	}
	if o.status == 200 {
		o.pattern = string(body)
	}
	return o, r
}

func serveMux(mux *http.ServeMux, method, target string) outcome {
	req := httptest.NewRequest(method, target, nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	o := outcome{status: rec.Code, allow: rec.Header().Get("Allow"), loc: rec.Header().Get("Location")}
	if o.status == 200 {
		o.pattern = rec.Body.String()
	}
	return o
}

func TestRouterMatchesServeMux(t *testing.T) {
	rt := NewRouter()
	mux := http.NewServeMux()
	for _, p := range routerPatterns {
		rt.HandleFunc(p, func(w *ResponseWriter, r *Request) { w.WriteString(p) })
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(p)) })
	}
	cases := []struct{ method, target string }{
		{"GET", "/items/7"}, {"POST", "/items/7"}, {"GET", "/items/new"}, {"POST", "/items/new"},
		{"HEAD", "/items/7"}, {"PATCH", "/items/7"},
		{"GET", "/static/css/site.css"}, {"POST", "/static/"}, {"GET", "/static"},
		{"GET", "/docs/"}, {"GET", "/docs/intro"}, {"POST", "/docs/intro"}, {"GET", "/docs"},
		{"GET", "/users/ada/posts/3"}, {"DELETE", "/users/ada"}, {"GET", "/users/ada"},
		{"GET", "/a/b/c"}, {"GET", "/a/b"}, {"GET", "/a/b/c/d"},
		{"GET", "/files/"}, {"GET", "/files/x/y/z"}, {"GET", "/files"},
		{"GET", "/"}, {"POST", "/"}, {"GET", "/nothing"},
		{"GET", "/only-put"}, {"PUT", "/only-put"},
		{"GET", "/a//b/c"}, {"GET", "/a/./b/c"}, {"GET", "/a/x/../b/c?q=1"},
	}
	for _, c := range cases {
		want := serveMux(mux, c.method, c.target)
		got, _ := serveRouter(rt, c.method, c.target)
		// ServeMux lists methods in its own order; compare as sets.
		if got.allow != "" || want.allow != "" {
			got.allow, want.allow = normAllow(got.allow), normAllow(want.allow)
		}
		if got != want {
			t.Errorf("%s %s: router %+v, ServeMux %+v", c.method, c.target, got, want)
		}
	}
}

func normAllow(s string) string {
	var ms []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" && m != "OPTIONS" {
			ms = append(ms, m)
		}
	}
	slicesSort(ms)
	return strings.Join(ms, ",")
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestRouterParams(t *testing.T) {
	rt := NewRouter()
	rt.HandleFunc("GET /users/{name}/posts/{post}", func(w *ResponseWriter, r *Request) {})
	rt.HandleFunc("/static/{path...}", func(w *ResponseWriter, r *Request) {})
	_, r := serveRouter(rt, "GET", "/users/J%C3%BCrgen/posts/12")
	if string(r.Param("name")) != "Jürgen" || string(r.Param("post")) != "12" || r.Param("nope") != nil {
		t.Fatalf("params %q %q", r.Param("name"), r.Param("post"))
	}
	_, r = serveRouter(rt, "GET", "/static/img/a%20b.png?v=3&x=y+z&x=2")
	if string(r.Param("path")) != "img/a b.png" {
		t.Fatalf("rest param %q", r.Param("path"))
	}
	if v, ok := r.Query("x"); !ok || string(v) != "y z" {
		t.Fatalf("query x = %q %v", v, ok)
	}
	if v, ok := r.Query("v"); !ok || string(v) != "3" {
		t.Fatalf("query v = %q", v)
	}
	if _, ok := r.Query("missing"); ok {
		t.Fatal("missing query present")
	}
}

func TestRouterOptionsAndNotFound(t *testing.T) {
	rt := NewRouter()
	rt.HandleFunc("GET /x", func(w *ResponseWriter, r *Request) {})
	rt.HandleFunc("POST /x", func(w *ResponseWriter, r *Request) {})
	o, _ := serveRouter(rt, "OPTIONS", "/x")
	if o.status != 204 || o.allow != "GET, HEAD, OPTIONS, POST" {
		t.Fatalf("OPTIONS: %+v", o)
	}
	rt.NotFound(HandlerFunc(func(w *ResponseWriter, r *Request) { w.WriteHeader(418) }))
	if o, _ := serveRouter(rt, "GET", "/y"); o.status != 418 {
		t.Fatalf("NotFound handler: %+v", o)
	}
}

func TestRouterRejectsBadPatterns(t *testing.T) {
	for _, p := range []string{"items", "GET items", "/a/{x...}/b", "/a/{}", "/a/{x", "G(T /a"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("pattern %q accepted", p)
				}
			}()
			NewRouter().HandleFunc(p, func(*ResponseWriter, *Request) {})
		}()
	}
	rt := NewRouter()
	rt.HandleFunc("GET /a", func(*ResponseWriter, *Request) {})
	defer func() {
		if recover() == nil {
			t.Error("duplicate pattern accepted")
		}
	}()
	rt.HandleFunc("GET /a", func(*ResponseWriter, *Request) {})
}

// Behind a NotFound handler (an app or a proxy), an unclean path that no
// pattern claims reaches that handler as the client sent it; one that a
// pattern claims is still redirected to its clean form.
func TestRouterUncleanPathToNotFound(t *testing.T) {
	rt := NewRouter()
	rt.HandleFunc("GET /metrics", func(w *ResponseWriter, r *Request) { w.WriteString("metrics") })
	rt.HandleFunc("/docs/", func(w *ResponseWriter, r *Request) { w.WriteString("docs") })
	rt.NotFound(HandlerFunc(func(w *ResponseWriter, r *Request) { w.WriteString("app " + string(r.Target)) }))
	for _, c := range []struct {
		target string
		want   outcome
	}{
		{"/a//b", outcome{status: 200, pattern: "app /a//b"}},
		{"/static/../x?q=1", outcome{status: 200, pattern: "app /static/../x?q=1"}},
		{"//metrics", outcome{status: 307, loc: "/metrics"}},
		{"/x/../metrics?a=b", outcome{status: 307, loc: "/metrics?a=b"}},
		{"/docs/./a", outcome{status: 307, loc: "/docs/a"}},
		{"/x/../docs", outcome{status: 307, loc: "/docs"}},
	} {
		if got, _ := serveRouter(rt, "GET", c.target); got != c.want {
			t.Errorf("GET %s: %+v, want %+v", c.target, got, c.want)
		}
	}
	// Without NotFound, as ServeMux: every unclean path is redirected.
	rt.NotFound(nil)
	if got, _ := serveRouter(rt, "GET", "/a//b"); got != (outcome{status: 307, loc: "/a/b"}) {
		t.Errorf("GET /a//b without NotFound: %+v", got)
	}
}
