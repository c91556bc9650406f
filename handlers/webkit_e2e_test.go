package handlers_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/parser"
	"github.com/espgate/espgate/sim"
)

// do sends req and returns the response with its body read.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

func newReq(t *testing.T, method, url string, body io.Reader, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func TestFormsEndToEnd(t *testing.T) {
	rt := handlers.NewRouter()
	rt.HandleFunc("/form", func(w *handlers.ResponseWriter, r *handlers.Request) {
		for k, v := range r.QueryPairs() {
			fmt.Fprintf(w, "query %s=%s\n", k, v)
		}
		for k, v := range r.FormPairs() {
			fmt.Fprintf(w, "form %s=%s\n", k, v)
		}
		v, _ := r.FormValue("who")
		fmt.Fprintf(w, "who=%s\n", v)
	})
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		c := env.Client(t)
		resp, err := c.PostForm(env.URL+"form?who=query&lang=G%C3%B6", url.Values{"who": {"ada & co"}, "note": {"50% off+tax"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "query who=query\nquery lang=Gö\nform note=50% off+tax\nform who=ada & co\nwho=ada & co\n"
		if resp.StatusCode != 200 || string(b) != want {
			t.Fatalf("POST form: %d\n%s\nwant\n%s", resp.StatusCode, b, want)
		}
	})
}

func TestMultipartUploadEndToEnd(t *testing.T) {
	rt := handlers.NewRouter()
	rt.HandleFunc("POST /upload", func(w *handlers.ResponseWriter, r *handlers.Request) {
		mr, err := r.Multipart(handlers.MultipartLimits{MaxFileBytes: 200 << 10})
		if err != nil {
			handlers.WriteError(w, err)
			return
		}
		for {
			p, err := mr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				handlers.WriteError(w, err)
				return
			}
			h := sha256.New()
			n, _ := io.Copy(h, p)
			fmt.Fprintf(w, "%s file=%v %q %s %d %x\n", p.Name(), p.IsFile(), p.FileName(), p.ContentType(), n, h.Sum(nil)[:8])
		}
	})
	file := bytes.Repeat([]byte("espgate upload \x00\xff\r\n--"), 6000) // 114 KB
	sum := sha256.Sum256(file)
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		c := env.Client(t)
		send := func(fileData []byte) (*http.Response, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("caption", "my cat")
			fw, _ := mw.CreateFormFile("photo", "cat.bin")
			fw.Write(fileData)
			mw.Close()
			return do(t, c, newReq(t, "POST", env.URL+"upload", &buf, "Content-Type", mw.FormDataContentType()))
		}
		resp, body := send(file)
		capSum := sha256.Sum256([]byte("my cat"))
		want := fmt.Sprintf("caption file=false \"\"  6 %x\nphoto file=true \"cat.bin\" application/octet-stream %d %x\n", capSum[:8], len(file), sum[:8])
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("upload: %d %q\nwant %q", resp.StatusCode, body, want)
		}
		// Over the file limit: 413 with the reason.
		resp, body = send(make([]byte, 200<<10+1))
		if resp.StatusCode != 413 || body != "multipart: a file is too large\n" {
			t.Fatalf("large file: %d %q", resp.StatusCode, body)
		}
		// A malformed body: 400 with the reason.
		resp, body = do(t, c, newReq(t, "POST", env.URL+"upload", strings.NewReader("--B\r\nContent-Disposition: form-data; name=x\r\n\r\nno end"), "Content-Type", "multipart/form-data; boundary=B"))
		if resp.StatusCode != 400 || body != "multipart: the body ends without its closing boundary\n" {
			t.Fatalf("malformed: %d %q", resp.StatusCode, body)
		}
		resp, body = do(t, c, newReq(t, "POST", env.URL+"upload", strings.NewReader("x"), "Content-Type", "text/plain"))
		if resp.StatusCode != 415 {
			t.Fatalf("text/plain upload: %d %q", resp.StatusCode, body)
		}
	})
}

func TestCookiesEndToEnd(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /login", func(w *handlers.ResponseWriter, r *handlers.Request) {
		for _, c := range []*http.Cookie{
			{Name: "session", Value: "s-123", Path: "/", Domain: "127.0.0.1", Expires: exp, MaxAge: 600, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode},
			{Name: "theme", Value: "dark mode", SameSite: http.SameSiteLaxMode},
			{Name: "embed", Value: "1", Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true},
			{Name: "old", MaxAge: -1},
		} {
			if err := w.SetCookie(c); err != nil {
				t.Error(err)
			}
		}
		if err := w.SetCookie(&http.Cookie{Name: "evil", Value: "x\r\nX-Injected: 1"}); err == nil {
			t.Error("SetCookie took a value with CRLF")
		}
	})
	rt.HandleFunc("GET /whoami", func(w *handlers.ResponseWriter, r *handlers.Request) {
		v, ok := r.Cookie("session")
		fmt.Fprintf(w, "session=%s %v\n", v, ok)
		for k, v := range r.Cookies() {
			fmt.Fprintf(w, "%s=%s\n", k, v)
		}
	})
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		c := env.Client(t)
		resp, _ := do(t, c, newReq(t, "GET", env.URL+"login", nil))
		if resp.Header.Get("X-Injected") != "" {
			t.Fatal("header injection through a cookie value")
		}
		got := map[string]*http.Cookie{}
		for _, ck := range resp.Cookies() {
			got[ck.Name] = ck
		}
		s := got["session"]
		if len(got) != 4 || s == nil || s.Value != "s-123" || s.Path != "/" || s.Domain != "127.0.0.1" || !s.Expires.Equal(exp) ||
			s.MaxAge != 600 || !s.Secure || !s.HttpOnly || s.SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookies: %v (session %+v)", resp.Header["Set-Cookie"], s)
		}
		if th := got["theme"]; th.Value != "dark mode" || th.SameSite != http.SameSiteLaxMode {
			t.Errorf("theme: %+v", th)
		}
		if e := got["embed"]; !e.Partitioned || e.SameSite != http.SameSiteNoneMode || !e.Secure {
			t.Errorf("embed: %+v", e)
		}
		if o := got["old"]; o.MaxAge != -1 {
			t.Errorf("old: %+v", o)
		}
		req := newReq(t, "GET", env.URL+"whoami", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: "s-123"})
		req.AddCookie(&http.Cookie{Name: "theme", Value: "dark mode", Quoted: true})
		_, body := do(t, c, req)
		if body != "session=s-123 true\nsession=s-123\ntheme=dark mode\n" {
			t.Fatalf("whoami: %q", body)
		}
	})
}

type thing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestJSONEndToEnd(t *testing.T) {
	rt := handlers.NewRouter()
	rt.HandleFunc("POST /things", func(w *handlers.ResponseWriter, r *handlers.Request) {
		var v thing
		if err := handlers.DecodeJSON(r, &v, handlers.JSONOptions{MaxBytes: 1024, DisallowUnknownFields: true}); err != nil {
			handlers.WriteError(w, err)
			return
		}
		v.Count++
		handlers.WriteJSON(w, http.StatusCreated, v)
	})
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		c := env.Client(t)
		resp, body := do(t, c, newReq(t, "POST", env.URL+"things", strings.NewReader(`{"name":"lamp","count":1}`), "Content-Type", "application/json"))
		var got thing
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &got) != nil || got != (thing{"lamp", 2}) {
			t.Fatalf("POST: %d %v %q", resp.StatusCode, resp.Header, body)
		}
		for _, c2 := range []struct {
			ctype, body string
			code        int
			msg         string
		}{
			{"application/json", `{"name": "x",}`, 400, "invalid JSON at byte 14: invalid character '}' looking for beginning of object key string"},
			{"application/json", `{"count": "3"}`, 400, `JSON field "count" must be an integer, not string`},
			{"application/json", `{"colour": "red"}`, 400, `JSON has an unknown field "colour"`},
			{"application/json", `{"name": "` + strings.Repeat("x", 2000) + `"}`, 413, "JSON body too large"},
			{"text/plain", `{"name": "x"}`, 415, "Content-Type must be application/json"},
		} {
			resp, body := do(t, c, newReq(t, "POST", env.URL+"things", strings.NewReader(c2.body), "Content-Type", c2.ctype))
			if resp.StatusCode != c2.code || body != c2.msg+"\n" {
				t.Errorf("%s %.40s: %d %q, want %d %q", c2.ctype, c2.body, resp.StatusCode, body, c2.code, c2.msg)
			}
		}
	})
}

func TestRedirectsEndToEnd(t *testing.T) {
	rt := handlers.NewRouter()
	rt.HandleFunc("/r/{code}", func(w *handlers.ResponseWriter, r *handlers.Request) {
		var code int
		fmt.Sscan(string(r.Param("code")), &code)
		if err := handlers.Redirect(w, r, "../done?from=r", code); err != nil {
			handlers.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	rt.HandleFunc("/done", func(w *handlers.ResponseWriter, r *handlers.Request) {
		fmt.Fprintf(w, "%s done", r.Method)
	})
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		c := env.Client(t)
		noFollow := *c
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, code := range []int{301, 302, 303, 307, 308} {
			resp, body := do(t, &noFollow, newReq(t, "GET", env.URL+fmt.Sprintf("r/%d", code), nil))
			if resp.StatusCode != code || resp.Header.Get("Location") != "/done?from=r" || !strings.Contains(body, `<a href="/done?from=r">`) {
				t.Errorf("GET %d: %d %q %q", code, resp.StatusCode, resp.Header.Get("Location"), body)
			}
			// Followed after a POST: 303 (and 301/302, as browsers do) turn into GET; 307 and 308 keep POST.
			resp, body = do(t, c, newReq(t, "POST", env.URL+fmt.Sprintf("r/%d", code), strings.NewReader("a=1"), "Content-Type", "application/x-www-form-urlencoded"))
			want := "GET done"
			if code == 307 || code == 308 {
				want = "POST done"
			}
			if resp.StatusCode != 200 || body != want {
				t.Errorf("POST %d followed: %d %q, want %q", code, resp.StatusCode, body, want)
			}
		}
		resp, body := do(t, &noFollow, newReq(t, "GET", env.URL+"r/200", nil))
		if resp.StatusCode != 500 || body != handlers.ErrRedirectCode.Error()+"\n" {
			t.Errorf("redirect with 200: %d %q", resp.StatusCode, body)
		}
	})
}

func TestStreamEndToEnd(t *testing.T) {
	next := make(chan struct{})
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /ticks", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain")
		w.WriteHeader(202)
		s := w.Stream()
		go func() {
			defer s.Close()
			for i := range 3 {
				if _, err := fmt.Fprintf(s, "tick %d\n", i); err != nil {
					return
				}
				select {
				case <-next: // the client read this tick
				case <-time.After(10 * time.Second):
					s.CloseWithError(nil)
					return
				}
			}
			s.Write(bytes.Repeat([]byte("x"), 20000)) // past GatewayBuffer: Write waits for the modem
		}()
	})
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		resp, err := env.Client(t).Get(env.URL + "ticks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 202 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("stream head: %d %v %v", resp.StatusCode, resp.TransferEncoding, resp.Header)
		}
		br := bufio.NewReader(resp.Body)
		for i := range 3 {
			// Each tick arrives before the handler writes the next one.
			line, err := br.ReadString('\n')
			if err != nil || line != fmt.Sprintf("tick %d\n", i) {
				t.Fatalf("tick %d: %q %v", i, line, err)
			}
			next <- struct{}{}
		}
		rest, err := io.ReadAll(br)
		if err != nil || len(rest) != 20000 {
			t.Fatalf("tail: %d bytes, %v", len(rest), err)
		}
	})
}

// api is an ordinary net/http app, to check that server-wide middleware
// and default headers reach it through the gateway.
func api() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `["a","b"]`)
	})
	mux.HandleFunc("GET /api/framed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		io.WriteString(w, "framed")
	})
	return mux
}

func TestDefaultHeadersEndToEnd(t *testing.T) {
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /native", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("native") })
	rt.HandleFunc("GET /own", func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("x-frame-options", "SAMEORIGIN")
		w.WriteString("own")
	})
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{
			Routes: rt, Handler: api(),
			Limits: parser.Limits{MaxBodyBytes: 100},
			DefaultHeaders: http.Header{
				"X-Frame-Options":         {"DENY"},
				"Content-Security-Policy": {"default-src 'self'"},
			},
		})
		c := env.Client(t)
		check := func(what string, resp *http.Response, frame string) {
			t.Helper()
			if got := resp.Header.Values("X-Frame-Options"); len(got) != 1 || got[0] != frame {
				t.Errorf("%s (%d): X-Frame-Options %q, want %q", what, resp.StatusCode, got, frame)
			}
			if got := resp.Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != "default-src 'self'" {
				t.Errorf("%s (%d): Content-Security-Policy %q", what, resp.StatusCode, got)
			}
		}
		resp, _ := do(t, c, newReq(t, "GET", env.URL+"native", nil))
		check("native", resp, "DENY")
		resp, _ = do(t, c, newReq(t, "GET", env.URL+"own", nil))
		check("native that sets its own", resp, "SAMEORIGIN")
		resp, _ = do(t, c, newReq(t, "GET", env.URL+"api/items", nil))
		check("net/http", resp, "DENY")
		resp, _ = do(t, c, newReq(t, "GET", env.URL+"api/framed", nil))
		check("net/http that sets its own", resp, "SAMEORIGIN")
		resp, _ = do(t, c, newReq(t, "GET", env.URL+"api/none", nil))
		check("404", resp, "DENY")
		resp, _ = do(t, c, newReq(t, "POST", env.URL+"native", strings.NewReader(strings.Repeat("x", 101))))
		if resp.StatusCode != 413 {
			t.Errorf("oversized body: %d", resp.StatusCode)
		}
		check("the server's own 413", resp, "DENY")
		// A malformed request: the machine's 400.
		conn, err := net.Dial("tcp", env.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost x\r\n\r\n")
		resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 400 {
			t.Errorf("malformed request: %d", resp.StatusCode)
		}
		check("the server's own 400", resp, "DENY")
	})
}

func TestDefaultHeadersRefused(t *testing.T) {
	for _, h := range []http.Header{
		{"Content-Length": {"1"}},
		{"X-Bad": {"a\r\nSet-Cookie: x=1"}},
		{"Bad Name": {"1"}},
	} {
		srv := &espgate.Server{DefaultHeaders: h, Emulator: sim.Config{Listen: "127.0.0.1:0", Unpaced: true}}
		if err := srv.ListenAndServe(t.Context()); err == nil || !strings.Contains(err.Error(), "DefaultHeaders") {
			t.Errorf("%v: ListenAndServe = %v", h, err)
		}
	}
}

func TestCORSEndToEnd(t *testing.T) {
	rt := handlers.NewRouter()
	rt.HandleFunc("PUT /native/{id}", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("put") })
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{
			Routes: rt, Handler: api(),
			Middleware: []handlers.Middleware{handlers.CORS(handlers.CORSOptions{
				AllowOrigins: []string{"http://app.local:3000"},
				AllowMethods: []string{"PUT"},
				AllowHeaders: []string{"Content-Type", "Authorization"},
				MaxAge:       time.Hour,
			})},
		})
		c := env.Client(t)
		for _, path := range []string{"native/7", "api/items"} {
			resp, body := do(t, c, newReq(t, "OPTIONS", env.URL+path, nil,
				"Origin", "http://app.local:3000", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization"))
			if resp.StatusCode != 204 || body != "" || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.local:3000" ||
				resp.Header.Get("Access-Control-Allow-Methods") != "GET, HEAD, POST, PUT" || resp.Header.Get("Access-Control-Allow-Headers") != "authorization" ||
				resp.Header.Get("Access-Control-Max-Age") != "3600" {
				t.Errorf("preflight %s: %d %v", path, resp.StatusCode, resp.Header)
			}
		}
		// The actual requests, native and through the gateway.
		resp, body := do(t, c, newReq(t, "PUT", env.URL+"native/7", nil, "Origin", "http://app.local:3000"))
		if body != "put" || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.local:3000" || resp.Header.Get("Vary") != "Origin" {
			t.Errorf("native: %q %v", body, resp.Header)
		}
		resp, body = do(t, c, newReq(t, "GET", env.URL+"api/items", nil, "Origin", "http://app.local:3000"))
		if body != `["a","b"]` || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.local:3000" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("net/http: %q %v", body, resp.Header)
		}
		resp, _ = do(t, c, newReq(t, "GET", env.URL+"api/items", nil, "Origin", "http://evil.example"))
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("other origin allowed: %v", resp.Header)
		}
	})
}

func TestAuthEndToEnd(t *testing.T) {
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /public", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("public") })
	rt.Handle("GET /admin", handlers.BasicAuth("admin area", handlers.BasicCredentials("root", "hunter2"))(
		handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
			u, _, _ := r.BasicAuth()
			fmt.Fprintf(w, "hello %s", u)
		})))
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		t.Run("per route", func(t *testing.T) {
			env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
			c := env.Client(t)
			if _, body := do(t, c, newReq(t, "GET", env.URL+"public", nil)); body != "public" {
				t.Errorf("public: %q", body)
			}
			resp, _ := do(t, c, newReq(t, "GET", env.URL+"admin", nil))
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="admin area", charset="UTF-8"` {
				t.Errorf("no credentials: %d %v", resp.StatusCode, resp.Header)
			}
			req := newReq(t, "GET", env.URL+"admin", nil)
			req.SetBasicAuth("root", "wrong")
			if resp, _ := do(t, c, req); resp.StatusCode != 401 {
				t.Errorf("wrong password: %d", resp.StatusCode)
			}
			req = newReq(t, "GET", env.URL+"admin", nil)
			req.SetBasicAuth("root", "hunter2")
			if resp, body := do(t, c, req); resp.StatusCode != 200 || body != "hello root" {
				t.Errorf("right password: %d %q", resp.StatusCode, body)
			}
		})
		t.Run("whole server", func(t *testing.T) {
			env := e2etest.Start(t, p, &espgate.Server{
				Routes: rt, Handler: api(),
				Middleware: []handlers.Middleware{handlers.BearerAuth("espgate", handlers.BearerTokens("t0ken-A"))},
			})
			c := env.Client(t)
			for _, path := range []string{"public", "api/items", "nowhere"} {
				resp, _ := do(t, c, newReq(t, "GET", env.URL+path, nil))
				if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="espgate"` {
					t.Errorf("%s without token: %d %v", path, resp.StatusCode, resp.Header)
				}
				resp, _ = do(t, c, newReq(t, "GET", env.URL+path, nil, "Authorization", "Bearer t0ken-B"))
				if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="espgate", error="invalid_token"` {
					t.Errorf("%s with a wrong token: %d %v", path, resp.StatusCode, resp.Header)
				}
			}
			if resp, body := do(t, c, newReq(t, "GET", env.URL+"api/items", nil, "Authorization", "Bearer t0ken-A")); resp.StatusCode != 200 || body != `["a","b"]` {
				t.Errorf("net/http route with the token: %d %q", resp.StatusCode, body)
			}
			if resp, body := do(t, c, newReq(t, "GET", env.URL+"public", nil, "Authorization", "Bearer t0ken-A")); resp.StatusCode != 200 || body != "public" {
				t.Errorf("native route with the token: %d %q", resp.StatusCode, body)
			}
			if resp, _ := do(t, c, newReq(t, "GET", env.URL+"nowhere", nil, "Authorization", "Bearer t0ken-A")); resp.StatusCode != 404 {
				t.Errorf("unknown path with the token: %d", resp.StatusCode)
			}
		})
	})
}
