package serialtext

import "testing"

// A password is hidden however the traffic is cut, also in an echo of the
// join command and after a _CUR or _DEF suffix; other commands and
// queries pass as they are.
func TestSecretFilterAnySplit(t *testing.T) {
	in := "\r\nOK\r\nAT+CWJAP_CUR=\"net\",\"pa\\\"ss\\,word\"\r\r\nWIFI CONNECTED\r\nAT+CWSAP_DEF=\"ap\",\"pw2\",1,3\r\n\r\nOK\r\nAT+CWJAP?\r\nAT+CIFSR\r\n"
	want := "\r\nOK\r\nAT+CWJAP_CUR=<redacted>\r\r\nWIFI CONNECTED\r\nAT+CWSAP_DEF=<redacted>\r\n\r\nOK\r\nAT+CWJAP?\r\nAT+CIFSR\r\n"
	for i := range len(in) + 1 {
		for j := i; j <= len(in); j++ {
			var f SecretFilter
			got := f.Append(nil, []byte(in[:i]))
			got = f.Append(got, []byte(in[i:j]))
			got = f.Append(got, []byte(in[j:]))
			if string(got) != want {
				t.Fatalf("cut at %d and %d: %q", i, j, got)
			}
		}
	}
	var f SecretFilter
	var got []byte
	for i := range len(in) {
		got = f.Append(got, []byte{in[i]})
	}
	if string(got) != want {
		t.Fatalf("byte by byte: %q", got)
	}
}

func TestAppendEscaped(t *testing.T) {
	got := string(AppendEscaped([]byte("x"), []byte("a\r\n\t\"\\\x00\x7f\xff~ ")))
	if want := `xa\r\n\t\"\\\x00\x7f\xff~ `; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
