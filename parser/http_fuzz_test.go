package parser

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// reqFuzzMaxInput caps fuzz inputs.
const reqFuzzMaxInput = 4096

// reqFuzzSeeds adds the table inputs and a few more to f.
func reqFuzzSeeds(f *testing.F, add func(in string)) {
	for _, tc := range reqAllCases() {
		if len(tc.in) <= reqFuzzMaxInput {
			add(tc.in)
		}
	}
	for _, s := range []string{
		reqBenchSmallGET,
		reqBenchBrowserGET,
		reqBenchPOST,
		"POST /u?a=b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1a;ext=\"v\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX: y\r\n\r\n",
		"GET /a%2Fb%20c?x=%zz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
		"\r\nGET / HTTP/1.1\nHost: h\n\n",
	} {
		add(s)
	}
}

// reqFuzzLimits are wide enough that only net/http's rules decide.
var reqFuzzLimits = Limits{
	MaxTargetBytes:   2 * reqFuzzMaxInput,
	MaxHeaderBytes:   2 * reqFuzzMaxInput,
	MaxHeaders:       reqFuzzMaxInput,
	MaxBodyBytes:     1<<63 - 1,
	MaxChunkExtBytes: reqFuzzMaxInput,
}

// reqFuzzSmallLimits make the limits themselves reachable.
var reqFuzzSmallLimits = Limits{
	MaxTargetBytes:   24,
	MaxHeaderBytes:   96,
	MaxHeaders:       4,
	MaxBodyBytes:     40,
	MaxChunkExtBytes: 12,
}

// FuzzRequestParserSplit checks that feeding the input in two parts, split
// where the fuzzer says, gives the same result as feeding it at once, for
// any number of pipelined requests.
func FuzzRequestParserSplit(f *testing.F) {
	reqFuzzSeeds(f, func(in string) {
		f.Add([]byte(in), uint16(len(in)/2), false)
		f.Add([]byte(in), uint16(len(in)/3), true)
	})
	f.Fuzz(func(t *testing.T, data []byte, split uint16, small bool) {
		if len(data) > reqFuzzMaxInput {
			return
		}
		lim := reqFuzzLimits
		if small {
			lim = reqFuzzSmallLimits
		}
		p := NewRequestParser(lim)
		want := reqFeed(t, p, data).String()
		i := int(split) % (len(data) + 1)
		p.Reset()
		if got := reqFeed(t, p, data[:i], data[i:]).String(); got != want {
			t.Fatalf("split at %d:\n got %s\nwant %s", i, got, want)
		}
	})
}

// reqOne is what the parser made of the first request in an input.
type reqOne struct {
	head *reqHead
	body []byte
	done bool
	err  HTTPEvent
}

func reqParseOne(p *RequestParser, in []byte) reqOne {
	var r reqOne
	for {
		n, ev := p.Feed(in)
		in = in[n:]
		switch ev.Kind {
		case HTTPNeedMore:
			return r
		case HTTPHead:
			h := reqSnapshot(p.Request())
			r.head = &h
		case HTTPBody:
			r.body = append(r.body, ev.Data...)
		case HTTPDone:
			r.done = true
			return r
		case HTTPError:
			r.err = ev
			return r
		}
	}
}

// FuzzRequestParserNetHTTP compares the parser with http.ReadRequest.
//
// When ReadRequest accepts a plain request (see reqNetHTTPLenient for what
// we refuse on purpose), the parser must accept it with the same method,
// target, path, query, version, host, framing, connection and body. When
// both accept the head, they must agree on all of that. When the parser
// accepts a request, ReadRequest must not refuse it for its framing.
func FuzzRequestParserNetHTTP(f *testing.F) {
	reqFuzzSeeds(f, func(in string) { f.Add([]byte(in)) })
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > reqFuzzMaxInput {
			return
		}
		ours := reqParseOne(NewRequestParser(reqFuzzLimits), data)

		// ReadRequest does not skip empty lines before the request line.
		goIn := data
		for i := 0; i < httpMaxLeadingEmptyLines; i++ {
			if bytes.HasPrefix(goIn, []byte("\r\n")) {
				goIn = goIn[2:]
			} else if bytes.HasPrefix(goIn, []byte("\n")) {
				goIn = goIn[1:]
			}
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(goIn)))
		if err != nil {
			if ours.head != nil && reqFramingError(err) {
				t.Fatalf("we accept, ReadRequest refuses the framing: %v\n%q", err, data)
			}
			return
		}
		goBody, bodyErr := io.ReadAll(req.Body)

		lenient := reqNetHTTPLenient(goIn, req)
		if ours.head == nil {
			if lenient == "" {
				t.Fatalf("ReadRequest accepts a plain request, we stop with %+v\n%q", ours.err, data)
			}
			return
		}
		h := ours.head
		reqEq(t, "Method", h.Method, req.Method)
		reqEq(t, "Target", h.Target, req.RequestURI)
		reqEq(t, "ProtoMajor", h.Proto[:1], "1")
		reqEq(t, "Proto", h.Proto, req.Proto[len("HTTP/"):])
		reqEq(t, "Host", h.Host, req.Host)
		reqEq(t, "KeepAlive", h.KeepAlive, !req.Close)
		if strings.HasPrefix(h.Target, "/") {
			if path, err := url.PathUnescape(h.Path); err != nil || path != req.URL.Path {
				t.Errorf("Path %q unescapes to %q, %v; want %q", h.Path, path, err, req.URL.Path)
			}
			reqEq(t, "RawQuery", h.RawQuery, req.URL.RawQuery)
		}
		reqEq(t, "Chunked", h.Chunked, len(req.TransferEncoding) > 0)
		if h.Chunked {
			reqEq(t, "ContentLength", req.ContentLength, -1)
		} else {
			reqEq(t, "ContentLength", req.ContentLength, max(h.ContentLength, 0))
		}
		if t.Failed() {
			t.Fatalf("input %q", data)
		}

		switch {
		case ours.done && bodyErr != nil:
			t.Fatalf("we read the body, ReadRequest fails: %v\n%q", bodyErr, data)
		case ours.done && !bytes.Equal(ours.body, goBody):
			t.Fatalf("body %q; ReadRequest reads %q\n%q", ours.body, goBody, data)
		case !ours.done && bodyErr == nil && lenient == "" && reqPlainBody(goIn, h.Chunked):
			t.Fatalf("ReadRequest reads the plain body %q, we read %q and stop with %+v\n%q", goBody, ours.body, ours.err, data)
		}
	})
}

// reqFramingError reports whether a ReadRequest error is about the body's
// framing.
func reqFramingError(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "content-length") || strings.Contains(s, "transfer encoding") ||
		strings.Contains(s, "transfer-encoding") || strings.Contains(s, "chunk")
}

// reqNetHTTPLenient returns why a request that ReadRequest accepted may be
// refused by the parser on purpose, or "" if it must be accepted. These
// are the parser's documented stricter rules; the test reads the raw head
// itself rather than trusting either parser.
func reqNetHTTPLenient(raw []byte, req *http.Request) string {
	if !strings.HasPrefix(req.RequestURI, "/") {
		return "not origin-form" // CONNECT, asterisk-form only for OPTIONS, absolute-form rules
	}
	if req.ProtoMajor != 1 {
		return "version other than HTTP/1.x"
	}
	var nHost, nCL, nTE int
	var host string
	for i, line := range reqRawHeadLines(raw) {
		if bytes.IndexByte(line, '\r') >= 0 {
			return "bare CR"
		}
		if i == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return "obs-fold"
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if bytes.ContainsAny(name, " \t") {
			return "whitespace in field name"
		}
		switch strings.ToLower(string(name)) {
		case "host":
			nHost++
			host = strings.Trim(string(value), " \t")
		case "content-length":
			nCL++
		case "transfer-encoding":
			nTE++
		}
	}
	switch {
	case req.ProtoMinor >= 1 && nHost == 0:
		return "missing Host"
	case strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:[]%") != "":
		return "invalid Host"
	case nTE > 0 && nCL > 0:
		return "Transfer-Encoding with Content-Length"
	case nTE > 0 && req.ProtoMinor == 0:
		return "Transfer-Encoding in HTTP/1.0"
	}
	return ""
}

// reqRawHeadLines splits raw at LFs up to the first empty line, dropping
// the LF and one CR before it.
func reqRawHeadLines(raw []byte) [][]byte {
	var lines [][]byte
	for len(raw) > 0 {
		line, rest, ok := bytes.Cut(raw, []byte("\n"))
		if !ok {
			break
		}
		raw = rest
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		lines = append(lines, line)
	}
	return lines
}

// reqPlainBody reports whether a chunked body after the head in raw has
// the canonical form: sizes of at most 16 hex digits without extensions,
// CRLF line ends, no trailers. Bodies that are not chunked are plain.
func reqPlainBody(raw []byte, chunked bool) bool {
	if !chunked {
		return true
	}
	i := bytes.Index(raw, []byte("\n\r\n"))
	j := bytes.Index(raw, []byte("\n\n"))
	switch {
	case i < 0 && j < 0:
		return false
	case i < 0 || j >= 0 && j < i:
		raw = raw[j+2:]
	default:
		raw = raw[i+3:]
	}
	for {
		line, rest, ok := bytes.Cut(raw, []byte("\r\n"))
		if !ok || len(line) == 0 || len(line) > 16 {
			return false
		}
		var size int
		for _, c := range line {
			d, ok := reqHexDigit(c)
			if !ok {
				return false
			}
			size = size<<4 | int(d)
		}
		if size > reqFuzzMaxInput {
			return false
		}
		if size == 0 {
			return bytes.HasPrefix(rest, []byte("\r\n"))
		}
		if size > len(rest) || !bytes.HasPrefix(rest[size:], []byte("\r\n")) {
			return false
		}
		raw = rest[size+2:]
	}
}
