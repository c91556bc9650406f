package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/espgate/espgate/internal/e2etest"
)

// --trace records the serial exchange, readable, and the Wi-Fi password
// given with --password never reaches the file.
func TestTraceFile(t *testing.T) {
	for _, profile := range []string{"nonos", "espat"} {
		t.Run(profile, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "trace.txt")
			const pw = "s3cret,pass\"word"
			var stdout, stderr e2etest.SyncBuffer
			f, err := parseServe([]string{"--listen", "127.0.0.1:0", "--unpaced", "--log-level", "warn", "--profile", profile,
				"--ssid", "home", "--password", pw, "--trace", path}, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			g, _, err := build(f, &stdout, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- g.run(ctx) }()
			var url string
			for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if _, after, ok := strings.Cut(stdout.String(), "espgate: serving "); ok {
					url, _, _ = strings.Cut(after, "\n")
				}
			}
			if url == "" {
				cancel()
				t.Fatalf("not serving; stderr %q", stderr.String())
			}
			if code, _ := e2etest.Get(t, &http.Client{Timeout: 10 * time.Second}, url); code != 200 {
				t.Fatalf("GET / = %d", code)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			g.close() // flushes the trace
			for _, v := range g.srv.EmulatorModem().Violations() {
				t.Errorf("host protocol violation: %v", v)
			}

			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			trace := string(b)
			for _, secret := range []string{pw, "s3cret", strconv.Quote(pw)[1 : len(pw)+1]} {
				if strings.Contains(trace, secret) {
					t.Fatalf("the password is in the trace:\n%s", trace)
				}
			}
			join := `tx "AT+CWJAP_CUR=<redacted>\r\n"`
			if profile == "espat" {
				join = `tx "AT+CWJAP=<redacted>\r\n"`
			}
			for _, want := range []string{"# espgate serial trace of emulator at 115200 baud", join,
				`tx "AT+CIPSERVER=1,80\r\n"`, `rx "\r\nOK\r\n"`, "+IPD,0,", "# ", "modem serving"} {
				if !strings.Contains(trace, want) {
					t.Errorf("trace lacks %q:\n%s", want, trace)
				}
			}
			// Every record: time, direction, a quoted string.
			for line := range strings.SplitSeq(strings.TrimSuffix(trace, "\n"), "\n") {
				if strings.HasPrefix(line, "#") {
					continue
				}
				fs := strings.SplitN(strings.TrimLeft(line, " "), " ", 3)
				if len(fs) != 3 || (fs[1] != "tx" && fs[1] != "rx") {
					t.Fatalf("bad record %q", line)
				}
				if _, err := strconv.ParseFloat(fs[0], 64); err != nil {
					t.Fatalf("bad time in %q", line)
				}
				if _, err := strconv.Unquote(fs[2]); err != nil {
					t.Fatalf("bad bytes in %q", line)
				}
			}
		})
	}
}
