//go:build !race

package parser

import "testing"

// Scanning allocates nothing, whatever the input and its splits.
func TestATScannerZeroAllocs(t *testing.T) {
	in := []byte("\r\n+IPD,0,5,\"10.0.0.9\",80:hello0,CLOSED\r\nAT\r\r\n\r\nOK\r\n> +LINK_CONN:0,2,\"TCP\",1,\"1.2.3.4\",5,80\r\nRecv 5 bytes\r\nSEND OK\r\n")
	var s ATScanner
	if a := testing.AllocsPerRun(200, func() {
		for i := 0; i < len(in); i += 7 {
			p := in[i:min(i+7, len(in))]
			for len(p) > 0 {
				n, _ := s.Scan(p)
				p = p[n:]
			}
		}
	}); a != 0 {
		t.Fatalf("%.1f allocations per pass", a)
	}
}
