package handlers

import (
	"encoding/base64"
	"testing"
)

func basic(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestBasicAuth(t *testing.T) {
	h := BasicAuth(`espgate "admin"`, BasicCredentials("admin", "pa:ss wörd"))(okHandler)
	res := serve(h, get(t, "/", basic("admin", "pa:ss wörd")))
	if res.status != 200 || res.body != "ok" {
		t.Errorf("right credentials: %+v", res)
	}
	for _, hdr := range []string{
		"", basic("admin", "wrong"), basic("admin", "pa:ss wörd!"), basic("Admin", "pa:ss wörd"), basic("", ""),
		"Authorization: Basic !!!notbase64", "Authorization: Bearer abc", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")),
	} {
		var res response
		if hdr == "" {
			res = serve(h, get(t, "/"))
		} else {
			res = serve(h, get(t, "/", hdr))
		}
		if res.status != 401 || res.header.Get("X-Handler") != "" ||
			res.header.Get("WWW-Authenticate") != `Basic realm="espgate \"admin\"", charset="UTF-8"` {
			t.Errorf("%q: %+v", hdr, res)
		}
	}
	// The scheme is case-insensitive; the user and password reach the handler.
	r := get(t, "/", "Authorization: bAsIc "+base64.StdEncoding.EncodeToString([]byte("admin:pa:ss wörd")))
	u, p, ok := r.BasicAuth()
	if !ok || string(u) != "admin" || string(p) != "pa:ss wörd" {
		t.Errorf("BasicAuth() = %q %q %v", u, p, ok)
	}
}

func TestBearerAuth(t *testing.T) {
	h := BearerAuth("api", BearerTokens("tok-1.abc", "second/token=="))(okHandler)
	for _, c := range []struct {
		hdr, challenge string
		status         int
	}{
		{"Authorization: Bearer tok-1.abc", "", 200},
		{"Authorization: bearer second/token==", "", 200},
		{"", `Bearer realm="api"`, 401},
		{basic("a", "b"), `Bearer realm="api"`, 401},
		{"Authorization: Bearer tok-1.ab", `Bearer realm="api", error="invalid_token"`, 401},
		{"Authorization: Bearer tok-1.abcd", `Bearer realm="api", error="invalid_token"`, 401},
		{"Authorization: Bearer a b", `Bearer realm="api", error="invalid_request"`, 400},
		{"Authorization: Bearer =abc", `Bearer realm="api", error="invalid_request"`, 400},
	} {
		r := get(t, "/")
		if c.hdr != "" {
			r = get(t, "/", c.hdr)
		}
		res := serve(h, r)
		if res.status != c.status || res.header.Get("WWW-Authenticate") != c.challenge || (c.status == 200) != (res.body == "ok") {
			t.Errorf("%q: %+v", c.hdr, res)
		}
	}
}
