package handlers

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// BasicAuth returns a middleware that lets a request through only with
// HTTP Basic credentials (RFC 7617) that check accepts; others get 401
// with WWW-Authenticate: Basic realm="realm", charset="UTF-8". check gets
// views of the user and password, valid during the call; it runs on the
// server's loop and must not block. BasicCredentials makes a check for
// one fixed user. Credentials are never logged by espgate.
func BasicAuth(realm string, check func(user, pass []byte) bool) Middleware {
	challenge := "Basic realm=" + quote(realm) + `, charset="UTF-8"`
	serve := func(w *ResponseWriter, r *Request, next Handler) {
		user, pass, ok := r.BasicAuth()
		if !ok || !check(user, pass) {
			unauthorized(w, http.StatusUnauthorized, challenge)
			return
		}
		next.ServeModem(w, r)
	}
	return func(next Handler) Handler { return &wrapped{next: next, serve: serve} }
}

// BearerAuth returns a middleware that lets a request through only with a
// bearer token (RFC 6750: Authorization: Bearer <token>) that check
// accepts. Without a token the answer is 401 with WWW-Authenticate: Bearer
// realm="realm"; with a token check refuses, 401 with error="invalid_token"
// added; with a malformed Authorization: Bearer field, 400 with
// error="invalid_request". check runs on the server's loop and must not
// block; BearerTokens makes one for fixed tokens.
func BearerAuth(realm string, check func(token []byte) bool) Middleware {
	base := "Bearer realm=" + quote(realm)
	invalidToken := base + `, error="invalid_token"`
	invalidRequest := base + `, error="invalid_request"`
	serve := func(w *ResponseWriter, r *Request, next Handler) {
		token, ok := r.BearerToken()
		switch {
		case !ok && hasScheme(r.Header("Authorization"), "Bearer"):
			unauthorized(w, http.StatusBadRequest, invalidRequest)
		case !ok:
			unauthorized(w, http.StatusUnauthorized, base)
		case !check(token):
			unauthorized(w, http.StatusUnauthorized, invalidToken)
		default:
			next.ServeModem(w, r)
		}
	}
	return func(next Handler) Handler { return &wrapped{next: next, serve: serve} }
}

func unauthorized(w *ResponseWriter, code int, challenge string) {
	Error(w, http.StatusText(code), code)
	w.AddHeader("WWW-Authenticate", challenge)
}

// quote makes a quoted-string of s; control bytes are dropped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < ' ' || c == 0x7f:
			continue
		case c == '"' || c == '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// BasicCredentials returns a check for BasicAuth that accepts one user
// and password. It compares SHA-256 digests in constant time, so neither
// the values nor their lengths leak through timing.
func BasicCredentials(user, pass string) func(user, pass []byte) bool {
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return func(user, pass []byte) bool {
		du, dp := sha256.Sum256(user), sha256.Sum256(pass)
		return subtle.ConstantTimeCompare(du[:], u[:])&subtle.ConstantTimeCompare(dp[:], p[:]) == 1
	}
}

// BearerTokens returns a check for BearerAuth that accepts any of tokens.
// It compares SHA-256 digests in constant time, against every token each
// time.
func BearerTokens(tokens ...string) func(token []byte) bool {
	sums := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		sums[i] = sha256.Sum256([]byte(t))
	}
	return func(token []byte) bool {
		d := sha256.Sum256(token)
		ok := 0
		for i := range sums {
			ok |= subtle.ConstantTimeCompare(d[:], sums[i][:])
		}
		return ok == 1
	}
}

// BasicAuth returns the user and password of an Authorization: Basic
// field, as views valid until the handler returns, and whether there is a
// well-formed one.
func (r *Request) BasicAuth() (user, pass []byte, ok bool) {
	v := r.Header("Authorization")
	if !hasScheme(v, "Basic") {
		return nil, nil, false
	}
	enc := trimOWS(v[len("Basic "):])
	n := base64.StdEncoding.DecodedLen(len(enc))
	start := len(r.scratch)
	r.scratch = append(r.scratch, make([]byte, n)...)
	n, err := base64.StdEncoding.Decode(r.scratch[start:], enc)
	if err != nil {
		r.scratch = r.scratch[:start]
		return nil, nil, false
	}
	dec := r.scratch[start : start+n : start+n]
	r.scratch = r.scratch[:start+n]
	user, pass, ok = bytes.Cut(dec, []byte{':'})
	return user, pass, ok
}

// BearerToken returns the token of an Authorization: Bearer field (RFC
// 6750's b64token syntax) as a view, and whether there is a well-formed
// one.
func (r *Request) BearerToken() ([]byte, bool) {
	v := r.Header("Authorization")
	if !hasScheme(v, "Bearer") {
		return nil, false
	}
	t := trimOWS(v[len("Bearer "):])
	i := 0
	for i < len(t) && isB64TokenChar(t[i]) {
		i++
	}
	j := i
	for j < len(t) && t[j] == '=' {
		j++
	}
	if i == 0 || j != len(t) {
		return nil, false
	}
	return t, true
}

func isB64TokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// hasScheme reports whether an Authorization value starts with scheme (ASCII
// case-insensitive) and a space.
func hasScheme(v []byte, scheme string) bool {
	return len(v) > len(scheme) && v[len(scheme)] == ' ' && equalFold(v[:len(scheme)], scheme)
}
