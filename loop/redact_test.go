package loop

import "testing"

// The trace log never shows a Wi-Fi password, however the serial traffic
// is cut into reads, and also not in a modem's echo of the join command.
func TestRedactorAnySplit(t *testing.T) {
	in := "\r\nOK\r\nAT+CWJAP_CUR=\"net\",\"pa\\\"ss\\,word\"\r\r\nWIFI CONNECTED\r\nAT+CWSAP=\"ap\",\"pw2\",1,3\r\n\r\nOK\r\nAT+CIFSR\r\n"
	want := "\r\nOK\r\nAT+CWJAP_CUR=<redacted>\r\r\nWIFI CONNECTED\r\nAT+CWSAP=<redacted>\r\n\r\nOK\r\nAT+CIFSR\r\n"
	for i := range len(in) + 1 {
		for j := i; j <= len(in); j++ {
			var r secretFilter
			got := r.filter(nil, []byte(in[:i]))
			got = r.filter(got, []byte(in[i:j]))
			got = r.filter(got, []byte(in[j:]))
			if string(got) != want {
				t.Fatalf("cut at %d and %d: %q", i, j, got)
			}
		}
	}
}
