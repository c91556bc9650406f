package parser

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// FuzzATScanner checks that any modem output, split at any points, yields
// the same events as when fed at once, and that scanning never panics.
func FuzzATScanner(f *testing.F) {
	for _, s := range []string{
		"\r\nOK\r\n> ",
		"AT\r\r\n\r\nOK\r\n0,CONNECT\r\n\r\n+IPD,0,5:hello1,CLOSED\r\n",
		"\r\n+IPD,1,4,\"10.0.0.9\",80:pong\r\n+IPD,2,3,192.168.1.2,5:abc\r\nbusy s...\r\n",
		"+CIPRECVDATA,4:ab\r\n\r\nOK\r\n+CIPRECVDATA:2,OK\r\nOK\r\n",
		"\xff\xfe+IPD,0,2:ok\r\n+LINK_CONN:0,2,\"TCP\",1,\"1.2.3.4\",5,80\r\nready\r\n",
		"\r\nRecv 12 bytes\r\n\r\nSEND FAIL\r\nUNLINK\r\nlink is not valid\r\n",
	} {
		f.Add([]byte(s), uint16(3), uint16(11))
	}
	f.Fuzz(func(t *testing.T, in []byte, a, b uint16) {
		if len(in) > 8192 {
			return
		}
		whole := scanAll(t, in)
		i, j := int(a)%(len(in)+1), int(b)%(len(in)+1)
		if i > j {
			i, j = j, i
		}
		split := scanAll(t, in[:i], in[i:j], in[j:])
		if !slices.Equal(whole, split) {
			t.Fatalf("split at %d,%d changes the events\nwhole: %v\nsplit: %v", i, j, whole, split)
		}
	})
}

// FuzzATScannerReference holds ATScanner to refATScanner, the byte-by-byte
// scanner it replaced: the same consumed counts and the same events, field
// by field, for any input split at any two points, with and without
// RecvDataInfo.
func FuzzATScannerReference(f *testing.F) {
	for _, s := range []string{
		"\r\nOK\r\n> \r\n+IPD,0,78,192.168.1.9,50000:GET / HTTP/1.1\r\n\r\n",
		"AT+CIPSE1,CONNECT\r\nND=0,98\r\r\n\xff+IPD,+IPD,0,2:ok+IPD,1,2,\"fe80::1\",80:hi",
		"+CIPRECVDATA,4:ab\r\n+CIPRECVDATA:3,\"10.1.2.3\",4000,abc+CIPRECVDATA:2,ok",
		"+LINK_CONN:0,2,\"TCP\",1,\"1.2.3.4\",5,80\r\nRecv 12 bytes\r\n  \r\n>>  > x\r\n",
		"\r\n+IPD,0,99999999:\r\n+IPD,0,1500\r\n+IPD,x,2:\r\n10,CLOSED\r\n",
	} {
		f.Add([]byte(s), uint16(3), uint16(11), false)
	}
	f.Add([]byte(strings.Repeat("x", MaxATLine-1)+",+IPD,0,1:z"+strings.Repeat("y", MaxATLine+3)+"\r\nOK\r\n"), uint16(511), uint16(600), false)
	f.Fuzz(func(t *testing.T, in []byte, a, b uint16, info bool) {
		if len(in) > 8192 {
			return
		}
		i, j := int(a)%(len(in)+1), int(b)%(len(in)+1)
		if i > j {
			i, j = j, i
		}
		var s ATScanner
		var r refATScanner
		s.RecvDataInfo, r.RecvDataInfo = info, info
		for _, c := range [][]byte{in[:i], in[i:j], in[j:]} {
			for len(c) > 0 {
				n, ev := s.Scan(c)
				rn, rev := r.Scan(c)
				if n != rn || !sameEvent(ev, rev) {
					t.Fatalf("at %q: Scan = %d, %+v\nreference %d, %+v", c, n, ev, rn, rev)
				}
				if n == 0 {
					t.Fatalf("no progress on %q", c)
				}
				c = c[n:]
			}
			if s.InPayload() != (r.state == statePayload) {
				t.Fatal("payload state differs")
			}
		}
	})
}

func sameEvent(a, b ATEvent) bool {
	return a.Kind == b.Kind && a.Link == b.Link && a.Len == b.Len && bytes.Equal(a.Data, b.Data) &&
		bytes.Equal(a.IP, b.IP) && a.Port == b.Port && a.Last == b.Last && a.Truncated == b.Truncated &&
		(a.Data == nil) == (b.Data == nil) && (a.IP == nil) == (b.IP == nil)
}
