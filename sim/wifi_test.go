package sim

import (
	"net"
	"strings"
	"testing"
	"time"
)

// DropWiFi: the access point goes away; the station drops with its links,
// joins fail with "AP not found" while it is gone, and the station comes
// back by itself only when asked to.
func TestDropWiFi(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			for _, reconnect := range []bool{false, true} {
				h := startHost(t, Config{Profile: p, Unpaced: true, Joined: true})
				h.expect(wifiJoined)
				h.server()
				c := h.dial(0)
				const outage = 300 * time.Millisecond
				h.m.DropWiFi(outage, reconnect)
				h.expect(msgWifiDisc + "0,CLOSED\r\n")
				if _, err := readAll(t, c); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatal("the client's link outlived the Wi-Fi")
					}
				}
				dialReset(t, h.m) // no network, no clients
				join := pick(p, "AT+CWJAP_CUR=", "AT+CWJAP=") + goodPwd + "\r\n"
				if reconnect {
					time.Sleep(outage)
					h.expect(wifiJoined)
					h.dial(0)
				} else {
					h.cmd(join, "+CWJAP:3\r\n"+pick(p, msgFail, msgError))
					time.Sleep(outage)
					h.quiet(100 * time.Millisecond) // the station waits for the host
					h.cmd(join, joinOK)
					h.dial(0)
				}
				noViolations(t, h.m)
			}
		})
	}
}

// A host that joins during the outage and fails does not stop a later
// join from working, and a reset during the outage leaves the AP gone.
func TestDropWiFiSurvivesReset(t *testing.T) {
	h := startHost(t, Config{Profile: NonOS, Unpaced: true, Joined: true})
	h.expect(wifiJoined)
	h.m.DropWiFi(time.Second, false)
	h.expect(msgWifiDisc)
	h.m.Reset()
	h.boot()
	h.quiet(100 * time.Millisecond) // stored credentials, but no AP yet
	h.expect(wifiJoined)            // the station's own retry once the AP is back
}

// AT+MDNS: the announcement is recorded as the firmware forms it; 1.x
// prefixes the service with "_", 2.x takes the service type as given.
func TestMDNSState(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startHost(t, Config{Profile: p, Unpaced: true})
			h.echoOff()
			if got := h.m.MDNS(); got.On {
				t.Fatalf("mDNS on at boot: %+v", got)
			}
			svc := pick(p, "http", "_http")
			h.cmd(`AT+MDNS=1,"espgate","`+svc+`",8080`+"\r\n", msgOK)
			want := MDNSInfo{On: true, Host: "espgate", Service: "_http._tcp", Port: 8080}
			if got := h.m.MDNS(); got != want {
				t.Fatalf("mDNS %+v, want %+v", got, want)
			}
			h.cmd("AT+MDNS=0\r\n", msgOK)
			if got := h.m.MDNS(); got.On {
				t.Fatalf("mDNS still on after =0: %+v", got)
			}
			h.cmd(`AT+MDNS=1,"espgate","`+svc+`",80`+"\r\n", msgOK)
			h.m.Reset()
			h.boot()
			if got := h.m.MDNS(); got.On {
				t.Fatalf("mDNS survived a reset: %+v", got)
			}
			// SoftAP only: 1.x refuses, 2.x is not documented to.
			h.echoOff()
			h.cmd(pick(p, "AT+CWMODE_CUR=2\r\n", "AT+CWMODE=2\r\n"), msgOK)
			h.cmd(`AT+MDNS=1,"espgate","`+svc+`",80`+"\r\n", pick(p, msgError, msgOK))
			if p == NonOS && strings.Contains(h.m.MDNS().Service, "http") {
				t.Fatal("a refused AT+MDNS was recorded")
			}
			noViolations(t, h.m)
		})
	}
}
