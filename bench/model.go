package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/espgate/espgate/sim"
)

// The performance model of DESIGN.md, with the emulator's own parameters
// (sim.Modem.Params) of the same run. Every bound below is a lower bound on
// time, hence an upper bound on goodput and rates: it adds a term only when
// it lies on a chain of events that must happen one after the other, and
// it takes the larger of two terms (never their sum) when they can run at
// the same time. The host is assumed to be infinitely fast, and to issue the
// same commands as espgate (one AT+CIPSEND per chunk of at most 2048 bytes,
// and no AT+CIPCLOSE when the client closes first, see closePaths), each only after
// the final reply to the previous one has arrived: a command sent earlier
// is refused with "busy" (esp-at-protocol.md §7.4).
//
// The emulator facts the model rests on (sim/send.go, sim/chip.go,
// sim/links.go, sim/line.go):
//
//   - Each direction of the line carries rate = baud/10 bytes/s and
//     delivers bytes only once they have crossed it.
//   - AT+CIPSEND=n,L: the prompt is written Timing.Prompt after the line's
//     last byte arrived. The host may start the payload at '>', so NonOS's
//     trailing space is not counted (the emulator delivers it with the '>':
//     one byte of slack in the bound's favour).
//   - When the payload's last byte arrives ("payload done"), the data goes
//     to the client at once and "Recv L bytes" is written; SEND OK follows
//     after t_send (NonOS: the modelled ACK delay Timing.ACK; ESP-AT: the
//     hand-off delay Timing.SendOK). Recv crosses the line during that
//     wait, so a chunk's completion costs max(t_send, Recv) + SEND OK.
//   - Unsolicited output (+IPD frames, n,CONNECT, n,CLOSED) waits while a
//     command or a send is in progress; an +IPD frame is cut Timing.IPD
//     after the client's bytes arrived. It may go out while the host sends
//     its next command line, and then delays that command's prompt if it is
//     still on the line.
type model struct {
	profile sim.Profile
	rate    float64 // bytes/s in each direction
	timing  sim.Timing
	maxSend int
}

func newModel(profile sim.Profile, p sim.LineParams) model {
	return model{profile: profile, rate: p.BytesPerSecond, timing: p.Timing, maxSend: p.MaxSend}
}

// Byte counts on the line (esp-at-protocol.md §2.2, §7.1, §8).
const (
	sendOKLen   = len("\r\nSEND OK\r\n")
	sendFailLen = len("\r\nSEND FAIL\r\n")
	connectLen  = len("0,CONNECT\r\n")
	closedLen   = len("0,CLOSED\r\n")
	// closeReplyMin is the shorter of the two replies to AT+CIPCLOSE: with
	// the link still up, "n,CLOSED\r\n\r\nOK\r\n" (16); after the client's
	// own close, NonOS "UNLINK\r\n\r\nERROR\r\n" (17), its "n,CLOSED" (10)
	// having gone out before.
	closeReplyMin = len("0,CLOSED\r\n\r\nOK\r\n")
)

func cipsendLen(link, n int) int { return len("AT+CIPSEND=,\r\n") + digits(link) + digits(n) }
func recvLen(n int) int          { return len("\r\nRecv  bytes\r\n") + digits(n) }
func digits(n int) int           { return len(strconv.Itoa(n)) }

// promptLen counts the prompt up to and including '>'.
func (m model) promptLen() int {
	if m.profile == sim.ESPAT {
		return len("\r\nOK\r\n\r\n>")
	}
	return len("\r\nOK\r\n>")
}

// ipdLen is an active-mode +IPD frame with AT+CIPDINFO=1, which espgate
// sets: header with the client's address, then the request bytes.
func (m model) ipdLen(reqLen int, ip string, port int) int {
	if m.profile == sim.ESPAT {
		return len(fmt.Sprintf("\r\n+IPD,0,%d,%q,%d:", reqLen, ip, port)) + reqLen
	}
	return len(fmt.Sprintf("\r\n+IPD,0,%d,%s,%d:", reqLen, ip, port)) + reqLen
}

func sec(d time.Duration) float64 { return d.Seconds() }

// wire is the time n bytes take on the line, in seconds.
func (m model) wire(n int) float64 { return float64(n) / m.rate }

func (m model) tPrompt() float64  { return sec(m.timing.Prompt) }
func (m model) tIPD() float64     { return sec(m.timing.IPD) }
func (m model) tCommand() float64 { return sec(m.timing.Command) }

// announce is a chunk's free-window terms: the AT+CIPSEND line to the
// modem and the prompt latency.
func (m model) announce(n int) float64 { return m.wire(cipsendLen(0, n)) + m.tPrompt() }

// data is the prompt to the host, then the payload to the modem.
func (m model) data(n int) float64 { return m.wire(m.promptLen()) + m.wire(n) }

// completion is payload done -> SEND OK fully received: "Recv" crosses
// the line while the modem waits t_send, then SEND OK.
func (m model) completion(n int) float64 {
	return max(m.tSend(), m.wire(recvLen(n))) + m.wire(sendOKLen)
}

func (m model) chunkSizes(total int) []int { return chunkSizes(total, m.maxSend) }

// ipdFirst is the +IPD delay and frame of a request to an idle modem.
func (m model) ipdFirst(ipd int) float64 { return m.tIPD() + m.wire(ipd) }

// ipdAfterConnect is the same on a new link, its "n,CONNECT" going first.
func (m model) ipdAfterConnect(ipd int) float64 {
	return max(m.tIPD(), m.wire(connectLen)) + m.wire(ipd)
}

// tSend is the delay from payload done to SEND OK.
func (m model) tSend() float64 {
	if m.profile == sim.ESPAT {
		return sec(m.timing.SendOK)
	}
	return sec(m.timing.ACK)
}

// chunkSizes splits a response of total bytes (head and body: espgate puts
// the head and the start of the body in one chunk) into AT+CIPSEND chunks.
func chunkSizes(total, maxSend int) []int {
	var cs []int
	for total > 0 {
		n := min(total, maxSend)
		cs = append(cs, n)
		total -= n
	}
	return cs
}

// response sums the terms of one response of total bytes.
type response struct {
	announce float64 // free-window terms: command lines and prompt latency
	data     float64 // prompts and payloads
	compl    float64 // completions of every chunk but the last
	tail     float64 // completion of the last chunk
	chunks   int
}

func (m model) response(total int) response {
	var r response
	cs := m.chunkSizes(total)
	for i, n := range cs {
		r.announce += m.announce(n)
		r.data += m.data(n)
		if i < len(cs)-1 {
			r.compl += m.completion(n)
		} else {
			r.tail = m.completion(n)
		}
	}
	r.chunks = len(cs)
	return r
}

// send is a response's time from the start of its first command line to
// its last payload byte: the client has it all then (no final SEND OK).
func (r response) send() float64 { return r.announce + r.data + r.compl }

// download is one large response on an open keep-alive connection, the
// modem idle before it: the +IPD delay and frame, then every chunk's full
// cycle but the last one's completion.
func (m model) download(total, ipd int) float64 {
	return m.ipdFirst(ipd) + m.response(total).send()
}

// closePath is how a Connection: close response ends, as far as the line
// is concerned.
type closePath struct {
	tail      func(n int) float64 // completion of the last chunk of n bytes
	closedOut bool                // the link's "n,CLOSED" then goes out as unsolicited output
}

// closePaths returns how a Connection: close response ends when its send
// succeeds and when it fails. espgate lets the client close first (fsm
// Config.Linger, 1 s) after both, and the load's clients close as soon as
// they have read the response, so espgate sends no AT+CIPCLOSE (the harness
// counts any it does send: host_close in the notes). The emulator writes a
// chunk's data to the client at payload done, before SEND OK, so the
// client's close can reach the modem before the send has ended, and then
// the modem prints SEND FAIL at once (§7.3).
//
// NonOS, SEND OK (after the ACK delay), then the client's "n,CLOSED".
// SEND FAIL: "n,CLOSED" then SEND FAIL. (It happens only when the client's
// close overtakes the emulator's record that the write to it finished.)
//
// ESP-AT, SEND OK (after the hand-off delay), then "n,CLOSED". SEND FAIL
// (the client closed within the hand-off delay): then "n,CLOSED".
func (m model) closePaths() (ok, fail closePath) {
	failTail := func(n int) float64 { return m.wire(recvLen(n) + sendFailLen) }
	if m.profile != sim.ESPAT {
		return closePath{tail: m.completion, closedOut: true},
			closePath{tail: func(n int) float64 { return failTail(n) + m.wire(closedLen) }}
	}
	return closePath{tail: m.completion, closedOut: true}, closePath{tail: failTail, closedOut: true}
}

// sequential is n requests from one client, each sent when the previous
// response is complete. Between two responses (payload done -> next
// command line) the modem must print the last SEND OK, and the next +IPD
// frame can follow only after it (busy meanwhile) and no sooner than
// Timing.IPD after the request arrived. With Connection: close, fails of
// the n sends ended in SEND FAIL (counted by the server in the same run),
// and the new link's "n,CONNECT" precedes its frame. (The old link's
// "n,CLOSED" is left out: it may follow the new frame.)
func (m model) sequential(n, fails, total, ipd int, close bool) float64 {
	r := m.response(total)
	if !close {
		gap := max(r.tail, m.tIPD()) + m.wire(ipd)
		return m.ipdFirst(ipd) + r.send() + float64(n-1)*(gap+r.send())
	}
	last := m.chunkSizes(total)[r.chunks-1]
	gap := func(p closePath) float64 {
		return max(p.tail(last)+m.wire(connectLen+ipd), m.tIPD()+m.wire(ipd))
	}
	ok, fail := m.closePaths()
	gOK, gFail := gap(ok), gap(fail)
	// n-1 gaps follow n responses, fails of which failed: give the gaps
	// the cheaper mix (the last response, whose gap falls outside, may be
	// one that failed).
	k := min(fails, n-1)
	if gFail > gOK {
		k = min(max(fails-1, 0), n-1)
	}
	gaps := float64(k)*gFail + float64(n-1-k)*gOK
	return m.ipdAfterConnect(ipd) + float64(n)*r.send() + gaps
}

// concurrent is n requests from c clients at once. Sends are serialised by
// the modem, so the chain is every chunk's command, prompt, payload and
// completion (not the last completion). What can overlap it is the
// unsolicited output: it goes out in the free windows (host command line
// plus modem latency) and delays the next prompt or reply when it
// outlasts them. Over the whole run the free windows are at least as long
// as the larger of their own terms and the unsolicited bytes' wire time
// (each window is at least as long as either, and a sum of maxima is at
// least the maximum of the sums). Before the first command, one frame must
// have crossed. The unsolicited bytes counted: every +IPD frame; with
// Connection: close every "n,CONNECT", and "n,CLOSED" where it is not part
// of a send's result, except for the last c responses, whose closes may
// follow the end. With Connection: close, fails sends ended in SEND FAIL.
//
// The modem's five links are not modelled: a client that reconnects while
// all five are taken (the old links' "n,CLOSED" not yet printed) is reset
// and dials again (redials in the report); the bound does not charge for
// that.
func (m model) concurrent(n, c, fails, total, ipd int, close bool) float64 {
	r := m.response(total)
	free := float64(n) * r.announce
	if !close {
		chain := float64(n)*(r.data+r.compl+r.tail) - r.tail
		return max(m.ipdFirst(ipd)+free, float64(n)*m.wire(ipd)) + chain
	}
	last := m.chunkSizes(total)[r.chunks-1]
	unsolicited := float64(n) * m.wire(connectLen+ipd)
	chain := float64(n) * (r.data + r.compl)
	ok, fail := m.closePaths()
	nFail := min(fails, n)
	maxTail := 0.0
	for _, pk := range []struct {
		p closePath
		k int
	}{{ok, n - nFail}, {fail, nFail}} {
		if pk.k == 0 {
			continue
		}
		tail := pk.p.tail(last)
		chain += float64(pk.k) * tail
		maxTail = max(maxTail, tail)
		if pk.p.closedOut {
			unsolicited += float64(max(pk.k-c, 0)) * m.wire(closedLen)
		}
	}
	chain -= maxTail
	return max(m.ipdAfterConnect(ipd)+free, unsolicited) + chain
}

// page is p page loads on four open keep-alive connections: the HTML on
// one, then the assets requested together on four. The asset frames can go
// out only after the HTML's last SEND OK; the first asset command needs one
// whole frame, and all four frames share the free windows of the asset
// chunks as in concurrent. The page is loaded at the last asset's payload
// done; the next page's frame follows the last SEND OK.
func (m model) page(p, htmlTotal, htmlIPD int, assetTotals, assetIPDs []int) float64 {
	h := m.response(htmlTotal)
	var free, data, compl float64
	var ipdSum int
	minIPD, maxC, minC := assetIPDs[0], 0.0, 0.0
	for i, total := range assetTotals {
		r := m.response(total)
		free += r.announce
		data += r.data
		compl += r.compl + r.tail
		ipdSum += assetIPDs[i]
		minIPD = min(minIPD, assetIPDs[i])
		if i == 0 || r.tail > maxC {
			maxC = r.tail
		}
		if i == 0 || r.tail < minC {
			minC = r.tail
		}
	}
	assets := max(max(h.tail, m.tIPD())+m.wire(minIPD)+free, h.tail+m.wire(ipdSum)) + data + compl - maxC
	one := h.send() + assets
	return m.ipdFirst(htmlIPD) + one + float64(p-1)*(max(minC, m.tIPD())+m.wire(htmlIPD)+one)
}
