package loop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/loop"
	"github.com/espgate/espgate/port"
	"github.com/espgate/espgate/sim"
)

var profiles = []sim.Profile{sim.NonOS, sim.ESPAT}

// pattern returns n deterministic bytes, different per size.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(n)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

var patterns sync.Map // size -> []byte

func patternCached(n int) []byte {
	if b, ok := patterns.Load(n); ok {
		return b.([]byte)
	}
	b, _ := patterns.LoadOrStore(n, pattern(n))
	return b.([]byte)
}

// testApp answers /hello, /bytes?n=N (N pattern bytes), /echo (the body),
// /panic and /stream?n=N (chunked).
func testApp(w *handlers.ResponseWriter, r *handlers.Request) {
	switch string(r.Path) {
	case "/hello":
		w.AddHeader("Content-Type", "text/plain")
		w.WriteString("hello\n")
	case "/bytes", "/stream":
		n, err := strconv.Atoi(strings.TrimPrefix(string(r.RawQuery), "n="))
		if err != nil || n < 0 || n > 4<<20 {
			w.WriteHeader(400)
			return
		}
		if string(r.Path) == "/stream" {
			w.SetStream(bytes.NewReader(patternCached(n)), -1)
			return
		}
		w.SetBody(patternCached(n))
	case "/echo":
		w.Write(r.Body)
	case "/panic":
		panic("handler bug")
	default:
		w.WriteHeader(404)
	}
}

type server struct {
	lp    *loop.Loop
	modem *sim.Modem
	addr  string
	stop  func()
	err   chan error
}

type serverOpts struct {
	handler handlers.Handler // default: testApp
	profile sim.Profile
	pty     bool
	machine fsm.Config
	simCfg  func(*sim.Config)
	observe func(fsm.Note) // sees every note, on the loop
	logw    io.Writer      // when set, the log at trace level goes here
}

// start runs the emulator and espgate over it and waits until serving.
func start(t *testing.T, o serverOpts) *server {
	t.Helper()
	if o.handler == nil {
		o.handler = handlers.HandlerFunc(testApp)
	}
	cfg := sim.Config{Profile: o.profile, Listen: "127.0.0.1:0", Unpaced: true, Joined: true, Seed: 1}
	if o.simCfg != nil {
		o.simCfg(&cfg)
	}
	m, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var p port.Port
	if o.pty {
		path, err := m.OpenPTY("")
		if err != nil {
			m.Close()
			t.Fatal(err)
		}
		if p, err = port.Open(path, 115200); err != nil {
			m.Close()
			t.Fatal(err)
		}
	} else {
		p = port.Wrap(m.Host(), "emulator")
	}
	serving := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	if o.logw != nil {
		log = zerolog.New(o.logw).Level(zerolog.TraceLevel)
	}
	lp := loop.New(loop.Config{
		Port:    p,
		Machine: o.machine,
		Handler: o.handler,
		Log:     log,
		Observe: func(n fsm.Note) {
			if o.observe != nil {
				o.observe(n)
			}
			if n.Kind == fsm.NoteServing {
				select {
				case serving <- struct{}{}:
				default:
				}
			}
		},
	})
	s := &server{lp: lp, modem: m, addr: m.Addr().String(), err: make(chan error, 1)}
	go func() { s.err <- lp.Run(ctx) }()
	s.stop = func() {
		cancel()
		select {
		case err := <-s.err:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		m.Close()
	}
	t.Cleanup(func() {
		s.stop()
		for _, v := range m.Violations() {
			t.Errorf("host protocol violation: %v", v)
		}
	})
	select {
	case <-serving:
	case err := <-s.err:
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not serving after 10 s")
	}
	return s
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

func newClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}}
}

func eachProfile(t *testing.T, f func(t *testing.T, p sim.Profile)) {
	for _, p := range profiles {
		t.Run(string(p), func(t *testing.T) { f(t, p) })
	}
}

// eachLine runs f for both profiles over the in-process line and over a
// pseudo-terminal opened through tarm/serial, the path a real device takes.
func eachLine(t *testing.T, f func(t *testing.T, o serverOpts)) {
	for _, pty := range []bool{false, true} {
		for _, p := range profiles {
			name := "inproc/" + string(p)
			if pty {
				name = "pty/" + string(p)
			}
			t.Run(name, func(t *testing.T) { f(t, serverOpts{profile: p, pty: pty}) })
		}
	}
}

func TestGetThroughEmulator(t *testing.T) {
	eachLine(t, func(t *testing.T, o serverOpts) {
		s := start(t, o)
		c := newClient()
		code, body := e2etest.Get(t, c, s.url("/hello"))
		if code != 200 || body != "hello\n" {
			t.Fatalf("got %d %q", code, body)
		}
		code, _ = e2etest.Get(t, c, s.url("/nope"))
		if code != 404 {
			t.Fatalf("got %d for /nope", code)
		}
	})
}

func TestLargeResponseByteExact(t *testing.T) {
	eachLine(t, func(t *testing.T, o serverOpts) {
		s := start(t, o)
		for _, path := range []string{"/bytes?n=204800", "/stream?n=204800"} {
			code, body := e2etest.Get(t, newClient(), s.url(path))
			if code != 200 || sha256.Sum256([]byte(body)) != sha256.Sum256(patternCached(204800)) {
				t.Fatalf("%s: status %d, %d bytes, sha256 mismatch", path, code, len(body))
			}
		}
	})
}

func TestFiveConcurrentClients(t *testing.T) {
	eachLine(t, func(t *testing.T, o serverOpts) {
		s := start(t, o)
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newClient()
				for j := range 8 {
					n := 100 + 1500*i + 997*j
					resp, err := c.Get(s.url(fmt.Sprintf("/bytes?n=%d", n)))
					if err != nil {
						errs <- fmt.Errorf("client %d request %d: %v", i, j, err)
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || !bytes.Equal(b, patternCached(n)) {
						errs <- fmt.Errorf("client %d request %d: %d bytes, err %v, mismatch", i, j, len(b), err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func TestKeepAliveAndPipelining(t *testing.T) {
	eachLine(t, func(t *testing.T, o serverOpts) {
		s := start(t, o)
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		var reqs strings.Builder
		sizes := []int{10, 3000, 7}
		for _, n := range sizes {
			fmt.Fprintf(&reqs, "GET /bytes?n=%d HTTP/1.1\r\nHost: x\r\n\r\n", n)
		}
		fmt.Fprintf(&reqs, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
		if _, err := io.WriteString(conn, reqs.String()); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		for i, n := range sizes {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !bytes.Equal(b, patternCached(n)) || resp.Close {
				t.Fatalf("response %d: %d, %d bytes, close=%v", i, resp.StatusCode, len(b), resp.Close)
			}
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != "abcde" {
			t.Fatalf("echo %q", b)
		}
	})
}

// A client vanishing mid-response leaves the clients already connected
// intact. (A client that connects in the very instant may be given the
// vanished client's link id by the modem, with an announced chunk still in
// flight: it then gets filler and a closed connection, never the other
// client's bytes. That window is the firmware's; see the fsm tests.)
func TestClientVanishingLeavesOthersIntact(t *testing.T) {
	eachLine(t, func(t *testing.T, o serverOpts) {
		s := start(t, o)
		c := newClient()
		if code, _ := e2etest.Get(t, c, s.url("/hello")); code != 200 { // connected first
			t.Fatal(code)
		}
		quitter, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(quitter, "GET /bytes?n=300000 HTTP/1.1\r\nHost: x\r\n\r\n")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 5000)
			io.ReadFull(quitter, buf) // part of the response, then gone
			quitter.Close()
		}()
		for i := range 8 {
			n := 20000 + i
			code, body := e2etest.Get(t, c, s.url(fmt.Sprintf("/bytes?n=%d", n)))
			if code != 200 || body != string(patternCached(n)) {
				t.Fatalf("request %d: %d, %d bytes", i, code, len(body))
			}
		}
		wg.Wait()
	})
}

func TestRecoversFromModemReset(t *testing.T) {
	eachLine(t, func(t *testing.T, o serverOpts) {
		s := start(t, o)
		c := newClient()
		if code, _ := e2etest.Get(t, c, s.url("/hello")); code != 200 {
			t.Fatal(code)
		}
		// A reset in the middle of a large response: that client sees its
		// connection end early; the server comes back and serves again.
		done := make(chan error, 1)
		go func() {
			resp, err := newClient().Get(s.url("/bytes?n=400000"))
			if err == nil {
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && !bytes.Equal(b, patternCached(400000)) {
					err = fmt.Errorf("a response cut by a reset looked complete (%d bytes)", len(b))
				}
			}
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		s.modem.Reset()
		if err := <-done; err != nil && strings.Contains(err.Error(), "looked complete") {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := newClient().Get(s.url("/hello"))
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && string(b) == "hello\n" {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("not serving 10 s after the reset: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestHandlerPanicIs500(t *testing.T) {
	s := start(t, serverOpts{profile: sim.NonOS})
	c := newClient()
	if code, _ := e2etest.Get(t, c, s.url("/panic")); code != 500 {
		t.Fatalf("got %d", code)
	}
	if code, _ := e2etest.Get(t, c, s.url("/hello")); code != 200 {
		t.Fatalf("after panic: %d", code)
	}
}
