package parser

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

const (
	reqBenchSmallGET = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"

	reqBenchBrowserGET = "GET /static/css/site.css?v=3 HTTP/1.1\r\n" +
		"Host: espgate.local\r\n" +
		"Connection: keep-alive\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n" +
		"Accept: text/css,*/*;q=0.1\r\n" +
		"Referer: http://espgate.local/\r\n" +
		"Accept-Encoding: gzip, deflate\r\n" +
		"Accept-Language: en-GB,en;q=0.9,de;q=0.8\r\n" +
		"Cookie: session=6f1c2b0a9e; theme=dark\r\n" +
		"If-None-Match: \"5e1f-18c3a\"\r\n" +
		"Cache-Control: max-age=0\r\n" +
		"\r\n"
)

// reqBenchPOST is a form POST with a 1 KiB body.
var reqBenchPOST = "POST /api/upload HTTP/1.1\r\n" +
	"Host: espgate.local\r\n" +
	"User-Agent: curl/8.5.0\r\n" +
	"Accept: */*\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Length: 1024\r\n" +
	"\r\n" + strings.Repeat("0123456789abcdef", 64)

// reqDrive feeds the chunks to p, calling Next after each request, and
// returns the body bytes seen. It stops at an error.
func reqDrive(p *RequestParser, chunks ...[]byte) (bodyBytes int, ok bool) {
	for _, in := range chunks {
		for {
			n, ev := p.Feed(in)
			in = in[n:]
			switch ev.Kind {
			case HTTPBody:
				bodyBytes += len(ev.Data)
				continue
			case HTTPDone:
				p.Next()
				continue
			case HTTPError:
				return bodyBytes, false
			case HTTPHead:
				continue
			}
			break
		}
	}
	return bodyBytes, true
}

// reqFragments cuts in into pieces of size bytes.
func reqFragments(in string, size int) [][]byte {
	var out [][]byte
	for len(in) > 0 {
		k := min(size, len(in))
		out = append(out, []byte(in[:k]))
		in = in[k:]
	}
	return out
}

func reqBenchParser(b *testing.B, chunks [][]byte) {
	p := NewRequestParser(Limits{})
	size := 0
	for _, c := range chunks {
		size += len(c)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := reqDrive(p, chunks...); !ok {
			b.Fatal("parse error")
		}
	}
}

func reqBenchNetHTTP(b *testing.B, in string) {
	rd := strings.NewReader(in)
	br := bufio.NewReader(rd)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(in)
		br.Reset(rd)
		req, err := http.ReadRequest(br)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRequestParserSmallGET(b *testing.B) {
	reqBenchParser(b, [][]byte{[]byte(reqBenchSmallGET)})
}

func BenchmarkNetHTTPReadRequestSmallGET(b *testing.B) { reqBenchNetHTTP(b, reqBenchSmallGET) }

func BenchmarkRequestParserBrowserGET(b *testing.B) {
	reqBenchParser(b, [][]byte{[]byte(reqBenchBrowserGET)})
}

// BenchmarkRequestParserBrowserGETFragmented feeds 64-byte fragments, as a
// slow link delivers them.
func BenchmarkRequestParserBrowserGETFragmented(b *testing.B) {
	reqBenchParser(b, reqFragments(reqBenchBrowserGET, 64))
}

func BenchmarkNetHTTPReadRequestBrowserGET(b *testing.B) { reqBenchNetHTTP(b, reqBenchBrowserGET) }

func BenchmarkRequestParserPOST(b *testing.B) {
	reqBenchParser(b, [][]byte{[]byte(reqBenchPOST)})
}

func BenchmarkNetHTTPReadRequestPOST(b *testing.B) { reqBenchNetHTTP(b, reqBenchPOST) }

// BenchmarkRequestParserPipelined parses ten browser GETs from one buffer.
func BenchmarkRequestParserPipelined(b *testing.B) {
	reqBenchParser(b, [][]byte{bytes.Repeat([]byte(reqBenchBrowserGET), 10)})
}
