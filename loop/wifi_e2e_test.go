package loop_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/loop"
	"github.com/espgate/espgate/sim"
)

// noteLog collects notes from the loop for a test to wait on.
type noteLog struct {
	mu    sync.Mutex
	notes []fsm.Note
	ch    chan struct{}
}

func newNoteLog() *noteLog { return &noteLog{ch: make(chan struct{}, 1)} }

func (l *noteLog) observe(n fsm.Note) {
	n.Text = bytes.Clone(n.Text) // a view valid only during the call
	l.mu.Lock()
	l.notes = append(l.notes, n)
	l.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	default:
	}
}

// snapshot returns the notes so far.
func (l *noteLog) snapshot() []fsm.Note {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]fsm.Note(nil), l.notes...)
}

// wait waits until cond holds on the notes so far.
func (l *noteLog) wait(t *testing.T, what string, cond func(ns []fsm.Note) bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		l.mu.Lock()
		ok := cond(l.notes)
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-l.ch:
		case <-deadline:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("waiting for %s; notes: %+v", what, l.notes)
		}
	}
}

func count(ns []fsm.Note, f func(n fsm.Note) bool) int {
	c := 0
	for _, n := range ns {
		if f(n) {
			c++
		}
	}
	return c
}

func rejoinOpts(p sim.Profile, notes *noteLog) serverOpts {
	return serverOpts{
		profile: p,
		machine: fsm.Config{SSID: sim.DefaultSSID, Password: sim.DefaultPassword,
			RejoinWait: 300 * time.Millisecond, RejoinBackoff: 100 * time.Millisecond, RejoinBackoffMax: 400 * time.Millisecond},
		simCfg:  func(c *sim.Config) { c.Joined = false },
		observe: notes.observe,
	}
}

// The access point goes away for a while and the modem does not come
// back by itself: the host rejoins with back-off until it works, then
// serves again at the address the modem reports.
func TestRejoinAfterOutage(t *testing.T) {
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		notes := newNoteLog()
		s := start(t, rejoinOpts(p, notes))
		c := newClient()
		if code, body := e2etest.Get(t, c, s.url("/hello")); code != 200 || body != "hello\n" {
			t.Fatalf("before: %d %q", code, body)
		}
		c.CloseIdleConnections()
		servings := count(notes.snapshot(), func(n fsm.Note) bool { return n.Kind == fsm.NoteServing })
		s.modem.DropWiFi(1500*time.Millisecond, false)
		notes.wait(t, "serving again", func(ns []fsm.Note) bool {
			return count(ns, func(n fsm.Note) bool { return n.Kind == fsm.NoteServing }) > servings
		})
		ns := notes.snapshot()
		waited := count(ns, func(n fsm.Note) bool { return n.Kind == fsm.NoteRejoin && n.Status == 0 })
		tries := count(ns, func(n fsm.Note) bool { return n.Kind == fsm.NoteRejoin && n.Status > 0 })
		failed := count(ns, func(n fsm.Note) bool { return n.Kind == fsm.NoteJoinFailed && n.Status == 3 && n.Dur > 0 })
		if waited != 1 || tries < 3 || failed != tries-1 {
			t.Fatalf("waited %d times, %d rejoins, %d failures noted: %+v", waited, tries, failed, ns)
		}
		for i := len(ns) - 1; i >= 0; i-- {
			if ns[i].Kind == fsm.NoteServing {
				if string(ns[i].Text) != sim.DefaultStationIP {
					t.Fatalf("serving again at %q", ns[i].Text)
				}
				break
			}
		}
		if code, body := e2etest.Get(t, c, s.url("/hello")); code != 200 || body != "hello\n" {
			t.Fatalf("after: %d %q", code, body)
		}
	})
}

// The modem reconnects by itself within RejoinWait: no AT+CWJAP from the
// host, and serving resumes.
func TestModemReconnectsByItself(t *testing.T) {
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		notes := newNoteLog()
		o := rejoinOpts(p, notes)
		o.machine.RejoinWait = 10 * time.Second
		s := start(t, o)
		servings := count(notes.snapshot(), func(n fsm.Note) bool { return n.Kind == fsm.NoteServing })
		s.modem.DropWiFi(200*time.Millisecond, true)
		notes.wait(t, "serving again", func(ns []fsm.Note) bool {
			return count(ns, func(n fsm.Note) bool { return n.Kind == fsm.NoteServing }) > servings
		})
		tries := count(notes.snapshot(), func(n fsm.Note) bool { return n.Kind == fsm.NoteRejoin && n.Status > 0 })
		if tries != 0 {
			t.Fatalf("the host sent AT+CWJAP %d times", tries)
		}
		if code, _ := e2etest.Get(t, newClient(), s.url("/hello")); code != 200 {
			t.Fatalf("after: %d", code)
		}
	})
}

// Loop.Join on an emulator that has not joined: a wrong password comes
// back as code 2, the right one as the station's address.
func TestLoopJoin(t *testing.T) {
	eachProfile(t, func(t *testing.T, p sim.Profile) {
		var log e2etest.SyncBuffer
		s := start(t, serverOpts{profile: p, machine: fsm.Config{SetupAP: "espgate-test", SetupPassword: "setup-secret"},
			simCfg: func(c *sim.Config) { c.Joined = false }, logw: &log})
		join := func(pass string) loop.JoinResult {
			res := make(chan loop.JoinResult, 1)
			if err := s.lp.Join(sim.DefaultSSID, pass, func(r loop.JoinResult) { res <- r }); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-res:
				return r
			case <-time.After(15 * time.Second):
				t.Fatal("no join result")
			}
			return loop.JoinResult{}
		}
		if r := join("wrong-password"); r.Code != 2 || !errors.Is(r.Err, loop.ErrJoinFailed) {
			t.Fatalf("wrong password: %+v", r)
		}
		if r := join(sim.DefaultPassword); r.Err != nil || r.Address != sim.DefaultStationIP {
			t.Fatalf("right password: %+v", r)
		}
		if err := s.lp.Join("bad\nssid", "", func(loop.JoinResult) {}); err == nil {
			t.Fatal("Join took a line end")
		}
		// The trace log has every line sent, but no password.
		out := log.String()
		for _, secret := range []string{"setup-secret", "wrong-password", sim.DefaultPassword} {
			if strings.Contains(out, secret) {
				t.Errorf("the log shows a password (%s)", secret)
			}
		}
		if !strings.Contains(out, "AT+CWSAP") || !strings.Contains(out, "AT+CWJAP") || !strings.Contains(out, "<redacted>") {
			t.Error("the trace log lacks the Wi-Fi commands")
		}
	})
}
