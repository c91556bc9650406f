package loop

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/metrics"
)

// pipeline drives a Loop's machine and handler path directly, playing the
// modem, with no pumps or goroutines: modem bytes in, modem bytes out.
type pipeline struct {
	l   *Loop
	now time.Time
	out []byte // everything the host wrote
	// Scratch for the modem's replies, reused.
	reply []byte
}

var helloBody = []byte("hello, world\n")

func newPipeline(tb testing.TB, nonos bool, opts ...func(*Config)) *pipeline {
	tb.Helper()
	h := handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain")
		w.SetBody(helloBody)
	})
	reg := prometheus.NewRegistry()
	// A real logger at info level: the request path's debug and trace
	// calls are disabled levels and must cost nothing.
	log := zerolog.New(io.Discard).Level(zerolog.InfoLevel)
	cfg := Config{Port: nopPort{}, Handler: h, Log: log, Metrics: metrics.New(reg)}
	for _, o := range opts {
		o(&cfg)
	}
	l := New(cfg)
	p := &pipeline{l: l, now: time.Unix(1_700_000_000, 0)}
	l.m.Start(p.now)
	l.drain(p.now)
	// Bring-up, answered by a scripted modem.
	ver := "AT version:1.7.4.0(May 11 2020 19:13:04)\r\n"
	if !nonos {
		ver = "AT version:2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\n"
	}
	for range 20 {
		w := p.take()
		switch {
		case w == nil:
			p.now = p.now.Add(time.Second)
			l.m.Tick(p.now)
		case bytes.Equal(w, []byte("AT+RST\r\n")):
			p.modem("\r\nOK\r\n\r\nready\r\n")
		case bytes.Equal(w, []byte("AT+GMR\r\n")):
			p.modem(ver + "\r\nOK\r\n")
		case bytes.Equal(w, []byte("AT+CIFSR\r\n")):
			p.modem("+CIFSR:STAIP,\"192.168.1.50\"\r\n\r\nOK\r\n")
		default:
			p.modem("\r\nOK\r\n")
		}
		l.drain(p.now)
		if l.m.State() == fsm.ModemServing {
			break
		}
	}
	if l.m.State() != fsm.ModemServing {
		tb.Fatalf("bring-up stuck in %v", l.m.State())
	}
	p.modem("0,CONNECT\r\n")
	return p
}

type nopPort struct{}

func (nopPort) Read([]byte) (int, error)    { select {} }
func (nopPort) Write(b []byte) (int, error) { return len(b), nil }
func (nopPort) Close() error                { return nil }

func (p *pipeline) modem(s string) {
	p.reply = append(p.reply[:0], s...)
	p.l.m.Input(p.now, p.reply)
	p.l.drain(p.now)
}

// take returns what the host writes next (valid until the next call).
func (p *pipeline) take() []byte {
	w := p.l.m.Output()
	if w == nil {
		return nil
	}
	p.out = append(p.out[:0], w...)
	p.l.m.WriteDone(p.now)
	p.l.drain(p.now)
	return p.out
}

var getFrame = func() []byte {
	req := "GET /hello HTTP/1.1\r\nHost: 192.168.1.50\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
	return []byte("\r\n+IPD,0," + strconv.Itoa(len(req)) + ",192.168.1.9,50000:" + req)
}()

var promptBytes = []byte("\r\nOK\r\n> ")

// request runs one keep-alive request through and returns the payload size.
func (p *pipeline) request() int {
	p.l.m.Input(p.now, getFrame)
	p.l.drain(p.now)
	announce := p.take()
	if announce == nil {
		panic("no AT+CIPSEND after a request")
	}
	p.l.m.Input(p.now, promptBytes)
	p.l.drain(p.now)
	n := len(p.take())
	p.reply = strconv.AppendInt(append(p.reply[:0], "\r\nRecv "...), int64(n), 10)
	p.reply = append(p.reply, " bytes\r\n\r\nSEND OK\r\n"...)
	p.l.m.Input(p.now, p.reply)
	p.l.drain(p.now)
	return n
}

func TestPipelineAnswers(t *testing.T) {
	p := newPipeline(t, true)
	p.l.m.Input(p.now, getFrame)
	p.l.drain(p.now)
	if got := string(p.take()); got != fmt.Sprintf("AT+CIPSEND=0,%d\r\n", len(p.expect(t))) {
		t.Fatalf("announce %q", got)
	}
}

func (p *pipeline) expect(t *testing.T) []byte {
	// Peek the payload by completing the exchange on a copy of the script.
	q := newPipeline(t, true)
	q.l.m.Input(q.now, getFrame)
	q.l.drain(q.now)
	q.take()
	q.l.m.Input(q.now, promptBytes)
	q.l.drain(q.now)
	b := bytes.Clone(q.take())
	if !bytes.HasSuffix(b, helloBody) || !bytes.HasPrefix(b, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("payload %q", b)
	}
	return b
}
