package sim

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMainBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--profile", "x"},
		{"--faults", "nope=1"},
		{"--faults", "reset=2"},
		{"--baud", "5"},
		{"--seed", "x"},
		{"--nosuch"},
		{"extra"},
	} {
		var out, errb lockedBuffer
		if code := Main(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errb.String() == "" {
			t.Errorf("%v: no message", args)
		}
	}
	var out, errb lockedBuffer
	if code := Main(context.Background(), []string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "pty-link") {
		t.Errorf("-h: exit %d, %q", code, errb.String())
	}
}

func TestMainRuns(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "espgate-sim.pty")
	trace := filepath.Join(dir, "trace.txt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--profile", "espat", "--listen", "127.0.0.1:0", "--pty-link", link,
			"--unpaced", "--joined", "--trace", trace, "--faults", "none", "--seed", "3"}, &out, &errb)
	}()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(out.String(), "TCP clients: 127.0.0.1:") {
		if time.Now().After(deadline) {
			t.Fatalf("no start message: %q %q", out.String(), errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "(linked at "+link+")") {
		t.Fatalf("output %q", out.String())
	}
	f := openSlave(t, link)
	h := newHost(t, nil, f)
	h.boot()
	h.expect(wifiJoined)
	h.cmd("AT\r\n", "AT\r\n"+msgOK)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"links served 0", "serial bytes to host", "from host 4", "violations 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(trace)
	if err != nil || !strings.Contains(string(b), `H>M "AT\r\n"`) {
		t.Errorf("trace %q, %v", b, err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("link left behind: %v", err)
	}
}

// --precise-timing paces precisely, and the summary reports the lateness.
func TestMainPreciseTiming(t *testing.T) {
	link := filepath.Join(t.TempDir(), "espgate-sim.pty")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--listen", "127.0.0.1:0", "--pty-link", link, "--baud", "921600", "--precise-timing"}, &out, &errb)
	}()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(out.String(), "TCP clients: 127.0.0.1:") {
		if time.Now().After(deadline) {
			t.Fatalf("no start message: %q %q", out.String(), errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	h := newHost(t, nil, openSlave(t, link))
	h.boot()
	h.cmd("AT\r\n", "AT\r\r\n"+msgOK)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "921600 baud 8N1 (precise timing)\n") ||
		!strings.Contains(out.String(), "  pacing: ") || !strings.Contains(out.String(), "late p50 <= ") {
		t.Errorf("summary lacks the pacing line:\n%s", out.String())
	}
}
