package sim

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	r := rate{baud: 115200, frameBits: 10}
	if d := r.dur(11520); d != time.Second {
		t.Fatalf("11520 bytes at 115200 8N1 take %v, want 1s", d)
	}
	if r.chunk() != 11 || (rate{baud: 921600, frameBits: 10}).chunk() != 92 || (rate{baud: 300, frameBits: 10}).chunk() != 1 {
		t.Fatal("chunk sizes")
	}
	u := uartCfg{baud: 9600, data: 7, stop: 3, parity: 1}
	if b := u.rate().frameBits; b != 11 {
		t.Fatalf("7O2 frame = %v bits, want 11", b)
	}
}

// measurePacing measures both directions of a paced line for about window
// each, as rates computed from when the data became available (so pacing
// can only make them lower than the line rate, never higher).
func measurePacing(tb testing.TB, baud int, window time.Duration, precise bool) (h2m, m2h float64) {
	tb.Helper()
	m := newTestModem(tb, Config{Baud: baud, Timing: Timing{Command: time.Nanosecond}, Joined: true, PreciseTiming: precise, Logf: func(string, ...any) {}})
	h := newHost(tb, m, m.Host())
	h.boot()
	h.expect(wifiJoined)
	h.server()
	bps := m.Params().BytesPerSecond

	// host -> modem: one large write (an overlong line the modem ignores)
	n := int(bps * window.Seconds())
	start := time.Now()
	h.send(strings.Repeat("A", n))
	h2m = float64(n) / time.Since(start).Seconds()

	// modem -> host: a client keeps the modem's transmitter busy with +IPD
	c, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	h.expect("0,CONNECT\r\n")
	h.mu.Lock()
	base := len(h.all)
	h.mu.Unlock()
	go c.Write(bytes.Repeat([]byte("x"), 2*n))
	cstart := time.Now()
	h.waitFor("modem output", func([]byte) bool { return len(h.all)-base >= n })
	h.mu.Lock()
	for _, s := range h.stamps {
		if s.n-base >= n {
			m2h = float64(s.n-base) / s.t.Sub(cstart).Seconds()
			break
		}
	}
	h.mu.Unlock()
	return h2m, m2h
}

// Pacing never runs ahead of the line rate (the achieved rate is reported,
// not asserted: it depends on the machine's load).
func TestPacingNeverFaster(t *testing.T) {
	t.Parallel()
	h2m, m2h := measurePacing(t, 115200, 300*time.Millisecond, false)
	bps := 11520.0
	t.Logf("115200 baud: host->modem %.0f B/s (%.4f), modem->host %.0f B/s (%.4f)", h2m, h2m/bps, m2h, m2h/bps)
	if h2m > bps*1.001 || m2h > bps*1.001 {
		t.Fatalf("faster than %v B/s", bps)
	}
}

// BenchmarkPacing reports the achieved throughput of the paced line at
// 115200 and 921600 baud against baud/10.
func BenchmarkPacing(b *testing.B) {
	for _, baud := range []int{115200, 921600} {
		b.Run(strconv.Itoa(baud), func(b *testing.B) {
			var h2m, m2h float64
			for range b.N {
				x, y := measurePacing(b, baud, time.Second, false)
				h2m += x
				m2h += y
			}
			bps := float64(baud) / 10
			n := float64(b.N)
			b.ReportMetric(h2m/n, "h2m-B/s")
			b.ReportMetric(h2m/n/bps, "h2m-ratio")
			b.ReportMetric(m2h/n, "m2h-B/s")
			b.ReportMetric(m2h/n/bps, "m2h-ratio")
		})
	}
}

// A rate change (AT+UART_CUR) paces both directions at the new rate.
func TestRateChange(t *testing.T) {
	t.Parallel()
	h := startHost(t, Config{Baud: 9600, Timing: Timing{Command: time.Nanosecond}})
	h.echoOff()
	h.cmd("AT+UART_CUR=460800,8,1,0,0\r\n", msgOK)
	waitChip(t, h.m, "new rate", func(*chip) bool { return h.m.Params().Baud == 460800 })
	h.setBaud(460800)
	p := h.m.Params()
	if p.BytesPerSecond != 46080 || p.FrameBits != 10 || p.MaxSend != 2048 || p.MaxIPD != 1460 {
		t.Fatalf("params %+v", p)
	}
	// 4608 bytes take 0.1 s at 460800 and 4.8 s at 9600.
	start := time.Now()
	h.send(strings.Repeat("B", 4608))
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("4608 bytes in %v", d)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The trace holds every byte both ways, one escaped record per write.
func TestTrace(t *testing.T) {
	var tr lockedBuffer
	h := startServer(t, NonOS, func(c *Config) { c.Trace = &tr })
	c := h.dial(0)
	c.Write([]byte("\x00\xff\"\\"))
	h.expect("\r\n+IPD,0,4:\x00\xff\"\\")
	h.cmd("AT+UART_CUR=230400,8,1,0,0\r\n", msgOK)
	h.quiet(20 * time.Millisecond)
	var toHost, fromHost []byte
	for line := range strings.SplitSeq(strings.TrimSuffix(tr.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue
		}
		f := strings.SplitN(strings.TrimLeft(line, " "), " ", 3)
		if len(f) != 3 {
			t.Fatalf("bad record %q", line)
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			t.Fatalf("bad time in %q", line)
		}
		b, err := strconv.Unquote(f[2])
		if err != nil {
			t.Fatalf("bad bytes in %q: %v", line, err)
		}
		switch f[1] {
		case dirToHost:
			toHost = append(toHost, b...)
		case dirFromHost:
			fromHost = append(fromHost, b...)
		default:
			t.Fatalf("bad direction in %q", line)
		}
	}
	if !bytes.Equal(toHost, h.transcript()) {
		t.Fatalf("trace M>H %q\nhost got  %q", toHost, h.transcript())
	}
	want := "ATE0\r\nAT+CIPMUX=1\r\nAT+CIPSERVER=1,80\r\nAT+UART_CUR=230400,8,1,0,0\r\n"
	if string(fromHost) != want {
		t.Fatalf("trace H>M %q", fromHost)
	}
	if !strings.Contains(tr.String(), `M>H "\r\n+IPD,0,4:\x00\xff\"\\"`) {
		t.Fatalf("no escaped +IPD record in\n%s", tr.String())
	}
	if !strings.Contains(tr.String(), "line rate 230400 baud") {
		t.Fatal("no rate note")
	}
	s := h.m.Stats()
	if s.BytesToHost != int64(len(toHost)) || s.BytesFromHost != int64(len(fromHost)) {
		t.Fatalf("stats %d/%d, trace %d/%d", s.BytesToHost, s.BytesFromHost, len(toHost), len(fromHost))
	}
}
