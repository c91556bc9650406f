package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Redirect answers as net/http's Redirect does.
func TestRedirectLikeNetHTTP(t *testing.T) {
	for _, c := range []struct{ method, path, url string }{
		{"GET", "/a/b", "c"},
		{"GET", "/a/b/", "c/"},
		{"GET", "/a/b", "../x?q=1"},
		{"GET", "/a/b", "/abs/./p"},
		{"GET", "/a/b", "https://example.com/x"},
		{"GET", "/a/b", "//other.host/p"},
		{"GET", "/a/b", ""},
		{"HEAD", "/a", "/ümlaut"},
		{"POST", "/form", "/done"},
		{"GET", "/", `/x?a="<b>"&c`},
	} {
		for _, code := range []int{301, 302, 303, 307, 308} {
			rec := httptest.NewRecorder()
			http.Redirect(rec, httptest.NewRequest(c.method, c.path, nil), c.url, code)
			res := serve(HandlerFunc(func(w *ResponseWriter, r *Request) {
				if err := Redirect(w, r, c.url, code); err != nil {
					t.Error(err)
				}
			}), parse(t, c.method+" "+c.path+" HTTP/1.1\r\nHost: x\r\n\r\n"))
			if res.status != code || res.header.Get("Location") != rec.Header().Get("Location") {
				t.Errorf("%s %s -> %q (%d): got %d Location %q, net/http %q", c.method, c.path, c.url, code, res.status, res.header.Get("Location"), rec.Header().Get("Location"))
			}
			if c.method == "GET" && res.body != strings.TrimSuffix(rec.Body.String(), "\n") { // net/http ends with two newlines
				t.Errorf("%s %s -> %q: body %q, net/http %q", c.method, c.path, c.url, res.body, rec.Body.String())
			}
			if c.method == "POST" && res.body != "" {
				t.Errorf("POST redirect has a body %q", res.body)
			}
		}
	}
}

func TestRedirectRefuses(t *testing.T) {
	for _, c := range []struct {
		url  string
		code int
		want error
	}{
		{"/x", 200, ErrRedirectCode},
		{"/x", 304, ErrRedirectCode},
		{"/x", 300, ErrRedirectCode},
		{"/x\r\nSet-Cookie: a=b", 302, ErrRedirectURL},
		{"/x\x00", 302, ErrRedirectURL},
	} {
		var w ResponseWriter
		w.Reset(nil)
		if err := Redirect(&w, get(t, "/"), c.url, c.code); err != c.want {
			t.Errorf("Redirect(%q, %d) = %v, want %v", c.url, c.code, err, c.want)
		}
		if h, b, _, _, _ := w.Parts(); len(h) != 0 || len(b) != 0 || w.Status() != 200 {
			t.Errorf("Redirect(%q, %d) touched the response", c.url, c.code)
		}
	}
}
