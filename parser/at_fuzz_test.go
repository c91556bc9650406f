package parser

import (
	"slices"
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
