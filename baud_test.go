package espgate_test

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// baudWatch records the line-rate notes and every time the server serves.
type baudWatch struct {
	mu      sync.Mutex
	reasons []string
	serving chan struct{}
}

func newBaudWatch(srv *espgate.Server) *baudWatch {
	w := &baudWatch{serving: make(chan struct{}, 8)}
	srv.Observe = func(n fsm.Note) {
		if n.Kind == fsm.NoteBaud {
			w.mu.Lock()
			w.reasons = append(w.reasons, string(n.Text))
			w.mu.Unlock()
		}
	}
	srv.OnServing = func(string) { w.serving <- struct{}{} }
	return w
}

func (w *baudWatch) count(reason string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.reasons {
		if r == reason {
			n++
		}
	}
	return n
}

func bigHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
}

func get(t *testing.T, c *http.Client, url string, want []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(b, want) {
		t.Fatalf("GET %s: %d, %d bytes, %v", url, resp.StatusCode, len(b), err)
	}
}

// On a paced line at 115200 baud the server switches the modem and itself
// to 921600, serves there, and after a modem reset (which brings the modem
// back to 115200) finds it, switches again and serves again.
func TestTargetBaud(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		body := bytes.Repeat([]byte("0123456789abcdef"), 1000)
		srv := &espgate.Server{TargetBaud: 921600, Emulator: sim.Config{Baud: 115200}, Handler: bigHandler(body)}
		w := newBaudWatch(srv)
		env := e2etest.Start(t, p, srv)
		if b := env.Modem.Params().Baud; b != 921600 {
			t.Fatalf("modem at %d baud while serving", b)
		}
		if w.count("verified") != 1 {
			t.Fatalf("line-rate notes %v, want one verified switch", w.reasons)
		}
		before := env.Modem.Stats() // (checking the rate at start may garble an instant)
		c := env.Client(t)
		get(t, c, env.URL, body)
		if s := env.Modem.Stats(); s.GarbledToHost != before.GarbledToHost || s.GarbledFromHost != before.GarbledFromHost {
			t.Fatalf("garbled bytes while serving: %d to the host, %d from it",
				s.GarbledToHost-before.GarbledToHost, s.GarbledFromHost-before.GarbledFromHost)
		}

		<-w.serving
		env.Modem.Reset() // back to its stored rate, 115200
		select {
		case <-w.serving:
		case <-time.After(15 * time.Second):
			t.Fatalf("not serving again after the reset; line-rate notes %v", w.reasons)
		}
		if b := env.Modem.Params().Baud; b != 921600 || w.count("verified") != 2 {
			t.Fatalf("after the reset: modem at %d baud, notes %v", b, w.reasons)
		}
		get(t, c, env.URL, body)
	})
}

// A rate the firmware refuses leaves the line at Baud, and the server
// serves there.
func TestTargetBaudRefused(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		srv := &espgate.Server{TargetBaud: 5_000_000, Handler: bigHandler([]byte("ok\n"))}
		w := newBaudWatch(srv)
		env := e2etest.Start(t, p, srv)
		if b := env.Modem.Params().Baud; b != 115200 || w.count("refused") != 1 {
			t.Fatalf("modem at %d baud, notes %v", b, w.reasons)
		}
		get(t, env.Client(t), env.URL, []byte("ok\n"))
	})
}

func TestTargetBaudBridge(t *testing.T) {
	srv := &espgate.Server{Device: "tcp://127.0.0.1:1", TargetBaud: 921600}
	if err := srv.ListenAndServe(t.Context()); err == nil || !bytes.Contains([]byte(err.Error()), []byte("keeps its own rate")) {
		t.Fatalf("err = %v", err)
	}
}

// The same switch over a pseudo-terminal: espgate opens it as a serial
// device and sets its rate with termios, which the emulator reads.
func TestTargetBaudPTY(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		m, err := sim.New(sim.Config{Profile: p, Baud: 115200, Joined: true, Listen: "127.0.0.1:0", Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		path, err := m.OpenPTY("")
		if err != nil {
			t.Fatal(err)
		}
		body := bytes.Repeat([]byte("x"), 5000)
		srv := &espgate.Server{Device: path, TargetBaud: 921600, Handler: bigHandler(body)}
		w := newBaudWatch(srv)
		done := make(chan error, 1)
		go func() { done <- srv.ListenAndServe(t.Context()) }()
		select {
		case <-w.serving:
		case err := <-done:
			t.Fatalf("ListenAndServe: %v", err)
		case <-time.After(15 * time.Second):
			t.Fatalf("not serving; line-rate notes %v", w.reasons)
		}
		if b := m.Params().Baud; b != 921600 || w.count("verified") != 1 {
			t.Fatalf("modem at %d baud, notes %v", b, w.reasons)
		}
		// (At start, checking that the port takes 921600 garbles what the
		// modem sends in that instant, as it would on a real line.)
		before := m.Stats()
		c := &http.Client{Timeout: 20 * time.Second}
		defer c.CloseIdleConnections()
		get(t, c, "http://"+m.Addr().String()+"/", body)
		if s := m.Stats(); s.GarbledToHost != before.GarbledToHost || s.GarbledFromHost != before.GarbledFromHost {
			t.Fatalf("garbled bytes while serving: %d to the host, %d from it",
				s.GarbledToHost-before.GarbledToHost, s.GarbledFromHost-before.GarbledFromHost)
		}
		if err := srv.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, v := range m.Violations() {
			t.Errorf("host protocol violation: %v", v)
		}
	})
}
