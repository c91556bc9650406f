package loop_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

var ipdHeader = regexp.MustCompile(`\r\n\+IPD,\d+,\d+(,[^,]*,\d+)?:`)

// With logging at its most verbose, credentials and cookies still never
// reach the log, even when the modem cuts the request into tiny frames.
func TestSecretsNeverLogged(t *testing.T) {
	const (
		password = "hunter2-Pa55"
		token    = "tok-SECRET-0042"
		session  = "sess-SECRET-777"
		reply    = "new-SECRET-cookie"
	)
	rt := handlers.NewRouter()
	rt.Handle("GET /basic", handlers.BasicAuth("r", handlers.BasicCredentials("admin", password))(
		handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("basic ok") })))
	rt.Handle("GET /bearer", handlers.BearerAuth("r", handlers.BearerTokens(token))(
		handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
			w.SetCookie(&http.Cookie{Name: "session", Value: reply, HttpOnly: true})
			w.WriteString("bearer ok")
		})))
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		for _, frame := range []int{0, 5} {
			var logs e2etest.SyncBuffer
			log := zerolog.New(&logs).Level(zerolog.TraceLevel)
			env := e2etest.Start(t, p, &espgate.Server{Routes: rt, Logger: &log, Emulator: sim.Config{MaxIPD: frame}})
			c := env.Client(t)
			req, _ := http.NewRequest("GET", env.URL+"basic", nil)
			req.SetBasicAuth("admin", password)
			req.AddCookie(&http.Cookie{Name: "session", Value: session})
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "basic ok" {
				t.Fatalf("basic: %d %q", resp.StatusCode, body)
			}
			req, _ = http.NewRequest("GET", env.URL+"bearer", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "bearer ok" || len(resp.Cookies()) != 1 || resp.Cookies()[0].Value != reply {
				t.Fatalf("bearer: %d %q %v", resp.StatusCode, body, resp.Cookies())
			}
			out := logs.String()
			if !strings.Contains(out, `"serial"`) || !strings.Contains(out, "+IPD") || !strings.Contains(out, "bearer ok") {
				t.Fatalf("the trace did not log the exchange:\n%.2000s", out)
			}
			// The client's bytes with the +IPD framing taken out, to catch
			// a secret cut across frames too.
			var rx strings.Builder
			for _, line := range strings.Split(out, "\n") {
				var e struct{ Message, Dir, Data string }
				if json.Unmarshal([]byte(line), &e) == nil && e.Message == "serial" && e.Dir == "rx" {
					if d, err := strconv.Unquote(e.Data); err == nil {
						rx.WriteString(d)
					}
				}
			}
			joined := ipdHeader.ReplaceAllString(rx.String(), "")
			if !strings.Contains(joined, "GET /bearer HTTP/1.1\r\n") {
				t.Fatalf("MaxIPD %d: the trace's requests do not join up:\n%.2000q", frame, joined)
			}
			encoded := base64.StdEncoding.EncodeToString([]byte("admin:" + password))
			for _, secret := range []string{password, encoded, encoded[:12], token, token[4:], session, reply} {
				if strings.Contains(out, secret) || strings.Contains(joined, secret) {
					t.Errorf("MaxIPD %d: %q is in the log", frame, secret)
				}
			}
		}
	})
}
