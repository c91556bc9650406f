package handlers

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/espgate/espgate/parser"
)

// parse builds a Request from a raw HTTP request, as the loop does.
func parse(t testing.TB, raw string) *Request {
	t.Helper()
	p := parser.NewRequestParser(parser.Limits{MaxBodyBytes: 8 << 20})
	in := []byte(raw)
	var body []byte
	for {
		n, ev := p.Feed(in)
		in = in[n:]
		switch ev.Kind {
		case parser.HTTPBody:
			body = append(body, ev.Data...)
		case parser.HTTPDone:
			r := &Request{}
			r.Reset(p.Request(), 0, nil, 0, body)
			return r
		case parser.HTTPError:
			t.Fatalf("parse: %d %s", ev.Status, ev.Reason)
		case parser.HTTPNeedMore:
			if len(in) == 0 {
				t.Fatalf("parse: incomplete request %q", raw)
			}
		}
	}
}

// post builds a POST request with a body and extra header lines.
func post(t testing.TB, target, contentType string, body []byte, header ...string) *Request {
	t.Helper()
	var b strings.Builder
	b.WriteString("POST " + target + " HTTP/1.1\r\nHost: x\r\n")
	if contentType != "" {
		b.WriteString("Content-Type: " + contentType + "\r\n")
	}
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return parse(t, b.String())
}

func get(t testing.TB, target string, header ...string) *Request {
	t.Helper()
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: x\r\n")
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return parse(t, b.String())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// response is what a handler produced, parsed.
type response struct {
	status int
	header http.Header
	body   string
}

func serve(h Handler, r *Request) response {
	var w ResponseWriter
	w.Reset(nil)
	h.ServeModem(&w, r)
	return result(&w)
}

func result(w *ResponseWriter) response {
	header, body, _, _, _ := w.Parts()
	res := response{status: w.Status(), header: http.Header{}, body: string(body)}
	for _, line := range bytes.Split(header, []byte("\r\n")) {
		if k, v, ok := bytes.Cut(line, []byte(": ")); ok {
			res.header.Add(string(k), string(v))
		}
	}
	return res
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
