package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// probe runs `espgate probe` with args and returns its exit code and output.
func probe(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr e2etest.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := probeMain(ctx, args, &stdout, &stderr)
	t.Logf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

// The emulator on a pty at a rate other than the first one tried: the
// probe finds the rate, the firmware and the Wi-Fi state.
func TestProbe(t *testing.T) {
	for _, c := range []struct {
		profile sim.Profile
		baud    int
		joined  bool
		want    []string
	}{
		{sim.NonOS, 57600, true, []string{
			"line       57600 baud, 8N1 (no answer at 115200, 9600)",
			"firmware   NonOS AT 1.7.4.0", "SDK version:3.0.4(9532ceb)",
			`Wi-Fi      station, joined "espgate-sim" (channel 6, -52 dBm)`,
			"address    192.168.1.50 (station)",
			"--baud 57600"}},
		{sim.ESPAT, 460800, false, []string{
			"line       460800 baud, 8N1 (no answer at 115200, 9600, 57600, 230400)",
			"firmware   ESP-AT 2.2.0.0", "Bin version:2.2.0(WROOM-02)",
			"Wi-Fi      station, not joined to a network",
			"address    none",
			"--baud 460800"}},
	} {
		t.Run(string(c.profile), func(t *testing.T) {
			m, err := sim.New(sim.Config{Profile: c.profile, Baud: c.baud, Joined: c.joined, Listen: "127.0.0.1:0", Unpaced: true, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			path, err := m.OpenPTY("")
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // booted: "ready" is out
			code, out, _ := probe(t, "--device", path, "--wait", "150ms")
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q", w)
				}
			}
			for _, v := range m.Violations() {
				t.Errorf("host protocol violation: %v", v)
			}
			if s := m.Stats(); s.GarbledFromHost == 0 {
				t.Error("the wrong rates were never tried on the line")
			}
		})
	}
}

// Nothing on the line: every rate is tried, and the probe says what to check.
func TestProbeSilent(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	start := time.Now()
	code, out, errOut := probe(t, "--device", slave.Name(), "--wait", "50ms")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want := "espgate probe: nothing answered AT on " + slave.Name() + " at 115200, 9600, 57600, 230400, 460800, 921600, 38400, 19200 baud. Check that the module has a steady 3.3 V"
	if !strings.HasPrefix(errOut, want) {
		t.Fatalf("stderr %q\nwant prefix %q", errOut, want)
	}
	t.Logf("gave up after %v", time.Since(start))
}

func TestProbeFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "--device is required"},
		{[]string{"--device", "/dev/null", "--baud", "115200,fast"}, 2, `--baud: "fast" is not a rate`},
		{[]string{"--device", "/nonexistent/tty"}, 1, "cannot open the device: port: open /nonexistent/tty: no such file"},
		{[]string{"--device", "x", "extra"}, 2, "unexpected argument"},
	} {
		code, _, errOut := probe(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d %q, want %d %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

func TestParseCWJAP(t *testing.T) {
	for _, c := range []struct{ in, ssid, ch, rssi string }{
		{`"home","a4:2b:b0:c1:d2:e3",6,-52`, "home", "6", "-52"},
		{`"a","b","a4:2b:b0:c1:d2:e3",11,-70,0,1,3,0,0`, `a","b`, "11", "-70"},
		{`"odd`, "odd", "", ""},
	} {
		ssid, ch, rssi := parseCWJAP(c.in)
		if ssid != c.ssid || ch != c.ch || rssi != c.rssi {
			t.Errorf("parseCWJAP(%q) = %q %q %q", c.in, ssid, ch, rssi)
		}
	}
}
