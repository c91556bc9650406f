package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestCookies(t *testing.T) {
	r := get(t, "/", `Cookie: session=abc123; theme="dark"; bad name=x; empty=`, "Cookie: second=2; session=shadowed")
	for _, c := range []struct {
		name, want string
		ok         bool
	}{{"session", "abc123", true}, {"theme", "dark", true}, {"empty", "", true}, {"second", "2", true}, {"missing", "", false}} {
		v, ok := r.Cookie(c.name)
		if ok != c.ok || string(v) != c.want {
			t.Errorf("Cookie(%q) = %q %v, want %q %v", c.name, v, ok, c.want, c.ok)
		}
	}
	// The same cookies as net/http reads.
	hr, _ := http.ReadRequest(bufioReader("GET / HTTP/1.1\r\nHost: x\r\nCookie: session=abc123; theme=\"dark\"; empty=\r\nCookie: second=2; session=shadowed\r\n\r\n"))
	var got []string
	for k, v := range r.Cookies() {
		got = append(got, string(k)+"="+string(v))
	}
	var want []string
	for _, c := range hr.Cookies() {
		want = append(want, c.Name+"="+c.Value)
	}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("Cookies() = %q, net/http reads %q", got, want)
	}
}

// Every attribute SetCookie writes reads back the same through net/http.
func TestSetCookieRoundTrip(t *testing.T) {
	exp := time.Date(2031, 7, 1, 12, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	for _, c := range []*http.Cookie{
		{Name: "a", Value: "1"},
		{Name: "session", Value: "s3cr3t", Path: "/app", Domain: "example.com", Expires: exp, MaxAge: 3600, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode},
		{Name: "lax", Value: "x", SameSite: http.SameSiteLaxMode},
		{Name: "none", Value: "x", Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true},
		{Name: "gone", Value: "", MaxAge: -1, Path: "/"},
		{Name: "spaced", Value: "a b,c"},
		{Name: "quoted", Value: "v", Quoted: true},
		{Name: "__Host-id", Value: "1", Path: "/", Secure: true},
		{Name: "__Secure-id", Value: "1", Domain: ".example.org", Secure: true},
		{Name: "ip", Value: "1", Domain: "192.168.4.1"},
	} {
		var w ResponseWriter
		w.Reset(nil)
		if err := w.SetCookie(c); err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		line := result(&w).header.Get("Set-Cookie")
		got, err := http.ParseSetCookie(line)
		if err != nil {
			t.Errorf("%s: net/http cannot parse %q: %v", c.Name, line, err)
			continue
		}
		want := *c
		want.Domain = strings.TrimPrefix(want.Domain, ".")
		if want.MaxAge < 0 {
			want.MaxAge = -1 // net/http reads Max-Age=0 back as -1
		}
		if want.Value != "" && strings.ContainsAny(want.Value, " ,") {
			want.Quoted = true
		}
		if got.Name != want.Name || got.Value != want.Value || got.Path != want.Path || got.Domain != want.Domain ||
			!got.Expires.Equal(want.Expires) || got.MaxAge != want.MaxAge || got.Secure != want.Secure ||
			got.HttpOnly != want.HttpOnly || got.SameSite != want.SameSite || got.Partitioned != want.Partitioned || got.Quoted != want.Quoted {
			t.Errorf("%s: %q reads back as %+v", c.Name, line, got)
		}
		if !strings.HasPrefix(line, c.Name+"=") {
			t.Errorf("%s: line %q", c.Name, line)
		}
	}
}

func TestSetCookieRefuses(t *testing.T) {
	for _, c := range []struct {
		c    http.Cookie
		want error
	}{
		{http.Cookie{Name: "", Value: "x"}, ErrCookieName},
		{http.Cookie{Name: "a b", Value: "x"}, ErrCookieName},
		{http.Cookie{Name: "a;b", Value: "x"}, ErrCookieName},
		{http.Cookie{Name: "a", Value: "x\r\nSet-Cookie: evil=1"}, ErrCookieValue},
		{http.Cookie{Name: "a", Value: "x;Domain=evil.com"}, ErrCookieValue},
		{http.Cookie{Name: "a", Value: `"x"`}, ErrCookieValue},
		{http.Cookie{Name: "a", Value: "ü"}, ErrCookieValue},
		{http.Cookie{Name: "a", Value: strings.Repeat("x", 4096)}, ErrCookieTooLong},
		{http.Cookie{Name: "a", Value: "x", Path: "/p;Secure"}, ErrCookiePath},
		{http.Cookie{Name: "a", Value: "x", Path: "/p\n"}, ErrCookiePath},
		{http.Cookie{Name: "a", Value: "x", Domain: "exa mple.com"}, ErrCookieDomain},
		{http.Cookie{Name: "a", Value: "x", Domain: "-bad.com"}, ErrCookieDomain},
		{http.Cookie{Name: "a", Value: "x", Domain: "::1"}, ErrCookieDomain},
		{http.Cookie{Name: "a", Value: "x", Expires: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}, ErrCookieExpires},
		{http.Cookie{Name: "a", Value: "x", SameSite: http.SameSiteNoneMode}, ErrCookieInsecure},
		{http.Cookie{Name: "a", Value: "x", Partitioned: true}, ErrCookieInsecure},
		{http.Cookie{Name: "__Secure-a", Value: "x"}, ErrCookieInsecure},
		{http.Cookie{Name: "__Host-a", Value: "x", Secure: true, Path: "/app"}, ErrCookieHost},
		{http.Cookie{Name: "__Host-a", Value: "x", Secure: true, Path: "/", Domain: "example.com"}, ErrCookieHost},
	} {
		var w ResponseWriter
		w.Reset(nil)
		if err := w.SetCookie(&c.c); err != c.want {
			t.Errorf("%+v: error %v, want %v", c.c, err, c.want)
		}
		if h, _, _, _, _ := w.Parts(); len(h) != 0 {
			t.Errorf("%+v: refused cookie still wrote %q", c.c, h)
		}
	}
}
