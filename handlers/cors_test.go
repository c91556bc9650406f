package handlers

import (
	"testing"
	"time"
)

var okHandler = HandlerFunc(func(w *ResponseWriter, r *Request) {
	w.AddHeader("X-Handler", "yes")
	w.WriteString("ok")
})

func TestCORS(t *testing.T) {
	h := CORS(CORSOptions{
		AllowOrigins:  []string{"https://app.example.com", "http://localhost:3000/"},
		AllowMethods:  []string{"PUT", "DELETE"},
		AllowHeaders:  []string{"Content-Type", "Authorization"},
		ExposeHeaders: []string{"X-Total"},
		MaxAge:        10 * time.Minute,
	})(okHandler)

	// No Origin: untouched.
	res := serve(h, get(t, "/"))
	if res.body != "ok" || res.header.Get("Access-Control-Allow-Origin") != "" || res.header.Get("Vary") != "" {
		t.Errorf("no Origin: %+v", res)
	}
	// An allowed origin.
	res = serve(h, get(t, "/", "Origin: http://localhost:3000"))
	if res.body != "ok" || res.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		res.header.Get("Access-Control-Expose-Headers") != "X-Total" || res.header.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %+v", res)
	}
	// Another origin: served (same-origin POSTs carry Origin too), no CORS headers.
	res = serve(h, get(t, "/", "Origin: https://evil.example"))
	if res.body != "ok" || res.header.Get("Access-Control-Allow-Origin") != "" || res.header.Get("Vary") != "Origin" {
		t.Errorf("other origin: %+v", res)
	}
	// Preflight: answered here, never reaching the handler.
	pre := func(origin, method, headers string) response {
		hs := []string{"Origin: " + origin, "Access-Control-Request-Method: " + method}
		if headers != "" {
			hs = append(hs, "Access-Control-Request-Headers: "+headers)
		}
		return serve(h, parse(t, "OPTIONS /api HTTP/1.1\r\nHost: x\r\n"+join(hs)+"\r\n"))
	}
	res = pre("https://app.example.com", "PUT", "content-type, authorization")
	if res.status != 204 || res.header.Get("X-Handler") != "" || res.body != "" ||
		res.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		res.header.Get("Access-Control-Allow-Methods") != "GET, HEAD, POST, PUT, DELETE" ||
		res.header.Get("Access-Control-Allow-Headers") != "content-type, authorization" ||
		res.header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight: %+v", res)
	}
	res = pre("https://app.example.com", "PATCH", "X-Other")
	if res.status != 204 || res.header.Get("Access-Control-Allow-Headers") != "Content-Type, Authorization" {
		t.Errorf("preflight asking too much: %+v", res)
	}
	res = pre("https://evil.example", "PUT", "")
	if res.status != 204 || res.header.Get("Access-Control-Allow-Origin") != "" || res.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from another origin: %+v", res)
	}
	// A plain OPTIONS (no Access-Control-Request-Method) is the handler's.
	res = serve(h, parse(t, "OPTIONS /api HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n\r\n"))
	if res.header.Get("X-Handler") != "yes" {
		t.Errorf("plain OPTIONS did not reach the handler: %+v", res)
	}

	// Any origin: "*" without credentials, the origin itself with them.
	any := CORS(CORSOptions{AllowOrigins: []string{"*"}})(okHandler)
	res = serve(any, get(t, "/", "Origin: https://x.example"))
	if res.header.Get("Access-Control-Allow-Origin") != "*" || res.header.Get("Vary") != "" {
		t.Errorf("any origin: %+v", res)
	}
	cred := CORS(CORSOptions{AllowOrigins: []string{"*"}, AllowCredentials: true})(okHandler)
	res = serve(cred, get(t, "/", "Origin: https://x.example"))
	if res.header.Get("Access-Control-Allow-Origin") != "https://x.example" || res.header.Get("Access-Control-Allow-Credentials") != "true" || res.header.Get("Vary") != "Origin" {
		t.Errorf("any origin with credentials: %+v", res)
	}
	// AllowOriginFunc.
	fn := CORS(CORSOptions{AllowOriginFunc: func(o []byte) bool { return string(o) == "http://192.168.4.2" }})(okHandler)
	if res = serve(fn, get(t, "/", "Origin: http://192.168.4.2")); res.header.Get("Access-Control-Allow-Origin") != "http://192.168.4.2" {
		t.Errorf("AllowOriginFunc: %+v", res)
	}
}

// Error answers from inside CORS (auth, a bad body) keep the CORS headers,
// so the page can read them; what the handler added before is gone.
func TestCORSKeptOnErrors(t *testing.T) {
	h := Chain(HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.AddHeader("Content-Type", "application/json")
		WriteError(w, ErrJSONTooLarge)
	}), CORS(CORSOptions{AllowOrigins: []string{"https://app.example.com"}}), BearerAuth("api", BearerTokens("tok")))
	for _, c := range []struct {
		auth   string
		status int
	}{{"Authorization: Bearer nope", 401}, {"Authorization: Bearer tok", 413}} {
		res := serve(h, get(t, "/", "Origin: https://app.example.com", c.auth))
		if res.status != c.status || res.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			res.header.Get("Vary") != "Origin" || len(res.header.Values("Content-Type")) != 1 {
			t.Errorf("%s: %+v", c.auth, res)
		}
	}
}

type streamsBody struct{ HandlerFunc }

func (streamsBody) StreamsBody(*Request) bool { return true }

// The package's middleware keeps a wrapped handler's wish to stream
// request bodies visible to the server.
func TestMiddlewareForwardsStreamsBody(t *testing.T) {
	type streamer interface{ StreamsBody(*Request) bool }
	inner := streamsBody{okHandler}
	for name, mw := range map[string]Middleware{
		"CORS":   CORS(CORSOptions{AllowOrigins: []string{"*"}}),
		"Basic":  BasicAuth("r", BasicCredentials("a", "b")),
		"Bearer": BearerAuth("r", BearerTokens("t")),
	} {
		if s, ok := mw(inner).(streamer); !ok || !s.StreamsBody(get(t, "/")) {
			t.Errorf("%s hides StreamsBody", name)
		}
		if s, ok := mw(okHandler).(streamer); ok && s.StreamsBody(get(t, "/")) {
			t.Errorf("%s claims StreamsBody for a handler without it", name)
		}
	}
}

func join(lines []string) string {
	s := ""
	for _, l := range lines {
		s += l + "\r\n"
	}
	return s
}
