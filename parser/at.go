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

var (
	prefixIPD      = []byte("+IPD,")
	prefixRecvData = []byte("+CIPRECVDATA")
)

// Scan consumes a prefix of p and returns how many bytes it consumed and at
// most one event. Call it until p is used up:
//
//	for len(p) > 0 {
//		n, ev := s.Scan(p)
//		p = p[n:]
//		handle(ev)
//	}
func (s *ATScanner) Scan(p []byte) (int, ATEvent) {
	if s.state == statePayload {
		k := min(s.remaining, len(p))
		s.remaining -= k
		ev := ATEvent{Kind: ATData, Link: s.link, Data: p[:k], Last: s.remaining == 0}
		if s.remaining == 0 {
			s.state = stateLine
		}
		return k, ev
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		if s.state == stateDiscard {
			if b == '\n' {
				s.state = stateLine
			}
			continue
		}
		if s.n == 0 {
			if s.swallowSP {
				s.swallowSP = false
				if b == ' ' {
					continue
				}
			}
			switch b {
			case '\r', '\n':
				continue
			case '>':
				s.swallowSP = true
				return i + 1, ATEvent{Kind: ATPrompt, Link: -1}
			}
		}
		if b == '\n' {
			ev := s.classifyLine(trimCR(s.line[:s.n]))
			s.n = 0
			s.quoted = false
			return i + 1, ev
		}
		if s.n == len(s.line) {
			s.state = stateDiscard
			s.n = 0
			s.quoted = false
			return i + 1, ATEvent{Kind: ATLine, Link: -1, Data: s.line[:], Truncated: true}
		}
		s.line[s.n] = b
		s.n++
		if ev, ok := s.header(b); ok {
			return i + 1, ev
		}
	}
	return len(p), ATEvent{Kind: ATNone}
}

// header watches the line for the end of a counted-payload header: the ':'
// of +IPD (outside the quoted address), the ':' of 1.x +CIPRECVDATA and the
// ',' (or the address's last ',') of 2.x +CIPRECVDATA. It also restarts the
// line at an "+IPD," that follows garbage without a line end.
func (s *ATScanner) header(b byte) (ATEvent, bool) {
	line := s.line[:s.n]
	if b == ',' && s.n > len(prefixIPD) && bytes.HasSuffix(line, prefixIPD) {
		copy(s.line[:], prefixIPD)
		s.n = len(prefixIPD)
		s.quoted = false
		return ATEvent{}, false
	}
	switch {
	case bytes.HasPrefix(line, prefixIPD):
		if b == '"' {
			s.quoted = !s.quoted
		}
		if b != ':' || s.quoted {
			return ATEvent{}, false
		}
		ev, ok := parseIPD(line[len(prefixIPD) : len(line)-1])
		if !ok || ev.Len > maxPayload || (s.Mux && ev.Link < 0) {
			return ATEvent{Kind: ATLine, Link: -1, Data: s.takeLine()}, true
		}
		return s.startPayload(ev), true
	case bytes.HasPrefix(line, prefixRecvData) && s.n > len(prefixRecvData):
		rest := line[len(prefixRecvData):]
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
	s.n = 0
	s.quoted = false
	if ev.Len > 0 {
		s.state = statePayload
		s.remaining = ev.Len
		s.link = ev.Link
	}
	return ev
}

// parseIPD parses the fields of an active +IPD header: "<id>,<len>",
// "<len>" (single link), and either with ",<ip>,<port>" (ip quoted or not).
func parseIPD(f []byte) (ATEvent, bool) {
	ev := ATEvent{Kind: ATIPD, Link: -1}
	var parts [4][]byte
	n := splitFields(f, parts[:])
	var ok bool
	switch n {
	case 1:
		ev.Len, ok = atoi(parts[0])
		return ev, ok
	case 2:
		ev.Link, ok = linkID(parts[0])
		if !ok {
			return ev, false
		}
		ev.Len, ok = atoi(parts[1])
		return ev, ok
	case 3: // single link with address: <len>,<ip>,<port>
		ev.Len, ok = atoi(parts[0])
		if !ok {
			return ev, false
		}
		ev.IP = unquote(parts[1])
		ev.Port, ok = atoi(parts[2])
		return ev, ok
	case 4:
		ev.Link, ok = linkID(parts[0])
		if !ok {
			return ev, false
		}
		if ev.Len, ok = atoi(parts[1]); !ok {
			return ev, false
		}
		ev.IP = unquote(parts[2])
		ev.Port, ok = atoi(parts[3])
		return ev, ok
	}
	return ev, false
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

func (s *ATScanner) classifyLine(l []byte) ATEvent {
	ev := ATEvent{Link: -1}
	switch string(l) { // the compiler does not allocate for this conversion
	case "":
		return ATEvent{Kind: ATNone}
	case "OK":
		ev.Kind = ATOK
	case "ERROR":
		ev.Kind = ATError
	case "FAIL":
		ev.Kind = ATFail
	case "SEND OK":
		ev.Kind = ATSendOK
	case "SEND FAIL":
		ev.Kind = ATSendFail
	case "SEND Canceled":
		ev.Kind = ATSendCanceled
	case "busy p...":
		ev.Kind = ATBusyP
	case "busy s...":
		ev.Kind = ATBusyS
	case "ready":
		ev.Kind = ATReady
	case "WIFI CONNECTED":
		ev.Kind = ATWifiConnected
	case "WIFI GOT IP":
		ev.Kind = ATWifiGotIP
	case "WIFI DISCONNECT":
		ev.Kind = ATWifiDisconnect
	case "UNLINK":
		ev.Kind = ATUnlink
	case "link is not valid":
		ev.Kind = ATLinkInvalid
	default:
		return classifyOther(l)
	}
	return ev
}

var (
	suffixConnect     = []byte(",CONNECT")
	suffixClosed      = []byte(",CLOSED")
	suffixConnectFail = []byte(",CONNECT FAIL")
	prefixRecv        = []byte("Recv ")
	suffixBytes       = []byte(" bytes")
	prefixLinkConn    = []byte("+LINK_CONN:")
)

func classifyOther(l []byte) ATEvent {
	ev := ATEvent{Kind: ATLine, Link: -1, Data: l}
	switch {
	case len(l) > len(prefixRecv)+len(suffixBytes) && bytes.HasPrefix(l, prefixRecv) && bytes.HasSuffix(l, suffixBytes):
		if n, ok := atoi(l[len(prefixRecv) : len(l)-len(suffixBytes)]); ok {
			return ATEvent{Kind: ATRecv, Link: -1, Len: n}
		}
	case bytes.HasPrefix(l, prefixIPD): // passive notification: +IPD,<id>,<len>
		var parts [2][]byte
		switch splitFields(l[len(prefixIPD):], parts[:]) {
		case 1:
			if n, ok := atoi(parts[0]); ok {
				return ATEvent{Kind: ATIPDNotify, Link: -1, Len: n}
			}
		case 2:
			id, ok1 := linkID(parts[0])
			n, ok2 := atoi(parts[1])
			if ok1 && ok2 {
				return ATEvent{Kind: ATIPDNotify, Link: id, Len: n}
			}
		}
	case bytes.HasPrefix(l, prefixLinkConn):
		if e, ok := parseLinkConn(l[len(prefixLinkConn):]); ok {
			return e
		}
	}
	// Link events, whole or glued to the end of other bytes (an echo or
	// garbage that lacked its line end).
	for _, m := range [...]struct {
		suffix []byte
		kind   ATKind
	}{{suffixConnect, ATConnect}, {suffixClosed, ATClosed}, {suffixConnectFail, ATConnectFail}} {
		if !bytes.HasSuffix(l, m.suffix) {
			continue
		}
		head := l[:len(l)-len(m.suffix)]
		if len(head) == 0 {
			break
		}
		d := head[len(head)-1]
		if d < '0' || d > '9' || (len(head) > 1 && head[len(head)-2] >= '0' && head[len(head)-2] <= '9') {
			break
		}
		return ATEvent{Kind: m.kind, Link: int(d - '0')}
	}
	return ev
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
