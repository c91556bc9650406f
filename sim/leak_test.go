package sim

import (
	"io"
	"runtime"
	"testing"
	"time"
)

// Close stops every goroutine the modem started, with clients connected,
// sends in flight and both transports.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, p := range profiles() {
		for _, pty := range []bool{false, true} {
			m, err := New(Config{Profile: p, Listen: "127.0.0.1:0", Joined: true, Baud: 921600, PreciseTiming: true,
				Timing: Timing{Command: time.Millisecond, ACK: time.Hour, SendOK: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			var rw io.ReadWriteCloser = m.Host()
			if pty {
				rw.Close()
				m2, err := New(Config{Profile: p, Listen: "127.0.0.1:0", Joined: true, Unpaced: true})
				if err != nil {
					t.Fatal(err)
				}
				m.Close()
				m = m2
				path, err := m.OpenPTY("")
				if err != nil {
					t.Fatal(err)
				}
				rw = openSlave(t, path)
			}
			h := newHost(t, m, rw)
			h.boot()
			h.expect(wifiJoined)
			h.server()
			c1 := h.dial(0)
			c2 := h.dial(1)
			c1.Write([]byte("request"))
			h.until("request")
			h.cmd("AT+CIPSEND=0,3\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			h.send("abc") // SEND OK pending (an hour away when paced)
			h.send("AT+CIPSEND=1,10\r\n")
			go io.Copy(io.Discard, c2)
			m.Reset()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Fatal("second Close:", err)
			}
			m.Reset() // no-op once closed
			_ = m.Stats()
			// Close ends the line: the host's blocked Read returns (after
			// what was already transmitted): io.EOF in process, an error on
			// the pty.
			<-h.exited
			if !pty && h.err != io.EOF {
				t.Fatalf("host read ended with %v, want io.EOF", h.err)
			}
			rw.Close()
			c1.Close()
			c2.Close()
		}
	}
	deadline := time.Now().Add(waitLimit)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
