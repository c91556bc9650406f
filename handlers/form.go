package handlers

import (
	"bytes"
	"iter"
)

// The accessors below return views, valid until the handler returns:
// unescaped values live in the request's scratch buffer, the rest point
// into the request itself. They allocate nothing once that buffer has
// grown to the size a site's requests need.

// QueryPairs yields every query parameter in order, unescaped (+ is a
// space). A parameter without '=' has an empty value.
func (r *Request) QueryPairs() iter.Seq2[[]byte, []byte] {
	return func(yield func(key, value []byte) bool) {
		r.eachPair(r.RawQuery, yield)
	}
}

// PostFormValue returns the first value of the body field name and whether
// it is present. The body counts when its Content-Type is
// application/x-www-form-urlencoded, or multipart/form-data (where only
// parts without a filename count, read with DefaultMultipartLimits); other
// bodies have no fields.
func (r *Request) PostFormValue(name string) ([]byte, bool) {
	switch r.bodyKind() {
	case bodyURLEncoded:
		return r.lookup(r.Body, name)
	case bodyMultipart:
		var mr MultipartReader // not r's own: a handler may be reading that
		if r.initMultipart(&mr, MultipartLimits{}) != nil {
			return nil, false
		}
		for {
			p, err := mr.Next()
			if err != nil {
				return nil, false
			}
			if !p.isFile && string(p.name) == name {
				return p.data, true
			}
		}
	}
	return nil, false
}

// FormValue returns the first value of the field name from the body (as
// PostFormValue) or else from the query, and whether it is present: body
// fields come first, as in net/http.
func (r *Request) FormValue(name string) ([]byte, bool) {
	if v, ok := r.PostFormValue(name); ok {
		return v, ok
	}
	return r.Query(name)
}

// FormPairs yields the body's fields in order: each pair of an
// application/x-www-form-urlencoded body, unescaped, or each part without a
// filename of a multipart/form-data body (a malformed one ends early; use
// Multipart to see its error). Other bodies yield nothing.
func (r *Request) FormPairs() iter.Seq2[[]byte, []byte] {
	return func(yield func(key, value []byte) bool) {
		switch r.bodyKind() {
		case bodyURLEncoded:
			r.eachPair(r.Body, yield)
		case bodyMultipart:
			var mr MultipartReader
			if r.initMultipart(&mr, MultipartLimits{}) != nil {
				return
			}
			for {
				p, err := mr.Next()
				if err != nil {
					return
				}
				if !p.isFile && !yield(p.name, p.data) {
					return
				}
			}
		}
	}
}

// lookup finds the first value of name in an urlencoded list.
func (r *Request) lookup(list []byte, name string) ([]byte, bool) {
	for len(list) > 0 {
		var pair []byte
		if i := bytes.IndexByte(list, '&'); i >= 0 {
			pair, list = list[:i], list[i+1:]
		} else {
			pair, list = list, nil
		}
		key, value, _ := bytes.Cut(pair, []byte{'='})
		if string(key) == name || needsUnescape(key) && string(r.unescape(key, true)) == name {
			return r.unescape(value, true), true
		}
	}
	return nil, false
}

// eachPair yields the pairs of an urlencoded list, unescaped. Empty
// pairs (a&&b) are skipped.
func (r *Request) eachPair(list []byte, yield func(key, value []byte) bool) {
	for len(list) > 0 {
		var pair []byte
		if i := bytes.IndexByte(list, '&'); i >= 0 {
			pair, list = list[:i], list[i+1:]
		} else {
			pair, list = list, nil
		}
		if len(pair) == 0 {
			continue
		}
		key, value, _ := bytes.Cut(pair, []byte{'='})
		if !yield(r.unescape(key, true), r.unescape(value, true)) {
			return
		}
	}
}

func needsUnescape(b []byte) bool {
	return bytes.IndexByte(b, '%') >= 0 || bytes.IndexByte(b, '+') >= 0
}

type bodyKind uint8

const (
	bodyOther bodyKind = iota
	bodyURLEncoded
	bodyMultipart
)

func (r *Request) bodyKind() bodyKind {
	if len(r.Body) == 0 {
		return bodyOther
	}
	typ, _ := mediaType(r.Header("Content-Type"))
	switch {
	case equalFold(typ, "application/x-www-form-urlencoded"):
		return bodyURLEncoded
	case equalFold(typ, "multipart/form-data"):
		return bodyMultipart
	}
	return bodyOther
}

// mediaType splits a Content-Type value into its type/subtype (trimmed)
// and the parameters after the first ';'.
func mediaType(v []byte) (typ, params []byte) {
	typ = v
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		typ, params = v[:i], v[i+1:]
	}
	return trimOWS(typ), params
}

// param returns the value of the parameter key in a ';'-separated list of
// key=value or key="quoted" parameters (keys match case-insensitively).
// A quoted value with backslash escapes is unescaped into the scratch
// buffer; an unquoted one must be a token. ok is false when key is absent
// or given twice, or anywhere in the list is malformed (as
// mime.ParseMediaType refuses such a list whole).
func (r *Request) param(params []byte, key string) (value []byte, ok bool) {
	for p := params; len(p) > 0; {
		p = trimOWS(p)
		eq := bytes.IndexByte(p, '=')
		if eq < 0 {
			return nil, false
		}
		k := trimOWS(p[:eq])
		p = trimOWS(p[eq+1:])
		var v []byte
		if len(p) > 0 && p[0] == '"' {
			end, esc := quotedEnd(p)
			if end < 0 {
				return nil, false
			}
			v, p = p[1:end], p[end+1:]
			if esc {
				v = r.unquote(v)
			}
			p = trimOWS(p)
			if len(p) > 0 && p[0] != ';' {
				return nil, false
			}
		} else {
			v = p
			if i := bytes.IndexByte(p, ';'); i >= 0 {
				v, p = p[:i], p[i:]
			} else {
				p = nil
			}
			v = trimOWS(v)
			if !isToken(v) {
				return nil, false
			}
		}
		if !isToken(k) {
			return nil, false
		}
		if equalFold(k, key) {
			if ok {
				return nil, false // twice
			}
			value, ok = v, true
		}
		if len(p) > 0 {
			p = p[1:] // the ';'
		}
	}
	return value, ok
}

// quotedEnd returns the index of the closing quote of the quoted string
// at the start of p, and whether it holds backslash escapes; -1 if it is
// not closed.
func quotedEnd(p []byte) (int, bool) {
	esc := false
	for i := 1; i < len(p); i++ {
		switch p[i] {
		case '\\':
			esc = true
			i++
		case '"':
			return i, esc
		}
	}
	return -1, esc
}

// unquote removes the backslashes of quoted pairs, into the scratch buffer.
func (r *Request) unquote(b []byte) []byte {
	start := len(r.scratch)
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			i++
		}
		r.scratch = append(r.scratch, b[i])
	}
	return r.scratch[start:len(r.scratch):len(r.scratch)]
}
