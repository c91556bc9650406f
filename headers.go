package espgate

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// renderHeader turns Server.DefaultHeaders into header lines, once.
func renderHeader(h http.Header) ([]byte, error) {
	var b []byte
	for _, k := range slices.Sorted(maps.Keys(h)) {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Connection", "Date":
			return nil, fmt.Errorf("espgate: DefaultHeaders: %s is set by the server", k)
		}
		if k == "" || strings.ContainsFunc(k, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r)
		}) {
			return nil, fmt.Errorf("espgate: DefaultHeaders: invalid name %q", k)
		}
		for _, v := range h[k] {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("espgate: DefaultHeaders: %s: value has a line break or NUL", k)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return b, nil
}
