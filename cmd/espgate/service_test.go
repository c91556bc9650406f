package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/espgate/espgate/internal/e2etest"
)

// readUnit parses a systemd unit file into section.key -> values, in order.
func readUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	return keys
}

// readEnv parses an environment file (KEY=value lines).
func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
			k, v, _ := strings.Cut(line, "=")
			env[k] = v
		}
	}
	return env
}

// The service unit runs espgate as its own user in the dialout group,
// restarts it on failure, confines it, and starts it with flags the
// binary accepts.
func TestServiceUnit(t *testing.T) {
	unit := filepath.Join("..", "..", "deploy", "espgate.service")
	u := readUnit(t, unit)
	env := readEnv(t, filepath.Join("..", "..", "deploy", "espgate.env"))
	want := map[string]string{
		"Service.User":                  "espgate",
		"Service.SupplementaryGroups":   "dialout",
		"Service.Restart":               "on-failure",
		"Service.RestartSec":            "5s",
		"Service.EnvironmentFile":       "/etc/espgate/espgate.env",
		"Service.NoNewPrivileges":       "yes",
		"Service.ProtectSystem":         "strict",
		"Service.ProtectHome":           "yes",
		"Service.PrivateTmp":            "yes",
		"Service.DevicePolicy":          "closed",
		"Service.CapabilityBoundingSet": "",
		"Unit.StartLimitIntervalSec":    "0",
		"Install.WantedBy":              "multi-user.target",
	}
	for k, v := range want {
		if got := u[k]; !slices.Contains(got, v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !slices.Contains(u["Service.DeviceAllow"], "/dev/serial0 rw") {
		t.Errorf("DeviceAllow %q lacks /dev/serial0", u["Service.DeviceAllow"])
	}
	fams := strings.Fields(strings.Join(u["Service.RestrictAddressFamilies"], " "))
	for _, f := range []string{"AF_INET", "AF_INET6", "AF_UNIX"} {
		if !slices.Contains(fams, f) {
			t.Errorf("RestrictAddressFamilies %q lacks %s (the --metrics-listen socket, the journal)", fams, f)
		}
	}

	// ExecStart with the example environment file: the flags parse.
	execStart := u["Service.ExecStart"]
	if len(execStart) != 1 {
		t.Fatalf("ExecStart %q", execStart)
	}
	args := strings.Fields(execStart[0])
	if args[0] != "/usr/local/bin/espgate" {
		t.Fatalf("ExecStart runs %q", args[0])
	}
	var expanded []string
	for _, a := range args[1:] {
		switch {
		case strings.HasPrefix(a, "${") && strings.HasSuffix(a, "}"): // one word
			v, ok := env[a[2:len(a)-1]]
			if !ok {
				t.Fatalf("%s is not set in espgate.env", a)
			}
			expanded = append(expanded, v)
		case strings.HasPrefix(a, "$"): // split on white space
			v, ok := env[a[1:]]
			if !ok {
				t.Fatalf("%s is not set in espgate.env", a)
			}
			expanded = append(expanded, strings.Fields(v)...)
		default:
			expanded = append(expanded, a)
		}
	}
	t.Setenv("ESPGATE_WIFI_PASSWORD", env["ESPGATE_WIFI_PASSWORD"])
	var stderr e2etest.SyncBuffer
	f, err := parseServe(expanded, &stderr)
	if err != nil {
		t.Fatalf("espgate %q: %v", expanded, err)
	}
	if f.device != "/dev/serial0" || f.ssid == "" || f.password == "" || f.logFormat != "json" {
		t.Fatalf("flags from the unit: %+v", f)
	}
	// The commented-out options in the example work too.
	opts := "--target-baud 921600 --metrics-listen 127.0.0.1:9101"
	if _, err := parseServe(append(expanded, strings.Fields(opts)...), &stderr); err != nil {
		t.Fatalf("ESPGATE_OPTS example: %v", err)
	}
}

// systemd's own check of the unit, where systemd-analyze is installed
// (.ci/pi-smoke installs it and runs this check in CI).
func TestServiceUnitVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("ESPGATE_CI_PI") != "" {
			t.Fatal("systemd-analyze is required here (ESPGATE_CI_PI is set): apt-get install systemd")
		}
		t.Skip("systemd-analyze is not installed; .ci/pi-smoke installs it and runs this check in CI")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "espgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	// verify wants ExecStart's program to exist: point it at an executable.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	unit := filepath.Join(dir, "espgate.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/espgate", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
