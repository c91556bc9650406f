package loop

import (
	"bytes"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/parser"
)

// redactor keeps secrets out of the serial trace: the values of the
// Authorization, Proxy-Authorization, Cookie and Set-Cookie header fields
// and the Wi-Fi password of AT+CWJAP. It follows the modem's framing with
// its own AT scanner, so a header split across +IPD frames, reads or
// CIPSEND chunks, or interleaved with other links, is still caught. Bytes
// outside any frame are checked too. It runs only when trace logging is on.
type redactor struct {
	sc      parser.ATScanner
	rx, tx  [fsm.MaxLinks]fieldMask // client bytes, response bytes per link
	rxLine  fieldMask               // modem output outside +IPD payloads
	txLine  fieldMask               // host commands
	sendTo  int                     // link of the last AT+CIPSEND, -1 none
	payload bool                    // the modem prompted: the next tx write is sendTo's payload
	out     []byte
}

func newRedactor() *redactor { return &redactor{sendTo: -1} }

var (
	cwjap = []byte("AT+CWJAP")
	cwsap = []byte("AT+CWSAP")
)

// rx returns b, read from the modem, with secrets replaced.
func (t *redactor) redactRx(b []byte) []byte {
	t.out = t.out[:0]
	for p, off := b, 0; len(p) > 0; {
		n, ev := t.sc.Scan(p)
		seg := b[off : off+n]
		switch ev.Kind {
		case parser.ATData:
			if m := t.link(t.rx[:], ev.Link); m != nil {
				t.out = m.appendMasked(t.out, seg)
			} else {
				t.out = t.rxLine.appendMasked(t.out, seg)
			}
		default:
			t.out = t.rxLine.appendMasked(t.out, seg)
		}
		switch ev.Kind {
		case parser.ATPrompt:
			t.payload = t.sendTo >= 0
		case parser.ATConnect, parser.ATClosed, parser.ATLinkConn:
			if ev.Link >= 0 && ev.Link < fsm.MaxLinks {
				t.rx[ev.Link], t.tx[ev.Link] = fieldMask{}, fieldMask{}
			}
		case parser.ATReady:
			t.rx, t.tx = [fsm.MaxLinks]fieldMask{}, [fsm.MaxLinks]fieldMask{}
			t.sendTo, t.payload = -1, false
		}
		p, off = p[n:], off+n
	}
	return t.out
}

// tx returns b, written to the modem, with secrets replaced.
func (t *redactor) redactTx(b []byte) []byte {
	t.out = t.out[:0]
	if t.payload {
		t.payload = false
		if m := t.link(t.tx[:], t.sendTo); m != nil {
			return m.appendMasked(t.out, b)
		}
	}
	if bytes.HasPrefix(b, cwjap) || bytes.HasPrefix(b, cwsap) {
		cmd, _, _ := bytes.Cut(b, []byte("="))
		return append(append(t.out, cmd...), "=<redacted>\r\n"...)
	}
	t.sendTo = -1
	if rest, ok := bytes.CutPrefix(b, []byte("AT+CIPSEND=")); ok && len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
		t.sendTo = int(rest[0] - '0')
	}
	return t.txLine.appendMasked(t.out, b)
}

func (t *redactor) link(masks []fieldMask, link int) *fieldMask {
	if link < 0 || link >= len(masks) {
		return nil
	}
	return &masks[link]
}

// fieldMask follows one byte stream line by line and hides the value of
// each secret header field in it.
type fieldMask struct {
	col    int // bytes of the current line so far; -1 past its name
	name   [len("proxy-authorization")]byte
	secret bool // inside a secret value: hidden until the line ends
}

var secretFields = [...]string{"authorization", "proxy-authorization", "cookie", "set-cookie"}

// appendMasked appends b to dst with secret values replaced by
// "<redacted>" (once per run of hidden bytes).
func (m *fieldMask) appendMasked(dst, b []byte) []byte {
	hiding := false
	for _, c := range b {
		if c == '\n' || c == '\r' {
			m.col, m.secret, hiding = 0, false, false
			dst = append(dst, c)
			continue
		}
		if m.secret {
			if !hiding {
				dst = append(dst, "<redacted>"...)
				hiding = true
			}
			continue
		}
		dst = append(dst, c)
		switch {
		case m.col < 0:
		case c == ':':
			m.secret = m.isSecret()
			m.col = -1
		case m.col < len(m.name):
			m.name[m.col] = c | 0x20
			m.col++
		default:
			m.col = -1
		}
	}
	return dst
}

func (m *fieldMask) isSecret() bool {
	for _, f := range secretFields {
		if m.col == len(f) && string(m.name[:m.col]) == f {
			return true
		}
	}
	return false
}
