package espgate

import (
	"strings"
	"testing"
)

// Every value on the set-up page is escaped: a network name is user input.
func TestSetupPageEscapes(t *testing.T) {
	evil := `"><script>alert(1)</script>`
	for _, p := range []*setupPage{
		{SSID: evil, Error: evil},
		{Joined: true, SSID: evil, Address: evil, URL: evil, MDNS: evil, Network: evil, Linger: "2 minutes"},
	} {
		page := p.html()
		if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
			t.Errorf("joined=%v: a value is not escaped:\n%s", p.Joined, page)
		}
	}
}
