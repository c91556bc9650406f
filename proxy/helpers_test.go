package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// python3 returns the interpreter's path, skipping the test where it is
// missing (CI installs it: .ci/run).
func python3(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: these end-to-end tests run a Python upstream (CI installs it)")
	}
	return p
}

// upstreamProc is a Python server the test started on loopback.
type upstreamProc struct {
	cmd  *exec.Cmd
	Port int
	URL  string // http://127.0.0.1:port
	done chan struct{}
}

var portLine = regexp.MustCompile(`port (\d+)`)

// startPython runs python3 with args, reads the port it prints on stdout
// ("port N" or http.server's "Serving HTTP on ... port N") and stops it
// when the test ends.
func startPython(t testing.TB, args ...string) *upstreamProc {
	t.Helper()
	cmd := exec.Command(python3(t), append([]string{"-u"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	u := &upstreamProc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(u.done) }()
	t.Cleanup(func() { u.Kill() })
	ports := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := portLine.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.Atoi(m[1])
				select {
				case ports <- n:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u.Port = <-ports:
	case <-u.done:
		t.Fatalf("python3 %v exited: %s", args, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("python3 %v printed no port within 15 s", args)
	}
	u.URL = "http://127.0.0.1:" + strconv.Itoa(u.Port)
	return u
}

// Kill stops the process and waits until it has exited.
func (u *upstreamProc) Kill() {
	u.cmd.Process.Kill()
	select {
	case <-u.done:
	case <-time.After(10 * time.Second):
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// warnLogger logs warnings and errors to w.
func warnLogger(w io.Writer) *zerolog.Logger {
	z := zerolog.New(w).Level(zerolog.WarnLevel)
	return &z
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// rawUpstream serves each accepted connection with f on loopback and
// closes everything when the test ends.
func rawUpstream(t testing.TB, f func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); f(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// readHead reads a request head from c (up to the blank line).
func readHead(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" || line == "\n" {
			return nil
		}
	}
}
