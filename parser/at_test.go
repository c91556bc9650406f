package parser

import (
	"fmt"
	"strings"
	"testing"
)

// atEv is a comparable rendering of an ATEvent; consecutive ATData pieces of
// one payload are merged so that any split of the input gives the same list.
type atEv struct {
	Kind ATKind
	Link int
	Len  int
	Data string
	IP   string
	Port int
}

func (e atEv) String() string {
	return fmt.Sprintf("%v link=%d len=%d data=%q ip=%q port=%d", e.Kind, e.Link, e.Len, e.Data, e.IP, e.Port)
}

// scanAll feeds the chunks to a fresh scanner and collects its events.
func scanAll(t testing.TB, chunks ...[]byte) []atEv {
	t.Helper()
	var s ATScanner
	var out []atEv
	open := false // an ATData run is open
	for _, c := range chunks {
		for len(c) > 0 {
			n, ev := s.Scan(c)
			if n == 0 && ev.Kind == ATNone {
				t.Fatalf("Scan made no progress on %q", c)
			}
			c = c[n:]
			switch ev.Kind {
			case ATNone:
				continue
			case ATData:
				if open {
					out[len(out)-1].Data += string(ev.Data)
				} else {
					out = append(out, atEv{Kind: ATData, Link: ev.Link, Data: string(ev.Data)})
				}
				open = !ev.Last
				continue
			}
			open = false
			out = append(out, atEv{Kind: ev.Kind, Link: ev.Link, Len: ev.Len, Data: string(ev.Data), IP: string(ev.IP), Port: ev.Port})
		}
	}
	return out
}

// checkSplits asserts that in yields want when fed whole, one byte at a
// time, and split in two at every offset.
func checkSplits(t *testing.T, in string, want []atEv) {
	t.Helper()
	check := func(how string, got []atEv) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %d events, want %d\ngot:  %v\nwant: %v", how, len(got), len(want), got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: event %d\ngot:  %v\nwant: %v", how, i, got[i], want[i])
			}
		}
	}
	b := []byte(in)
	check("whole", scanAll(t, b))
	var bytewise [][]byte
	for i := range b {
		bytewise = append(bytewise, b[i:i+1])
	}
	check("byte at a time", scanAll(t, bytewise...))
	for i := 1; i < len(b); i++ {
		check(fmt.Sprintf("split at %d", i), scanAll(t, b[:i], b[i:]))
	}
}

func ev(k ATKind) atEv            { return atEv{Kind: k, Link: -1} }
func evLink(k ATKind, l int) atEv { return atEv{Kind: k, Link: l} }
func evLine(s string) atEv        { return atEv{Kind: ATLine, Link: -1, Data: s} }
func evData(l int, s string) atEv {
	return atEv{Kind: ATData, Link: l, Data: s}
}

func TestATScannerResults(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []atEv
	}{
		{"ok", "\r\nOK\r\n", []atEv{ev(ATOK)}},
		{"error", "\r\nERROR\r\n", []atEv{ev(ATError)}},
		{"fail", "+CWJAP:2\r\n\r\nFAIL\r\n", []atEv{evLine("+CWJAP:2"), ev(ATFail)}},
		{"echo 1.x", "AT\r\r\n\r\nOK\r\n", []atEv{evLine("AT"), ev(ATOK)}},
		{"echo 2.x", "AT+GMR\r\n", []atEv{evLine("AT+GMR")}},
		{"busy", "\r\nbusy p...\r\n\r\nbusy s...\r\n", []atEv{ev(ATBusyP), ev(ATBusyS)}},
		{"ready after garbage", "\x8f\xfe\x01\x13\r\nl\x9c\x9e\r\nready\r\n", []atEv{evLine("\x8f\xfe\x01\x13"), evLine("l\x9c\x9e"), ev(ATReady)}},
		{"wifi", "WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n", []atEv{ev(ATWifiDisconnect), ev(ATWifiConnected), ev(ATWifiGotIP)}},
		{"link events", "0,CONNECT\r\n3,CLOSED\r\n4,CONNECT FAIL\r\n", []atEv{evLink(ATConnect, 0), evLink(ATClosed, 3), evLink(ATConnectFail, 4)}},
		{"prompt 1.x", "\r\nOK\r\n> ", []atEv{ev(ATOK), ev(ATPrompt)}},
		{"prompt 2.x", "\r\nOK\r\n\r\n>", []atEv{ev(ATOK), ev(ATPrompt)}},
		{"prompt then event without space", "\r\nOK\r\n>1,CONNECT\r\n", []atEv{ev(ATOK), ev(ATPrompt), evLink(ATConnect, 1)}},
		{"send sequence", "\r\nRecv 1460 bytes\r\n\r\nSEND OK\r\n", []atEv{{Kind: ATRecv, Link: -1, Len: 1460}, ev(ATSendOK)}},
		{"send fail 1.x", "\r\nRecv 5 bytes\r\n0,CLOSED\r\nSEND FAIL\r\n", []atEv{{Kind: ATRecv, Link: -1, Len: 5}, evLink(ATClosed, 0), ev(ATSendFail)}},
		{"send canceled", "\r\nSEND Canceled\r\n", []atEv{ev(ATSendCanceled)}},
		{"unlink", "UNLINK\r\n\r\nERROR\r\n", []atEv{ev(ATUnlink), ev(ATError)}},
		{"link invalid", "link is not valid\r\n\r\nERROR\r\n", []atEv{ev(ATLinkInvalid), ev(ATError)}},
		{"ipd active", "\r\n+IPD,2,5:hello", []atEv{{Kind: ATIPD, Link: 2, Len: 5}, evData(2, "hello")}},
		{"ipd single link", "\r\n+IPD,3:abc", []atEv{{Kind: ATIPD, Link: -1, Len: 3}, evData(-1, "abc")}},
		{"ipd dinfo 1.x", "\r\n+IPD,0,4,192.168.1.20,51234:ping", []atEv{{Kind: ATIPD, Link: 0, Len: 4, IP: "192.168.1.20", Port: 51234}, evData(0, "ping")}},
		{"ipd dinfo 2.x", "\r\n+IPD,1,4,\"10.0.0.9\",80:pong", []atEv{{Kind: ATIPD, Link: 1, Len: 4, IP: "10.0.0.9", Port: 80}, evData(1, "pong")}},
		{"ipd quoted ipv6 colon", "\r\n+IPD,1,2,\"fe80::1\",80:hi", []atEv{{Kind: ATIPD, Link: 1, Len: 2, IP: "fe80::1", Port: 80}, evData(1, "hi")}},
		{"ipd payload is never scanned", "\r\n+IPD,0,25:\r\nOK\r\n+IPD,1,3:x\r\nready\r\n\r\nOK\r\n", []atEv{{Kind: ATIPD, Link: 0, Len: 25}, evData(0, "\r\nOK\r\n+IPD,1,3:x\r\nready\r\n"), ev(ATOK)}},
		{"closed glued to payload", "\r\n+IPD,0,2:}}0,CLOSED\r\n", []atEv{{Kind: ATIPD, Link: 0, Len: 2}, evData(0, "}}"), evLink(ATClosed, 0)}},
		{"two frames back to back", "\r\n+IPD,0,1:a\r\n+IPD,1,1:b", []atEv{{Kind: ATIPD, Link: 0, Len: 1}, evData(0, "a"), {Kind: ATIPD, Link: 1, Len: 1}, evData(1, "b")}},
		{"ipd between OK and prompt", "\r\nOK\r\n\r\n+IPD,0,3:GET\r\n>", []atEv{ev(ATOK), {Kind: ATIPD, Link: 0, Len: 3}, evData(0, "GET"), ev(ATPrompt)}},
		{"ipd passive", "\r\n+IPD,0,1500\r\n\r\n+IPD,12\r\n", []atEv{{Kind: ATIPDNotify, Link: 0, Len: 1500}, {Kind: ATIPDNotify, Link: -1, Len: 12}}},
		{"recvdata 1.x", "+CIPRECVDATA,4:ab\r\n\r\nOK\r\n", []atEv{{Kind: ATRecvData, Link: -1, Len: 4}, evData(-1, "ab\r\n"), ev(ATOK)}},
		{"recvdata 2.x", "+CIPRECVDATA:4,OK\r\n\r\nOK\r\n", []atEv{{Kind: ATRecvData, Link: -1, Len: 4}, evData(-1, "OK\r\n"), ev(ATOK)}},
		{"link conn", "+LINK_CONN:0,2,\"TCP\",1,\"192.168.4.2\",50012,80\r\n", []atEv{{Kind: ATLinkConn, Link: 2, Len: 0, IP: "192.168.4.2", Port: 50012}}},
		{"connect spliced into echo", "AT+CIPSE1,CONNECT\r\nND=0,98\r\r\n", []atEv{evLink(ATConnect, 1), evLine("ND=0,98")}},
		{"ipd after garbage without line end", "\xff\xfe+IPD,0,2:ok", []atEv{{Kind: ATIPD, Link: 0, Len: 2}, evData(0, "ok")}},
		{"bad ipd header resyncs", "\r\n+IPD,x,2:\r\nOK\r\n", []atEv{evLine("+IPD,x,2:"), ev(ATOK)}},
		{"empty payload", "\r\n+IPD,0,0:\r\nOK\r\n", []atEv{{Kind: ATIPD, Link: 0, Len: 0}, ev(ATOK)}},
		{"not a link event", "10,CLOSED\r\nX,CONNECT\r\n,CLOSED\r\n", []atEv{evLine("10,CLOSED"), evLine("X,CONNECT"), evLine(",CLOSED")}},
		{"gmr", "AT version:1.7.4.0(May 11 2020 19:13:04)\r\nSDK version:3.0.4(9532ceb)\r\n\r\nOK\r\n", []atEv{evLine("AT version:1.7.4.0(May 11 2020 19:13:04)"), evLine("SDK version:3.0.4(9532ceb)"), ev(ATOK)}},
		{"err code", "ERR CODE:0x010b0000\r\nbusy p...\r\n", []atEv{evLine("ERR CODE:0x010b0000"), ev(ATBusyP)}},
		{"bare LF lines", "OK\nERROR\n", []atEv{ev(ATOK), ev(ATError)}},
		{"recv without a count", "Recv bytes\r\nRecv  bytes\r\n", []atEv{evLine("Recv bytes"), evLine("Recv  bytes")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkSplits(t, c.in, c.want) })
	}
}

func TestATScannerRecvDataInfo(t *testing.T) {
	var s ATScanner
	s.RecvDataInfo = true
	in := []byte("+CIPRECVDATA:3,\"10.1.2.3\",4000,abc\r\nOK\r\n")
	n, e := s.Scan(in)
	if e.Kind != ATRecvData || e.Len != 3 || string(e.IP) != "10.1.2.3" || e.Port != 4000 {
		t.Fatalf("got %+v", e)
	}
	n2, d := s.Scan(in[n:])
	if d.Kind != ATData || string(d.Data) != "abc" || !d.Last {
		t.Fatalf("payload: got %+v", d)
	}
	_, ok := s.Scan(in[n+n2:])
	if ok.Kind != ATOK {
		t.Fatalf("after payload: got %v", ok.Kind)
	}
}

func TestATScannerLongLine(t *testing.T) {
	in := strings.Repeat("x", MaxATLine+100) + "\r\n\r\nOK\r\n"
	got := scanAll(t, []byte(in))
	if len(got) != 2 || got[0].Kind != ATLine || len(got[0].Data) != MaxATLine || got[1].Kind != ATOK {
		t.Fatalf("got %v", got)
	}
}

func TestATScannerHugeLengthIsNoise(t *testing.T) {
	got := scanAll(t, []byte("\r\n+IPD,0,99999999:\r\nOK\r\n"))
	if len(got) != 2 || got[0].Kind != ATLine || got[1].Kind != ATOK {
		t.Fatalf("got %v", got)
	}
}

// With Mux, a header that lost the comma after its link id is not taken
// for a single-link frame of that length: the bytes after it are lines.
func TestATScannerMuxRefusesSingleLinkFrames(t *testing.T) {
	for _, in := range []string{
		"\r\n+IPD,1105,127.0.0.1,40092:GET / HTTP/1.1\r\n\r\nOK\r\n",
		"\r\n+IPD,1105:GET / HTTP/1.1\r\n\r\nOK\r\n",
	} {
		s := ATScanner{Mux: true}
		var kinds []ATKind
		for p := []byte(in); len(p) > 0; {
			n, ev := s.Scan(p)
			p = p[n:]
			if ev.Kind != ATNone {
				kinds = append(kinds, ev.Kind)
			}
		}
		if len(kinds) == 0 || kinds[0] != ATLine || kinds[len(kinds)-1] != ATOK {
			t.Errorf("%q: events %v, want a line of noise first and OK last", in, kinds)
		}
		s.Reset()
		if !s.Mux {
			t.Error("Reset dropped Mux")
		}
	}
}

func TestATScannerReset(t *testing.T) {
	var s ATScanner
	s.Scan([]byte("\r\n+IPD,0,100:abc"))
	if !s.InPayload() {
		t.Fatal("want payload state")
	}
	s.Reset()
	if s.InPayload() {
		t.Fatal("Reset left payload state")
	}
	if _, e := s.Scan([]byte("ready\r\n")); e.Kind != ATReady {
		t.Fatalf("after Reset: %v", e.Kind)
	}
}

func BenchmarkATScanner(b *testing.B) {
	in := []byte("\r\n+IPD,0,78,192.168.1.9,50000:GET /hello HTTP/1.1\r\nHost: 192.168.1.50\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n" +
		"\r\nOK\r\n> \r\nRecv 2048 bytes\r\n\r\nSEND OK\r\n0,CLOSED\r\n1,CONNECT\r\n")
	var s ATScanner
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		p := in
		for len(p) > 0 {
			n, _ := s.Scan(p)
			p = p[n:]
		}
	}
}

// BenchmarkATScannerNext is BenchmarkATScanner through Next, as the
// protocol machine calls it.
func BenchmarkATScannerNext(b *testing.B) {
	in := []byte("\r\n+IPD,0,78,192.168.1.9,50000:GET /hello HTTP/1.1\r\nHost: 192.168.1.50\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n" +
		"\r\nOK\r\n> \r\nRecv 2048 bytes\r\n\r\nSEND OK\r\n0,CLOSED\r\n1,CONNECT\r\n")
	var s ATScanner
	var ev ATEvent
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		p := in
		for len(p) > 0 {
			p = p[s.Next(p, &ev):]
		}
	}
}
