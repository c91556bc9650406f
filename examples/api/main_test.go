package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

func TestLampAPI(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, server(&lamps{}, "tok", []string{"http://app.local"}))
		c := env.Client(t)
		call := func(method, path, body string, header ...string) (*http.Response, string) {
			t.Helper()
			req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		// A cross-origin page can read the 401: the CORS headers stay on it.
		if resp, body := call("POST", "api/lamps", `{"name":"porch"}`, "Content-Type", "application/json", "Origin", "http://app.local"); resp.StatusCode != 401 ||
			resp.Header.Get("Access-Control-Allow-Origin") != "http://app.local" {
			t.Errorf("POST without token: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		if resp, body := call("POST", "api/lamps", `{"name":"porch","on":1}`, "Content-Type", "application/json", "Authorization", "Bearer tok"); resp.StatusCode != 400 ||
			body != "JSON field \"on\" must be true or false, not number\n" {
			t.Errorf("POST with a wrong type: %d %q", resp.StatusCode, body)
		}
		if resp, body := call("POST", "api/lamps", `{"name":"porch","on":true}`, "Content-Type", "application/json", "Authorization", "Bearer tok"); resp.StatusCode != 201 {
			t.Errorf("POST: %d %q", resp.StatusCode, body)
		}
		resp, body := call("GET", "api/lamps", "", "Origin", "http://app.local")
		if body != `[{"name":"porch","on":true}]`+"\n" || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.local" {
			t.Errorf("GET: %q %v", body, resp.Header)
		}
		resp, _ = call("OPTIONS", "api/lamps", "", "Origin", "http://app.local", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != "authorization,content-type" {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		resp, body = call("GET", "api/version", "", "Origin", "http://app.local")
		if body != `{"version":"1.0"}`+"\n" || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.local" {
			t.Errorf("net/http route: %q %v", body, resp.Header)
		}
		// The first tick arrives a second before the second one is written.
		resp2, err := c.Get(env.URL + "api/ticks")
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(resp2.Body).ReadString('\n')
		resp2.Body.Close()
		if err != nil || line != "{\"tick\":0}\n" || resp2.TransferEncoding[0] != "chunked" {
			t.Errorf("ticks: %q %v %v", line, err, resp2.TransferEncoding)
		}
	})
}
