package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/espgate/espgate/internal/e2etest"
)

// --setup-ap on the emulator: the binary says how to reach the set-up
// page, the page joins the emulator's network, and the demo comes back.
func TestSetupFlag(t *testing.T) {
	_, stdout, stderr := runGateway(t, "--setup-ap", "espgate-try", "--setup-password", "try-it-out", "--mdns", "espgate")
	var page string
	for deadline := time.Now().Add(10 * time.Second); page == ""; {
		if _, after, ok := strings.Cut(stdout.String(), `set-up mode: join the Wi-Fi network "espgate-try" and open `); ok {
			page, _, _ = strings.Cut(after, " ")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no set-up line; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := &http.Client{Timeout: 20 * time.Second}
	if code, body := e2etest.Get(t, c, page); code != 200 || !strings.Contains(body, "Wi-Fi set-up") {
		t.Fatalf("set-up page: %d %q", code, body)
	}
	resp, err := c.PostForm(page, url.Values{"ssid": {"espgate-sim"}, "password": {"espgate-sim-pass"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Joined espgate-sim") {
		t.Fatalf("join: %d %q", resp.StatusCode, b)
	}
	if code, body := e2etest.Get(t, c, page+"hello"); code != 200 || body != "Hello from espgate!\n" {
		t.Fatalf("the demo after set-up: %d %q", code, body)
	}
	if strings.Contains(stdout.String()+stderr.String(), "try-it-out") {
		t.Fatal("the set-up password was printed")
	}
}
