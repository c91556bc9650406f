package parser

import "bytes"

// refATScanner is the scanner as first written: byte by byte, every rule
// checked at every byte. It is slow and obviously faithful to the rules;
// FuzzATScannerReference holds ATScanner to exactly its events.
type refATScanner struct {
	state        atState
	n            int
	quoted       bool
	swallowSP    bool
	link         int
	remaining    int
	RecvDataInfo bool
	line         [MaxATLine]byte
}

func (s *refATScanner) takeLine() []byte {
	l := s.line[:s.n]
	s.n = 0
	s.quoted = false
	return l
}

func (s *refATScanner) startPayload(ev ATEvent) ATEvent {
	s.n = 0
	s.quoted = false
	if ev.Len > 0 {
		s.state = statePayload
		s.remaining = ev.Len
		s.link = ev.Link
	}
	return ev
}

// Scan is ATScanner.Scan as first written.
func (s *refATScanner) Scan(p []byte) (int, ATEvent) {
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
			ev := s.refClassifyLine(trimCR(s.line[:s.n]))
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
		if ev, ok := s.refHeader(b); ok {
			return i + 1, ev
		}
	}
	return len(p), ATEvent{Kind: ATNone}
}

// header watches the line for the end of a counted-payload header: the ':'
// of +IPD (outside the quoted address), the ':' of 1.x +CIPRECVDATA and the
// ',' (or the address's last ',') of 2.x +CIPRECVDATA. It also restarts the
// line at an "+IPD," that follows garbage without a line end.
func (s *refATScanner) refHeader(b byte) (ATEvent, bool) {
	line := s.line[:s.n]
	if b == ',' && s.n > len(refPrefixIPD) && bytes.HasSuffix(line, refPrefixIPD) {
		copy(s.line[:], refPrefixIPD)
		s.n = len(refPrefixIPD)
		s.quoted = false
		return ATEvent{}, false
	}
	switch {
	case bytes.HasPrefix(line, refPrefixIPD):
		if b == '"' {
			s.quoted = !s.quoted
		}
		if b != ':' || s.quoted {
			return ATEvent{}, false
		}
		var ev ATEvent
		ok := parseIPD(line[len(refPrefixIPD):len(line)-1], &ev)
		if !ok || ev.Len > maxPayload {
			return ATEvent{Kind: ATLine, Link: -1, Data: s.takeLine()}, true
		}
		return s.startPayload(ev), true
	case bytes.HasPrefix(line, refPrefixRecvData) && s.n > len(refPrefixRecvData):
		rest := line[len(refPrefixRecvData):]
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

func (s *refATScanner) refClassifyLine(l []byte) ATEvent {
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
		return refClassifyOther(l)
	}
	return ev
}

var (
	refSuffixConnect     = []byte(",CONNECT")
	refSuffixClosed      = []byte(",CLOSED")
	refSuffixConnectFail = []byte(",CONNECT FAIL")
	refPrefixRecv        = []byte("Recv ")
	refSuffixBytes       = []byte(" bytes")
	refPrefixLinkConn    = []byte("+LINK_CONN:")
)

func refClassifyOther(l []byte) ATEvent {
	ev := ATEvent{Kind: ATLine, Link: -1, Data: l}
	switch {
	case len(l) > len(refPrefixRecv)+len(refSuffixBytes) && bytes.HasPrefix(l, refPrefixRecv) && bytes.HasSuffix(l, refSuffixBytes):
		if n, ok := atoi(l[len(refPrefixRecv) : len(l)-len(refSuffixBytes)]); ok {
			return ATEvent{Kind: ATRecv, Link: -1, Len: n}
		}
	case bytes.HasPrefix(l, refPrefixIPD): // passive notification: +IPD,<id>,<len>
		var parts [2][]byte
		switch splitFields(l[len(refPrefixIPD):], parts[:]) {
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
	case bytes.HasPrefix(l, refPrefixLinkConn):
		if e, ok := parseLinkConn(l[len(refPrefixLinkConn):]); ok {
			return e
		}
	}
	// Link events, whole or glued to the end of other bytes (an echo or
	// garbage that lacked its line end).
	for _, m := range [...]struct {
		suffix []byte
		kind   ATKind
	}{{refSuffixConnect, ATConnect}, {refSuffixClosed, ATClosed}, {refSuffixConnectFail, ATConnectFail}} {
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

var (
	refPrefixIPD      = []byte("+IPD,")
	refPrefixRecvData = []byte("+CIPRECVDATA")
)
