package sim

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	spec := "reset=0.01,busy=0.01,sendfail=0.01,failok=0.01,nosendok=0.01,drop=0.001,flip=0.001," +
		"interleave=0.05,glueclosed=0.05,vanish=0.01,wifidrop=0.001,resetafter=200"
	f, err := ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := Faults{Reset: 0.01, ResetAfter: 200, Busy: 0.01, SendFail: 0.01, FailOK: 0.01, NoSendOK: 0.01,
		Drop: 0.001, Flip: 0.001, Interleave: 0.05, GlueClosed: 0.05, Vanish: 0.01, WiFiDrop: 0.001}
	if f != want {
		t.Fatalf("got %+v\nwant %+v", f, want)
	}
	g, err := ParseFaults(f.String())
	if err != nil || g != f {
		t.Fatalf("round trip %q: %+v, %v", f.String(), g, err)
	}
	for _, s := range []string{"", "none", " "} {
		if f, err := ParseFaults(s); err != nil || f != (Faults{}) {
			t.Errorf("%q: %+v, %v", s, f, err)
		}
	}
	if (Faults{}).String() != "none" {
		t.Error("empty faults should print none")
	}
	for _, s := range []string{"reset=2", "reset=-0.1", "foo=0.1", "reset", "resetafter=-1", "resetafter=x", "busy=abc"} {
		if _, err := ParseFaults(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
	if _, err := New(Config{Listen: "127.0.0.1:0", Faults: Faults{Drop: 1.5}}); err == nil {
		t.Error("New accepted a rate above 1")
	}
}

// faultScript plays a host that reacts only to time and to what it is
// sent, and returns everything it received. Client events are synchronised
// with the chip so that the same seed gives the same transcript.
func faultScript(t *testing.T, p Profile, f Faults, seed int64) ([]byte, Stats) {
	t.Helper()
	m := newTestModem(t, Config{Profile: p, Unpaced: true, Joined: true, Faults: f, Seed: seed, Logf: func(string, ...any) {}})
	h := newHost(t, m, m.Host())
	// settle waits until the chip waits for the host and the host has
	// everything the chip wrote. Unpaced, the chip handles each input and
	// all its zero-delay events before the next input, so this is the only
	// synchronisation a deterministic transcript needs.
	settle := func() {
		deadline := time.Now().Add(waitLimit)
		for {
			idle := chipState(m, func(c *chip) bool {
				return (c.send == nil || c.phase == phasePayload) && c.m.line.txBacklog() == 0
			})
			h.mu.Lock()
			n := int64(len(h.all))
			h.mu.Unlock()
			if idle && n == m.Stats().BytesToHost {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the modem did not settle")
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	step := func(s string) {
		h.send(s)
		settle()
	}
	var client net.Conn
	connect := func() {
		before := m.Stats()
		c, err := net.Dial("tcp", m.Addr().String())
		client = nil
		if err == nil {
			// A client reset at once may also fail to connect.
			t.Cleanup(func() { c.Close() })
			go io.Copy(io.Discard, c)
			client = c
		}
		waitChip(t, m, "accept", func(*chip) bool {
			s := m.Stats()
			return s.LinksServed+s.ClientsRejected > before.LinksServed+before.ClientsRejected
		})
		settle()
	}
	// clientSays writes from the client and waits until the chip has the
	// bytes or the link is gone.
	clientSays := func(s string) {
		if client == nil {
			return
		}
		before := m.Stats().ClientBytesIn
		port := client.LocalAddr().(*net.TCPAddr).Port
		if _, err := client.Write([]byte(s)); err != nil {
			return
		}
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			if m.Stats().ClientBytesIn >= before+int64(len(s)) {
				return
			}
			live := chipState(m, func(c *chip) bool {
				for _, l := range c.links {
					if l != nil && l.port == port && !l.peerClosed {
						return true
					}
				}
				return false
			})
			if !live {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}

	settle()
	step("ATE0\r\n")
	step("AT+CIPMUX=1\r\n")
	step("AT+CIPSERVER=1,80\r\n")
	connect()
	clientSays("GET / HTTP/1.1\r\n\r\n")
	for i := range 8 {
		step("AT+CIPSEND=0,32\r\n")
		clientSays("ping") // pending while the payload is collected
		step(fmt.Sprintf("%-32d", i))
		if i == 4 {
			connect()
		}
	}
	// echo on: a partial line, client data, the rest of the line
	step("ATE1\r\n")
	for range 4 {
		h.send("AT+CIP")
		clientSays("pong")
		step("MUX?\r\n")
		h.send("AT+CIPSEND=0,8\r")
		clientSays("ping")
		step("\n")
		step("12345678")
	}
	step("AT+CIPCLOSE=0\r\n")
	step("AT+CIPRECVLEN?\r\n")
	return h.transcript(), m.Stats()
}

func TestFaultsReproducible(t *testing.T) {
	type tc struct {
		name   string
		faults Faults
		check  func(t *testing.T, p Profile, tr string, s Stats)
	}
	cases := []tc{
		{FaultReset, Faults{Reset: 0.1}, func(t *testing.T, p Profile, tr string, s Stats) {
			if s.Resets == 0 || strings.Count(tr, msgReady) != s.Resets+1 {
				t.Errorf("resets %d, %d readys", s.Resets, strings.Count(tr, msgReady))
			}
		}},
		{FaultResetAfter, Faults{ResetAfter: 3}, func(t *testing.T, p Profile, tr string, s Stats) {
			// every third send: Recv, then the reset's garbage
			if s.Resets != s.Sends/3 || !strings.Contains(tr, "\r\nRecv 32 bytes\r\n") {
				t.Errorf("resets %d for %d sends", s.Resets, s.Sends)
			}
		}},
		{FaultBusy, Faults{Busy: 0.3}, func(t *testing.T, p Profile, tr string, s Stats) {
			if !strings.Contains(tr, msgBusyP) {
				t.Error("no busy p...")
			}
		}},
		{FaultSendFail, Faults{SendFail: 0.4}, func(t *testing.T, p Profile, tr string, s Stats) {
			if !strings.Contains(tr, "bytes\r\n"+msgSendFail) || s.SendFail == 0 {
				t.Error("no SEND FAIL after Recv")
			}
		}},
		{FaultFailOK, Faults{FailOK: 0.4}, func(t *testing.T, p Profile, tr string, s Stats) {
			// the late SEND OK may follow data printed in between
			if !regexp.MustCompile(`\r\nSEND FAIL\r\n(\r\n\+IPD,\d,4:p[io]ng)?\r\nSEND OK\r\n`).MatchString(tr) {
				t.Error("no SEND FAIL followed by SEND OK")
			}
		}},
		{FaultNoSendOK, Faults{NoSendOK: 0.4}, func(t *testing.T, p Profile, tr string, s Stats) {
			if s.Sends <= s.SendOK+s.SendFail {
				t.Errorf("sends %d, SEND OK %d, SEND FAIL %d: none missing", s.Sends, s.SendOK, s.SendFail)
			}
		}},
		{FaultDrop, Faults{Drop: 0.02}, nil},
		{FaultFlip, Faults{Flip: 0.02}, nil},
		{FaultInterleave, Faults{Interleave: 0.5}, func(t *testing.T, p Profile, tr string, s Stats) {
			ok, tail := p.promptParts()
			spliced := strings.Contains(tr, ok+"\r\n+IPD") || strings.Contains(tr, tail+"\r\n+IPD") ||
				strings.Contains(tr, "bytes\r\n\r\n+IPD") || strings.Contains(tr, "AT+CIP\r\n+IPD") ||
				strings.Contains(tr, "AT+CIPM\r\n+IPD") || strings.Contains(tr, "AT+CIPMU\r\n+IPD")
			if !spliced {
				t.Error("no +IPD spliced at a boundary")
			}
		}},
		{FaultGlueClosed, Faults{GlueClosed: 0.3}, func(t *testing.T, p Profile, tr string, s Stats) {
			if !strings.Contains(tr, "ping0,CLOSED\r\n") && !strings.Contains(tr, "pong0,CLOSED\r\n") &&
				!strings.Contains(tr, "\r\n\r\n0,CLOSED\r\n") && !strings.Contains(tr, "ping1,CLOSED\r\n") {
				t.Error("no CLOSED glued to data")
			}
		}},
		{FaultVanish, Faults{Vanish: 0.3}, func(t *testing.T, p Profile, tr string, s Stats) {
			want := pick(p, "bytes\r\n0,CLOSED\r\n"+msgSendFail, "bytes\r\n"+msgSendFail)
			if !strings.Contains(tr, want) {
				t.Errorf("no %q", want)
			}
		}},
		{FaultWiFiDrop, Faults{WiFiDrop: 0.2}, func(t *testing.T, p Profile, tr string, s Stats) {
			if !strings.Contains(tr, msgWifiDisc) || strings.Count(tr, msgWifiIP) < 2 {
				t.Error("no Wi-Fi drop and return")
			}
		}},
	}
	for _, p := range profiles() {
		for _, c := range cases {
			t.Run(string(p)+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				tr1, s1 := faultScript(t, p, c.faults, 7)
				tr2, s2 := faultScript(t, p, c.faults, 7)
				if !bytes.Equal(tr1, tr2) {
					t.Fatalf("same seed, different transcripts:\n%q\n%q", tr1, tr2)
				}
				if s1.Faults[c.name] == 0 || s1.Faults[c.name] != s2.Faults[c.name] {
					t.Fatalf("fault %s counted %d and %d", c.name, s1.Faults[c.name], s2.Faults[c.name])
				}
				if c.check != nil {
					c.check(t, p, string(tr1), s1)
				}
				clean, _ := faultScript(t, p, Faults{}, 7)
				if bytes.Equal(clean, tr1) {
					t.Fatal("the fault changed nothing on the line")
				}
			})
		}
	}
}

// Without faults the script is clean; with another seed the boot garbage
// differs.
func TestFaultScriptClean(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			a, s := faultScript(t, p, Faults{}, 1)
			b, _ := faultScript(t, p, Faults{}, 2)
			if bytes.Equal(a, b) {
				t.Fatal("seeds 1 and 2 gave the same transcript")
			}
			if s.Resets != 0 || s.SendFail != 0 || s.SendOK != s.Sends || len(s.Faults) != 0 {
				t.Fatalf("stats: %+v", s)
			}
		})
	}
}
