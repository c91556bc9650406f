package sim

import (
	"strconv"
	"strings"
)

// param is one command parameter.
type param struct {
	s      string // unescaped text
	quoted bool
}

func (p param) empty() bool { return !p.quoted && p.s == "" }

// int parses an unquoted decimal integer.
func (p param) int() (int, bool) {
	if p.quoted || p.s == "" || p.s[0] == '+' {
		return 0, false
	}
	v, err := strconv.Atoi(p.s)
	return v, err == nil
}

// str returns a quoted string parameter.
func (p param) str() (string, bool) { return p.s, p.quoted }

// parseParams splits the text after '=' into parameters. Strings are
// double-quoted; inside them a backslash escapes the next character, so
// `\,` `\"` `\\` stand for `,` `"` `\` (§2.1). Omitted parameters keep their
// commas and come back empty.
func parseParams(s string) ([]param, bool) {
	var ps []param
	i := 0
	for {
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				ch := s[i]
				if ch == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if ch == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, false
			}
			ps = append(ps, param{s: b.String(), quoted: true})
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			tok := s[i : i+j]
			if strings.ContainsAny(tok, "\" ") {
				return nil, false
			}
			ps = append(ps, param{s: tok})
			i += j
		}
		if i == len(s) {
			return ps, true
		}
		if s[i] != ',' {
			return nil, false
		}
		i++
	}
}

// ints parses between min and max unquoted integers, each within [lo, hi]
// given per position; omitted trailing ones are not returned.
func ints(args string, minN int, bounds ...[2]int) ([]int, bool) {
	ps, ok := parseParams(args)
	if !ok || len(ps) < minN || len(ps) > len(bounds) {
		return nil, false
	}
	out := make([]int, len(ps))
	for i, p := range ps {
		v, ok := p.int()
		if !ok || v < bounds[i][0] || v > bounds[i][1] {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}
