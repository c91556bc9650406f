package e2etest_test

import (
	"io"
	"testing"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

func TestStart(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		rt.HandleFunc("GET /ping", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("pong") })
		env := e2etest.Start(t, p, &espgate.Server{Routes: rt})
		resp, err := env.Client(t).Get(env.URL + "ping")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "pong" {
			t.Fatalf("got %d %q, want 200 pong", resp.StatusCode, b)
		}
		if env.Modem == nil || env.Addr == "" {
			t.Fatalf("env incomplete: %+v", env)
		}
	})
}
