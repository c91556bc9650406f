//go:build !race

package handlers

import (
	"encoding/base64"
	"net/http"
	"testing"
)

// The accessors native handlers use on every request allocate nothing.
func TestWebkitZeroAllocs(t *testing.T) {
	form := post(t, "/p?q=caf%C3%A9&x=1", "application/x-www-form-urlencoded", []byte("user=ada+lovelace&note=a%26b&x=2"),
		"Cookie: theme=dark; session=0123456789abcdef",
		"Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("admin:secret")),
		"Origin: https://app.example.com")
	ct, body := multipartBody(t, []testPart{{name: "title", data: "hi"}, {name: "f", file: "a.txt", data: "file data"}})
	mp := post(t, "/up", ct, body)
	bearer := get(t, "/", "Authorization: Bearer tok-123")
	checkBasic := BasicCredentials("admin", "secret")
	basicMW := BasicAuth("r", checkBasic)(okHandler)
	bearerMW := BearerAuth("r", BearerTokens("tok-123"))(okHandler)
	corsMW := CORS(CORSOptions{AllowOrigins: []string{"https://app.example.com"}})(okHandler)
	var w ResponseWriter
	cookie := &http.Cookie{Name: "session", Value: "0123456789abcdef", Path: "/", MaxAge: 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode}

	for _, c := range []struct {
		name string
		f    func()
	}{
		{"FormValue", func() { mustFind(form.FormValue("user")) }},
		{"FormValue from the query", func() { mustFind(form.FormValue("q")) }},
		{"Query", func() { mustFind(form.Query("q")) }},
		{"FormPairs", func() {
			for range form.FormPairs() {
			}
		}},
		{"QueryPairs", func() {
			for range form.QueryPairs() {
			}
		}},
		{"Cookie", func() { mustFind(form.Cookie("session")) }},
		{"BasicAuth check", func() {
			u, p, ok := form.BasicAuth()
			if !ok || !checkBasic(u, p) {
				t.Fatal("basic auth failed")
			}
		}},
		{"BasicAuth middleware", func() { w.Reset(nil); basicMW.ServeModem(&w, form) }},
		{"BearerAuth middleware", func() { w.Reset(nil); bearerMW.ServeModem(&w, bearer) }},
		{"CORS middleware", func() { w.Reset(nil); corsMW.ServeModem(&w, form) }},
		{"multipart FormValue", func() { mustFind(mp.FormValue("title")) }},
		{"FormFile", func() {
			if _, err := mp.FormFile("f"); err != nil {
				t.Fatal(err)
			}
		}},
		{"SetCookie", func() {
			w.Reset(nil)
			if err := w.SetCookie(cookie); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		for _, r := range []*Request{form, mp, bearer} {
			r.scratch = r.scratch[:0] // as the loop's Reset does per request
		}
		c.f()
		if a := testing.AllocsPerRun(100, func() {
			for _, r := range []*Request{form, mp, bearer} {
				r.scratch = r.scratch[:0]
			}
			c.f()
		}); a != 0 {
			t.Errorf("%s: %.1f allocations", c.name, a)
		}
	}
}

func mustFind(v []byte, ok bool) {
	if !ok {
		panic("not found")
	}
}
