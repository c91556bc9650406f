package handlers

import "testing"

func TestAcceptsEncoding(t *testing.T) {
	for _, c := range []struct {
		header, coding string
		want           bool
	}{
		{"", "gzip", false},
		{"Accept-Encoding: gzip, br;q=0", "gzip", true},
		{"Accept-Encoding: gzip, br;q=0", "br", false},
		{"Accept-Encoding: x-gzip", "gzip", true},
		{"Accept-Encoding: BR;Q=0.5", "br", true},
		{"Accept-Encoding: *;q=0.1, gzip;q=0", "br", true},
		{"Accept-Encoding: *;q=0.1, gzip;q=0", "gzip", false},
		{"Accept-Encoding: gzip;q=2", "gzip", false}, // a malformed q admits nothing
	} {
		var h []string
		if c.header != "" {
			h = append(h, c.header)
		}
		if got := get(t, "/", h...).AcceptsEncoding(c.coding); got != c.want {
			t.Errorf("%q, %s: %v, want %v", c.header, c.coding, got, c.want)
		}
	}
	if (&Request{}).AcceptsEncoding("gzip") {
		t.Error("a request without a head admits gzip")
	}
}
