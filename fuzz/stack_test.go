// Package fuzz holds the whole-stack fuzz target: random client bytes and
// random modem noise through the emulator and the server together, checked
// against DESIGN.md's invariants from the outside.
package fuzz

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/loop"
	"github.com/espgate/espgate/parser"
	"github.com/espgate/espgate/port"
	"github.com/espgate/espgate/sim"
)

// noisyLine sits between the emulator's host end and the server: once
// armed, it inserts noise into what the modem says, at the offsets the
// fuzzer chose.
type noisyLine struct {
	io.ReadWriteCloser
	mu    sync.Mutex
	armed bool
	noise []byte // left to insert
	gaps  []byte // modem bytes to pass before each noise byte
	held  []byte // modem bytes read but not yet returned
}

func (l *noisyLine) arm() {
	l.mu.Lock()
	l.armed = true
	l.mu.Unlock()
}

func (l *noisyLine) Read(p []byte) (int, error) {
	l.mu.Lock()
	if len(l.held) == 0 {
		l.mu.Unlock()
		buf := make([]byte, len(p))
		n, err := l.ReadWriteCloser.Read(buf)
		l.mu.Lock()
		l.held = append(l.held, buf[:n]...)
		if n == 0 {
			l.mu.Unlock()
			return 0, err
		}
	}
	defer l.mu.Unlock()
	if !l.armed || len(l.noise) == 0 {
		n := copy(p, l.held)
		l.held = l.held[n:]
		return n, nil
	}
	gap := 0
	if len(l.gaps) > 0 {
		gap = int(l.gaps[0]) % 64
		l.gaps = l.gaps[1:]
	}
	gap = min(gap, len(l.held), len(p)-1)
	n := copy(p, l.held[:gap])
	l.held = l.held[gap:]
	k := 1 + int(l.noise[0]%8) // a short burst
	k = min(k, len(l.noise), len(p)-n)
	n += copy(p[n:], l.noise[:k])
	l.noise = l.noise[k:]
	return n, nil
}

// FuzzStack serves a known page through the emulator while up to three
// raw clients send fuzzed bytes and, optionally, the modem's output is
// sprinkled with fuzzed noise. Oracles:
//   - nothing panics, and the server stops within its shutdown timeout
//     (no deadlock: invariant 4);
//   - a client is never sent another client's bytes: every response a
//     raw client reads names that client's own connection (invariant 1);
//   - without noise: the emulator counts no host protocol violation
//     (invariant 2: payloads are exactly as announced, nothing written
//     while the modem is in command mode becomes a command) and a healthy
//     client served during the storm gets its page byte-exact.
func FuzzStack(f *testing.F) {
	f.Add(uint8(0), []byte("GET /who HTTP/1.1\r\nHost: a\r\n\r\n\x00POST /who HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), []byte{}, []byte{})
	f.Add(uint8(1), []byte("GET /who HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), []byte{}, []byte{})
	f.Add(uint8(2), []byte("GET /who?x HTTP/1.0\r\n\r\nGET /who HTTP/1.1\r\nHost: a\r\n\r\nGET /who HTTP/1.1\r\nHost: a\r\n\r\n"), []byte("\r\n>"), []byte{3, 10})
	f.Add(uint8(3), []byte("\r\nAT+RST\r\n\x00+IPD,0,5:hello\x00GARBAGE \xff\xfe"), []byte("\r\nready\r\n0,CLOSED\r\n"), []byte{20, 0, 5})
	f.Add(uint8(0), []byte("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody"), []byte("\r\nSEND FAIL\r\n\r\nbusy s...\r\n"), []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, mode uint8, clients, noise, gaps []byte) {
		if len(clients) > 8192 || len(noise) > 256 || len(gaps) > 64 {
			return
		}
		runStack(t, mode, clients, noise, gaps)
	})
}

var page = bytes.Repeat([]byte("0123456789abcdef"), 300) // 4800 bytes: three chunks

func runStack(t *testing.T, mode uint8, clients, noise, gaps []byte) {
	profile := sim.NonOS
	if mode&1 == 1 {
		profile = sim.ESPAT
	}
	m, err := sim.New(sim.Config{Profile: profile, Listen: "127.0.0.1:0", Unpaced: true, Joined: true, Seed: int64(mode)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	line := &noisyLine{ReadWriteCloser: m.Host(), noise: bytes.Clone(noise), gaps: bytes.Clone(gaps)}

	rt := handlers.NewRouter()
	rt.HandleFunc("/page", func(w *handlers.ResponseWriter, r *handlers.Request) { w.SetBody(page) })
	// /who names the connection the request came from (its client port),
	// so a response read on another connection is caught.
	rt.HandleFunc("/", func(w *handlers.ResponseWriter, r *handlers.Request) {
		fmt.Fprintf(w, "<who:%d:%d>", r.RemotePort, len(r.Body))
	})
	serving := make(chan struct{}, 1)
	cfg := fsm.Config{BootWait: time.Millisecond} // the emulator is up at once
	if mode&2 == 2 {
		cfg.StreamBody = func(int, *parser.Request) bool { return true }
	}
	lp := loop.New(loop.Config{
		Port:            port.Wrap(line, "fuzz"),
		Machine:         cfg,
		Handler:         rt,
		Log:             zerolog.Nop(),
		ShutdownTimeout: 200 * time.Millisecond,
		Observe: func(n fsm.Note) {
			if n.Kind == fsm.NoteServing {
				select {
				case serving <- struct{}{}:
				default:
				}
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lp.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			panic("FuzzStack: the server did not stop within 10 s of its context ending")
		}
	}()
	select {
	case <-serving:
	case <-time.After(10 * time.Second):
		t.Fatal("the modem did not serve")
	}
	addr := m.Addr().String()
	line.arm()

	var wg sync.WaitGroup
	for _, part := range bytes.SplitN(clients, []byte{0}, 3) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rawClient(t, addr, part)
		}()
	}
	if len(noise) > 0 {
		wg.Wait() // a corrupted line may take the modem down: only the raw clients' oracle holds
		return
	}
	if err := fetchPage(addr); err != nil {
		t.Errorf("healthy client: %v", err)
	}
	wg.Wait()
	for _, v := range m.Violations() {
		t.Errorf("host protocol violation: %v", v)
	}
}

// rawClient writes b and reads until the server closes or goes quiet;
// every <who:port:...> it reads must name its own port.
func rawClient(t *testing.T, addr string, b []byte) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return // the modem was out of links: it resets the sixth client
	}
	defer c.Close()
	own := fmt.Sprintf("<who:%d:", c.LocalAddr().(*net.TCPAddr).Port)
	c.SetDeadline(time.Now().Add(100 * time.Millisecond))
	c.Write(b)
	got, _ := io.ReadAll(c)
	s := string(got)
	for {
		i := strings.Index(s, "<who:")
		if i < 0 {
			break
		}
		if !strings.HasPrefix(s[i:], own) {
			t.Errorf("a client on %s read another client's response: %q", own, s[i:min(len(s), i+24)])
		}
		s = s[i+5:]
	}
}

// fetchPage fetches /page on a fresh connection, retrying while the
// modem is out of links, and checks it byte for byte.
func fetchPage(addr string) error {
	deadline := time.Now().Add(3 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			last = err // reset for want of a link: retry
			continue
		}
		body, err := io.ReadAll(resp.Body)
		c.Close()
		switch {
		case err != nil:
			return fmt.Errorf("body: %w (%d bytes)", err, len(body))
		case resp.StatusCode != 200:
			return fmt.Errorf("status %d", resp.StatusCode)
		case !bytes.Equal(body, page):
			return fmt.Errorf("body of %d bytes differs from the page's %d", len(body), len(page))
		}
		return nil
	}
	return last
}
