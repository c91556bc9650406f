package sim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startServer boots an unpaced modem with stored credentials, waits for the
// association and runs ATE0, CIPMUX=1, CIPSERVER=1,80.
func startServer(t *testing.T, p Profile, mod ...func(*Config)) *host {
	t.Helper()
	cfg := Config{Profile: p, Unpaced: true, Joined: true}
	for _, f := range mod {
		f(&cfg)
	}
	h := startHost(t, cfg)
	h.expect(wifiJoined)
	h.server()
	return h
}

func clientPort(c net.Conn) int { return c.LocalAddr().(*net.TCPAddr).Port }

// readFrames reads active-mode +IPD frames of link id until total bytes.
func (h *host) readFrames(id, total, maxIPD int) []byte {
	h.t.Helper()
	var got []byte
	for len(got) < total {
		h.expect(fmt.Sprintf("\r\n+IPD,%d,", id))
		n, err := strconv.Atoi(h.until(":"))
		if err != nil || n < 1 || n > maxIPD {
			h.t.Fatalf("bad +IPD length %d (%v)", n, err)
		}
		got = append(got, h.take(n)...)
	}
	return got
}

func TestActiveReceive(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c := h.dial(0)
			c.Write([]byte("hello"))
			h.expect("\r\n+IPD,0,5:hello")

			h.cmd("AT+CIPDINFO=1\r\n", msgOK)
			c.Write([]byte("x"))
			ip := fmt.Sprintf(pick(p, "127.0.0.1,%d", `"127.0.0.1",%d`), clientPort(c))
			h.expect("\r\n+IPD,0,1," + ip + ":x")
			h.cmd("AT+CIPDINFO=0\r\n", msgOK)

			// Large data arrives in frames of at most MaxIPD bytes.
			big := make([]byte, 10000)
			for i := range big {
				big[i] = byte(rand.IntN(256))
			}
			go c.Write(big)
			if got := h.readFrames(0, len(big), DefaultMaxIPD); !bytes.Equal(got, big) {
				t.Fatal("reassembled data differs")
			}
			c.Close()
			h.expect("0,CLOSED\r\n")
			h.quiet(20 * time.Millisecond)
			noViolations(t, h.m)
			s := h.m.Stats()
			if s.LinksServed != 1 || s.ClientBytesIn != int64(len(big)+6) {
				t.Errorf("stats: %+v", s)
			}
		})
	}
}

func TestMaxIPD(t *testing.T) {
	h := startServer(t, NonOS, func(c *Config) { c.MaxIPD = 100 })
	c := h.dial(0)
	data := bytes.Repeat([]byte("0123456789"), 50)
	c.Write(data)
	if got := h.readFrames(0, len(data), 100); !bytes.Equal(got, data) {
		t.Fatal("reassembled data differs")
	}
}

// A client that closes right after its data: CLOSED follows the last byte
// with no separator (Q10).
func TestClosedAfterData(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c := h.dial(0)
			c.Write([]byte("bye"))
			c.Close()
			h.expect("\r\n+IPD,0,3:bye0,CLOSED\r\n")
			noViolations(t, h.m)
		})
	}
}

func TestSend(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			prompt := pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>")
			c := h.dial(0)
			h.cmd("AT+CIPSEND=0,5\r\n", prompt)
			h.cmd("world", "\r\nRecv 5 bytes\r\n"+msgSendOK)
			if got := readN(t, c, 5); string(got) != "world" {
				t.Fatalf("client got %q", got)
			}
			// Binary payload, the largest allowed; it contains things that
			// look like protocol.
			unit := "\r\n+IPD,0,5:OK\r\n\x00\xff>"
			payload := []byte(strings.Repeat(unit, MaxSend/len(unit)+1)[:MaxSend])
			h.cmd("AT+CIPSEND=0,2048\r\n", prompt)
			h.cmd(string(payload), "\r\nRecv 2048 bytes\r\n"+msgSendOK)
			if got := readN(t, c, len(payload)); !bytes.Equal(got, payload) {
				t.Fatal("client got different bytes")
			}
			h.quiet(20 * time.Millisecond)
			noViolations(t, h.m)
			s := h.m.Stats()
			if s.Sends != 2 || s.SendOK != 2 || s.ClientBytesOut != 2053 {
				t.Errorf("stats: %+v", s)
			}
		})
	}
}

// With echo on, a CIPSEND shows the echo, then the prompt (§2.3).
func TestSendEcho(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startHost(t, Config{Profile: p, Unpaced: true, Joined: true})
			h.expect(wifiJoined)
			h.cmd("AT+CIPMUX=1\r\n", echoOf(p, "AT+CIPMUX=1\r\n")+msgOK)
			h.cmd("AT+CIPSERVER=1,80\r\n", echoOf(p, "AT+CIPSERVER=1,80\r\n")+msgOK)
			dialRaw(t, h.m)
			h.expect("0,CONNECT\r\n")
			h.cmd("AT+CIPSEND=0,3\r\n", pick(p, "AT+CIPSEND=0,3\r\r\n\r\nOK\r\n> ", "AT+CIPSEND=0,3\r\n\r\nOK\r\n\r\n>"))
			h.cmd("abc", "\r\nRecv 3 bytes\r\n"+msgSendOK) // payload is not echoed
			noViolations(t, h.m)
		})
	}
}

func TestCIPCLOSE(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c := h.dial(0)
			h.cmd("AT+CIPSEND=0,4\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			h.cmd("data", "\r\nRecv 4 bytes\r\n"+msgSendOK)
			h.cmd("AT+CIPCLOSE=0\r\n", "0,CLOSED\r\n"+msgOK)
			got, err := readAll(t, c)
			if err != nil || string(got) != "data" {
				t.Fatalf("client got %q, %v; want the data and EOF", got, err)
			}
			// Q9: closing a dead link.
			h.cmd("AT+CIPCLOSE=0\r\n", pick(p, "UNLINK\r\n", "")+msgError)
			// The host saw CLOSED: sending now is a violation.
			h.cmd("AT+CIPSEND=0,4\r\n", pick(p, "link is not valid\r\n", "")+msgError)
			wantViolations(t, h.m, map[ViolationKind]int{ViolSendDeadLink: 1})

			for id := range 3 {
				h.dial(id)
			}
			h.cmd("AT+CIPCLOSE=5\r\n", "0,CLOSED\r\n1,CLOSED\r\n2,CLOSED\r\n"+msgOK)
			h.cmd("AT+CIPSTATUS\r\n", "STATUS:4\r\n"+msgOK)
		})
	}
}

// A CIPSEND racing with the link's CLOSED is not a violation; once CLOSED
// has been transmitted it is.
func TestSendDeadLinkFairness(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c := h.dial(0)
			h.send("AT+CIPSEND=0,5\r")
			c.Close()
			h.expect("0,CLOSED\r\n")
			h.cmd("\n", pick(p, "link is not valid\r\n", "")+msgError)
			noViolations(t, h.m)
			h.cmd("AT+CIPSEND=0,5\r\n", pick(p, "link is not valid\r\n", "")+msgError)
			wantViolations(t, h.m, map[ViolationKind]int{ViolSendDeadLink: 1})

			// After a reset the links are gone without CLOSED; "ready" is
			// the notice.
			h.dial(0)
			h.m.Reset()
			h.boot()
			h.expect(wifiJoined)
			h.server()
			h.cmd("AT+CIPSEND=0,5\r\n", pick(p, "link is not valid\r\n", "")+msgError)
			wantViolations(t, h.m, map[ViolationKind]int{ViolSendDeadLink: 2})
		})
	}
}

// §7.3, Q8: the client goes away while the payload is collected.
func TestSendClientGone(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c := h.dial(0)
			h.cmd("AT+CIPSEND=0,5\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			c.Close()
			waitChip(t, h.m, "link 0 gone", func(c *chip) bool { return c.links[0] != nil && c.links[0].peerClosed })
			h.send("hello")
			h.expect(pick(p,
				"\r\nRecv 5 bytes\r\n0,CLOSED\r\n"+msgSendFail,
				"\r\nRecv 5 bytes\r\n"+msgSendFail+"0,CLOSED\r\n"))
			h.quiet(20 * time.Millisecond)
			noViolations(t, h.m)
		})
	}
}

func TestSixthClient(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			var cs []*net.TCPConn
			for id := range MaxLinks {
				cs = append(cs, h.dial(id))
			}
			// Q13: accepted, then reset; nothing on the UART.
			dialReset(t, h.m)
			h.quiet(30 * time.Millisecond)
			if s := h.m.Stats(); s.ClientsRejected != 1 || s.LinksServed != 5 {
				t.Fatalf("stats: %+v", s)
			}
			// The lowest free id is reused.
			cs[2].Close()
			h.expect("2,CLOSED\r\n")
			h.dial(2)
			cs[0].Close()
			h.expect("0,CLOSED\r\n")
			h.dial(0)
			noViolations(t, h.m)
		})
	}
}

func TestMaxConn(t *testing.T) {
	h := startHost(t, Config{Unpaced: true, Joined: true})
	h.expect(wifiJoined)
	h.echoOff()
	h.cmd("AT+CIPMUX=1\r\n", msgOK)
	h.cmd("AT+CIPSERVERMAXCONN=2\r\n", msgOK)
	h.cmd("AT+CIPSERVER=1,80\r\n", msgOK)
	h.dial(0)
	h.dial(1)
	dialReset(t, h.m)
	h.quiet(30 * time.Millisecond)
	if s := h.m.Stats(); s.ClientsRejected != 1 {
		t.Fatalf("rejected = %d, want 1", s.ClientsRejected)
	}
}

// Clients are reset at once while no server runs or there is no network.
func TestNoServer(t *testing.T) {
	h := startHost(t, Config{Unpaced: true})
	h.echoOff()
	dialReset(t, h.m)
	h.cmd("AT+CIPMUX=1\r\n", msgOK)
	h.cmd("AT+CIPSERVER=1,80\r\n", msgOK)
	dialReset(t, h.m) // server, but not associated
	h.quiet(30 * time.Millisecond)
	h.cmd("AT+CWJAP_CUR="+goodPwd+"\r\n", joinOK)
	h.dial(0)
	if s := h.m.Stats(); s.ClientsRejected != 2 || s.LinksServed != 1 {
		t.Fatalf("stats: %+v", s)
	}
}

// In soft-AP mode the module serves without a station connection.
func TestSoftAPServes(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startHost(t, Config{Profile: p, Unpaced: true})
			h.echoOff()
			h.cmd(pick(p, "AT+CWMODE_CUR=2\r\n", "AT+CWMODE=2\r\n"), msgOK)
			h.cmd("AT+CIPMUX=1\r\n", msgOK)
			h.cmd("AT+CIPSERVER=1,80\r\n", msgOK)
			c := h.dial(0)
			h.cmd("AT+CIPSTATUS\r\n", fmt.Sprintf("STATUS:3\r\n+CIPSTATUS:0,\"TCP\",\"127.0.0.1\",%d,80,1\r\n", clientPort(c))+msgOK)
		})
	}
}

func TestLinkConn(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			h.cmd(pick(p, "AT+SYSMSG_CUR=2\r\n", "AT+SYSMSG=2\r\n"), msgOK)
			c := dialRaw(t, h.m)
			h.expect(fmt.Sprintf("+LINK_CONN:0,0,\"TCP\",1,\"127.0.0.1\",%d,80\r\n", clientPort(c)))
			c.Close()
			h.expect("0,CLOSED\r\n") // CLOSED is unchanged (§6.1)
		})
	}
}

func TestCIPSTATUSLinks(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			h.cmd("AT+CIPSTATUS\r\n", "STATUS:2\r\n"+msgOK)
			c0 := h.dial(0)
			c1 := h.dial(1)
			h.cmd("AT+CIPSTATUS\r\n", fmt.Sprintf("STATUS:3\r\n"+
				"+CIPSTATUS:0,\"TCP\",\"127.0.0.1\",%d,80,1\r\n"+
				"+CIPSTATUS:1,\"TCP\",\"127.0.0.1\",%d,80,1\r\n", clientPort(c0), clientPort(c1))+msgOK)
			c0.Close()
			h.expect("0,CLOSED\r\n")
			c1.Close()
			h.expect("1,CLOSED\r\n")
			h.cmd("AT+CIPSTATUS\r\n", "STATUS:4\r\n"+msgOK)
		})
	}
}

// AT+CIPSTO: an idle link is closed (§5).
func TestIdleTimeout(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			h := startServer(t, p)
			h.cmd("AT+CIPSTO=1\r\n", msgOK)
			start := time.Now()
			c := h.dial(0)
			h.expect("0,CLOSED\r\n")
			if d := time.Since(start); d < 900*time.Millisecond {
				t.Fatalf("closed after %v, before the 1 s timeout", d)
			}
			if _, err := readAll(t, c); err != nil {
				t.Fatalf("client: %v, want EOF", err)
			}
			noViolations(t, h.m)
		})
	}
}

func TestPassiveReceive(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			h.cmd("AT+CIPRECVMODE=1\r\n", msgOK)
			c := h.dial(0)
			c.Write([]byte("hello"))
			h.expect("\r\n+IPD,0,5\r\n")
			c.Write([]byte("world"))
			waitChip(t, h.m, "10 bytes buffered", func(c *chip) bool { return len(c.links[0].buf) == 10 })
			h.quiet(20 * time.Millisecond) // no further +IPD until read
			h.cmd("AT+CIPRECVLEN?\r\n", pick(p, "+CIPRECVLEN:10,0,0,0,0\r\n", "+CIPRECVLEN:10,-1,-1,-1,-1\r\n")+msgOK)
			hdr := func(n int) string {
				return pick(p, fmt.Sprintf("+CIPRECVDATA,%d:", n), fmt.Sprintf("+CIPRECVDATA:%d,", n))
			}
			h.cmd("AT+CIPRECVDATA=0,4\r\n", hdr(4)+"hell"+msgOK+"\r\n+IPD,0,6\r\n")
			h.cmd("AT+CIPRECVDATA=0,100\r\n", hdr(6)+"oworld"+msgOK)
			h.cmd("AT+CIPRECVDATA=0,100\r\n", msgError)

			// CLOSED is withheld until the data is read.
			c.Write([]byte("abc"))
			h.expect("\r\n+IPD,0,3\r\n")
			c.Close()
			waitChip(t, h.m, "link 0 gone", func(c *chip) bool { return c.links[0].peerClosed })
			h.quiet(20 * time.Millisecond)
			if p == ESPAT {
				h.cmd("AT+CIPDINFO=1\r\n", msgOK)
				h.cmd("AT+CIPRECVDATA=0,3\r\n", fmt.Sprintf("+CIPRECVDATA:3,\"127.0.0.1\",%d,abc", clientPort(c))+msgOK+"0,CLOSED\r\n")
			} else {
				h.cmd("AT+CIPRECVDATA=0,3\r\n", hdr(3)+"abc"+msgOK+"0,CLOSED\r\n")
			}
			noViolations(t, h.m)
		})
	}
}

// Passive mode holds at most the receive window; TCP back-pressure stalls
// the client, and everything arrives once read.
func TestPassiveWindow(t *testing.T) {
	t.Parallel()
	h := startServer(t, ESPAT)
	h.cmd("AT+CIPRECVMODE=1\r\n", msgOK)
	c := h.dial(0)
	data := make([]byte, 20000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	go c.Write(data)
	h.expect("\r\n+IPD,0,")
	h.until("\r\n")
	waitChip(t, h.m, "window full", func(c *chip) bool { return len(c.links[0].buf) == rxWindow })
	time.Sleep(20 * time.Millisecond)
	if n := chipState(h.m, func(c *chip) int { return len(c.links[0].buf) }); n != rxWindow {
		t.Fatalf("buffered %d, want the window %d", n, rxWindow)
	}
	var got []byte
	for len(got) < len(data) {
		h.send("AT+CIPRECVDATA=0,2048\r\n")
		h.expect("+CIPRECVDATA:")
		n, _ := strconv.Atoi(h.until(","))
		got = append(got, h.take(n)...)
		h.expect(msgOK)
		if len(got) < len(data) {
			// a new notification follows while data remains or arrives
			h.expect("\r\n+IPD,0,")
			h.until("\r\n")
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

// Switching from passive to active prints what is buffered.
func TestPassiveToActive(t *testing.T) {
	h := startServer(t, NonOS)
	h.cmd("AT+CIPRECVMODE=1\r\n", msgOK)
	c := h.dial(0)
	c.Write([]byte("xyz"))
	h.expect("\r\n+IPD,0,3\r\n")
	h.cmd("AT+CIPRECVMODE=0\r\n", msgOK+"\r\n+IPD,0,3:xyz")
}

func TestRestoreClosesLinks(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			c0 := h.dial(0)
			c1 := h.dial(1)
			h.send("AT+RESTORE\r\n")
			h.expect("1,CLOSED\r\n0,CLOSED\r\n" + msgOK)
			h.boot()
			for _, c := range []net.Conn{c0, c1} {
				if _, err := readAll(t, c); err != nil {
					t.Errorf("client: %v", err)
				}
			}
			h.quiet(20 * time.Millisecond) // credentials erased: no WIFI lines
		})
	}
}

// AT+RST and a spontaneous reset drop links without CLOSED (§3.2, Q12).
func TestResetDropsLinks(t *testing.T) {
	for _, p := range profiles() {
		for _, how := range []string{"AT+RST", "Reset"} {
			t.Run(string(p)+"/"+how, func(t *testing.T) {
				h := startServer(t, p)
				c := h.dial(0)
				if how == "Reset" {
					h.m.Reset()
				} else {
					h.cmd("AT+RST\r\n", msgOK)
				}
				h.boot()
				h.expect(wifiJoined)
				_ = c.SetReadDeadline(time.Now().Add(waitLimit))
				if _, err := c.Read(make([]byte, 1)); err == nil {
					t.Fatal("client still connected after the reset")
				} else if errors.Is(err, io.EOF) {
					t.Fatal("client closed with FIN, want a reset")
				}
				h.cmd("AT+CIPMUX?\r\n", echoOf(p, "AT+CIPMUX?\r\n")+"+CIPMUX:0\r\n"+msgOK)
				if s := h.m.Stats(); s.Resets != 1 {
					t.Fatalf("resets = %d", s.Resets)
				}
				noViolations(t, h.m)
			})
		}
	}
}

// Re-joining while associated drops the links.
func TestRejoinDropsLinks(t *testing.T) {
	h := startServer(t, NonOS)
	h.dial(0)
	h.cmd("AT+CWJAP_CUR="+goodPwd+"\r\n", msgWifiDisc+"0,CLOSED\r\n"+joinOK)
}

// A real HTTP client through the modem, with a scripted host.
func TestHTTPClient(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			h := startServer(t, p)
			body := strings.Repeat("espgate ", 500) // 4000 bytes: two sends
			type result struct {
				body string
				err  error
			}
			done := make(chan result, 1)
			// Keep-alive, so the client keeps its end open until the server
			// closes it: closing on reading the body would race the last
			// SEND OK (the emulator, like the firmware, delivers the data
			// before it reports the send) and the AT+CIPCLOSE.
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			go func() {
				resp, err := (&http.Client{Transport: tr}).Get("http://" + h.m.Addr().String() + "/index.html")
				if err != nil {
					done <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				done <- result{string(b), err}
			}()
			h.expect("0,CONNECT\r\n")
			var req []byte
			for !bytes.Contains(req, []byte("\r\n\r\n")) {
				h.expect("\r\n+IPD,0,")
				n, _ := strconv.Atoi(h.until(":"))
				req = append(req, h.take(n)...)
			}
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
			if err != nil || r.URL.Path != "/index.html" {
				t.Fatalf("request %q: %v", req, err)
			}
			resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body)) + body
			prompt := pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>")
			for len(resp) > 0 {
				n := min(len(resp), MaxSend)
				h.cmd(fmt.Sprintf("AT+CIPSEND=0,%d\r\n", n), prompt)
				h.cmd(resp[:n], fmt.Sprintf("\r\nRecv %d bytes\r\n", n)+msgSendOK)
				resp = resp[n:]
			}
			res := <-done
			h.cmd("AT+CIPCLOSE=0\r\n", "0,CLOSED\r\n"+msgOK)
			if res.err != nil || res.body != body {
				t.Fatalf("client: %v, body %d bytes", res.err, len(res.body))
			}
			noViolations(t, h.m)
		})
	}
}

// A CIPSEND for a link whose CLOSED a line fault may have hidden from the
// host (in the notice, or in the frame before it) is not counted.
func TestSendDeadLinkExcusedByLineFault(t *testing.T) {
	c := &chip{cfg: &Config{MaxIPD: DefaultMaxIPD}}
	c.goneAt[2], c.lastReplyEnd, c.cmdKnow = 5000, 5100, 5200
	for _, tc := range []struct {
		fault int64
		knew  bool
	}{
		{0, true},           // no line fault yet
		{100, true},         // long before
		{5000 - 300, false}, // in the frame before the notice
		{5000 - 3, false},   // in the notice
		{5050, true},        // after the notice: it was read intact
	} {
		c.lineFaultAt = tc.fault
		if got := c.hostKnewGone(2); got != tc.knew {
			t.Errorf("line fault at %d: hostKnewGone = %v, want %v", tc.fault, got, tc.knew)
		}
	}
	// A frame header garbled after the notice: its link id may have made
	// the host take link 2 for open again.
	c.lineFaultAt, c.idFaultAt = 5150, 5150
	if c.hostKnewGone(2) {
		t.Error("a garbled frame header after the notice does not excuse the host")
	}
	c.idFaultAt = 4000 // before the notice: no excuse
	if !c.hostKnewGone(2) {
		t.Error("a garbled frame header before the notice excuses the host")
	}
}

// A malformed line (filler the host wrote, not knowing whether the modem
// took its command) after a final reply a line fault hit is not counted;
// the same line after an intact reply is.
func TestMalformedAfterGarbledReplyExcused(t *testing.T) {
	m := newTestModem(t, Config{Unpaced: true})
	m.control(func(c *chip) { // on the chip's goroutine
		c.firstBoot = false
		c.informedAt = 0
		c.finalReply(1000)
		c.lineFaultAt = 997 // in the reply
		c.violate(ViolMalformed, 1200, "filler")
		c.lineFaultAt = 500 // long before it
		c.violate(ViolMalformed, 1200, "filler")
	})
	wantViolations(t, m, map[ViolationKind]int{ViolMalformed: 1})
}

// A blind payload of many lines is written with one knowledge: the ERROR
// the modem gives its first line does not make the next ones count, but a
// line written after the host read that ERROR does.
func TestBlindPayloadLinesExcused(t *testing.T) {
	m := newTestModem(t, Config{Unpaced: true})
	m.control(func(c *chip) {
		c.firstBoot = false
		c.informedAt = 0
		c.finalReply(1000)
		c.lineFaultAt = 997
		c.violate(ViolMalformed, 1200, "first line")
		c.finalReply(1300) // its ERROR
		c.violate(ViolMalformed, 1200, "second line")
		c.finalReply(1400)
		c.violate(ViolMalformed, 1400, "a line after the host read the ERROR")
	})
	wantViolations(t, m, map[ViolationKind]int{ViolMalformed: 1})
}
