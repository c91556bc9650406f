package sim

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wi-Fi passwords never reach the trace or the diagnostics: not in the
// host's command, not in the modem's echo of it (which comes a byte at a
// time), not in a violation's detail.
func TestTraceRedactsPasswords(t *testing.T) {
	const pw = "s3cret-pw"
	var (
		tr   lockedBuffer
		mu   sync.Mutex
		logs strings.Builder
	)
	h := startHost(t, Config{Unpaced: true, Password: pw, Trace: &tr, Logf: func(f string, a ...any) {
		mu.Lock()
		fmt.Fprintf(&logs, f+"\n", a...)
		mu.Unlock()
	}})
	join := `AT+CWJAP_CUR="espgate-sim","` + pw + `"` + "\r\n"
	h.send(join) // echo is on after boot
	h.until("WIFI GOT IP\r\n\r\nOK\r\n")
	h.send(`AT+CWSAP="ap","` + pw + `",5,3` + "\n") // LF only: a malformed line
	h.until("ERROR\r\n")
	h.quiet(20 * time.Millisecond)
	for name, out := range map[string]string{"trace": tr.String(), "diagnostics": logs.String(), "violations": fmt.Sprint(h.m.Violations())} {
		if strings.Contains(out, pw) || strings.Contains(out, "s3cret") {
			t.Errorf("the password is in the %s:\n%s", name, out)
		}
	}
	if n := strings.Count(tr.String(), "<redacted>"); n < 3 {
		t.Errorf("%d redactions in the trace, want the command, its echo and the AP line:\n%s", n, tr.String())
	}
	if !strings.Contains(tr.String(), `AT+CWJAP_CUR=<redacted>\r\n`) {
		t.Errorf("the command line is not shown redacted:\n%s", tr.String())
	}
}
