package fsm

import "testing"

// A keep-alive response still being sent when Shutdown comes closes its
// link once sent (after the linger that lets the client close first), not
// at the idle deadline.
func TestShutdownClosesKeepAliveAfterResponse(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := serving(t, g, Config{})
			tm.handler = text("ok")
			tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
			line := tm.wantWritePrefix("announce", "AT+CIPSEND=0,")
			tm.says(tm.prompt())
			p := tm.write()
			tm.m.Shutdown(tm.now)
			tm.says("\r\nRecv " + line[len("AT+CIPSEND=0,"):len(line)-2] + " bytes\r\n\r\nSEND OK\r\n")
			if len(p) == 0 {
				t.Fatal("no payload")
			}
			tm.lingerThenClose(0)
			if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedShutdown {
				t.Fatalf("reason %v", n.Reason)
			}
			if !tm.m.Done() {
				t.Fatal("not done")
			}
		})
	}
}
