package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

func TestGuestbook(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, server(&book{}, "pw"))
		c := env.Client(t)
		c.Jar, _ = cookiejar.New(nil)
		read := func(resp *http.Response, err error) (*http.Response, string) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		// Sign: 303 back to the page, which now greets by cookie.
		resp, page := read(c.PostForm(env.URL+"sign", url.Values{"name": {"Ada"}, "message": {"hello <there>"}}))
		if resp.StatusCode != 200 || resp.Request.Method != "GET" || !strings.Contains(page, "Welcome back, Ada.") ||
			!strings.Contains(page, "<b>Ada</b>: hello &lt;there&gt;") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("after signing: %d %s %q %v", resp.StatusCode, resp.Request.Method, page, resp.Header)
		}
		_, page = read(c.Get(env.URL + "?q=nomatch"))
		if strings.Contains(page, "<b>Ada</b>") {
			t.Errorf("filter did not filter: %q", page)
		}
		// Upload a file.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "notes.txt")
		fw.Write(bytes.Repeat([]byte("x"), 5000))
		mw.Close()
		resp, page = read(c.Post(env.URL+"upload", mw.FormDataContentType(), &body))
		if resp.StatusCode != 200 || !strings.Contains(page, "notes.txt, 5000 bytes") {
			t.Fatalf("after upload: %d %q", resp.StatusCode, page)
		}
		// Clearing needs the admin's password.
		resp, _ = read(c.Post(env.URL+"admin/clear", "", nil))
		if resp.StatusCode != 401 {
			t.Errorf("clear without auth: %d", resp.StatusCode)
		}
		req, _ := http.NewRequest("POST", env.URL+"admin/clear", nil)
		req.SetBasicAuth("admin", "pw")
		if resp, page = read(c.Do(req)); resp.StatusCode != 200 || strings.Contains(page, "Ada</b>") {
			t.Errorf("clear: %d %q", resp.StatusCode, page)
		}
	})
}
