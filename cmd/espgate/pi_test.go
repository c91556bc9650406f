package main

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/espgate/espgate/internal/e2etest"
)

// The Raspberry Pi Zero build, run under qemu-arm (Debian's qemu-user).
// .ci/pi-smoke builds it with `make build-pi`, passes it in
// ESPGATE_PI_BINARY and sets ESPGATE_CI_PI, which makes a missing
// qemu-arm a failure instead of a skip.

// piBinary returns the ARMv6 binary to test, building it with the
// Makefile's flags when ESPGATE_PI_BINARY does not name one.
func piBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ESPGATE_PI_BINARY"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "espgate-armv6")
	goBuild(t, out, true, "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=6")
	return out
}

// goBuild compiles the binary, static and stripped, for env's platform;
// trimpath as `make build-pi` does (which compiles every package afresh,
// where a plain build reuses what go vet and go test left in the cache).
func goBuild(t *testing.T, out string, trimpath bool, env ...string) {
	t.Helper()
	args := []string{"build", "-ldflags=-s -w", "-o", out, "."}
	if trimpath {
		args = append(args[:1], append([]string{"-trimpath"}, args[1:]...)...)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

func needQEMU(t *testing.T) string {
	t.Helper()
	qemu, err := exec.LookPath("qemu-arm")
	if err != nil {
		if os.Getenv("ESPGATE_CI_PI") != "" {
			t.Fatal("qemu-arm is required here (ESPGATE_CI_PI is set): apt-get install qemu-user")
		}
		t.Skip("qemu-arm is not installed; .ci/pi-smoke installs it and runs this test in CI")
	}
	return qemu
}

// running is a started espgate process and the URL it serves.
type running struct {
	cmd    *exec.Cmd
	url    string
	output *e2etest.SyncBuffer
	done   chan error
}

// start runs argv, serving the demo through its embedded emulator.
func start(t *testing.T, argv ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(argv[0], argv[1:]...), output: &e2etest.SyncBuffer{}, done: make(chan error, 1)}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = r.output
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			r.output.Write([]byte(line + "\n"))
			if u, ok := strings.CutPrefix(line, "espgate: serving "); ok {
				select {
				case urls <- strings.TrimSuffix(u, "/"):
				default:
				}
			}
		}
		r.done <- r.cmd.Wait()
	}()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	select {
	case r.url = <-urls:
	case err := <-r.done:
		t.Fatalf("%s exited before serving: %v\n%s", argv[0], err, r.output.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not serving after 60 s:\n%s", argv[0], r.output.String())
	}
	return r
}

// stop sends SIGTERM and wants a clean exit.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, r.output.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM:\n%s", r.output.String())
	}
}

// memory is a process's resident memory, in kB.
type memory struct {
	rss, hwm int // VmRSS, VmHWM
	guest    int // under qemu-user: resident pages of the guest's 32-bit address space
	anon     int // ... of which anonymous (heap, stacks); the rest maps the binary's file
}

// measure reads /proc/pid/status and, for a qemu-user process, sums the
// resident pages mapped below 4 GiB: the 32-bit guest's own memory (its
// binary, heap and stacks), as opposed to the emulator's code cache and
// libraries, which sit above.
func measure(t *testing.T, pid int) memory {
	t.Helper()
	var m memory
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			n, _ := strconv.Atoi(f[1])
			if f[0] == "VmRSS:" {
				m.rss = n
			} else {
				m.hwm = n
			}
		}
	}
	smaps, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	head := regexp.MustCompile(`^([0-9a-f]+)-[0-9a-f]+ `)
	low := false
	for line := range strings.SplitSeq(string(smaps), "\n") {
		if h := head.FindStringSubmatch(line); h != nil {
			start, _ := strconv.ParseUint(h[1], 16, 64)
			low = start < 1<<32
			continue
		}
		if f := strings.Fields(line); low && len(f) >= 2 && (f[0] == "Rss:" || f[0] == "Anonymous:") {
			n, _ := strconv.Atoi(f[1])
			if f[0] == "Rss:" {
				m.guest += n
			} else {
				m.anon += n
			}
		}
	}
	return m
}

// load holds 5 keep-alive clients on the server, each fetching pages for
// d, and returns the largest memory seen while they did. The server runs
// its emulator paced at 115200 baud, as a Pi's line runs: an unpaced line
// would measure how much garbage a host can make at full speed instead.
func load(t *testing.T, r *running, d time.Duration) memory {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		fails   []string
		n       int
		redials int
	)
	stop := time.Now().Add(d)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One connection each, kept for the whole run.
			c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			get := func(path string) error {
				resp, err := c.Get(r.url + path)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if _, err = io.Copy(io.Discard, resp.Body); err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				return err
			}
			for time.Now().Before(stop) {
				for _, path := range []string{"/", "/api/status", "/hello"} {
					err := get(path)
					// The modem resets a client that finds its five links
					// taken (one may still be closing): a browser tries
					// again, and so does this client, once.
					if err != nil && errors.Is(err, syscall.ECONNRESET) {
						mu.Lock()
						redials++
						mu.Unlock()
						err = get(path)
					}
					mu.Lock()
					n++
					if err != nil {
						fails = append(fails, fmt.Sprintf("client %d %s: %v", i, path, err))
					}
					mu.Unlock()
				}
			}
		}()
	}
	var peak memory
	for done := time.After(d); ; {
		m := measure(t, r.cmd.Process.Pid)
		peak.rss, peak.guest, peak.anon = max(peak.rss, m.rss), max(peak.guest, m.guest), max(peak.anon, m.anon)
		peak.hwm = m.hwm
		select {
		case <-done:
			wg.Wait()
			if len(fails) > 0 {
				t.Fatalf("%d of %d requests failed, first: %s", len(fails), n, fails[0])
			}
			t.Logf("%d requests from 5 keep-alive clients (%d retried after a reset)", n, redials)
			return peak
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestPiBuildUnderQEMU(t *testing.T) {
	qemu := needQEMU(t)
	bin := piBinary(t)

	// What `make build-pi` promises: 32-bit ARM, static, stripped.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_ARM {
		t.Fatalf("%s is %v %v, want 32-bit ARM", bin, f.Class, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("%s is dynamically linked", bin)
		}
	}
	if f.Section(".symtab") != nil {
		t.Fatalf("%s is not stripped", bin)
	}
	f.Close()
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}

	r := start(t, qemu, bin, "--listen", "127.0.0.1:0", "--log-format", "json")
	c := &http.Client{Timeout: 20 * time.Second}
	code, body := e2etest.Get(t, c, r.url+"/")
	if code != 200 || !strings.Contains(body, "espgate") || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("GET /: %d %.200q", code, body)
	}
	if code, body = e2etest.Get(t, c, r.url+"/api/status"); code != 200 || !strings.Contains(body, `"state":"serving"`) {
		t.Fatalf("GET /api/status: %d %q", code, body)
	}
	resp, err := c.Post(r.url+"/echo", "text/plain", strings.NewReader("from a real client"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "from a real client" {
		t.Fatalf("POST /echo: %d %q", resp.StatusCode, b)
	}
	c.CloseIdleConnections()
	time.Sleep(time.Second) // for the modem to free that client's link

	qm := load(t, r, 5*time.Second)
	r.stop(t)
	if !strings.Contains(r.output.String(), "0 host protocol violations") {
		t.Fatalf("the emulator saw violations:\n%s", r.output.String())
	}

	// The same load on this machine's own build, for comparison.
	native := filepath.Join(t.TempDir(), "espgate-native")
	goBuild(t, native, false, "CGO_ENABLED=0")
	n := start(t, native, "--listen", "127.0.0.1:0", "--log-format", "json")
	nm := load(t, n, 5*time.Second)
	n.stop(t)

	mb := func(kb int) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
	t.Logf("binary %s: %d bytes (%.1f MB)", bin, st.Size(), float64(st.Size())/(1<<20))
	t.Logf("under qemu-arm, 5 links: qemu process VmRSS %s (peak VmHWM %s), of which the ARM guest's own pages %s: the estimate for a Pi Zero; of these %s anonymous (heap, stacks), the rest the binary's file pages",
		mb(qm.rss), mb(qm.hwm), mb(qm.guest), mb(qm.anon))
	t.Logf("native linux/amd64 build, 5 links: VmRSS %s (peak VmHWM %s)", mb(nm.rss), mb(nm.hwm))
	fmt.Printf("PI-SMOKE binary_bytes=%d qemu_rss_kb=%d qemu_hwm_kb=%d guest_rss_kb=%d guest_anon_kb=%d native_rss_kb=%d native_hwm_kb=%d\n",
		st.Size(), qm.rss, qm.hwm, qm.guest, qm.anon, nm.rss, nm.hwm)
}
