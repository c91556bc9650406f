package fsm

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// noHeartbeat keeps the idle probe (Config.Heartbeat) out of these
// conversations, which follow the Wi-Fi timers alone.
const noHeartbeat = time.Hour

// deadlineBeforeHeartbeat reports whether the machine waits for anything
// sooner than the (quieted) heartbeat.
func (tm *testModem) deadlineBeforeHeartbeat() bool {
	d := tm.m.NextDeadline()
	return !d.IsZero() && d.Sub(tm.now) < noHeartbeat
}

// Scripted conversations for the Wi-Fi parts (wifi.go): rejoining, the
// set-up access point with a runtime join, and mDNS.

// bootToVersion plays the modem from start through AT+GMR.
func (tm *testModem) bootToVersion() {
	tm.t.Helper()
	tm.advanceToDeadline()
	tm.wantWrite("probe", "AT\r\n")
	tm.says(tm.ok())
	tm.wantWrite("reset", "AT+RST\r\n")
	tm.says(tm.ok() + "\x8f\xfe\r\nready\r\n")
	tm.advance(100 * time.Millisecond)
	tm.wantWrite("echo off", "ATE0\r\n")
	tm.says(tm.ok())
	tm.wantWrite("version", "AT+GMR\r\n")
	if tm.gen == GenNonOS {
		tm.says("AT version:1.7.4.0(May 11 2020 19:13:04)\r\nSDK version:3.0.4(9532ceb)\r\n" + tm.ok())
	} else {
		tm.says("AT version:2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\nSDK version:v3.4-22-g967752e2\r\n" + tm.ok())
	}
}

// serverSteps plays the server commands that end bring-up.
func (tm *testModem) serverSteps() {
	tm.t.Helper()
	tm.wantWrite("mux", "AT+CIPMUX=1\r\n")
	tm.says(tm.ok())
	tm.wantWrite("max conn", "AT+CIPSERVERMAXCONN=5\r\n")
	tm.says(tm.ok())
	tm.wantWritePrefix("server", "AT+CIPSERVER=1,")
	tm.says(tm.ok())
	tm.wantWritePrefix("server timeout", "AT+CIPSTO=")
	tm.says(tm.ok())
	tm.wantWrite("dinfo", "AT+CIPDINFO=1\r\n")
	tm.says(tm.ok())
	if tm.m.State() != ModemServing {
		tm.t.Fatalf("state %v after bring-up", tm.m.State())
	}
}

// pick returns nonos or espat by the test modem's generation.
func (tm *testModem) pick(nonos, espat string) string {
	if tm.gen == GenNonOS {
		return nonos
	}
	return espat
}

// joinFail is the generation's AT+CWJAP failure (Q3).
func (tm *testModem) joinFail(code int) string {
	return fmt.Sprintf("+CWJAP:%d\r\n", code) + tm.pick("\r\nFAIL\r\n", "\r\nERROR\r\n")
}

func (tm *testModem) notesOf(k NoteKind) []Note {
	var ns []Note
	for _, n := range tm.notes {
		if n.Kind == k {
			ns = append(ns, n)
		}
	}
	return ns
}

func (tm *testModem) wantNote(k NoteKind, status int, text string) Note {
	tm.t.Helper()
	n, ok := tm.lastNote(k)
	if !ok || n.Status != status || string(n.Text) != text {
		tm.t.Fatalf("last note of kind %d: %+v (found %v), want status %d text %q", k, n, ok, status, text)
	}
	return n
}

// The modem reconnects by itself within RejoinWait: the host sends no
// AT+CWJAP, refreshes the address and serves again.
func TestRejoinModemReconnectsByItself(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := serving(t, g, Config{Heartbeat: noHeartbeat, SSID: "home", Password: "secret-pass"})
			tm.handler = text("ok")
			tm.says("0,CONNECT\r\n")
			tm.says("WIFI DISCONNECT\r\n0,CLOSED\r\n")
			if n := tm.wantNote(NoteRejoin, 0, ""); n.Dur != 10*time.Second {
				t.Fatalf("waits %v for the modem, want 10s", n.Dur)
			}
			if tm.m.Address() != "" {
				t.Fatalf("address %q while the station is lost", tm.m.Address())
			}
			if d := tm.m.NextDeadline().Sub(tm.now); d != 10*time.Second {
				t.Fatalf("next deadline in %v, want 10s", d)
			}
			tm.advance(6 * time.Second)
			tm.wantIdle()
			tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n")
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:STAIP,\"192.168.1.77\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:01:02:03\"\r\n" + tm.ok())
			tm.wantNote(NoteServing, 0, "192.168.1.77")
			if tm.deadlineBeforeHeartbeat() {
				t.Fatalf("a deadline is left: %v", tm.m.NextDeadline().Sub(tm.now))
			}
			tm.advance(time.Minute)
			tm.wantIdle()
			if n := tm.notesOf(NoteRejoin); len(n) != 1 {
				t.Fatalf("the host rejoined although the modem came back: %+v", n)
			}
			tm.says(ipd(1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
			if p := tm.sendChunk(1); !strings.HasSuffix(p, "\r\n\r\nok") {
				t.Fatalf("after the rejoin: %q", p)
			}
		})
	}
}

// The modem stays down: after RejoinWait the host joins, backing off
// 2 s, 4 s, 8 s between failures, until it succeeds.
func TestRejoinBacksOff(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := serving(t, g, Config{Heartbeat: noHeartbeat, SSID: `my,net`, Password: `pa"ss word`})
			tm.says("WIFI DISCONNECT\r\n")
			join := tm.pick("AT+CWJAP_CUR=", "AT+CWJAP=") + `"my\,net","pa\"ss word"` + "\r\n"
			var waits []time.Duration
			for attempt := 1; attempt <= 4; attempt++ {
				before := tm.now
				tm.wantIdle()
				tm.advanceToDeadline()
				waits = append(waits, tm.now.Sub(before))
				tm.wantWrite(fmt.Sprintf("rejoin %d", attempt), join)
				tm.wantNote(NoteRejoin, attempt, "")
				if attempt < 4 {
					tm.says(tm.joinFail(3))
					if n := tm.wantNote(NoteJoinFailed, 3, ""); n.Dur != 2*time.Second<<(attempt-1) {
						t.Fatalf("attempt %d: next in %v", attempt, n.Dur)
					}
				}
			}
			if want := []time.Duration{10 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; fmt.Sprint(waits) != fmt.Sprint(want) {
				t.Fatalf("waits %v, want %v", waits, want)
			}
			tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n" + tm.ok())
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:STAIP,\"192.168.1.51\"\r\n" + tm.ok())
			tm.wantNote(NoteServing, 0, "192.168.1.51")
			tm.wantIdle()
			if tm.deadlineBeforeHeartbeat() {
				t.Fatal("a rejoin is still planned")
			}
			// A later drop starts over at RejoinWait.
			tm.says("WIFI DISCONNECT\r\n")
			if d := tm.m.NextDeadline().Sub(tm.now); d != 10*time.Second {
				t.Fatalf("second drop: next deadline in %v", d)
			}
		})
	}
}

// The pause grows to RejoinBackoffMax and stays there; an unanswered
// AT+CWJAP counts as a failure.
func TestRejoinBackoffCapAndTimeout(t *testing.T) {
	tm := serving(t, GenESPAT, Config{Heartbeat: noHeartbeat, SSID: "home", Password: "secret-pass", RejoinBackoffMax: 5 * time.Second})
	tm.says("WIFI DISCONNECT\r\n")
	var got []time.Duration
	for attempt := 1; attempt <= 4; attempt++ {
		tm.advanceToDeadline()
		tm.wantWritePrefix("rejoin", "AT+CWJAP=")
		if attempt == 2 {
			tm.advanceToDeadline() // no answer at all: JoinTimeout
			tm.wantNote(NoteJoinFailed, 0, "")
		} else {
			tm.says(tm.joinFail(1))
		}
		n, _ := tm.lastNote(NoteJoinFailed)
		got = append(got, n.Dur)
	}
	if want := []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pauses %v, want %v", got, want)
	}
	if tm.m.State() != ModemServing {
		t.Fatalf("state %v", tm.m.State())
	}
}

// Without a configured network the host never sends AT+CWJAP itself.
func TestNoRejoinWithoutSSID(t *testing.T) {
	tm := serving(t, GenNonOS, Config{Heartbeat: noHeartbeat})
	tm.says("WIFI DISCONNECT\r\n")
	if tm.count(NoteRejoin) != 0 || tm.deadlineBeforeHeartbeat() {
		t.Fatal("rejoin planned without credentials")
	}
}

// The WIFI DISCONNECT that our own AT+CWJAP prints (when associated)
// does not start a rejoin.
func TestOwnJoinDisconnectIsNotALoss(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{Heartbeat: noHeartbeat, SetupAP: "espgate-x"})
	tm.bootToVersion()
	tm.setupBringUp("espgate-x", "", 0, "0.0.0.0")
	if err := tm.m.Join(tm.now, "home", "secret-pass"); err != nil {
		t.Fatal(err)
	}
	tm.wantWritePrefix("join", "AT+CWJAP_DEF=")
	tm.says("WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n" + tm.ok())
	if tm.count(NoteRejoin) != 0 {
		t.Fatal("our own join's disconnect started a rejoin")
	}
}

// setupBringUp plays a bring-up in which AT+CWMODE=3 and AT+CWSAP open
// the set-up access point, then AT+CIFSR reports sta (a station address,
// or "0.0.0.0").
func (tm *testModem) setupBringUp(name, pwd string, ecn int, sta string) {
	tm.t.Helper()
	tm.wantWrite("mode 3", tm.pick("AT+CWMODE_CUR=3\r\n", "AT+CWMODE=3\r\n"))
	tm.says(tm.ok())
	tm.wantWrite("access point", tm.pick("AT+CWSAP_CUR=", "AT+CWSAP=")+fmt.Sprintf("%q,%q,1,%d\r\n", name, pwd, ecn))
	tm.says(tm.ok())
	tm.wantNote(NoteSetup, SetupOpen, name)
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:APMAC,\"5e:cf:7f:a1:b2:c3\"\r\n" +
		"+CIFSR:STAIP,\"" + sta + "\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n" + tm.ok())
	tm.serverSteps()
	tm.wantNote(NoteServing, 0, "192.168.4.1")
	if tm.m.Address() != "192.168.4.1" {
		tm.t.Fatalf("address %q during set-up", tm.m.Address())
	}
}

// --setup-ap: the access point opens at once; a join from the page fails
// with the modem's code, then succeeds and is stored; the access point
// closes SetupLinger later and the new network is rejoined like a
// configured one.
func TestSetupForcedAndRuntimeJoin(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := newTestModem(t, g, Config{Heartbeat: noHeartbeat, SetupAP: "espgate-test", SetupPassword: "secret123"})
			tm.bootToVersion()
			tm.setupBringUp("espgate-test", "secret123", 3, "0.0.0.0")
			tm.wantIdle()

			if err := tm.m.Join(tm.now, "bad\r\nname", ""); err == nil {
				t.Fatal("Join took a line end")
			}
			if err := tm.m.Join(tm.now, "home,net", `wrong`); err != nil {
				t.Fatal(err)
			}
			if err := tm.m.Join(tm.now, "home,net", `wrong`); err != ErrJoinPending {
				t.Fatalf("second Join: %v", err)
			}
			store := tm.pick("AT+CWJAP_DEF=", "AT+CWJAP=")
			tm.wantWrite("join", store+`"home\,net","wrong"`+"\r\n")
			tm.says(tm.joinFail(2))
			tm.wantNote(NoteJoinResult, 2, "")
			if n, _ := tm.lastNote(NoteSetup); n.Status != SetupOpen {
				t.Fatalf("set-up ended by a failed join: %+v", n)
			}

			if err := tm.m.Join(tm.now, "home,net", `pa"ss`); err != nil {
				t.Fatal(err)
			}
			tm.wantWrite("join", store+`"home\,net","pa\"ss"`+"\r\n")
			tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n" + tm.ok())
			if n := tm.wantNote(NoteSetup, SetupJoined, ""); n.Dur != 2*time.Minute {
				t.Fatalf("the access point closes after %v", n.Dur)
			}
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:STAIP,\"192.168.1.60\"\r\n" + tm.ok())
			tm.wantNote(NoteServing, 0, "192.168.1.60")
			tm.wantNote(NoteJoinResult, 0, "192.168.1.60")
			if c := tm.m.Config(); c.SSID != "home,net" || c.Password != `pa"ss` {
				t.Fatalf("joined network not kept: %q", c.SSID)
			}
			tm.wantIdle()
			if d := tm.m.NextDeadline().Sub(tm.now); d != 2*time.Minute {
				t.Fatalf("access point closes in %v", d)
			}
			tm.advanceToDeadline()
			tm.wantWrite("close the access point", tm.pick("AT+CWMODE_CUR=1\r\n", "AT+CWMODE=1\r\n"))
			tm.says(tm.ok())
			tm.wantNote(NoteSetup, SetupClosed, "")
			tm.wantIdle()

			// The network from the page is rejoined like a configured one.
			tm.says("WIFI DISCONNECT\r\n")
			tm.advanceToDeadline()
			tm.wantWrite("rejoin", tm.pick("AT+CWJAP_CUR=", "AT+CWJAP=")+`"home\,net","pa\"ss"`+"\r\n")
		})
	}
}

// No network configured and none found within JoinTimeout: the set-up
// access point opens, named after the MAC. When the modem then joins a
// network it knows by itself, the page ends and the access point closes.
func TestSetupWhenNoNetwork(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := newTestModem(t, g, Config{Heartbeat: noHeartbeat})
			tm.bootToVersion()
			start := tm.now
			for {
				tm.wantWrite("address", "AT+CIFSR\r\n")
				tm.says("+CIFSR:STAIP,\"0.0.0.0\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n" + tm.ok())
				if tm.m.ws.setup {
					break
				}
				if tm.now.Sub(start) > time.Minute {
					t.Fatal("no set-up after a minute")
				}
				tm.advanceToDeadline()
			}
			if d := tm.now.Sub(start); d < 20*time.Second || d > 21*time.Second {
				t.Fatalf("set-up after %v, want JoinTimeout (20s)", d)
			}
			tm.setupBringUp("espgate-b2c3", "", 0, "0.0.0.0")
			tm.wantIdle()
			tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n")
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:STAIP,\"192.168.1.50\"\r\n" + tm.ok())
			tm.wantNote(NoteSetup, SetupJoined, "")
			tm.wantNote(NoteServing, 0, "192.168.1.50")
			tm.advanceToDeadline()
			tm.wantWrite("close the access point", tm.pick("AT+CWMODE_CUR=1\r\n", "AT+CWMODE=1\r\n"))
			tm.says(tm.ok())
			tm.wantNote(NoteSetup, SetupClosed, "")
		})
	}
}

// A modem whose station is off (only the access point in AT+CIFSR) opens
// the set-up access point at once.
func TestSetupWhenStationOff(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{Heartbeat: noHeartbeat})
	tm.bootToVersion()
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:APMAC,\"5e:cf:7f:a1:b2:c3\"\r\n" + tm.ok())
	tm.setupBringUp("espgate-b2c3", "", 0, "0.0.0.0")
}

// A reset during set-up fails the join under way and reports the access
// point gone; bring-up then decides afresh.
func TestSetupResetFailsJoin(t *testing.T) {
	tm := newTestModem(t, GenESPAT, Config{Heartbeat: noHeartbeat, SetupAP: "espgate-test"})
	tm.bootToVersion()
	tm.setupBringUp("espgate-test", "", 0, "0.0.0.0")
	if err := tm.m.Join(tm.now, "home", "secret-pass"); err != nil {
		t.Fatal(err)
	}
	tm.wantWritePrefix("join", "AT+CWJAP=")
	tm.says("\r\nready\r\n")
	tm.wantNote(NoteJoinResult, -1, "")
	tm.wantNote(NoteSetup, SetupClosed, "")
	if err := tm.m.Join(tm.now, "home", "secret-pass"); err != ErrNotServing {
		t.Fatalf("Join while bringing up: %v", err)
	}
}

// A modem that joined by itself but still runs an access point (a
// factory default, a set-up cut short) has it closed once serving.
func TestLeftoverAPClosed(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := newTestModem(t, g, Config{Heartbeat: noHeartbeat})
			tm.bootToVersion()
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:STAIP,\"192.168.1.50\"\r\n" + tm.ok())
			tm.serverSteps()
			tm.wantNote(NoteServing, 0, "192.168.1.50")
			tm.wantWrite("close the access point", tm.pick("AT+CWMODE_CUR=1\r\n", "AT+CWMODE=1\r\n"))
			tm.says(tm.ok())
			tm.wantNote(NoteSetup, SetupClosed, "")
			tm.wantIdle()
		})
	}
}

// mDNS: announced once the station has an address, in each generation's
// syntax; announced again after a new address; a refusal is final.
func TestMDNS(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := newTestModem(t, g, Config{Heartbeat: noHeartbeat, SSID: "home", Password: "secret-pass", MDNSName: "pi-cam", ServerPort: 8080})
			tm.bootToVersion()
			tm.wantWrite("mode", tm.pick("AT+CWMODE_CUR=1\r\n", "AT+CWMODE=1\r\n"))
			tm.says(tm.ok())
			tm.wantWritePrefix("join", tm.pick("AT+CWJAP_CUR=", "AT+CWJAP="))
			tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n" + tm.ok())
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:STAIP,\"192.168.1.50\"\r\n" + tm.ok())
			tm.serverSteps()
			mdns := `AT+MDNS=1,"pi-cam",` + tm.pick(`"http"`, `"_http"`) + ",8080\r\n"
			tm.wantWrite("mdns", mdns)
			tm.says(tm.ok())
			tm.wantNote(NoteMDNS, 0, "pi-cam")
			tm.wantIdle()

			// Back with the same address: nothing to do; a new one: restart.
			tm.says("WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:STAIP,\"192.168.1.50\"\r\n" + tm.ok())
			tm.wantIdle()
			tm.says("WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says("+CIFSR:STAIP,\"192.168.1.99\"\r\n" + tm.ok())
			tm.wantWrite("mdns off", "AT+MDNS=0\r\n")
			tm.says(tm.ok())
			tm.wantWrite("mdns again", mdns)
			tm.says(tm.ok())
			if n := tm.notesOf(NoteMDNS); len(n) != 2 {
				t.Fatalf("%d mDNS notes", len(n))
			}
			tm.wantIdle()
		})
	}
}

// Firmware without AT+MDNS: ERROR is noted, not retried, and not fatal.
func TestMDNSRefused(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{Heartbeat: noHeartbeat, MDNSName: "espgate"})
	tm.bootToVersion()
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:STAIP,\"192.168.1.50\"\r\n" + tm.ok())
	tm.serverSteps()
	tm.wantWrite("mdns", `AT+MDNS=1,"espgate","http",80`+"\r\n")
	tm.says("\r\nERROR\r\n")
	tm.wantNote(NoteMDNS, -1, "espgate")
	tm.wantIdle()
	tm.handler = text("still here")
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if p := tm.sendChunk(0); !strings.HasSuffix(p, "still here") {
		t.Fatalf("got %q", p)
	}
	tm.says("WIFI DISCONNECT\r\nWIFI GOT IP\r\n")
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:STAIP,\"192.168.1.51\"\r\n" + tm.ok())
	tm.wantIdle() // no second try
}

// mDNS waits for a station address: none during set-up.
func TestMDNSNotDuringSetup(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{Heartbeat: noHeartbeat, SetupAP: "espgate-x", MDNSName: "espgate"})
	tm.bootToVersion()
	tm.setupBringUp("espgate-x", "", 0, "0.0.0.0")
	tm.wantIdle()
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", 33)
	for _, c := range []struct {
		ssid, pwd string
		ok        bool
	}{
		{"home", "", true},
		{`a"b,c\d`, `0123456789"\`, true},
		{strings.Repeat("x", 32), strings.Repeat("p", 64), true},
		{"", "x", false},
		{long, "x", false},
		{"home", strings.Repeat("p", 65), false},
		{"ho\nme", "", false},
		{"home", "pass\r\n", false},
		{"home", "pa\x00ss", false},
	} {
		if err := ValidateCredentials(c.ssid, c.pwd); (err == nil) != c.ok {
			t.Errorf("ValidateCredentials(%q, %q) = %v", c.ssid, c.pwd, err)
		} else if err != nil && strings.Contains(err.Error(), c.pwd) && c.pwd != "" && c.pwd != "x" {
			t.Errorf("the error echoes the password: %v", err)
		}
	}
	for _, c := range []struct {
		name, pwd string
		ok        bool
	}{
		{"espgate-setup", "", true},
		{"espgate-setup", "12345678", true},
		{"espgate-setup", "1234567", false},
		{"espgate-setup", strings.Repeat("p", 65), false},
		{"", "", false},
		{long, "", false},
		{"a\tb", "", false},
	} {
		if err := ValidateSetupAP(c.name, c.pwd); (err == nil) != c.ok {
			t.Errorf("ValidateSetupAP(%q, %q) = %v", c.name, c.pwd, err)
		}
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"espgate", true}, {"Pi-Zero-2", true}, {strings.Repeat("a", 63), true},
		{"", false}, {"-pi", false}, {"pi-", false}, {"pi.cam", false}, {"pi cam", false},
		{"pi.local", false}, {"pi_cam", false}, {strings.Repeat("a", 64), false}, {"café", false},
	} {
		if err := ValidateMDNSName(c.name); (err == nil) != c.ok {
			t.Errorf("ValidateMDNSName(%q) = %v", c.name, err)
		}
	}
	if err := ValidateMDNSName("pi.local"); err == nil || !strings.Contains(err.Error(), "without .local") {
		t.Errorf("pi.local: %v", err)
	}
}

// A station line garbled on the way (the modem's output has no checksum)
// does not make bring-up take the station for off and open the set-up
// access point: AT+CIFSR is asked again. Lines for interfaces the machine
// does not use (ESP-AT's IPv6 addresses) are no garbling.
func TestGarbledAddressNotStationOff(t *testing.T) {
	for _, c := range []struct{ name, reply string }{
		{"station address garbled", "+CIFSR:S\\AIP,\"192.168.1.50\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n"},
		{"both station lines garbled", "+CIFSR:S\\AIP,\"192.168.1.50\"\r\n+CIF\xd2R:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm := newTestModem(t, GenESPAT, Config{Heartbeat: noHeartbeat})
			tm.bootToVersion()
			tm.wantWrite("address", "AT+CIFSR\r\n")
			tm.says(c.reply + tm.ok())
			if _, ok := tm.lastNote(NoteSetup); ok {
				t.Fatal("set-up opened for a garbled reply")
			}
			tm.advanceToDeadline()
			tm.wantWrite("address again", "AT+CIFSR\r\n")
			tm.says("+CIFSR:STAIP,\"192.168.1.50\"\r\n+CIFSR:STAIP6LL,\"fe80::5ecf:7fff:fea1:b2c3\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n" + tm.ok())
			tm.serverSteps()
			tm.wantNote(NoteServing, 0, "192.168.1.50")
			if _, ok := tm.lastNote(NoteSetup); ok {
				t.Fatal("set-up opened")
			}
		})
	}
}

// While serving, a refresh whose station line was garbled is asked again
// (at most three times), and the address is not lost meanwhile to the
// clients' URL.
func TestGarbledAddressRefreshRepeated(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{Heartbeat: noHeartbeat})
	tm.bootToVersion()
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:STAIP,\"192.168.1.50\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n" + tm.ok())
	tm.serverSteps()
	tm.wantNote(NoteServing, 0, "192.168.1.50")
	tm.wantIdle()
	tm.says("WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	for range 3 {
		tm.wantWrite("address", "AT+CIFSR\r\n")
		tm.says("+CIFSR:ST\x01IP,\"192.168.1.50\"\r\n" + tm.ok())
	}
	tm.wantWrite("address, the fourth time", "AT+CIFSR\r\n")
	tm.says("+CIFSR:ST\x01IP,\"192.168.1.50\"\r\n" + tm.ok())
	tm.wantIdle() // bounded: no fifth
	tm.says("WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:STAIP,\"192.168.1.51\"\r\n" + tm.ok())
	tm.wantNote(NoteServing, 0, "192.168.1.51")
}

// An automatic set-up whose AT+CIFSR finds that the station joined a
// network it knows meanwhile (its WIFI GOT IP came before, or was lost)
// ends the page at once: no later event would.
func TestSetupEndsWhenStationJoinedMeanwhile(t *testing.T) {
	tm := newTestModem(t, GenESPAT, Config{Heartbeat: noHeartbeat})
	tm.bootToVersion()
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:APMAC,\"5e:cf:7f:a1:b2:c3\"\r\n" + tm.ok()) // station off
	tm.wantWrite("mode 3", "AT+CWMODE=3\r\n")
	tm.says(tm.ok())
	tm.wantWritePrefix("access point", "AT+CWSAP=")
	tm.says(tm.ok())
	tm.wantNote(NoteSetup, SetupOpen, "espgate-b2c3")
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:STAIP,\"192.168.1.50\"\r\n" + tm.ok())
	tm.wantNote(NoteSetup, SetupJoined, "")
	tm.serverSteps()
	tm.wantNote(NoteServing, 0, "192.168.1.50")
	tm.advanceToDeadline()
	tm.wantWrite("close the access point", "AT+CWMODE=1\r\n")
	tm.says(tm.ok())
	tm.wantNote(NoteSetup, SetupClosed, "")
}
