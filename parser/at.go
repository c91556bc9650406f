// Package parser holds espgate's two incremental, zero-allocation parsers:
// the AT scanner (modem to host) and the HTTP/1.1 request parser (client to
// host, fed each link's payload).
package parser

import "bytes"

// ATKind classifies one thing the modem said.
type ATKind uint8

const (
	ATNone           ATKind = iota // input consumed, nothing complete yet
	ATOK                           // "OK": final result
	ATError                        // "ERROR": final result
	ATFail                         // "FAIL": final result of a failed join (1.x)
	ATSendOK                       // "SEND OK"
	ATSendFail                     // "SEND FAIL"
	ATSendCanceled                 // "SEND Canceled" (2.x)
	ATPrompt                       // the CIPSEND prompt '>' (1.x's trailing space is swallowed)
	ATRecv                         // "Recv <Len> bytes"
	ATBusyP                        // "busy p..."
	ATBusyS                        // "busy s..." (1.x: a send awaits its ACK)
	ATReady                        // "ready": the firmware (re)booted
	ATConnect                      // "<Link>,CONNECT"
	ATClosed                       // "<Link>,CLOSED"
	ATConnectFail                  // "<Link>,CONNECT FAIL"
	ATLinkConn                     // "+LINK_CONN:..." with Link, IP, Port; Len holds the status (0 = ok)
	ATWifiConnected                // "WIFI CONNECTED"
	ATWifiGotIP                    // "WIFI GOT IP"
	ATWifiDisconnect               // "WIFI DISCONNECT"
	ATUnlink                       // "UNLINK" (1.x: AT+CIPCLOSE on a dead link)
	ATLinkInvalid                  // "link is not valid"
	ATIPD                          // "+IPD,<Link>,<Len>[,ip,port]:" header; Len payload bytes follow as ATData
	ATIPDNotify                    // passive-mode "+IPD,<Link>,<Len>": Len bytes wait in the modem
	ATRecvData                     // "+CIPRECVDATA" header (either generation); Len payload bytes follow as ATData
	ATData                         // counted payload bytes of the current ATIPD or ATRecvData
	ATLine                         // any other non-empty line (a command's reply, echo, garbage)
	numATKinds
)

var atKindNames = [numATKinds]string{
	"none", "OK", "ERROR", "FAIL", "SEND OK", "SEND FAIL", "SEND Canceled",
	"prompt", "Recv", "busy p", "busy s", "ready", "CONNECT", "CLOSED",
	"CONNECT FAIL", "+LINK_CONN", "WIFI CONNECTED", "WIFI GOT IP",
	"WIFI DISCONNECT", "UNLINK", "link is not valid", "+IPD", "+IPD notify",
	"+CIPRECVDATA", "data", "line",
}

func (k ATKind) String() string {
	if k < numATKinds {
		return atKindNames[k]
	}
	return "unknown"
}

// ATEvent is one result of ATScanner.Scan.
//
// Data and IP are views: for ATData into the input passed to Scan, otherwise
// into the scanner's scratch buffer. Both are valid only until the next call
// to Scan; copy them to keep them.
type ATEvent struct {
	Kind ATKind
	Link int    // link id, or -1 when the message names none (single-link +IPD)
	Len  int    // ATIPD, ATIPDNotify, ATRecvData: payload length; ATRecv: byte count; ATLinkConn: status
	Data []byte // ATData: payload bytes; ATLine: the line without its line end
	IP   []byte // remote address text of ATIPD (with CIPDINFO) and ATLinkConn, unquoted
	Port int    // remote port of ATIPD (with CIPDINFO) and ATLinkConn
	Last bool   // ATData: these are the payload's final bytes
	// Truncated is set on an ATLine longer than the scanner's line limit:
	// Data holds its start, the rest was discarded.
	Truncated bool
}

// MaxATLine bounds one line of modem output; longer lines are reported
// truncated and the scanner resynchronises at the next line end.
const MaxATLine = 512

// maxPayload bounds a counted payload announced by +IPD or +CIPRECVDATA.
// Larger values are taken for line noise, not a frame.
const maxPayload = 1 << 20

type atState uint8

const (
	stateLine    atState = iota // collecting a line (or an +IPD header) into scratch
	stateDiscard                // a line overflowed: dropping bytes up to '\n'
	statePayload                // skipping a counted payload without looking at it
)

// ATScanner splits the modem's output into events. It is incremental: input
// may be split at any byte and fed in any number of calls. It allocates
// nothing. Counted payloads are passed through by length and never scanned.
//
// An ATScanner is owned by one goroutine; it is not safe for concurrent use.
type ATScanner struct {
	state     atState
	n         int  // bytes in line
	quoted    bool // inside a quoted string of an +IPD header
	swallowSP bool // a '>' was just seen: one following space belongs to it
	link      int  // link of the payload being skipped
	remaining int  // payload bytes still to skip
	// RecvDataInfo tells the scanner that +CIPRECVDATA replies of the 2.x
	// form carry the remote address (CIPDINFO=1 in passive mode).
	RecvDataInfo bool
	// Mux tells the scanner that the modem multiplexes links
	// (AT+CIPMUX=1): an active +IPD header without a link id is then line
	// noise (a comma lost on the line), not a frame of unknown length.
	Mux  bool
	line [MaxATLine]byte
}

// Reset returns the scanner to the start of a line, as after a modem reset.
func (s *ATScanner) Reset() {
	info, mux := s.RecvDataInfo, s.Mux
	*s = ATScanner{RecvDataInfo: info, Mux: mux}
}

// InPayload reports whether the scanner is inside a counted payload.
func (s *ATScanner) InPayload() bool { return s.state == statePayload }

// atSpecial marks the bytes that can end a line or a payload header, or
// restart a line: everything else is copied into the line as it comes.
var atSpecial = [256]bool{'\n': true, ',': true, ':': true, '"': true}

// Scan consumes a prefix of p and returns how many bytes it consumed and at
// most one event. Call it until p is used up:
//
//	for len(p) > 0 {
//		n, ev := s.Scan(p)
//		p = p[n:]
//		handle(ev)
//	}
func (s *ATScanner) Scan(p []byte) (int, ATEvent) {
	var ev ATEvent
	n := s.Next(p, &ev)
	return n, ev
}

// Next is Scan writing the event to *ev (overwritten whole) instead of
// returning it, which saves copying the event on busy paths.
func (s *ATScanner) Next(p []byte, ev *ATEvent) int {
	if s.state == statePayload {
		k := min(s.remaining, len(p))
		s.remaining -= k
		*ev = ATEvent{Kind: ATData, Link: s.link, Data: p[:k], Last: s.remaining == 0}
		if s.remaining == 0 {
			s.state = stateLine
		}
		return k
	}
	i := 0
	for i < len(p) {
		if s.state == stateDiscard {
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				*ev = ATEvent{Kind: ATNone}
				return len(p)
			}
			s.state = stateLine
			i += j + 1
			continue
		}
		if s.n == 0 {
			b := p[i]
			if s.swallowSP {
				s.swallowSP = false
				if b == ' ' {
					i++
					continue
				}
			}
			switch b {
			case '\r', '\n':
				i++
				continue
			case '>':
				s.swallowSP = true
				*ev = ATEvent{Kind: ATPrompt, Link: -1}
				return i + 1
			}
		}
		// Copy the run of ordinary bytes; only a special byte can end the
		// line or a header.
		j := i
		for j < len(p) && !atSpecial[p[j]] {
			j++
		}
		if room := len(s.line) - s.n; j-i > room {
			copy(s.line[s.n:], p[i:i+room])
			*ev = s.overflow()
			return i + room + 1
		}
		s.n += copy(s.line[s.n:], p[i:j])
		if j == len(p) {
			break
		}
		b := p[j]
		i = j + 1
		if b == '\n' {
			s.classifyLine(trimCR(s.line[:s.n]), ev)
			s.n = 0
			s.quoted = false
			return i
		}
		if s.n == len(s.line) {
			*ev = s.overflow()
			return i
		}
		s.line[s.n] = b
		s.n++
		if b == ',' && s.n > 5 && string(s.line[s.n-5:s.n]) == "+IPD," {
			// "+IPD," after garbage without a line end: a frame starts.
			copy(s.line[:], "+IPD,")
			s.n = 5
			s.quoted = false
			continue
		}
		if s.n < 6 || s.line[0] != '+' {
			continue // not a payload header
		}
		switch {
		case string(s.line[:5]) == "+IPD,":
			if b == '"' {
				s.quoted = !s.quoted
			} else if b == ':' && !s.quoted {
				s.ipdHeader(ev)
				return i
			}
		case s.n > 12 && string(s.line[:12]) == "+CIPRECVDATA":
			if e, ok := s.recvDataHeader(b); ok {
				*ev = e
				return i
			}
		}
	}
	*ev = ATEvent{Kind: ATNone}
	return len(p)
}

// overflow ends a line that outgrew the scratch buffer: its start is
// reported, the rest is dropped up to the next line end.
func (s *ATScanner) overflow() ATEvent {
	s.state = stateDiscard
	s.n = 0
	s.quoted = false
	return ATEvent{Kind: ATLine, Link: -1, Data: s.line[:], Truncated: true}
}

// ipdHeader ends an +IPD header at its ':' (outside the quoted address).
func (s *ATScanner) ipdHeader(ev *ATEvent) {
	if !parseIPD(s.line[5:s.n-1], ev) || ev.Len > maxPayload || (s.Mux && ev.Link < 0) {
		*ev = ATEvent{Kind: ATLine, Link: -1, Data: s.takeLine()}
		return
	}
	s.payloadOf(ev)
}

// recvDataHeader runs after a special byte b joined a +CIPRECVDATA line.
// It watches for the header's end: the ':' of 1.x, the ',' (or the
// address's last ',') of 2.x.
func (s *ATScanner) recvDataHeader(b byte) (ATEvent, bool) {
	rest := s.line[12:s.n]
	switch rest[0] {
	case ',': // 1.x: +CIPRECVDATA,<len>:
		if b != ':' {
			return ATEvent{}, false
		}
		n, ok := atoi(rest[1 : len(rest)-1])
		if !ok || n > maxPayload {
			return ATEvent{Kind: ATLine, Link: -1, Data: s.takeLine()}, true
		}
		return s.startPayload(ATEvent{Kind: ATRecvData, Link: -1, Len: n}), true
	case ':': // 2.x: +CIPRECVDATA:<len>,  or  +CIPRECVDATA:<len>,"<ip>",<port>,
		if b != ',' {
			return ATEvent{}, false
		}
		fields := rest[1 : len(rest)-1]
		if !s.RecvDataInfo {
			n, ok := atoi(fields)
			if !ok || n > maxPayload {
				return ATEvent{Kind: ATLine, Link: -1, Data: s.takeLine()}, true
			}
			return s.startPayload(ATEvent{Kind: ATRecvData, Link: -1, Len: n}), true
		}
		if bytes.Count(fields, []byte{','}) < 2 {
			return ATEvent{}, false
		}
		lenF, rest2, _ := bytes.Cut(fields, []byte{','})
		ipF, portF, _ := bytes.Cut(rest2, []byte{','})
		n, ok1 := atoi(lenF)
		port, ok2 := atoi(portF)
		if !ok1 || !ok2 || n > maxPayload {
			return ATEvent{Kind: ATLine, Link: -1, Data: s.takeLine()}, true
		}
		return s.startPayload(ATEvent{Kind: ATRecvData, Link: -1, Len: n, IP: unquote(ipF), Port: port}), true
	}
	return ATEvent{}, false
}

// takeLine ends the current line and returns it (valid until the next Scan).
func (s *ATScanner) takeLine() []byte {
	l := s.line[:s.n]
	s.n = 0
	s.quoted = false
	return l
}

func (s *ATScanner) startPayload(ev ATEvent) ATEvent {
	s.payloadOf(&ev)
	return ev
}

// payloadOf ends the header of the counted payload ev announces.
func (s *ATScanner) payloadOf(ev *ATEvent) {
	s.n = 0
	s.quoted = false
	if ev.Len > 0 {
		s.state = statePayload
		s.remaining = ev.Len
		s.link = ev.Link
	}
}

// parseIPD parses the fields of an active +IPD header into ev: "<id>,<len>",
// "<len>" (single link), and either with ",<ip>,<port>" (ip quoted or not).
func parseIPD(f []byte, ev *ATEvent) bool {
	*ev = ATEvent{Kind: ATIPD, Link: -1}
	var parts [4][]byte
	n := splitFields(f, parts[:])
	var ok bool
	switch n {
	case 1:
		ev.Len, ok = atoi(parts[0])
		return ok
	case 2:
		ev.Link, ok = linkID(parts[0])
		if !ok {
			return false
		}
		ev.Len, ok = atoi(parts[1])
		return ok
	case 3: // single link with address: <len>,<ip>,<port>
		ev.Len, ok = atoi(parts[0])
		if !ok {
			return false
		}
		ev.IP = unquote(parts[1])
		ev.Port, ok = atoi(parts[2])
		return ok
	case 4:
		ev.Link, ok = linkID(parts[0])
		if !ok {
			return false
		}
		if ev.Len, ok = atoi(parts[1]); !ok {
			return false
		}
		ev.IP = unquote(parts[2])
		ev.Port, ok = atoi(parts[3])
		return ok
	}
	return false
}

// splitFields splits f at commas outside double quotes into parts and
// returns the count, or len(parts)+1 when there are more fields than parts.
func splitFields(f []byte, parts [][]byte) int {
	n, start, quoted := 0, 0, false
	for i := 0; i <= len(f); i++ {
		if i < len(f) {
			if f[i] == '"' {
				quoted = !quoted
			}
			if f[i] != ',' || quoted {
				continue
			}
		}
		if n == len(parts) {
			return n + 1
		}
		parts[n] = f[start:i]
		n++
		start = i + 1
	}
	return n
}

func (s *ATScanner) classifyLine(l []byte, ev *ATEvent) {
	if len(l) == 0 {
		*ev = ATEvent{Kind: ATNone}
		return
	}
	k := ATLine
	switch l[0] { // the compiler does not allocate for these conversions
	case 'O':
		if string(l) == "OK" {
			k = ATOK
		}
	case 'E':
		if string(l) == "ERROR" {
			k = ATError
		}
	case 'F':
		if string(l) == "FAIL" {
			k = ATFail
		}
	case 'S':
		switch string(l) {
		case "SEND OK":
			k = ATSendOK
		case "SEND FAIL":
			k = ATSendFail
		case "SEND Canceled":
			k = ATSendCanceled
		}
	case 'b':
		switch string(l) {
		case "busy p...":
			k = ATBusyP
		case "busy s...":
			k = ATBusyS
		}
	case 'r':
		if string(l) == "ready" {
			k = ATReady
		}
	case 'W':
		switch string(l) {
		case "WIFI CONNECTED":
			k = ATWifiConnected
		case "WIFI GOT IP":
			k = ATWifiGotIP
		case "WIFI DISCONNECT":
			k = ATWifiDisconnect
		}
	case 'U':
		if string(l) == "UNLINK" {
			k = ATUnlink
		}
	case 'l':
		if string(l) == "link is not valid" {
			k = ATLinkInvalid
		}
	}
	if k != ATLine {
		*ev = ATEvent{Kind: k, Link: -1}
		return
	}
	classifyOther(l, ev)
}

func classifyOther(l []byte, ev *ATEvent) {
	switch {
	case l[0] == 'R' && len(l) > len("Recv  bytes") && string(l[:5]) == "Recv " && string(l[len(l)-6:]) == " bytes":
		if n, ok := atoi(l[5 : len(l)-6]); ok {
			*ev = ATEvent{Kind: ATRecv, Link: -1, Len: n}
			return
		}
	case l[0] != '+':
	case bytes.HasPrefix(l, []byte("+IPD,")): // passive notification: +IPD,<id>,<len>
		var parts [2][]byte
		switch splitFields(l[len("+IPD,"):], parts[:]) {
		case 1:
			if n, ok := atoi(parts[0]); ok {
				*ev = ATEvent{Kind: ATIPDNotify, Link: -1, Len: n}
				return
			}
		case 2:
			id, ok1 := linkID(parts[0])
			n, ok2 := atoi(parts[1])
			if ok1 && ok2 {
				*ev = ATEvent{Kind: ATIPDNotify, Link: id, Len: n}
				return
			}
		}
	case bytes.HasPrefix(l, []byte("+LINK_CONN:")):
		if e, ok := parseLinkConn(l[len("+LINK_CONN:"):]); ok {
			*ev = e
			return
		}
	}
	// Link events, whole or glued to the end of other bytes (an echo or
	// garbage that lacked its line end): "<digit>,CONNECT" and the like.
	var suffix string
	var kind ATKind
	switch l[len(l)-1] {
	case 'T':
		suffix, kind = ",CONNECT", ATConnect
	case 'D':
		suffix, kind = ",CLOSED", ATClosed
	case 'L':
		suffix, kind = ",CONNECT FAIL", ATConnectFail
	}
	if h := len(l) - len(suffix); suffix != "" && h > 0 && string(l[h:]) == suffix {
		d := l[h-1]
		if d >= '0' && d <= '9' && (h == 1 || l[h-2] < '0' || l[h-2] > '9') {
			*ev = ATEvent{Kind: kind, Link: int(d - '0')}
			return
		}
	}
	*ev = ATEvent{Kind: ATLine, Link: -1, Data: l}
}

// parseLinkConn parses "<status>,<id>,"TCP",<c/s>,"<ip>",<rport>,<lport>".
func parseLinkConn(f []byte) (ATEvent, bool) {
	var parts [7][]byte
	if splitFields(f, parts[:]) != 7 {
		return ATEvent{}, false
	}
	status, ok1 := atoi(parts[0])
	id, ok2 := linkID(parts[1])
	port, ok3 := atoi(parts[5])
	if !ok1 || !ok2 || !ok3 {
		return ATEvent{}, false
	}
	return ATEvent{Kind: ATLinkConn, Link: id, Len: status, IP: unquote(parts[4]), Port: port}, true
}

func linkID(b []byte) (int, bool) {
	if len(b) != 1 || b[0] < '0' || b[0] > '9' {
		return 0, false
	}
	return int(b[0] - '0'), true
}

// atoi parses a non-negative decimal of at most 9 digits.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func unquote(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}

func trimCR(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
