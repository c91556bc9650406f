package espgate_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// The set-up page through a modem that has joined no network: the form,
// a wrong password reported as such, the right one joined with the
// address on the page, then the application and the mDNS announcement.
func TestSetupPage(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		rt := handlers.NewRouter()
		rt.HandleFunc("GET /app", func(w *handlers.ResponseWriter, r *handlers.Request) { w.WriteString("the app\n") })
		setups := make(chan [2]string, 4)
		srv := &espgate.Server{
			SetupAP:       "espgate-test",
			SetupPassword: "setup-pass",
			MDNSName:      "pi-cam",
			Emulator:      sim.Config{SSID: "home-net", Password: "home-pass-123"}, // not joined
			Routes:        rt,
			OnSetup:       func(network, url string) { setups <- [2]string{network, url} },
		}
		env := e2etest.Start(t, p, srv)
		select {
		case s := <-setups:
			if s != [2]string{"espgate-test", env.URL} {
				t.Fatalf("OnSetup(%q, %q)", s[0], s[1])
			}
		case <-time.After(5 * time.Second):
			t.Fatal("OnSetup was not called")
		}
		c := env.Client(t)

		for _, path := range []string{"", "app", "generate_204"} {
			code, body := fetch(t, c, "GET", env.URL+path, nil)
			if code != 200 || !strings.Contains(body, "<h1>Wi-Fi set-up</h1>") || !strings.Contains(body, `name=ssid`) {
				t.Fatalf("GET /%s during set-up: %d %q", path, code, body)
			}
		}
		code, body := fetch(t, c, "POST", env.URL, url.Values{"ssid": {"home-net"}, "password": {"wrong-pass"}})
		if code != 200 || !strings.Contains(body, "wrong password (code 2)") || !strings.Contains(body, `value="home-net"`) {
			t.Fatalf("wrong password: %d %q", code, body)
		}
		if strings.Contains(body, "wrong-pass") {
			t.Fatal("the page echoes the password")
		}
		code, body = fetch(t, c, "POST", env.URL, url.Values{"ssid": {"no-such-net"}, "password": {"whatever1"}})
		if code != 200 || !strings.Contains(body, "network not found (code 3)") {
			t.Fatalf("unknown network: %d %q", code, body)
		}
		code, body = fetch(t, c, "POST", env.URL, url.Values{"ssid": {"bad\nname"}})
		if code != 400 || !strings.Contains(body, "control character") {
			t.Fatalf("a line end in the name: %d %q", code, body)
		}
		code, body = fetch(t, c, "POST", env.URL, url.Values{"ssid": {"home-net"}, "password": {"home-pass-123"}})
		if code != 200 || !strings.Contains(body, "<h1>Joined home-net</h1>") ||
			!strings.Contains(body, "the address "+sim.DefaultStationIP+": open <a href=\""+env.URL+"\">") ||
			!strings.Contains(body, "http://pi-cam.local/") ||
			!strings.Contains(body, "espgate-test closes in 2 minutes") {
			t.Fatalf("joined: %d %q", code, body)
		}

		// Set-up is over: the application answers, and the modem announces
		// the name in its generation's syntax.
		code, body = fetch(t, c, "GET", env.URL+"app", nil)
		if code != 200 || body != "the app\n" {
			t.Fatalf("after set-up: %d %q", code, body)
		}
		want := sim.MDNSInfo{On: true, Host: "pi-cam", Service: "_http._tcp", Port: 80}
		deadline := time.Now().Add(5 * time.Second)
		for env.Modem.MDNS() != want {
			if time.Now().After(deadline) {
				t.Fatalf("mDNS %+v, want %+v", env.Modem.MDNS(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// Without set-up the application is served as it is, and mDNS is
// announced on the network the modem is on.
func TestMDNSAnnounced(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{MDNSName: "espgate", ModemPort: 8080})
		want := sim.MDNSInfo{On: true, Host: "espgate", Service: "_http._tcp", Port: 8080}
		deadline := time.Now().Add(5 * time.Second)
		for env.Modem.MDNS() != want {
			if time.Now().After(deadline) {
				t.Fatalf("mDNS %+v, want %+v", env.Modem.MDNS(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if code, _ := fetch(t, env.Client(t), "GET", env.URL, nil); code != 404 {
			t.Fatalf("no set-up page expected, got %d", code)
		}
	})
}

// Wi-Fi settings the modem could not take are refused before anything
// starts, with a clear reason.
func TestWiFiSettingsRefused(t *testing.T) {
	for i, c := range []struct {
		srv  *espgate.Server
		want string
	}{
		{&espgate.Server{SetupAP: "espgate-x", SetupPassword: "short"}, "8 to 64 characters"},
		{&espgate.Server{SetupPassword: "short"}, "8 to 64 characters"},
		{&espgate.Server{SetupAP: strings.Repeat("n", 33)}, "1 to 32 bytes"},
		{&espgate.Server{SSID: "home", SetupAP: "espgate-x"}, "cannot go with SSID"},
		{&espgate.Server{SSID: "home", Password: "a\r\nAT+RST"}, "control character"},
		{&espgate.Server{MDNSName: "pi.local"}, "without .local"},
		{&espgate.Server{MDNSName: "pi_cam"}, "letters, digits or hyphens"},
	} {
		err := c.srv.ListenAndServe(context.Background())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v, want %q", i, err, c.want)
		}
		if err != nil && c.srv.SetupPassword != "" && strings.Contains(err.Error(), c.srv.SetupPassword) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, u, err)
	}
	return resp.StatusCode, string(b)
}
