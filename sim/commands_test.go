package sim

import (
	"strings"
	"testing"
	"time"
)

// Byte-exact conversations for every command in both profiles, over the
// in-process line (unpaced).

type step struct {
	send  string
	want  string
	boot  bool               // a reboot follows want: garbage + "ready"
	check func(h *host)      // runs after the step
	only  Profile            // run this step only in this profile
	per   map[Profile]string // want per profile, overrides want
	rate  int                // after want, the host switches to this rate (before a boot)
}

type convo struct {
	name  string
	only  Profile // run only in this profile
	cfg   func(c *Config)
	steps func(p Profile) []step
	viols map[ViolationKind]int
}

// echoOf is a profile's echo of a command line (§2.3).
func echoOf(p Profile, line string) string {
	if p == ESPAT {
		return line
	}
	return strings.TrimSuffix(line, "\n") + "\r\n"
}

func ate0(p Profile) step {
	return step{send: "ATE0\r\n", want: echoOf(p, "ATE0\r\n") + msgOK}
}

func ok(send string) step   { return step{send: send, want: msgOK} }
func errs(send string) step { return step{send: send, want: msgError} }
func reply(send, lines string) step {
	return step{send: send, want: lines + msgOK}
}

const (
	wifiJoined = "WIFI CONNECTED\r\nWIFI GOT IP\r\n"
	joinOK     = wifiJoined + msgOK
	goodPwd    = `"espgate-sim","espgate-sim-pass"`
)

// runConvos plays every conversation in both profiles, over the
// in-process transport and over the pseudo-terminal.
func runConvos(t *testing.T, convos []convo) {
	for _, tr := range []string{"inproc", "pty"} {
		for _, p := range profiles() {
			for _, cv := range convos {
				if cv.only != "" && cv.only != p {
					continue
				}
				t.Run(tr+"/"+string(p)+"/"+cv.name, func(t *testing.T) { playConvo(t, tr, p, cv) })
			}
		}
	}
}

func playConvo(t *testing.T, transport string, p Profile, cv convo) {
	cfg := Config{Profile: p, Unpaced: true}
	if cv.cfg != nil {
		cv.cfg(&cfg)
	}
	var h *host
	if transport == "pty" {
		h = startPTYHost(t, cfg)
	} else {
		h = startHost(t, cfg)
	}
	for _, s := range cv.steps(p) {
		if s.only != "" && s.only != p {
			continue
		}
		want := s.want
		if w, ok := s.per[p]; ok {
			want = w
		}
		if s.send != "" {
			h.send(s.send)
		}
		h.expect(want)
		if s.rate != 0 {
			h.setBaud(s.rate)
		}
		if s.boot {
			h.boot()
		}
		if s.check != nil {
			s.check(h)
		}
	}
	h.quiet(20 * time.Millisecond)
	wantViolations(t, h.m, cv.viols)
}

func TestBasicCommands(t *testing.T) {
	runConvos(t, []convo{
		{name: "echo", steps: func(p Profile) []step {
			return []step{
				{send: "AT\r\n", want: echoOf(p, "AT\r\n") + msgOK},
				ate0(p),
				ok("AT\r\n"),
				ok("ATE1\r\n"), // echo was off while ATE1 arrived
				{send: "AT\r\n", want: echoOf(p, "AT\r\n") + msgOK},
				{send: "ATE2\r\n", want: echoOf(p, "ATE2\r\n") + msgError},
				{send: "AT+CIPMUX?\r\n", want: echoOf(p, "AT+CIPMUX?\r\n") + "+CIPMUX:0\r\n" + msgOK},
			}
		}},
		{name: "malformed", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				errs("at\r\n"),
				errs("AT\n"),
				errs("\r\n"),
				errs("AT+" + strings.Repeat("A", 300) + "\r\n"),
				errs("AT+NOSUCH\r\n"),
				errs("AT+cipmux=1\r\n"),
				errs("AT+CIPMUX=?\r\n"),
				errs("AT+CIPMUX=2\r\n"),
				errs("AT+CIPMUX=\"1\"\r\n"),
				errs("AT+CIPMUX= 1\r\n"),
				ok("AT\r\n"),
			}
		}, viols: map[ViolationKind]int{ViolMalformed: 4}},
		{name: "line limit", steps: func(p Profile) []step {
			// 256 bytes with CR LF is accepted (ERROR for the unknown name
			// only); 257 is a malformed line.
			return []step{
				ate0(p),
				errs("AT+" + strings.Repeat("X", 256-5) + "\r\n"),
				errs("AT+" + strings.Repeat("X", 257-5) + "\r\n"),
			}
		}, viols: map[ViolationKind]int{ViolMalformed: 1}},
		{name: "gmr", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				{send: "AT+GMR\r\n", per: map[Profile]string{
					NonOS: "AT version:1.7.4.0(May 11 2020 19:13:04)\r\nSDK version:3.0.4(9532ceb)\r\n" +
						"compile time:May 11 2020 19:14:02\r\nBin version(Wroom 02):1.7.4\r\n\r\nOK\r\n",
					ESPAT: "AT version:2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\n" +
						"SDK version:v3.4-22-g967752e2\r\ncompile time(6800286):Jun 17 2021 13:46:07\r\n" +
						"Bin version:2.2.0(WROOM-02)\r\n\r\nOK\r\n",
				}},
				errs("AT+GMR?\r\n"),
			}
		}},
		{name: "rst", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				ok("AT+CIPMUX=1\r\n"),
				ok("AT+CIPSERVER=1,80\r\n"),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				// back to defaults: echo on, CIPMUX 0, no server
				{send: "AT+CIPMUX?\r\n", want: echoOf(p, "AT+CIPMUX?\r\n") + "+CIPMUX:0\r\n" + msgOK},
			}
		}},
		{name: "restore", cfg: func(c *Config) {
			// paced, so that the host can follow the rate before "ready"
			c.Joined, c.Unpaced, c.Timing = true, false, Timing{Command: time.Nanosecond, Boot: 100 * time.Millisecond}
		}, steps: func(p Profile) []step {
			q := pick(p, "AT+CWJAP_CUR?\r\n", "AT+CWJAP?\r\n")
			return []step{
				{want: wifiJoined},
				ate0(p),
				{send: "AT+UART_DEF=230400,8,1,0,0\r\n", want: msgOK, rate: 230400},
				{send: "AT+RESTORE\r\n", want: msgOK, rate: 115200, boot: true, check: func(h *host) {
					if b := h.m.Params().Baud; b != 115200 {
						h.t.Errorf("baud after RESTORE = %d, want 115200", b)
					}
				}},
				// credentials erased: no auto-connect, echo on again
				{send: q, want: echoOf(p, q) + msgNoAP + msgOK},
			}
		}},
	})
}

func TestWiFiCommands(t *testing.T) {
	escaped := func(c *Config) { c.SSID, c.Password = `ab\,c`, `0123456789"\` }
	runConvos(t, []convo{
		{name: "cwmode", only: NonOS, steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CWMODE_CUR?\r\n", "+CWMODE_CUR:1\r\n"),
				ok("AT+CWMODE_CUR=3\r\n"),
				reply("AT+CWMODE_CUR?\r\n", "+CWMODE_CUR:3\r\n"),
				reply("AT+CWMODE_DEF?\r\n", "+CWMODE_DEF:1\r\n"),
				ok("AT+CWMODE_DEF=2\r\n"),
				reply("AT+CWMODE_DEF?\r\n", "+CWMODE_DEF:2\r\n"),
				reply("AT+CWMODE?\r\n", "+CWMODE:2\r\n"),
				ok("AT+CWMODE=1\r\n"), // deprecated plain form = _DEF
				reply("AT+CWMODE_DEF?\r\n", "+CWMODE_DEF:1\r\n"),
				errs("AT+CWMODE_CUR=0\r\n"),
				errs("AT+CWMODE_CUR=4\r\n"),
				errs("AT+CWMODE_CUR=1,0\r\n"),
				ok("AT+CWMODE_CUR=2\r\n"),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				ate0(p),
				reply("AT+CWMODE_CUR?\r\n", "+CWMODE_CUR:1\r\n"), // from flash
			}
		}},
		{name: "cwmode", only: ESPAT, steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CWMODE?\r\n", "+CWMODE:1\r\n"),
				ok("AT+CWMODE=3\r\n"),
				reply("AT+CWMODE?\r\n", "+CWMODE:3\r\n"),
				ok("AT+CWMODE=0\r\n"),
				reply("AT+CWMODE?\r\n", "+CWMODE:0\r\n"),
				ok("AT+CWMODE=2,0\r\n"),
				errs("AT+CWMODE=1,2\r\n"),
				errs("AT+CWMODE=4\r\n"),
				errs("AT+CWMODE_CUR=1\r\n"),
				errs("AT+CWMODE_CUR?\r\n"),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				ate0(p),
				reply("AT+CWMODE?\r\n", "+CWMODE:2\r\n"), // stored (SYSSTORE=1)
				ok("AT+SYSSTORE=0\r\n"),
				ok("AT+CWMODE=1\r\n"),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				ate0(p),
				reply("AT+CWMODE?\r\n", "+CWMODE:2\r\n"), // not stored
			}
		}},
		{name: "cwjap", only: NonOS, steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CWJAP_CUR?\r\n", msgNoAP),
				{send: `AT+CWJAP_CUR="espgate-sim","wrong"` + "\r\n", want: "+CWJAP:2\r\n\r\nFAIL\r\n"},
				{send: `AT+CWJAP_CUR="other","espgate-sim-pass"` + "\r\n", want: "+CWJAP:3\r\n\r\nFAIL\r\n"},
				{send: "AT+CWJAP_CUR=" + goodPwd + "\r\n", want: joinOK},
				reply("AT+CWJAP_CUR?\r\n", `+CWJAP_CUR:"espgate-sim","a4:2b:b0:c1:d2:e3",6,-52`+"\r\n"),
				reply("AT+CWJAP?\r\n", `+CWJAP:"espgate-sim","a4:2b:b0:c1:d2:e3",6,-52`+"\r\n"),
				{send: "AT+CWJAP_CUR=" + goodPwd + ",\"a4:2b:b0:c1:d2:e3\"\r\n", want: msgWifiDisc + joinOK},
				errs(`AT+CWJAP_CUR="espgate-sim"` + "\r\n"),
				errs("AT+CWJAP_CUR=espgate-sim,espgate-sim-pass\r\n"),
				errs("AT+CWJAP_CUR\r\n"),
				// _CUR is not stored: no auto-connect after a reset
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				ate0(p),
				{send: "AT+CWJAP_DEF=" + goodPwd + "\r\n", want: joinOK},
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				{want: wifiJoined},
				ate0(p),
				reply("AT+CWJAP_DEF?\r\n", `+CWJAP_DEF:"espgate-sim","a4:2b:b0:c1:d2:e3",6,-52`+"\r\n"),
				{send: "AT+CWQAP\r\n", want: msgOK + msgWifiDisc},
				reply("AT+CWJAP_CUR?\r\n", msgNoAP),
				ok("AT+CWQAP\r\n"),
				ok("AT+CWAUTOCONN=0\r\n"),
				reply("AT+CWAUTOCONN?\r\n", "+CWAUTOCONN:0\r\n"),
				errs("AT+CWAUTOCONN=2\r\n"),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				ate0(p), // no WIFI lines before this
				ok("AT+CWMODE_CUR=2\r\n"),
				errs("AT+CWJAP_CUR=" + goodPwd + "\r\n"), // no station
			}
		}},
		{name: "cwjap", only: ESPAT, steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CWJAP?\r\n", msgNoAP),
				{send: `AT+CWJAP="espgate-sim","wrong"` + "\r\n", want: "+CWJAP:2\r\n\r\nERROR\r\n"},
				{send: `AT+CWJAP="other","x"` + "\r\n", want: "+CWJAP:3\r\n\r\nERROR\r\n"},
				errs("AT+CWJAP\r\n"), // nothing stored
				{send: "AT+CWJAP=" + goodPwd + ",,1\r\n", want: joinOK},
				reply("AT+CWJAP?\r\n", `+CWJAP:"espgate-sim","a4:2b:b0:c1:d2:e3",6,-52,0,1,3,0,0`+"\r\n"),
				{send: "AT+CWJAP\r\n", want: msgWifiDisc + joinOK}, // stored config
				errs("AT+CWJAP_CUR=" + goodPwd + "\r\n"),
				errs("AT+CWJAP=" + goodPwd + ",1\r\n"), // bssid must be a string
				{send: "AT+CWQAP\r\n", want: msgOK + msgWifiDisc},
				reply("AT+CWJAP?\r\n", msgNoAP),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				{want: wifiJoined}, // stored by CWJAP (SYSSTORE=1)
				ate0(p),
				reply("AT+SYSSTORE?\r\n", "+SYSSTORE:1\r\n"),
			}
		}},
		{name: "cwjap escaped", cfg: escaped, steps: func(p Profile) []step {
			cmd := pick(p, "AT+CWJAP_CUR", "AT+CWJAP")
			return []step{
				ate0(p),
				// §2.1 example: SSID ab\,c, password 0123456789"\
				{send: cmd + `="ab\\\,c","0123456789\"\\"` + "\r\n", want: joinOK},
				reply(cmd+"?\r\n", pick(p, "+CWJAP_CUR", "+CWJAP")+`:"ab\,c","a4:2b:b0:c1:d2:e3",6,-52`+
					pick(p, "", ",0,1,3,0,0")+"\r\n"),
				{send: cmd + `="ab\,c","0123456789\"\\"` + "\r\n", want: msgWifiDisc + "+CWJAP:3\r\n" + pick(p, msgFail, msgError)},
			}
		}},
		{name: "cifsr", steps: func(p Profile) []step {
			mode3 := pick(p, "AT+CWMODE_CUR=3\r\n", "AT+CWMODE=3\r\n")
			join := pick(p, "AT+CWJAP_CUR=", "AT+CWJAP=") + goodPwd + "\r\n"
			return []step{
				ate0(p),
				reply("AT+CIFSR\r\n", "+CIFSR:STAIP,\"0.0.0.0\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n"),
				{send: join, want: joinOK},
				reply("AT+CIFSR\r\n", "+CIFSR:STAIP,\"192.168.1.50\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n"),
				ok(mode3),
				reply("AT+CIFSR\r\n", "+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:APMAC,\"5e:cf:7f:a1:b2:c3\"\r\n"+
					"+CIFSR:STAIP,\"192.168.1.50\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:a1:b2:c3\"\r\n"),
				errs("AT+CIFSR?\r\n"),
			}
		}},
		{name: "cipsta", cfg: func(c *Config) { c.Joined = true }, steps: func(p Profile) []step {
			sta := func(prefix, ip, gw, mask string) string {
				return prefix + ":ip:\"" + ip + "\"\r\n" + prefix + ":gateway:\"" + gw + "\"\r\n" +
					prefix + ":netmask:\"" + mask + "\"\r\n"
			}
			s := []step{
				{want: wifiJoined},
				ate0(p),
			}
			if p == NonOS {
				return append(s,
					reply("AT+CIPSTA_CUR?\r\n", sta("+CIPSTA_CUR", "192.168.1.50", "192.168.1.1", "255.255.255.0")),
					reply("AT+CIPSTA_DEF?\r\n", sta("+CIPSTA_DEF", "192.168.1.50", "192.168.1.1", "255.255.255.0")),
					reply("AT+CIPSTA?\r\n", sta("+CIPSTA", "192.168.1.50", "192.168.1.1", "255.255.255.0")),
					errs("AT+CIPSTA_CUR=\"192.168.1.9\"\r\n"),
					ok("AT+CWQAP\r\n"),
					step{want: msgWifiDisc},
					reply("AT+CIPSTA_CUR?\r\n", sta("+CIPSTA_CUR", "0.0.0.0", "0.0.0.0", "0.0.0.0")),
				)
			}
			return append(s,
				reply("AT+CIPSTA?\r\n", sta("+CIPSTA", "192.168.1.50", "192.168.1.1", "255.255.255.0")),
				errs("AT+CIPSTA_CUR?\r\n"),
				ok("AT+CWQAP\r\n"),
				step{want: msgWifiDisc},
				reply("AT+CIPSTA?\r\n", sta("+CIPSTA", "0.0.0.0", "0.0.0.0", "0.0.0.0")),
			)
		}},
		{name: "cwsap", steps: func(p Profile) []step {
			cur := pick(p, "+CWSAP_CUR", "+CWSAP")
			return []step{
				ate0(p),
				errs("AT" + cur + "?\r\n"), // no soft AP in station mode
				ok(pick(p, "AT+CWMODE_CUR=2\r\n", "AT+CWMODE=2\r\n")),
				reply("AT"+cur+"?\r\n", cur+`:"ESP_A1B2C3","",1,0,4,0`+"\r\n"),
				ok("AT" + cur + `="espgate-setup","12345678",5,3` + "\r\n"),
				reply("AT"+cur+"?\r\n", cur+`:"espgate-setup","12345678",5,3,4,0`+"\r\n"),
				errs("AT" + cur + `="x","short",5,3` + "\r\n"),
				errs("AT" + cur + `="x","12345678",5,1` + "\r\n"),
				errs("AT" + cur + `="x","12345678",14,3` + "\r\n"),
				ok("AT+CWSAP=\"open\",\"\",11,0,2,1\r\n"),
				reply("AT+CWSAP?\r\n", `+CWSAP:"open","",11,0,2,1`+"\r\n"),
				{only: NonOS, send: "AT+CWSAP_DEF?\r\n", want: `+CWSAP_DEF:"open","",11,0,2,1` + "\r\n" + msgOK},
				{only: ESPAT, send: "AT+CWSAP_CUR?\r\n", want: msgError},
			}
		}},
		{name: "autoconn", cfg: func(c *Config) { c.Joined = true }, steps: func(p Profile) []step {
			return []step{
				{want: wifiJoined},
				ate0(p),
				reply("AT+CWAUTOCONN?\r\n", "+CWAUTOCONN:1\r\n"),
				ok("AT+CWAUTOCONN=0\r\n"),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				ate0(p), // no WIFI lines
				ok("AT+CWAUTOCONN=1\r\n"),
				{send: "AT+RST\r\n", want: msgOK, boot: true},
				{want: wifiJoined},
			}
		}},
		{name: "sysstore", steps: func(p Profile) []step {
			if p == NonOS {
				return []step{ate0(p), errs("AT+SYSSTORE=0\r\n"), errs("AT+SYSSTORE?\r\n")}
			}
			return []step{
				ate0(p),
				reply("AT+SYSSTORE?\r\n", "+SYSSTORE:1\r\n"),
				ok("AT+SYSSTORE=0\r\n"),
				reply("AT+SYSSTORE?\r\n", "+SYSSTORE:0\r\n"),
				errs("AT+SYSSTORE=2\r\n"),
			}
		}},
	})
}

func TestTCPIPCommands(t *testing.T) {
	runConvos(t, []convo{
		{name: "cipmux cipserver", only: NonOS, steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CIPMUX?\r\n", "+CIPMUX:0\r\n"),
				errs("AT+CIPSERVER=1,80\r\n"),
				{send: "AT+CIPSERVER=0\r\n", want: "no change\r\n" + msgOK},
				ok("AT+CIPMUX=1\r\n"),
				reply("AT+CIPMUX?\r\n", "+CIPMUX:1\r\n"),
				ok("AT+CIPSERVER=1,80\r\n"),
				{send: "AT+CIPSERVER=1,81\r\n", want: "no change\r\n" + msgOK},
				{send: "AT+CIPMUX=0\r\n", want: "CIPSERVER must be 0\r\n" + msgError},
				ok("AT+CIPMUX=1\r\n"),
				errs("AT+CIPSERVER?\r\n"),
				errs("AT+CIPSERVER=2\r\n"),
				errs("AT+CIPSERVER=1,70000\r\n"),
				ok("AT+CIPSERVER=0\r\n"),
				ok("AT+CIPSERVER=1\r\n"),
				ok("AT+CIPSERVER=0,333\r\n"),
				ok("AT+CIPMUX=0\r\n"),
			}
		}},
		{name: "cipmux cipserver", only: ESPAT, steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CIPSERVER?\r\n", "+CIPSERVER:0\r\n"),
				errs("AT+CIPSERVER=0\r\n"),
				errs("AT+CIPSERVER=1,80\r\n"),
				ok("AT+CIPMUX=1\r\n"),
				ok("AT+CIPSERVER=1,80\r\n"),
				reply("AT+CIPSERVER?\r\n", `+CIPSERVER:1,80,"TCP",0`+"\r\n"),
				errs("AT+CIPSERVER=1,80\r\n"),
				errs("AT+CIPMUX=0\r\n"),
				ok("AT+CIPSERVER=0,1\r\n"),
				errs("AT+CIPSERVER=1,8080,\"SSL\"\r\n"),
				ok("AT+CIPSERVER=1,8080,\"TCP\"\r\n"),
				reply("AT+CIPSERVER?\r\n", `+CIPSERVER:1,8080,"TCP",0`+"\r\n"),
				ok("AT+CIPSERVER=0\r\n"),
				ok("AT+CIPMUX=0\r\n"),
			}
		}},
		{name: "maxconn", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CIPSERVERMAXCONN?\r\n", "+CIPSERVERMAXCONN:5\r\n"),
				ok("AT+CIPSERVERMAXCONN=2\r\n"),
				reply("AT+CIPSERVERMAXCONN?\r\n", "+CIPSERVERMAXCONN:2\r\n"),
				errs("AT+CIPSERVERMAXCONN=0\r\n"),
				errs("AT+CIPSERVERMAXCONN=6\r\n"),
				ok("AT+CIPMUX=1\r\n"),
				ok("AT+CIPSERVER=1,80\r\n"),
				errs("AT+CIPSERVERMAXCONN=3\r\n"), // must precede CIPSERVER
			}
		}},
		{name: "cipsto", steps: func(p Profile) []step {
			s := []step{
				ate0(p),
				reply("AT+CIPSTO?\r\n", "+CIPSTO:180\r\n"),
				{send: "AT+CIPSTO=10\r\n", per: map[Profile]string{NonOS: msgError, ESPAT: msgOK}}, // Q19
				ok("AT+CIPMUX=1\r\n"),
				ok("AT+CIPSERVER=1,80\r\n"),
				ok("AT+CIPSTO=20\r\n"),
				reply("AT+CIPSTO?\r\n", "+CIPSTO:20\r\n"),
				errs("AT+CIPSTO=7201\r\n"),
				ok("AT+CIPSTO=0\r\n"),
			}
			return s
		}},
		{name: "cipdinfo", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				ok("AT+CIPDINFO=1\r\n"),
				{send: "AT+CIPDINFO?\r\n", per: map[Profile]string{NonOS: msgError, ESPAT: "+CIPDINFO:true\r\n" + msgOK}},
				errs("AT+CIPDINFO=2\r\n"),
				ok("AT+CIPDINFO=0\r\n"),
				{only: ESPAT, send: "AT+CIPDINFO?\r\n", want: "+CIPDINFO:false\r\n" + msgOK},
			}
		}},
		{name: "cipstatus", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CIPSTATUS\r\n", "STATUS:5\r\n"),
				{send: pick(p, "AT+CWJAP_CUR=", "AT+CWJAP=") + goodPwd + "\r\n", want: joinOK},
				reply("AT+CIPSTATUS\r\n", "STATUS:2\r\n"),
				errs("AT+CIPSTATUS?\r\n"),
			}
		}},
		{name: "sysmsg", steps: func(p Profile) []step {
			if p == NonOS {
				return []step{
					ate0(p),
					ok("AT+SYSMSG_CUR=2\r\n"),
					reply("AT+SYSMSG_CUR?\r\n", "+SYSMSG_CUR:2\r\n"),
					ok("AT+SYSMSG_DEF=1\r\n"),
					reply("AT+SYSMSG_DEF?\r\n", "+SYSMSG_DEF:1\r\n"),
					errs("AT+SYSMSG_CUR=4\r\n"),
					errs("AT+SYSMSG=2\r\n"),
					{send: "AT+RST\r\n", want: msgOK, boot: true},
					ate0(p),
					reply("AT+SYSMSG_CUR?\r\n", "+SYSMSG_CUR:1\r\n"), // from _DEF
				}
			}
			return []step{
				ate0(p),
				reply("AT+SYSMSG?\r\n", "+SYSMSG:0\r\n"),
				ok("AT+SYSMSG=2\r\n"),
				reply("AT+SYSMSG?\r\n", "+SYSMSG:2\r\n"),
				errs("AT+SYSMSG=8\r\n"),
				errs("AT+SYSMSG_CUR=2\r\n"),
			}
		}},
		{name: "passive without links", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CIPRECVMODE?\r\n", "+CIPRECVMODE:0\r\n"),
				ok("AT+CIPRECVMODE=1\r\n"),
				reply("AT+CIPRECVMODE?\r\n", "+CIPRECVMODE:1\r\n"),
				errs("AT+CIPRECVMODE=2\r\n"),
				reply("AT+CIPRECVLEN?\r\n", pick(p, "+CIPRECVLEN:0,0,0,0,0\r\n", "+CIPRECVLEN:-1,-1,-1,-1,-1\r\n")),
				ok("AT+CIPMUX=1\r\n"),
				errs("AT+CIPRECVDATA=0,10\r\n"),
				errs("AT+CIPRECVDATA=5,10\r\n"),
			}
		}},
		{name: "cipsend without links", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				{send: "AT+CIPSEND=5\r\n", want: pick(p, "link is not valid\r\n", "") + msgError},
				errs("AT+CIPSEND=0,5\r\n"), // CIPMUX=0
				ok("AT+CIPMUX=1\r\n"),
				{send: "AT+CIPSEND=0,5\r\n", want: pick(p, "link is not valid\r\n", "") + msgError},
				errs("AT+CIPSEND=0,2049\r\n"),
				errs("AT+CIPSEND=0,0\r\n"),
				errs("AT+CIPSEND=7,5\r\n"),
				errs("AT+CIPSEND=0\r\n"),
				errs("AT+CIPSEND=0,5,\"1.2.3.4\",80\r\n"),
			}
		}, viols: map[ViolationKind]int{ViolSendDeadLink: 4, ViolSendLength: 2}},
		{name: "cipclose without links", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				{send: "AT+CIPCLOSE\r\n", want: pick(p, "UNLINK\r\n", "") + msgError},
				errs("AT+CIPCLOSE=0\r\n"), // CIPMUX=0
				ok("AT+CIPMUX=1\r\n"),
				{send: "AT+CIPCLOSE=0\r\n", want: pick(p, "UNLINK\r\n", "") + msgError},
				ok("AT+CIPCLOSE=5\r\n"),
				errs("AT+CIPCLOSE=6\r\n"),
			}
		}},
		{name: "uart", steps: func(p Profile) []step {
			flow := pick(p, "0", "1")
			baud := func(want int) func(h *host) {
				return func(h *host) {
					waitChip(h.t, h.m, "line rate", func(*chip) bool { return h.m.Params().Baud == want })
					h.setBaud(want) // the host follows, or the line is garbage
				}
			}
			return []step{
				ate0(p),
				reply("AT+UART_CUR?\r\n", "+UART_CUR:115273,8,1,0,"+flow+"\r\n"),
				reply("AT+UART_DEF?\r\n", "+UART_DEF:115200,8,1,0,"+flow+"\r\n"),
				{send: "AT+UART_CUR=921600,8,1,0,0\r\n", want: msgOK, check: baud(921600)},
				reply("AT+UART_CUR?\r\n", "+UART_CUR:930232,8,1,0,0\r\n"),
				reply("AT+UART_DEF?\r\n", "+UART_DEF:115200,8,1,0,"+flow+"\r\n"),
				errs("AT+UART_CUR=921600,9,1,0,0\r\n"),
				errs("AT+UART_CUR=921600,8,1,0\r\n"),
				errs("AT+UART_CUR=5000000,8,1,0,0\r\n"),
				{send: "AT+UART_DEF=230400,8,1,0,0\r\n", want: msgOK, check: baud(230400)},
				reply("AT+UART_DEF?\r\n", "+UART_DEF:230400,8,1,0,0\r\n"),
				{send: "AT+UART=460800,8,1,0,0\r\n", per: map[Profile]string{NonOS: msgOK, ESPAT: msgError},
					check: baud(map[Profile]int{NonOS: 460800, ESPAT: 230400}[p])},
				{send: "AT+RST\r\n", want: msgOK, boot: true, check: baud(map[Profile]int{NonOS: 460800, ESPAT: 230400}[p])},
				{send: "AT+UART_CUR=115200,7,2,2,0\r\n", want: echoOf(p, "AT+UART_CUR=115200,7,2,2,0\r\n") + msgOK, check: func(h *host) {
					waitChip(h.t, h.m, "frame bits", func(*chip) bool { return h.m.Params().FrameBits == 10.5 })
				}},
			}
		}},
		{name: "mdns", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				ok(`AT+MDNS=1,"espgate","_http",80` + "\r\n"),
				ok("AT+MDNS=0\r\n"),
				errs("AT+MDNS=1\r\n"),
				errs(`AT+MDNS=1,"espgate","_http",0` + "\r\n"),
				errs("AT+MDNS\r\n"),
			}
		}},
		{name: "cipmode", steps: func(p Profile) []step {
			return []step{
				ate0(p),
				reply("AT+CIPMODE?\r\n", "+CIPMODE:0\r\n"),
				ok("AT+CIPMODE=0\r\n"),
				errs("AT+CIPMODE=1\r\n"), // pass-through is not emulated
				ok("AT+CIPMUX=1\r\n"),
				{send: "AT+CIPMODE=1\r\n", want: pick(p, "CIPMUX and CIPSERVER must be 0\r\n", "") + msgError},
			}
		}},
	})
}

// Busy: input while a command runs gets "busy p..." (§2.1, §4.2).
func TestBusyDuringJoin(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			tm := Timing{Join: 300 * time.Millisecond}
			h := startHost(t, Config{Profile: p, Baud: 921600, Timing: tm})
			h.echoOff()
			h.send(pick(p, "AT+CWJAP_CUR=", "AT+CWJAP=") + goodPwd + "\r\n")
			h.send("AT\r\n")
			h.expect(msgBusyP)
			h.expect(joinOK)
			h.cmd("AT\r\n", msgOK)
			wantViolations(t, h.m, map[ViolationKind]int{ViolBusy: 1})
		})
	}
}

// Before "ready" the firmware ignores input (§3.1).
func TestBeforeReady(t *testing.T) {
	t.Parallel()
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			m := newTestModem(t, Config{Profile: p, Baud: 921600, Timing: Timing{Boot: 200 * time.Millisecond}})
			h := newHost(t, m, m.Host())
			h.take(50) // boot has begun
			h.send("AT\r\n")
			h.until(msgReady)
			h.cmd("AT\r\n", echoOf(p, "AT\r\n")+msgOK)
			wantViolations(t, m, map[ViolationKind]int{ViolBeforeReady: 1})

			// During a reset the first line after the garbage may have raced
			// it; the second counts.
			m.Reset()
			h.take(50)
			h.send("AT\r\n")
			h.send("AT\r\n")
			h.until(msgReady)
			h.cmd("AT\r\n", echoOf(p, "AT\r\n")+msgOK)
			wantViolations(t, m, map[ViolationKind]int{ViolBeforeReady: 2})
		})
	}
}
