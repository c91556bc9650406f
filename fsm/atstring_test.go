package fsm

import (
	"errors"
	"strings"
	"testing"
)

func TestAppendEscaped(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{`ab,c`, `ab\,c`},
		{`0123456789"\`, `0123456789\"\\`},
		{`\,"`, `\\\,\"`},
		{"caf\xc3\xa9", "caf\xc3\xa9"},   // UTF-8 passes as it is
		{"a\r\nAT+RST\r\nb", "aAT+RSTb"}, // never a line end
		{"a\x00b\x7fc\td", "abcd"},
	} {
		if got := string(appendEscaped(nil, c.in)); got != c.want {
			t.Errorf("appendEscaped(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCheckATString(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		fail string // substring of the error; empty: accepted
	}{
		{`my,"net"\`, 32, ""},
		{strings.Repeat("x", 32), 32, ""},
		{strings.Repeat("x", 33), 32, "33 bytes, at most 32"},
		{"pass\r\nAT+RST", 64, "control character 0x0d at byte 4"},
		{"pass\nword", 64, "control character 0x0a at byte 4"},
		{"nul\x00", 64, "control character 0x00 at byte 3"},
		{"tab\there", 64, "control character 0x09 at byte 3"},
		{"del\x7f", 64, "control character 0x7f at byte 3"},
		{"caf\xc3\xa9", 64, ""},
	} {
		err := CheckATString("password", c.in, c.max)
		switch {
		case c.fail == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.fail != "" && (err == nil || !strings.Contains(err.Error(), c.fail) || !errors.Is(err, ErrATString)):
			t.Errorf("%q: error %v, want one with %q", c.in, err, c.fail)
		case err != nil && strings.Contains(err.Error(), c.in):
			t.Errorf("%q: the error repeats the value: %v", c.in, err)
		}
	}
	if err := CheckCredentials("", "\r\n"); err != nil {
		t.Errorf("no SSID, nothing to join: %v", err)
	}
	if err := CheckCredentials("net\r", "pw"); err == nil || !strings.HasPrefix(err.Error(), "network name ") {
		t.Errorf("bad SSID: %v", err)
	}
	if err := CheckCredentials("net", strings.Repeat("p", 65)); err == nil || !strings.HasPrefix(err.Error(), "password ") {
		t.Errorf("long password: %v", err)
	}
}

// A value no one checked reaches the join command without its control
// characters: the join can fail, no command can be injected.
func TestJoinNeverCarriesALineEnd(t *testing.T) {
	tm := newTestModem(t, GenESPAT, Config{SSID: "net", Password: "x\"\r\nAT+RESTORE\r\n"})
	tm.bootToVersion()
	tm.wantWrite("mode", "AT+CWMODE=1\r\n")
	tm.says("\r\nOK\r\n")
	tm.wantWrite("join", `AT+CWJAP="net","x\"AT+RESTORE"`+"\r\n")
}
