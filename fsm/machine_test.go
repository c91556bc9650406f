package fsm

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// testModem drives a Machine through a scripted conversation: the test
// plays the modem, time advances only when the test says so.
type testModem struct {
	t     *testing.T
	m     *Machine
	now   time.Time
	gen   Generation
	notes []Note
	// handler answers NoteRequest when set; otherwise requests queue up.
	handler func(link int, gen uint32) (Response, bool)
	pending []Note
}

func newTestModem(t *testing.T, gen Generation, cfg Config) *testModem {
	t.Helper()
	tm := &testModem{t: t, m: New(cfg), now: time.Unix(1_700_000_000, 0), gen: gen}
	tm.m.Start(tm.now)
	tm.collect()
	return tm
}

// serving runs the whole bring-up conversation of tm.gen.
func serving(t *testing.T, gen Generation, cfg Config) *testModem {
	t.Helper()
	tm := newTestModem(t, gen, cfg)
	tm.bringUp()
	if tm.m.State() != ModemServing {
		t.Fatalf("state %v after bring-up, want serving", tm.m.State())
	}
	return tm
}

func (tm *testModem) ok() string { return "\r\nOK\r\n" }

func (tm *testModem) echo(cmd string) string {
	if tm.gen == GenNonOS {
		return strings.TrimSuffix(cmd, "\r\n") + "\r\r\n"
	}
	return cmd
}

func (tm *testModem) prompt() string {
	if tm.gen == GenNonOS {
		return "\r\nOK\r\n> "
	}
	return "\r\nOK\r\n\r\n>"
}

func (tm *testModem) bringUp() {
	tm.t.Helper()
	tm.wantIdle() // listening for a booting modem first
	tm.advanceToDeadline()
	tm.wantWrite("probe", "AT\r\n")
	tm.says("AT\r\r\n" + tm.ok())
	tm.wantWrite("reset", "AT+RST\r\n")
	tm.says(tm.echo("AT+RST\r\n") + tm.ok())
	tm.wantIdle()
	tm.says("\x8f\x12\xfe\r\n\xe0\x81ets Jan\r\n\r\nready\r\n")
	tm.advance(100 * time.Millisecond)
	tm.wantWrite("echo off", "ATE0\r\n")
	tm.says(tm.echo("ATE0\r\n") + tm.ok())
	tm.wantWrite("version", "AT+GMR\r\n")
	if tm.gen == GenNonOS {
		tm.says("AT version:1.7.4.0(May 11 2020 19:13:04)\r\nSDK version:3.0.4(9532ceb)\r\ncompile time:May 11 2020 19:13:50\r\n" + tm.ok())
	} else {
		tm.says("AT version:2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\nSDK version:v3.4-22-g967752e2\r\ncompile time(6800286):Aug  4 2021 17:20:05\r\nBin version:2.2.0(ESP8266_1MB)\r\n" + tm.ok())
	}
	if cfg := tm.m.Config(); cfg.SSID != "" {
		if tm.gen == GenNonOS {
			tm.wantWrite("mode", "AT+CWMODE_CUR=1\r\n")
		} else {
			tm.wantWrite("mode", "AT+CWMODE=1\r\n")
		}
		tm.says(tm.ok())
		tm.wantWritePrefix("join", "AT+CWJAP")
		tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n" + tm.ok())
	}
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:STAIP,\"192.168.1.50\"\r\n+CIFSR:STAMAC,\"5c:cf:7f:01:02:03\"\r\n" + tm.ok())
	tm.wantWrite("mux", "AT+CIPMUX=1\r\n")
	tm.says(tm.ok())
	tm.wantWrite("max conn", "AT+CIPSERVERMAXCONN=5\r\n")
	tm.says(tm.ok())
	tm.wantWrite("server", fmt.Sprintf("AT+CIPSERVER=1,%d\r\n", tm.m.Config().ServerPort))
	tm.says(tm.ok())
	tm.wantWritePrefix("server timeout", "AT+CIPSTO=")
	tm.says(tm.ok())
	tm.wantWrite("dinfo", "AT+CIPDINFO=1\r\n")
	tm.says(tm.ok())
	tm.wantIdle()
}

// collect takes the machine's notes and answers requests with the handler.
func (tm *testModem) collect() {
	for {
		n, ok := tm.m.PopNote()
		if !ok {
			return
		}
		tm.notes = append(tm.notes, n)
		if n.Kind == NoteRequest {
			if tm.m.LinkGen(n.Link) != n.Gen || tm.m.LinkState(n.Link) != LinkHandling {
				continue // the link closed in the same input: as the loop does
			}
			if tm.handler != nil {
				if r, ok := tm.handler(n.Link, n.Gen); ok {
					if err := tm.m.Respond(tm.now, n.Link, n.Gen, r); err != nil {
						tm.t.Fatalf("Respond: %v", err)
					}
					continue
				}
			}
			tm.pending = append(tm.pending, n)
		}
	}
}

// says feeds modem output.
func (tm *testModem) says(s string) {
	tm.t.Helper()
	tm.m.Input(tm.now, []byte(s))
	tm.collect()
}

// write takes the machine's next output, or nil.
func (tm *testModem) write() []byte {
	out := tm.m.Output()
	if out == nil {
		return nil
	}
	b := bytes.Clone(out)
	tm.m.WriteDone(tm.now)
	tm.collect()
	return b
}

func (tm *testModem) wantWrite(what, want string) {
	tm.t.Helper()
	got := tm.write()
	if string(got) != want {
		tm.t.Fatalf("%s: host wrote %q, want %q", what, got, want)
	}
}

func (tm *testModem) wantWritePrefix(what, prefix string) string {
	tm.t.Helper()
	got := tm.write()
	if !bytes.HasPrefix(got, []byte(prefix)) {
		tm.t.Fatalf("%s: host wrote %q, want prefix %q", what, got, prefix)
	}
	return string(got)
}

func (tm *testModem) wantIdle() {
	tm.t.Helper()
	if got := tm.write(); got != nil {
		tm.t.Fatalf("host wrote %q, want nothing", got)
	}
}

// advance moves the clock and runs what is due.
func (tm *testModem) advance(d time.Duration) {
	tm.now = tm.now.Add(d)
	tm.m.Tick(tm.now)
	tm.collect()
}

// advanceToDeadline jumps to the machine's next deadline.
func (tm *testModem) advanceToDeadline() {
	tm.t.Helper()
	d := tm.m.NextDeadline()
	if d.IsZero() {
		tm.t.Fatal("no deadline pending")
	}
	tm.advance(d.Sub(tm.now))
}

func (tm *testModem) lastNote(k NoteKind) (Note, bool) {
	for i := len(tm.notes) - 1; i >= 0; i-- {
		if tm.notes[i].Kind == k {
			return tm.notes[i], true
		}
	}
	return Note{}, false
}

func (tm *testModem) count(k NoteKind) int {
	c := 0
	for _, n := range tm.notes {
		if n.Kind == k {
			c++
		}
	}
	return c
}

// sendChunk plays the modem through one AT+CIPSEND and returns the payload.
func (tm *testModem) sendChunk(link int) string {
	tm.t.Helper()
	line := tm.wantWritePrefix("announce", fmt.Sprintf("AT+CIPSEND=%d,", link))
	var n int
	if _, err := fmt.Sscanf(line, fmt.Sprintf("AT+CIPSEND=%d,%%d\r\n", link), &n); err != nil {
		tm.t.Fatalf("bad CIPSEND line %q", line)
	}
	if n <= 0 || n > MaxSend {
		tm.t.Fatalf("announced %d bytes", n)
	}
	tm.says(tm.prompt())
	payload := tm.write()
	if len(payload) != n {
		tm.t.Fatalf("invariant 2: announced %d bytes, wrote %d", n, len(payload))
	}
	tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", n))
	return string(payload)
}

// closeLink plays the modem through AT+CIPCLOSE.
func (tm *testModem) closeLink(link int) {
	tm.t.Helper()
	tm.wantWrite("close", fmt.Sprintf("AT+CIPCLOSE=%d\r\n", link))
	tm.says(fmt.Sprintf("%d,CLOSED\r\n", link) + tm.ok())
	if s := tm.m.LinkState(link); s != LinkFree {
		tm.t.Fatalf("link %d is %v after close, want free", link, s)
	}
}

// lingerThenClose waits out the linger after a closing response (the
// client stays) and plays the modem through AT+CIPCLOSE.
func (tm *testModem) lingerThenClose(link int) {
	tm.t.Helper()
	tm.wantIdle() // the client usually closes first: give it the chance
	tm.advanceToDeadline()
	tm.closeLink(link)
}

func ipd(link int, data string) string {
	return fmt.Sprintf("\r\n+IPD,%d,%d,192.168.1.9,%d:%s", link, len(data), 50000+link, data) // a client per link
}

func text(body string) func(int, uint32) (Response, bool) {
	return func(int, uint32) (Response, bool) {
		return Response{Status: 200, Header: []byte("Content-Type: text/plain\r\n"), Body: []byte(body)}, true
	}
}

var gens = []Generation{GenNonOS, GenESPAT}

func TestBringUp(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := serving(t, g, Config{})
			if tm.m.Generation() != g {
				t.Fatalf("generation %v, want %v", tm.m.Generation(), g)
			}
			if tm.m.Address() != "192.168.1.50" {
				t.Fatalf("address %q", tm.m.Address())
			}
			n, ok := tm.lastNote(NoteServing)
			if !ok || string(n.Text) != "192.168.1.50" {
				t.Fatalf("serving note %+v", n)
			}
		})
	}
}

func TestBringUpJoinsWithEscapedCredentials(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{SSID: `ab,c`, Password: `0123456789"\`})
	tm.bootToVersion()
	tm.wantWrite("mode", "AT+CWMODE_CUR=1\r\n")
	tm.says("\r\nOK\r\n")
	tm.wantWrite("join", `AT+CWJAP_CUR="ab\,c","0123456789\"\\"`+"\r\n")
	tm.says("+CWJAP:2\r\n\r\nFAIL\r\n")
	if n, ok := tm.lastNote(NoteJoinFailed); !ok || n.Status != 2 {
		t.Fatalf("join failure note %+v", n)
	}
	tm.wantIdle()
	tm.advanceToDeadline()
	tm.wantWritePrefix("join again", "AT+CWJAP_CUR=")
	tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	tm.wantWrite("address", "AT+CIFSR\r\n")
}

func TestSyncThroughSilenceAndGarbage(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{})
	tm.advanceToDeadline()
	tm.wantWrite("probe", "AT\r\n")
	// The modem says nothing. Probes repeat; after three silent ones the
	// host completes a possibly pending payload with filler, then probes.
	var got []byte
	for probes := 1; ; probes++ {
		tm.advanceToDeadline() // the probe times out
		tm.advanceToDeadline() // the pause before the next
		got = tm.write()
		if string(got) != "AT\r\n" {
			if probes != 3 {
				t.Fatalf("filler after %d probes, want 3", probes)
			}
			break
		}
	}
	if tm.m.State() != ModemSyncing {
		t.Fatalf("state %v", tm.m.State())
	}
	if len(got) != MaxSend || bytes.ContainsAny(got, "\r\n") {
		t.Fatalf("want %d bytes of filler without a line end, got %d bytes %q", MaxSend, len(got), got[:min(len(got), 20)])
	}
	tm.wantWrite("probe after filler", "AT\r\n")
	tm.says("\xff\xfe\r\nERROR\r\n")
	tm.advanceToDeadline()
	tm.wantWrite("probe", "AT\r\n")
	tm.says("\r\nOK\r\n")
	tm.wantWrite("reset", "AT+RST\r\n")
}

func TestRequestResponseClose(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := serving(t, g, Config{})
			tm.handler = text("hello\n")
			tm.says("0,CONNECT\r\n" + ipd(0, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
			payload := tm.sendChunk(0)
			if !strings.HasPrefix(payload, "HTTP/1.1 200 OK\r\nDate: ") ||
				!strings.Contains(payload, "\r\nContent-Length: 6\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nhello\n") {
				t.Fatalf("response %q", payload)
			}
			tm.lingerThenClose(0)
			if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedByServer {
				t.Fatalf("close reason %v", n.Reason)
			}
		})
	}
}

// After a Connection: close response the client closes first, and a new
// client given the same id at once is not cut by a stale AT+CIPCLOSE.
func TestClientClosesFirstNoStaleClose(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := serving(t, g, Config{})
			tm.handler = text("bye")
			tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
			tm.sendChunk(0)
			tm.wantIdle()
			tm.says("0,CLOSED\r\n0,CONNECT\r\n" + ipd(0, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"))
			if p := tm.sendChunk(0); !strings.HasSuffix(p, "\r\n\r\nbye") {
				t.Fatalf("the new client on link 0 got %q", p)
			}
			for _, n := range tm.notes {
				if n.Kind == NoteCommand && n.Cmd == CmdClose {
					t.Fatal("AT+CIPCLOSE was sent although the client closed first")
				}
			}
			tm.advance(5 * time.Second) // the new link's own idle deadline
			tm.closeLink(0)
		})
	}
}

func TestKeepAlivePipelining(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	i := 0
	tm.handler = func(int, uint32) (Response, bool) {
		i++
		return Response{Status: 200, Body: []byte(fmt.Sprintf("r%d", i))}, true
	}
	req := "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	tm.says("0,CONNECT\r\n" + ipd(0, req+req+req))
	for want := 1; want <= 3; want++ {
		p := tm.sendChunk(0)
		if !strings.HasSuffix(p, fmt.Sprintf("\r\n\r\nr%d", want)) || strings.Contains(p, "Connection: close") {
			t.Fatalf("response %d: %q", want, p)
		}
	}
	tm.wantIdle()
	if tm.m.LinkState(0) != LinkReceiving {
		t.Fatalf("link state %v", tm.m.LinkState(0))
	}
	// Idle keep-alive link: closed at the idle deadline.
	tm.advanceToDeadline()
	tm.closeLink(0)
	if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedIdle {
		t.Fatalf("close reason %v", n.Reason)
	}
}

func TestRoundRobinChunks(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	big := map[int][]byte{0: bytes.Repeat([]byte("a"), 5000), 1: bytes.Repeat([]byte("b"), 5000)}
	tm.handler = func(link int, _ uint32) (Response, bool) { return Response{Status: 200, Body: big[link]}, true }
	// Both requests arrive before the first chunk goes out.
	tm.m.Input(tm.now, []byte("0,CONNECT\r\n1,CONNECT\r\n"+ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")+ipd(1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")))
	tm.collect()
	var order []int
	got := map[int]string{}
	for len(order) < 10 {
		line := tm.write()
		if line == nil {
			break
		}
		var link, n int
		fmt.Sscanf(string(line), "AT+CIPSEND=%d,%d", &link, &n)
		order = append(order, link)
		got[link] += tm.sendChunkAnnounced(n)
	}
	want := []int{0, 1, 0, 1, 0, 1}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("chunk order %v, want %v", order, want)
	}
	for link, body := range big {
		_, b, _ := strings.Cut(got[link], "\r\n\r\n")
		if b != string(body) {
			t.Fatalf("link %d body: %d bytes, want %d", link, len(b), len(body))
		}
	}
}

// sendChunkAnnounced completes a send whose CIPSEND line was written.
func (tm *testModem) sendChunkAnnounced(n int) string {
	tm.t.Helper()
	tm.says(tm.prompt())
	p := tm.write()
	if len(p) != n {
		tm.t.Fatalf("invariant 2: announced %d, wrote %d", n, len(p))
	}
	tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", n))
	return string(p)
}

// Invariant 1: a link that changes hands between the announcement and the
// prompt never receives the old client's bytes.
func TestLinkReusedBeforePromptGetsFiller(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("secret of client A")
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
	var n int
	fmt.Sscanf(line, "AT+CIPSEND=0,%d", &n)
	// Client A leaves and client B takes link 0 before the prompt.
	tm.says("0,CLOSED\r\n0,CONNECT\r\n" + tm.prompt())
	p := tm.write()
	if len(p) != n {
		t.Fatalf("invariant 2: announced %d, wrote %d", n, len(p))
	}
	if bytes.Contains(p, []byte("secret")) || strings.Trim(string(p), " ") != "" {
		t.Fatalf("invariant 1: the new client was sent %q", p)
	}
	tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", n))
	tm.closeLink(0)
}

func TestBusyRetriesSameCommand(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("ok")
	tm.says("2,CONNECT\r\n" + ipd(2, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	first := tm.wantWritePrefix("announce", "AT+CIPSEND=2,")
	tm.says("\r\nbusy s...\r\n")
	tm.wantIdle()
	tm.advanceToDeadline()
	tm.wantWrite("retry", first)
	tm.says("\r\nbusy p...\r\n")
	tm.advanceToDeadline()
	tm.wantWrite("retry again", first)
	tm.says(tm.prompt())
	if p := tm.write(); !bytes.HasSuffix(p, []byte("\r\n\r\nok")) {
		t.Fatalf("payload %q", p)
	}
}

// A send refused as busy is not tried again once its link has closed:
// the id is free, or soon another client's.
func TestBusySendDroppedWhenLinkCloses(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("ok")
	tm.says("2,CONNECT\r\n" + ipd(2, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.wantWritePrefix("announce", "AT+CIPSEND=2,")
	tm.says("\r\nbusy p...\r\n2,CLOSED\r\n")
	if s := tm.m.LinkState(2); s != LinkFree {
		t.Fatalf("link 2 is %v", s)
	}
	tm.advanceToDeadline()
	if w := tm.write(); len(w) > 0 {
		t.Fatalf("after the close the host wrote %q", w)
	}
	// The next client on the id is served from scratch.
	tm.says("2,CONNECT\r\n" + ipd(2, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if p := tm.sendChunk(2); !strings.HasSuffix(p, "\r\n\r\nok") {
		t.Fatalf("payload %q", p)
	}
}

func TestBootingModemIsConfiguredWithoutReset(t *testing.T) {
	tm := newTestModem(t, GenNonOS, Config{})
	tm.wantIdle()
	tm.advance(300 * time.Millisecond)
	tm.says("\xe0\x81\x13ets Jan  8 2013,rst cause:2\r\n\r\nready\r\n")
	tm.wantIdle()
	tm.advanceToDeadline()
	tm.wantWrite("echo off", "ATE0\r\n")
	if tm.count(NoteModemReset) != 0 {
		t.Fatal("a boot at start is not a reset")
	}
}

// The modem's answer can reach the loop before the writer pump reports the
// payload written; it still completes the send.
func TestSendOKBeforeWriteDone(t *testing.T) {
	tm := serving(t, GenESPAT, Config{})
	tm.handler = text("quick")
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
	tm.says(tm.prompt())
	p := tm.m.Output() // being written...
	tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", len(p)))
	tm.m.WriteDone(tm.now) // ...and only now reported
	tm.collect()
	if _, ok := tm.lastNote(NoteResponseDone); !ok {
		t.Fatal("SEND OK before WriteDone was dropped")
	}
	if tm.m.Slot() != SlotIdle {
		t.Fatalf("slot %v", tm.m.Slot())
	}
}

func TestSendFailClosesOnlyThatLink(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("x")
	tm.says("0,CONNECT\r\n1,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
	var n int
	fmt.Sscanf(line, "AT+CIPSEND=0,%d", &n)
	tm.says(tm.prompt())
	tm.write()
	tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n0,CLOSED\r\nSEND FAIL\r\n", n))
	if tm.m.LinkState(0) != LinkFree || tm.m.LinkState(1) != LinkReceiving {
		t.Fatalf("links %v %v", tm.m.LinkState(0), tm.m.LinkState(1))
	}
	// A late SEND OK for the failed send is not taken for the next one.
	tm.says("\r\nSEND OK\r\n" + ipd(1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if p := tm.sendChunk(1); !strings.HasSuffix(p, "\r\n\r\nx") {
		t.Fatalf("link 1 got %q", p)
	}
}

// The '>' is lost after the OK: the modem collects the payload, and the
// chunk itself goes, since no line in it could run as a command. The
// response completes and the link stays.
func TestLostPromptSendsTheChunk(t *testing.T) {
	for _, gen := range gens {
		tm := serving(t, gen, Config{})
		tm.handler = text("body")
		tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
		var n int
		fmt.Sscanf(line, "AT+CIPSEND=0,%d", &n)
		tm.says("\r\nOK\r\n") // the '>' is lost on the line
		tm.advanceToDeadline()
		p := tm.write()
		if len(p) != n || !strings.HasSuffix(string(p), "\r\n\r\nbody") {
			t.Fatalf("%v: want the %d-byte chunk, got %q", gen, n, p)
		}
		tm.wantIdle() // nothing until the modem has answered
		tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", n))
		if _, ok := tm.lastNote(NoteResponseDone); !ok || tm.m.LinkState(0) != LinkReceiving {
			t.Fatalf("%v: response not done (link %v)", gen, tm.m.LinkState(0))
		}
		tm.wantIdle()
	}
}

// A chunk with a line that begins with "AT" is never written without a
// prompt: filler goes in its place and the link is given up. A modem that
// collected it answers Recv and a result; one that did not gets a probe
// only after a command timeout, to take the ERROR the spaces make.
func TestLostPromptUnsafeChunkGetsFiller(t *testing.T) {
	for _, collecting := range []bool{true, false} {
		tm := serving(t, GenNonOS, Config{})
		tm.handler = text("x\r\nAT+RST\r\n")
		tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
		var n int
		fmt.Sscanf(line, "AT+CIPSEND=0,%d", &n)
		tm.says("\r\nOK\r\n")
		tm.advanceToDeadline()
		p := tm.write()
		if len(p) != n || strings.Trim(string(p), " ") != "" {
			t.Fatalf("want %d filler bytes, got %q", n, p)
		}
		tm.wantIdle()
		if collecting {
			tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", n))
		} else {
			tm.advanceToDeadline()
			tm.wantWrite("resync probe", "AT\r\n")
			tm.says("\r\nERROR\r\n") // the spaces made the line garbage
		}
		if _, ok := tm.lastNote(NoteResponseDone); ok {
			t.Fatal("a response completed with filler")
		}
		tm.closeLink(0)
		if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedSendFailed {
			t.Fatalf("reason %v", n.Reason)
		}
	}
}

func TestInert(t *testing.T) {
	for _, c := range []struct {
		b    string
		want bool
	}{
		{"", true}, {"A", true}, {"HTTP/1.1 200 OK\r\n", true}, {"x\nAB\nat", false},
		{"AT", false}, {"at+rst", false}, {"x\r\nAT+RST\r\n", false}, {"x AT+RST\r\n", true}, {"\nA", true},
	} {
		if got := inert([]byte(c.b)); got != c.want {
			t.Errorf("inert(%q) = %v, want %v", c.b, got, c.want)
		}
	}
}

// A "Recv" garbled on the line, then SEND OK: the modem had the whole
// payload, so no filler follows (it would reach the modem as a command
// line); the link closes, as delivery is not known.
func TestGarbledRecvNoFiller(t *testing.T) {
	for _, gen := range gens {
		tm := serving(t, gen, Config{})
		tm.handler = text("body")
		tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		tm.sendChunk(0) // the machine learns that this modem says "Recv"
		tm.says(ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
		var n int
		fmt.Sscanf(line, "AT+CIPSEND=0,%d", &n)
		tm.says(tm.prompt())
		if p := tm.write(); len(p) != n {
			t.Fatalf("payload %d bytes, announced %d", len(p), n)
		}
		tm.says(fmt.Sprintf("\r\nRec~ %d bytes\r\n\r\nSEND OK\r\n", n))
		tm.advanceToDeadline()
		tm.closeLink(0)
		if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedSendFailed {
			t.Fatalf("%v: reason %v", gen, n.Reason)
		}
		tm.wantIdle()
	}
}

func TestUnexpectedReadyFailsLinksAndReconfigures(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.says("0,CONNECT\r\n3,CONNECT\r\n" + ipd(3, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.says("\x00\xfe\xa1\r\nready\r\n")
	for _, l := range []int{0, 3} {
		if tm.m.LinkState(l) != LinkFree {
			t.Fatalf("link %d %v after reset", l, tm.m.LinkState(l))
		}
	}
	if tm.count(NoteModemReset) != 1 {
		t.Fatalf("reset notes %d", tm.count(NoteModemReset))
	}
	// The handler's late answer for the dead request is refused.
	if err := tm.m.Respond(tm.now, 3, tm.pending[0].Gen, Response{Status: 200}); err != ErrStale {
		t.Fatalf("Respond after reset: %v", err)
	}
	tm.advanceToDeadline()
	tm.wantWrite("echo off again", "ATE0\r\n")
}

func TestHeaderTimeout408(t *testing.T) {
	tm := serving(t, GenNonOS, Config{HeaderTimeout: 3 * time.Second})
	tm.says("1,CONNECT\r\n" + ipd(1, "GET / HT"))
	tm.advance(2 * time.Second)
	tm.says(ipd(1, "T"))
	tm.advanceToDeadline()
	p := tm.sendChunk(1)
	if !strings.HasPrefix(p, "HTTP/1.1 408 Request Timeout\r\n") || !strings.Contains(p, "Connection: close") {
		t.Fatalf("got %q", p)
	}
	tm.lingerThenClose(1)
	if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedTimeout {
		t.Fatalf("reason %v", n.Reason)
	}
}

func TestBadRequest400Closes(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"))
	p := tm.sendChunk(0)
	if !strings.HasPrefix(p, "HTTP/1.1 400 Bad Request\r\n") {
		t.Fatalf("got %q", p)
	}
	tm.lingerThenClose(0)
}

func TestEvictOldestIdleWhenAllLinksTaken(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("k")
	for i := 0; i < 4; i++ {
		tm.says(fmt.Sprintf("%d,CONNECT\r\n", i))
		tm.advance(10 * time.Millisecond)
	}
	// Links 1 and 2 served a request and wait as keep-alive links; link 3
	// is a fresh connection, link 0 is mid-request.
	for _, l := range []int{2, 1} {
		tm.says(ipd(l, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		tm.sendChunk(l)
		tm.advance(10 * time.Millisecond)
	}
	tm.says(ipd(0, "GET / HT"))
	tm.says("4,CONNECT\r\n")
	tm.closeLink(2) // the keep-alive link idle longest
	if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedEvicted {
		t.Fatalf("reason %v", n.Reason)
	}
}

func TestLostConnectIsImplied(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("y")
	tm.says(ipd(2, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if p := tm.sendChunk(2); !strings.HasSuffix(p, "\r\n\r\ny") {
		t.Fatalf("got %q", p)
	}
	ip, port := tm.m.Remote(2)
	if string(ip) != "192.168.1.9" || port != 50002 {
		t.Fatalf("remote %s:%d", ip, port)
	}
}

func TestExpectContinue(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = func(link int, _ uint32) (Response, bool) {
		return Response{Status: 200, Body: bytes.Clone(tm.m.Body(link))}, true
	}
	tm.says("0,CONNECT\r\n" + ipd(0, "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"))
	if p := tm.sendChunk(0); p != "HTTP/1.1 100 Continue\r\n\r\n" {
		t.Fatalf("interim %q", p)
	}
	tm.says(ipd(0, "data"))
	if p := tm.sendChunk(0); !strings.HasSuffix(p, "\r\n\r\ndata") {
		t.Fatalf("final %q", p)
	}
}

func TestChunkedStream(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	body := strings.Repeat("0123456789", 300)
	tm.handler = func(int, uint32) (Response, bool) {
		return Response{Status: 200, Stream: strings.NewReader(body), Length: -1}, true
	}
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	all := tm.sendChunk(0) + tm.sendChunk(0)
	head, rest, _ := strings.Cut(all, "\r\n\r\n")
	if !strings.Contains(head, "Transfer-Encoding: chunked") {
		t.Fatalf("head %q", head)
	}
	var got strings.Builder
	for {
		var size int
		line, after, _ := strings.Cut(rest, "\r\n")
		fmt.Sscanf(line, "%x", &size)
		if size == 0 {
			if after != "\r\n" {
				t.Fatalf("trailer %q", after)
			}
			break
		}
		got.WriteString(after[:size])
		rest = after[size+2:]
	}
	if got.String() != body {
		t.Fatalf("de-chunked %d bytes, want %d", got.Len(), len(body))
	}
}

func TestShutdownClosesIdleAndFinishesBusy(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.says("0,CONNECT\r\n1,CONNECT\r\n" + ipd(1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.m.Shutdown(tm.now)
	tm.closeLink(0)
	if tm.m.Done() {
		t.Fatal("done with a request in flight")
	}
	if err := tm.m.Respond(tm.now, 1, tm.pending[0].Gen, Response{Status: 200, Body: []byte("z")}); err != nil {
		t.Fatal(err)
	}
	if p := tm.sendChunk(1); !strings.Contains(p, "Connection: close") {
		t.Fatalf("got %q", p)
	}
	tm.lingerThenClose(1)
	if !tm.m.Done() {
		t.Fatal("not done after every link closed")
	}
}

// trickle is a stream whose data arrives later: Read says (0, nil) when
// nothing is ready, io.EOF once closed.
type trickle struct {
	buf    bytes.Buffer
	closed bool
}

func (s *trickle) Read(p []byte) (int, error) {
	if s.buf.Len() == 0 {
		if s.closed {
			return 0, io.EOF
		}
		return 0, nil
	}
	return s.buf.Read(p)
}

func TestStarvedStreamWaitsForWake(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	st := &trickle{}
	tm.handler = func(int, uint32) (Response, bool) {
		return Response{Status: 200, Stream: st, Length: -1}, true
	}
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	head := tm.sendChunk(0) // the head goes out at once
	if !strings.HasSuffix(head, "Transfer-Encoding: chunked\r\n\r\n") {
		t.Fatalf("head %q", head)
	}
	tm.wantIdle() // nothing ready: no empty AT+CIPSEND, no polling
	if d := tm.m.NextDeadline(); d.Before(tm.now.Add(tm.m.Config().Heartbeat)) {
		t.Fatalf("a starved link set a deadline %v before the heartbeat", d.Sub(tm.now))
	}
	st.buf.WriteString("part one;")
	gen := tm.m.LinkGen(0)
	tm.m.Wake(tm.now, 0, gen)
	if p := tm.sendChunk(0); p != "009\r\npart one;\r\n" {
		t.Fatalf("chunk %q", p)
	}
	tm.wantIdle()
	st.closed = true
	tm.m.Wake(tm.now, 0, gen)
	if p := tm.sendChunk(0); p != "0\r\n\r\n" {
		t.Fatalf("last chunk %q", p)
	}
	if _, ok := tm.lastNote(NoteResponseDone); !ok {
		t.Fatal("response not done")
	}
	tm.m.Wake(tm.now, 0, gen+7) // a stale wake is ignored
	tm.wantIdle()
}

// A pipelining flood beyond what a busy link can hold: the requests held
// in full are answered in order, the last one before the cut gets 503 with
// Retry-After, and the link closes (the client retries the rest).
func TestPipeliningFlood503(t *testing.T) {
	tm := serving(t, GenNonOS, Config{StashBytes: 100})
	n := 0
	tm.handler = func(int, uint32) (Response, bool) {
		n++
		return Response{Status: 200, Body: []byte(fmt.Sprintf("r%d", n))}, true
	}
	req := "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"                                            // 29 bytes
	tm.says("0,CONNECT\r\n" + ipd(0, req))                                                 // being handled
	tm.says(ipd(0, strings.Repeat(req, 5)))                                                // 145 bytes: 100 held
	if p := tm.sendChunk(0); !strings.HasSuffix(p, "r1") || strings.Contains(p, "close") { // the first, kept alive
		t.Fatalf("first: %q", p)
	}
	for i := 2; i <= 3; i++ {
		if p := tm.sendChunk(0); !strings.HasSuffix(p, fmt.Sprintf("r%d", i)) {
			t.Fatalf("response %d: %q", i, p)
		}
	}
	p := tm.sendChunk(0) // the 4th held request, the last before the cut
	if !strings.HasPrefix(p, "HTTP/1.1 503 Service Unavailable\r\n") || !strings.Contains(p, "Retry-After: 1\r\n") || !strings.Contains(p, "Connection: close") {
		t.Fatalf("want 503 with Retry-After, got %q", p)
	}
	tm.lingerThenClose(0)
	if r, _ := tm.lastNote(NoteLinkClosed); r.Reason != ClosedOverrun {
		t.Fatalf("reason %v", r.Reason)
	}
	if n != 3 {
		t.Fatalf("handler ran %d times, want 3", n)
	}
}

// A frame whose link id was garbled on the line carries its client's
// address (CIPDINFO): it goes to the link that has that address.
func TestGarbledLinkIDGoesToTheAddressOwner(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("z")
	tm.says("1,CONNECT\r\n3,CONNECT\r\n")
	for _, l := range []int{1, 3} {
		tm.says(ipd(l, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		tm.sendChunk(l)
	}
	// Link 1's next request, with its id garbled to 3.
	req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	tm.says(fmt.Sprintf("\r\n+IPD,3,%d,192.168.1.9,50001:%s", len(req), req))
	tm.sendChunk(1)
	tm.wantIdle()
}

// A frame for a link whose client has another address, and no link has
// its own, is dropped: it reaches no client's request stream.
func TestFrameWithAStrangersAddressIsDropped(t *testing.T) {
	tm := serving(t, GenESPAT, Config{})
	tm.handler = text("z")
	tm.says("3,CONNECT\r\n" + ipd(3, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.sendChunk(3)
	req := "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
	tm.says(fmt.Sprintf("\r\n+IPD,3,%d,\"192.168.1.9\",50009:%s", len(req), req))
	tm.wantIdle()
	tm.says(ipd(3, req)) // link 3's own request is served
	tm.sendChunk(3)
}

// An +IPD length garbled upwards makes the scanner swallow what follows:
// here a new client's connect notice and request. When the bytes stop,
// the machine resyncs and takes every link it thought free as open, so the
// swallowed client is closed by the idle deadline instead of waiting
// forever, and links the modem does not have are closed harmlessly.
func TestGarbledLengthStallResyncs(t *testing.T) {
	tm := serving(t, GenNonOS, Config{IdleTimeout: time.Second})
	req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	// Link 0's request, with 900 too many in its length: the rest lands in
	// link 0's input (no handler answers it here).
	tm.says("0,CONNECT\r\n" + fmt.Sprintf("\r\n+IPD,0,%d,192.168.1.9,50000:%s", len(req)+900, req) + "1,CONNECT\r\n" + ipd(1, req))
	tm.wantIdle()
	tm.advanceToDeadline() // the stall
	for i := 1; i < MaxLinks; i++ {
		if s := tm.m.LinkState(i); s != LinkReceiving {
			t.Fatalf("link %d is %v after the resync, want receiving", i, s)
		}
	}
	tm.handler = text("z")
	tm.says(ipd(2, req)) // the scanner reads frames again
	tm.sendChunk(2)
	tm.advance(time.Second) // the idle deadlines
	for _, l := range []int{1, 2, 3, 4} {
		tm.wantWrite("close", fmt.Sprintf("AT+CIPCLOSE=%d\r\n", l))
		if l <= 2 {
			tm.says(fmt.Sprintf("%d,CLOSED\r\n", l) + tm.ok()) // the swallowed client, the served one
		} else {
			tm.says("UNLINK\r\n\r\nERROR\r\n") // no such link
		}
		if s := tm.m.LinkState(l); s != LinkFree {
			t.Fatalf("link %d is %v", l, s)
		}
	}
}

// A line the scanner cannot place right after a payload shows that the
// payload's length was garbled: the machine resyncs at once.
func TestNoiseAfterPayloadResyncs(t *testing.T) {
	tm := serving(t, GenESPAT, Config{})
	tm.says("0,CONNECT\r\n\r\n+IPD,0,10,\"192.168.1.9\",50000:GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	for i := 1; i < MaxLinks; i++ {
		if s := tm.m.LinkState(i); s != LinkReceiving {
			t.Fatalf("link %d is %v after noise, want receiving", i, s)
		}
	}
}

// A reset whose "ready" is lost on the line: the modem echoes the next
// command (echo is on again after a boot), and the machine takes that for
// the reboot it is and configures the modem again.
func TestEchoRevealsAnUnseenReset(t *testing.T) {
	for _, gen := range gens {
		tm := serving(t, gen, Config{IdleTimeout: time.Minute})
		tm.says("0,CONNECT\r\n")
		tm.advance(tm.m.Config().Heartbeat) // idle: the heartbeat probe
		tm.wantWrite("heartbeat", "AT\r\n")
		tm.says(tm.echo("AT\r\n") + tm.ok())
		if tm.m.State() == ModemServing || tm.m.LinkState(0) != LinkFree {
			t.Fatalf("%v: state %v, link 0 %v after the echo", gen, tm.m.State(), tm.m.LinkState(0))
		}
		if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedReset {
			t.Fatalf("%v: link closed for %v", gen, n.Reason)
		}
		tm.advance(100 * time.Millisecond)
		tm.wantWrite("echo off", "ATE0\r\n")
	}
}

// An idle modem is probed once per heartbeat, and not more often.
func TestHeartbeat(t *testing.T) {
	tm := serving(t, GenESPAT, Config{Heartbeat: 3 * time.Second})
	tm.advance(2 * time.Second)
	tm.wantIdle()
	tm.advance(time.Second)
	tm.wantWrite("heartbeat", "AT\r\n")
	tm.says(tm.ok())
	tm.advance(2900 * time.Millisecond)
	tm.wantIdle()
	if tm.m.State() != ModemServing {
		t.Fatalf("state %v", tm.m.State())
	}
}

// No chunk reads as a command line: a chunk that would begin with "AT" and
// end with CR LF leaves its last byte to the next one. The client gets the
// body unchanged.
func TestNoChunkReadsAsACommand(t *testing.T) {
	for _, stream := range []bool{false, true} {
		tm := serving(t, GenNonOS, Config{})
		var body []byte
		tm.handler = func(int, uint32) (Response, bool) {
			r := Response{Status: 200, Body: body}
			if stream {
				r = Response{Status: 200, Stream: bytes.NewReader(body), Length: int64(len(body))}
			}
			return r, true
		}
		tm.says("0,CONNECT\r\n")
		// The first request's response tells the head's length.
		body = []byte("x")
		tm.says(ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		head := len(tm.sendChunk(0)) - 1 + 3 // Content-Length: 4 digits, not 1
		body = append(bytes.Repeat([]byte{'.'}, MaxSend-head), bytes.Repeat([]byte("AT+RST\r\n"), MaxSend/8+1)...)
		tm.says(ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		var got []byte
		for {
			p := tm.sendChunk(0)
			if commandLike([]byte(p)) {
				t.Fatalf("stream %v: chunk %q... reads as a command", stream, p[:min(len(p), 20)])
			}
			got = append(got, p...)
			if _, ok := tm.lastNote(NoteResponseDone); ok && tm.count(NoteResponseDone) == 2 {
				break
			}
		}
		if !bytes.HasSuffix(got, body) || len(got) != head+len(body) {
			t.Fatalf("stream %v: the client got %d bytes, want %d ending with the body", stream, len(got), head+len(body))
		}
	}
}

// A reboot whose "ready" was lost during bring-up leaves a serving modem
// with echo on. The first send is echoed: its prompt still gets its
// payload (the modem collects it), and only then is the modem configured
// again.
func TestEchoedSendCompletesBeforeReconfiguring(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("hi")
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
	tm.says(tm.echo(line) + tm.prompt())
	p := tm.write()
	if !strings.HasSuffix(string(p), "\r\n\r\nhi") {
		t.Fatalf("payload %q", p)
	}
	tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", len(p)))
	if tm.m.State() == ModemServing || tm.m.LinkState(0) != LinkFree {
		t.Fatalf("state %v, link %v: want the modem configured again", tm.m.State(), tm.m.LinkState(0))
	}
	tm.advance(100 * time.Millisecond)
	tm.wantWrite("echo off", "ATE0\r\n")
}

// Waiting for an address after a reboot, the machine asks again as soon
// as the modem says it has one, not at its next poll.
func TestGotIPEndsTheAddressWait(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.says("\r\nready\r\n") // an unexpected reboot
	tm.advance(100 * time.Millisecond)
	tm.wantWrite("echo off", "ATE0\r\n")
	tm.says(tm.ok())
	tm.wantWrite("version", "AT+GMR\r\n")
	tm.says("AT version:1.7.4.0(May 11 2020 19:13:04)\r\n" + tm.ok())
	tm.wantWrite("address", "AT+CIFSR\r\n")
	tm.says("+CIFSR:STAIP,\"0.0.0.0\"\r\n" + tm.ok())
	tm.advance(10 * time.Millisecond)
	tm.wantIdle()
	tm.says("WIFI CONNECTED\r\nWIFI GOT IP\r\n")
	tm.wantWrite("address at once", "AT+CIFSR\r\n")
}

// No answer at all to AT+CIPSEND (lost, or late): the modem may be
// collecting, so the chunk itself goes when no line in it can run as a
// command. Taken as payload, the client gets its own bytes and the
// response goes on; not taken, a probe clears the modem's line buffer and
// the link is given up.
func TestLostSendAnswerSendsTheChunk(t *testing.T) {
	for _, collecting := range []bool{true, false} {
		tm := serving(t, GenESPAT, Config{})
		tm.handler = text("body")
		tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
		line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
		var n int
		fmt.Sscanf(line, "AT+CIPSEND=0,%d", &n)
		tm.advanceToDeadline() // nothing came back
		if p := tm.write(); len(p) != n || !strings.HasSuffix(string(p), "\r\n\r\nbody") {
			t.Fatalf("want the %d-byte chunk, got %q", n, p)
		}
		tm.wantIdle()
		if collecting {
			tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", n))
			if _, ok := tm.lastNote(NoteResponseDone); !ok || tm.m.LinkState(0) != LinkReceiving {
				t.Fatalf("response not done (link %v)", tm.m.LinkState(0))
			}
			continue
		}
		tm.says("\r\nERROR\r\n\r\nERROR\r\n") // its lines, as commands
		tm.advanceToDeadline()
		tm.wantWrite("resync probe", "AT\r\n")
		tm.says("\r\nERROR\r\n")
		tm.closeLink(0)
	}
}

// A send whose prompt never came, given up on when recovery begins, is
// completed after three silent probes with exactly the filler the modem
// may still collect (the probes went into it), so no spaces are left over
// to run as a command line.
func TestRecoveryFillerCompletesTheLostSend(t *testing.T) {
	tm := serving(t, GenNonOS, Config{})
	tm.handler = text("ok")
	// Timeout 1: SEND OK missing after Recv. Timeout 2: the close.
	tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
	tm.says(tm.prompt())
	p := tm.write()
	tm.says(fmt.Sprintf("\r\nRecv %d bytes\r\n", len(p)))
	tm.says("1,CONNECT\r\n" + ipd(1, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.advanceToDeadline()
	tm.wantWrite("close", "AT+CIPCLOSE=0\r\n")
	tm.advanceToDeadline()
	// Timeout 3: no prompt for link 1's send. Recovery begins.
	line := tm.wantWritePrefix("announce", "AT+CIPSEND=1,")
	var n int
	if _, err := fmt.Sscanf(line, "AT+CIPSEND=1,%d\r\n", &n); err != nil {
		t.Fatal(err)
	}
	next := func() []byte { // the host's next write, the modem silent
		for range 4 {
			tm.advanceToDeadline()
			if w := tm.write(); len(w) > 0 {
				return w
			}
		}
		t.Fatal("the host wrote nothing")
		return nil
	}
	for range 3 {
		if w := next(); string(w) != "AT\r\n" {
			t.Fatalf("probe: %q", w)
		}
	}
	if w := next(); string(w) != strings.Repeat(" ", n-12) {
		t.Fatalf("after three probes the host wrote %d bytes %.40q..., want %d spaces", len(w), w, n-12)
	}
	if w := tm.write(); string(w) != "AT\r\n" {
		t.Fatalf("after the filler: %q", w)
	}
}
