package soak_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// adversarialBodies are bodies that would be modem commands or protocol
// messages if they ever left their counted payloads.
var adversarialBodies = []string{
	"\r\nAT+RST\r\n",
	"AT+RST\r\n",
	"AT+RESTORE\r\n",
	"AT+CIPCLOSE=5\r\n",
	"AT+CWQAP\r\nAT+CIPSERVER=0\r\n",
	"ATE1\r\n",
	"AT+UART_CUR=9600,8,1,0,0\r\n",
	"\r\n+IPD,0,5:hello",
	"+IPD,3,100:",
	">",
	"> ",
	"\r\n>",
	"\r\nOK\r\n",
	"\r\nERROR\r\n",
	"\r\nSEND OK\r\n",
	"\r\nRecv 5 bytes\r\n",
	"0,CLOSED\r\n",
	"1,CONNECT\r\n",
	"\r\nready\r\n",
	"busy p...\r\n",
	"\r", "\n", "\r\r\r", "\n\n\n", "\x00", "\xff\xfe",
	"\\0", "\\\\0AT+RST\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
}

// randomBody mixes protocol fragments with random bytes.
func randomBody(r *rand.Rand) []byte {
	var b []byte
	for len(b) < 1+r.IntN(1500) {
		if r.IntN(3) == 0 {
			b = append(b, adversarialBodies[r.IntN(len(adversarialBodies))]...)
			continue
		}
		for range 1 + r.IntN(40) {
			b = append(b, byte(r.IntN(256)))
		}
	}
	return b
}

// cmdCounter counts the commands the host saw the modem complete.
type cmdCounter struct {
	mu     sync.Mutex
	n      int
	resets int
}

func (c *cmdCounter) observe(n fsm.Note) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch n.Kind {
	case fsm.NoteCommand:
		c.n++
	case fsm.NoteModemReset:
		c.resets++
	}
}

func (c *cmdCounter) get() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.resets
}

// TestBodiesNeverBecomeModemCommands sends request bodies that hold AT
// commands, +IPD headers, prompts and lone CR and LF, and has the server
// answer each with it: the client gets exactly its body back, and the
// modem runs exactly the commands the host issued (its command count
// moves with the host's, it never resets, its line rate never changes,
// and it counts no protocol violation).
func TestBodiesNeverBecomeModemCommands(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		a := newApp()
		cc := &cmdCounter{}
		env := e2etest.Start(t, p, &espgate.Server{Routes: a.routes(), Handler: a.nethttp(), Observe: cc.observe})
		params := env.Modem.Params()

		bodies := make([][]byte, 0, 2*len(adversarialBodies)+200)
		for _, s := range adversarialBodies {
			bodies = append(bodies, []byte(s))
		}
		// The same, placed where a CIPSEND chunk begins and ends.
		head := len("HTTP/1.1 200 OK\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 0000\r\nX-Request: mx\r\n\r\n")
		for _, s := range adversarialBodies {
			b := bytes.Repeat([]byte{'.'}, 2048-head)
			bodies = append(bodies, append(append(b, s...), bytes.Repeat([]byte(s), 2048/len(s))...))
		}
		r := rand.New(rand.NewPCG(7, uint64(len(p))))
		for range 150 {
			bodies = append(bodies, randomBody(r))
		}

		conn, err := net.Dial("tcp", env.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		base := env.Modem.Stats()
		baseCmds, _ := cc.get()
		for i, body := range bodies {
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			q := request{method: http.MethodPost, path: "/echo", body: body}
			if _, err := conn.Write(q.wire("mx")); err != nil {
				t.Fatalf("body %d: %v", i, err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("body %d (%q): %v", i, trunc(body), err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
				t.Fatalf("body %d (%q): status %d, got %q, %v", i, trunc(body), resp.StatusCode, trunc(got), err)
			}
		}
		// The client has its last response before the host has its SEND
		// OK: let the host's count catch up.
		var (
			s      sim.Stats
			cmds   int
			resets int
		)
		for end := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			s = env.Modem.Stats()
			cmds, resets = cc.get()
			if s.Commands-base.Commands == cmds-baseCmds || time.Now().After(end) {
				break
			}
		}
		if s.Commands-base.Commands != cmds-baseCmds {
			t.Errorf("the modem ran %d commands, the host completed %d", s.Commands-base.Commands, cmds-baseCmds)
		}
		if s.Resets != base.Resets || resets != 0 {
			t.Errorf("the modem reset (%d times; the host saw %d)", s.Resets-base.Resets, resets)
		}
		if s.Violations != 0 {
			t.Errorf("%d protocol violations: %v", s.Violations, s.ViolationsByKind)
		}
		if got := env.Modem.Params(); got.Baud != params.Baud {
			t.Errorf("line rate %d, was %d", got.Baud, params.Baud)
		}
		if s.Sends-base.Sends < len(bodies) {
			t.Errorf("%d sends for %d responses", s.Sends-base.Sends, len(bodies))
		}
		t.Logf("%d bodies echoed byte-exact; the modem ran %d commands, all the host's", len(bodies), s.Commands-base.Commands)
	})
}

// TestCredentialsEscapedEndToEnd joins a network whose name and password
// hold the characters the firmware escapes: the emulated access point
// takes them only if they arrive as they are meant.
func TestCredentialsEscapedEndToEnd(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		ssid, pw := `my,"net"\`, `p\a,s"s\\w,rd`
		rt := newApp().routes()
		var joinFailed int
		var mu sync.Mutex
		env := e2etest.Start(t, p, &espgate.Server{
			Routes: rt, SSID: ssid, Password: pw,
			Emulator: sim.Config{SSID: ssid, Password: pw, Unpaced: true},
			Observe: func(n fsm.Note) {
				if n.Kind == fsm.NoteJoinFailed {
					mu.Lock()
					joinFailed++
					mu.Unlock()
				}
			},
		})
		resp, err := env.Client(t).Get(env.URL + "known")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(b, knownBody) {
			t.Fatalf("status %d", resp.StatusCode)
		}
		mu.Lock()
		defer mu.Unlock()
		if joinFailed != 0 {
			t.Fatalf("joining failed %d times: the credentials were not escaped as the firmware reads them", joinFailed)
		}
	})
}

// TestUnsendableCredentialsRefused: values no escape can carry stop
// ListenAndServe before anything starts, with an error that says why and
// does not repeat the password.
func TestUnsendableCredentialsRefused(t *testing.T) {
	for _, c := range []struct{ ssid, pw, want string }{
		{"net", "s3cret\r\nAT+RESTORE", "password cannot be sent in an AT command: control character 0x0d at byte 6"},
		{"net\n", "s3cret", "network name cannot be sent in an AT command: control character 0x0a at byte 3"},
		{"net", "s3cret\x00", "control character 0x00"},
		{strings.Repeat("n", 33), "s3cret", "33 bytes, at most 32"},
		{"net", strings.Repeat("s3cret", 11), "66 bytes, at most 64"},
	} {
		srv := &espgate.Server{SSID: c.ssid, Password: c.pw, Emulator: sim.Config{Listen: "127.0.0.1:0", Unpaced: true}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := srv.ListenAndServe(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, fsm.ErrATString) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("SSID %q: ListenAndServe = %v; want an error with %q, without the password", c.ssid, err, c.want)
		}
		if srv.EmulatorModem() != nil {
			t.Errorf("SSID %q: the emulator started", c.ssid)
		}
	}
}

// TestPasswordNeverLogged runs a server that joins a network at the most
// verbose log level, with the emulator's serial trace and diagnostics
// written to the same place, through busy replies and a modem reset (so
// the join is sent again): the password appears nowhere, escaped or not.
func TestPasswordNeverLogged(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		const ssid, pw = "net", `s3cr"t,pa\ss`
		var out e2etest.SyncBuffer
		log := zerolog.New(&out).Level(zerolog.TraceLevel)
		env := e2etest.Start(t, p, &espgate.Server{
			Routes: newApp().routes(), SSID: ssid, Password: pw, Logger: &log,
			Emulator: sim.Config{SSID: ssid, Password: pw, Unpaced: true, Trace: &out, Seed: 3,
				Faults: sim.Faults{Busy: 0.2},
				Logf:   func(f string, a ...any) { fmt.Fprintf(&out, f+"\n", a...) }},
		})
		get := func() {
			t.Helper()
			for end := time.Now().Add(10 * time.Second); ; {
				resp, err := env.Client(t).Get(env.URL + "known")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return
					}
				}
				if time.Now().After(end) {
					t.Fatalf("not served: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		get()
		env.Modem.Reset()
		get()
		if err := env.Stop(); err != nil {
			t.Fatal(err)
		}
		logs := out.String()
		if n := strings.Count(logs, "AT+CWJAP"); n < 2 {
			t.Fatalf("the join was logged %d times; the test wants it logged (redacted) at least twice", n)
		}
		for _, s := range []string{pw, `s3cr\"t\,pa\\ss`, "s3cr"} {
			if strings.Contains(logs, s) {
				t.Fatalf("%q is in the log", s)
			}
		}
	})
}
