// Package e2etest starts an espgate.Server on the embedded emulator for
// end-to-end tests in any package, and checks after each test that the
// host broke no rule of the modem's protocol.
package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/websocket"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/sim"
)

// Profiles are the firmware generations every end-to-end test runs on.
var Profiles = []sim.Profile{sim.NonOS, sim.ESPAT}

// EachProfile runs f as a subtest once per firmware generation.
func EachProfile(t *testing.T, f func(t *testing.T, p sim.Profile)) {
	t.Helper()
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) { f(t, p) })
	}
}

// Env is a running server and its emulated modem.
type Env struct {
	// URL is where clients reach the server, with a trailing slash
	// ("http://127.0.0.1:port/").
	URL string
	// Addr is the host:port of URL.
	Addr   string
	Server *espgate.Server
	Modem  *sim.Modem

	errc     chan error
	stopOnce sync.Once
	stopErr  error
}

// Start serves srv on an unpaced emulator of profile p (unless
// srv.Emulator already sets something) and waits until the modem serves.
// The server stops when the test ends; any host protocol violation the
// emulator counted then fails the test. A nil srv.Logger logs warnings to
// the test's output.
func Start(t testing.TB, p sim.Profile, srv *espgate.Server) *Env {
	t.Helper()
	if srv.Emulator.Listen == "" {
		srv.Emulator.Listen = "127.0.0.1:0"
	}
	if srv.Emulator.Baud == 0 && srv.Emulator.Timing == (sim.Timing{}) {
		srv.Emulator.Unpaced = true
	}
	if srv.Emulator.Seed == 0 {
		srv.Emulator.Seed = 1
	}
	srv.Emulator.Profile = p
	if srv.Logger == nil {
		l := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
		srv.Logger = &l
	}
	urls := make(chan string, 16)
	prev := srv.OnServing
	srv.OnServing = func(url string) {
		if prev != nil {
			prev(url)
		}
		select {
		case urls <- url:
		default:
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(context.Background()) }()
	var url string
	select {
	case url = <-urls:
	case err := <-errc:
		t.Fatalf("ListenAndServe: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the modem did not serve within 10 s")
	}
	env := &Env{URL: url, Addr: strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"), Server: srv, Modem: srv.EmulatorModem(), errc: errc}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
		if env.Modem != nil {
			for _, v := range env.Modem.Violations() {
				t.Errorf("host protocol violation: %v", v)
			}
		}
	})
	return env
}

// Stop shuts the server down (at most 15 s) and waits until
// ListenAndServe has returned; it returns what went wrong. The test's
// cleanup calls it too; later calls return the first call's result.
func (env *Env) Stop() error {
	env.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := env.Server.Shutdown(ctx); err != nil {
			env.stopErr = fmt.Errorf("shutdown: %w", err)
			return
		}
		if err := <-env.errc; err != nil {
			env.stopErr = fmt.Errorf("ListenAndServe: %w", err)
		}
	})
	return env.stopErr
}

// Client returns an HTTP client for env with a bounded timeout and no
// connection reuse across tests.
func (env *Env) Client(t testing.TB) *http.Client {
	tr := &http.Transport{MaxConnsPerHost: 5}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// Get fetches url with c and returns the status and the body; an error
// fails the test.
func Get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// SyncBuffer is a bytes.Buffer that a server's logger, an emulator's trace
// and the test may write and read at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WebSocketEcho sends three text messages over ws (one of 5,000 bytes) and
// wants each back prefixed with "echo: "; anything else fails the test.
func WebSocketEcho(t testing.TB, ws *websocket.Conn) {
	t.Helper()
	for i, msg := range []string{"hello", strings.Repeat("x", 5000), "bye"} {
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		var got string
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatalf("receive %d: %v", i, err)
		}
		if got != "echo: "+msg {
			t.Fatalf("message %d: got %d bytes, want %d", i, len(got), len(msg)+6)
		}
	}
}
