package loop

import (
	"strings"
	"testing"
)

// The redactor hides secret header values however the modem frames them.
func TestRedactorSplitFrames(t *testing.T) {
	req := "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic c2VjcmV0OnBhc3M=\r\ncookie: sid=SECRETSID\r\nX-Cookie: shown\r\n\r\n"
	other := "GET /b HTTP/1.1\r\nProxy-Authorization: Bearer OTHERSECRET\r\n\r\n"
	for _, frame := range []int{1, 3, 7, 16, 1000} {
		for _, readSize := range []int{1, 5, 64, 4096} {
			// Link 0 and link 3 interleave their frames.
			var modem strings.Builder
			modem.WriteString("0,CONNECT\r\n3,CONNECT\r\n")
			a, b := req, other
			for a != "" || b != "" {
				for _, l := range []struct {
					id string
					s  *string
				}{{"0", &a}, {"3", &b}} {
					n := min(frame, len(*l.s))
					if n == 0 {
						continue
					}
					modem.WriteString("\r\n+IPD," + l.id + "," + itoa(n) + ":" + (*l.s)[:n])
					*l.s = (*l.s)[n:]
				}
			}
			in := modem.String()
			tr := newRedactor()
			var out strings.Builder
			for len(in) > 0 {
				n := min(readSize, len(in))
				out.Write(tr.redactRx([]byte(in[:n])))
				in = in[n:]
			}
			got := out.String()
			for _, secret := range []string{"c2VjcmV0OnBhc3M", "SECRETSID", "OTHERSECRET", "Basic c2", "sid="} {
				if strings.Contains(got, secret) {
					t.Fatalf("frame %d, reads of %d: %q leaked:\n%s", frame, readSize, secret, got)
				}
			}
			if frame >= 1000 && readSize >= 64 && (!strings.Contains(got, "X-Cookie: shown") || !strings.Contains(got, "Authorization:<redacted>")) {
				t.Fatalf("frame %d, reads of %d: redacted too much or too little:\n%s", frame, readSize, got)
			}
		}
	}
}

// Response headers in CIPSEND payloads: Set-Cookie is hidden, the rest is not.
func TestRedactorSetCookie(t *testing.T) {
	tr := newRedactor()
	var out strings.Builder
	tx := func(s string) { out.Write(tr.redactTx([]byte(s))) }
	rx := func(s string) { out.Write(tr.redactRx([]byte(s))) }
	rx("0,CONNECT\r\n")
	tx("AT+CIPSEND=0,40\r\n")
	rx("\r\nOK\r\n> ")
	tx("HTTP/1.1 200 OK\r\nSet-Coo")
	rx("\r\nRecv 40 bytes\r\n\r\nSEND OK\r\n")
	tx("AT+CIPSEND=0,30\r\n")
	rx("\r\nOK\r\n> ")
	tx("kie: token=TOPSECRET; Path=/\r\nX-A: b\r\n")
	tx(`AT+CWJAP="net","wifipass"` + "\r\n")
	got := out.String()
	for _, secret := range []string{"TOPSECRET", "wifipass"} {
		if strings.Contains(got, secret) {
			t.Fatalf("%q leaked:\n%s", secret, got)
		}
	}
	if !strings.Contains(got, "X-A: b") || !strings.Contains(got, "AT+CIPSEND=0,30") {
		t.Fatalf("redacted too much:\n%s", got)
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}
