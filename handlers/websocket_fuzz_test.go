package handlers

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unicode/utf8"
)

// Whatever a client sends, split anywhere, the connection reads the same
// messages and answers the same bytes as when it all comes at once; text
// messages are valid UTF-8; anything it sends is well-formed server
// frames, and a close frame carries a code it may send.
func FuzzWebSocketInput(f *testing.F) {
	f.Add(cat(clientFrame(0x81, []byte("hello"), true), clientFrame(0x89, []byte("p"), true)), uint(3))
	f.Add(cat(clientFrame(0x01, []byte("a\xc3"), true), clientFrame(0x80, []byte("\xa9"), true)), uint(7))
	f.Add(clientFrame(0x88, []byte{0x03, 0xe8, 'o', 'k'}, true), uint(1))
	f.Add(clientFrame(0x82, make([]byte, 300), true), uint(100))
	f.Add([]byte{0x81, 0x02, 'h', 'i'}, uint(2))
	f.Fuzz(func(t *testing.T, data []byte, split uint) {
		if len(data) > 4096 {
			return
		}
		k := int(split % uint(len(data)+1))
		whole, parts := newTestConn(256), newTestConn(256)
		whole.in(data, false)
		parts.in(data[:k], false)
		parts.in(data[k:], false)
		out1, eof1 := drainBytes(t, whole)
		out2, eof2 := drainBytes(t, parts)
		if !bytes.Equal(out1, out2) || eof1 != eof2 {
			t.Fatalf("split at %d changes the output:\n% x\n% x", k, out1, out2)
		}
		if len(whole.inbox) != len(parts.inbox) {
			t.Fatalf("split at %d: %d messages, whole %d", k, len(parts.inbox), len(whole.inbox))
		}
		for i, m := range whole.inbox {
			if m.typ != parts.inbox[i].typ || !bytes.Equal(m.data, parts.inbox[i].data) {
				t.Fatalf("message %d differs when split", i)
			}
			if m.typ == MessageText && !utf8.Valid(m.data) {
				t.Fatalf("message %d: invalid UTF-8 delivered", i)
			}
			if len(m.data) > 256 {
				t.Fatalf("message %d: %d bytes over the limit", i, len(m.data))
			}
		}
		for _, fr := range parseFrames(t, out1) {
			if fr.op == opClose && len(fr.payload) >= 2 && !validCloseCode(int(binary.BigEndian.Uint16(fr.payload))) {
				t.Fatalf("sent close code %d", binary.BigEndian.Uint16(fr.payload))
			}
		}
	})
}
