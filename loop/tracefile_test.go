package loop

import (
	"strconv"
	"testing"

	"github.com/espgate/espgate/internal/serialtext"
)

// The trace's two filters together: the commands that carry a password
// (serialtext.SecretFilter), and the password wherever else it appears.
func TestRedact(t *testing.T) {
	const pw = `pa"ss,word`
	for _, c := range []struct{ in, want string }{
		{"AT+CWJAP_CUR=\"home\",\"pa\\\"ss\\,word\"\r\n", "AT+CWJAP_CUR=<redacted>\r\n"},
		{"AT+CWJAP=\"home\",\"x\"\r\n", "AT+CWJAP=<redacted>\r\n"},
		{"AT+CWSAP_DEF=\"ap\",\"12345678\",5,3\r\n", "AT+CWSAP_DEF=<redacted>\r\n"},
		{"AT+CWJAP_CUR=\"home\",\"pass", "AT+CWJAP_CUR=<redacted>"}, // cut short
		{"AT\r\nAT+CWJAP=\"a\",\"b\"\r\nAT\r\n", "AT\r\nAT+CWJAP=<redacted>\r\nAT\r\n"},
		{"AT+CWJAP_CUR?\r\n", "AT+CWJAP_CUR?\r\n"},
		{"+CWJAP_CUR:\"home\",\"a4:2b\",6,-52\r\n", "+CWJAP_CUR:\"home\",\"a4:2b\",6,-52\r\n"},
		{"echo: pa\"ss,word!", "echo: <redacted>!"},
		{"\r\nOK\r\n", "\r\nOK\r\n"},
	} {
		var f serialtext.SecretFilter
		if got := string(redact(f.Append(nil, []byte(c.in)), pw)); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAppendQuoted(t *testing.T) {
	in := "AT\r\n\"\\\t\x00\xc3\xa9\xff~"
	q := string(appendQuoted(nil, []byte(in)))
	if q != `"AT\r\n\"\\\t\x00\xc3\xa9\xff~"` {
		t.Fatalf("quoted %s", q)
	}
	if s, err := strconv.Unquote(q); err != nil || s != in {
		t.Fatalf("unquote: %q, %v", s, err)
	}
}
