package parser

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// reqHead is a copy of a Request that outlives the parser's buffer.
type reqHead struct {
	Method, Target, Path, RawQuery string
	QueryNil                       bool
	Proto                          string
	Host                           string
	HostNil                        bool
	ContentLength                  int64
	Chunked, KeepAlive             bool
	Expect100, Upgrade             bool
	Headers                        string // "name: value\n" per field, in order
}

func reqSnapshot(r *Request) reqHead {
	h := reqHead{
		Method: string(r.Method), Target: string(r.Target), Path: string(r.Path),
		RawQuery: string(r.RawQuery), QueryNil: r.RawQuery == nil,
		Proto: fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor),
		Host:  string(r.Host), HostNil: r.Host == nil,
		ContentLength: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive,
		Expect100: r.Expect100, Upgrade: r.Upgrade,
	}
	var sb strings.Builder
	for i := 0; i < r.NumHeaders(); i++ {
		n, v := r.HeaderAt(i)
		fmt.Fprintf(&sb, "%s: %s\n", n, v)
	}
	h.Headers = sb.String()
	return h
}

// reqSeen is one request as the caller saw it.
type reqSeen struct {
	Head reqHead
	Body string
	Done bool
}

// reqRun is everything a parser reported for one input.
type reqRun struct {
	Reqs    []reqSeen
	Err     HTTPEvent // zero unless an HTTPError ended the run
	Started bool      // p.Started() at the end
	InBody  bool      // p.InBody() at the end
}

func (r reqRun) String() string {
	return fmt.Sprintf("%+v err=%+v started=%v inBody=%v", r.Reqs, r.Err, r.Started, r.InBody)
}

// reqFeed feeds the chunks to p as a server loop would, calling Next after
// each HTTPDone, and checks the Feed contract on the way. Each chunk is fed
// from a private copy that is overwritten once consumed, as the recycled
// read buffers of the server are, so any view into old input shows up.
func reqFeed(t testing.TB, p *RequestParser, chunks ...[]byte) reqRun {
	t.Helper()
	var run reqRun
	for _, c := range chunks {
		buf := append([]byte(nil), c...)
		in := buf
		for steps := 0; ; steps++ {
			if steps > 2*len(buf)+10 {
				t.Fatalf("Feed makes no progress on %q", in)
			}
			n, ev := p.Feed(in)
			if n < 0 || n > len(in) {
				t.Fatalf("Feed consumed %d of %d bytes", n, len(in))
			}
			in = in[n:]
			switch ev.Kind {
			case HTTPNeedMore:
				if len(in) != 0 {
					t.Fatalf("HTTPNeedMore with %d bytes left", len(in))
				}
			case HTTPHead:
				run.Reqs = append(run.Reqs, reqSeen{Head: reqSnapshot(p.Request())})
			case HTTPBody:
				if len(ev.Data) == 0 || !reqWithin(ev.Data, buf) {
					t.Fatalf("HTTPBody data %q is not a non-empty view of the input", ev.Data)
				}
				if len(run.Reqs) == 0 || run.Reqs[len(run.Reqs)-1].Done {
					t.Fatal("HTTPBody outside a request")
				}
				run.Reqs[len(run.Reqs)-1].Body += string(ev.Data)
			case HTTPDone:
				last := &run.Reqs[len(run.Reqs)-1]
				last.Done = true
				if again := reqSnapshot(p.Request()); again != last.Head {
					t.Fatalf("head views changed before Next:\n got %+v\nwant %+v", again, last.Head)
				}
				if n2, ev2 := p.Feed(in); n2 != 0 || ev2.Kind != HTTPDone {
					t.Fatalf("Feed after HTTPDone = %d, %v; want 0, done", n2, ev2.Kind)
				}
				if p.Started() || p.InBody() {
					t.Fatal("Started or InBody after HTTPDone")
				}
				p.Next()
				continue
			case HTTPError:
				if ev.Status == 0 || ev.Reason == "" {
					t.Fatalf("HTTPError without status or reason: %+v", ev)
				}
				if n2, ev2 := p.Feed(in); n2 != 0 || ev2.Kind != HTTPError || ev2.Status != ev.Status || ev2.Reason != ev.Reason {
					t.Fatalf("Feed after HTTPError = %d, %+v", n2, ev2)
				}
				run.Err = ev
				run.Started, run.InBody = p.Started(), p.InBody()
				return run
			default:
				t.Fatalf("unknown event kind %d", ev.Kind)
			}
			if ev.Kind == HTTPNeedMore {
				break
			}
		}
		for i := range buf {
			buf[i] = '#'
		}
	}
	run.Started, run.InBody = p.Started(), p.InBody()
	return run
}

// reqWithin reports whether sub lies inside buf's memory.
func reqWithin(sub, buf []byte) bool {
	if len(sub) == 0 || len(buf) == 0 {
		return false
	}
	s, b := uintptr(unsafe.Pointer(&sub[0])), uintptr(unsafe.Pointer(&buf[0]))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

// reqCheckSplits parses in fed whole, one byte at a time, and in two parts
// split at every offset, asserts that all give the same result, and
// returns it.
func reqCheckSplits(t *testing.T, lim Limits, in string) reqRun {
	t.Helper()
	p := NewRequestParser(lim)
	want := reqFeed(t, p, []byte(in))
	wantS := want.String()

	p.Reset()
	bytewise := make([][]byte, len(in))
	for i := 0; i < len(in); i++ {
		bytewise[i] = []byte(in[i : i+1])
	}
	if got := reqFeed(t, p, bytewise...); got.String() != wantS {
		t.Fatalf("byte at a time:\n got %v\nwant %v", got, wantS)
	}
	for i := 0; i <= len(in); i++ {
		p.Reset()
		if got := reqFeed(t, p, []byte(in[:i]), []byte(in[i:])); got.String() != wantS {
			t.Fatalf("split at %d:\n got %v\nwant %v", i, got, wantS)
		}
	}
	return want
}

// reqCase is one table case: an input and the outcome of parsing it.
type reqCase struct {
	name   string
	in     string
	lim    Limits // zero: defaults
	status int    // expected error status; 0: every request completes
	reason string // expected error reason, if status is set
	reqs   int    // requests completed when status is 0; 0 means 1
	check  func(t *testing.T, run reqRun)
}

func reqRunCases(t *testing.T, cases []reqCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := reqCheckSplits(t, tc.lim, tc.in)
			if tc.status != 0 {
				if run.Err.Kind != HTTPError || run.Err.Status != tc.status {
					t.Fatalf("got %v; want error %d", run, tc.status)
				}
				if tc.reason != "" && run.Err.Reason != tc.reason {
					t.Fatalf("reason %q; want %q", run.Err.Reason, tc.reason)
				}
			} else {
				want := max(tc.reqs, 1)
				if run.Err.Kind != HTTPNeedMore || len(run.Reqs) != want || !run.Reqs[want-1].Done || run.Started {
					t.Fatalf("got %v; want %d complete requests", run, want)
				}
			}
			if tc.check != nil {
				tc.check(t, run)
			}
		})
	}
}

// reqWantHead checks the first request's head against fn.
func reqWantHead(fn func(t *testing.T, h reqHead)) func(t *testing.T, run reqRun) {
	return func(t *testing.T, run reqRun) {
		t.Helper()
		if len(run.Reqs) == 0 {
			t.Fatal("no request head")
		}
		fn(t, run.Reqs[0].Head)
	}
}

// reqWantBodies checks the bodies of the requests.
func reqWantBodies(want ...string) func(t *testing.T, run reqRun) {
	return func(t *testing.T, run reqRun) {
		t.Helper()
		if len(run.Reqs) != len(want) {
			t.Fatalf("%d requests; want %d", len(run.Reqs), len(want))
		}
		for i, r := range run.Reqs {
			if r.Body != want[i] {
				t.Fatalf("request %d body %q; want %q", i, r.Body, want[i])
			}
		}
	}
}

func reqEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v; want %v", what, got, want)
	}
}

const reqHost = "Host: example.com\r\n"

// reqRequestLineCases: request line forms, versions, bytes, empty lines, line ends.
var reqRequestLineCases = []reqCase{
	{name: "origin-form", in: "GET /index.html HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Method", h.Method, "GET")
		reqEq(t, "Target", h.Target, "/index.html")
		reqEq(t, "Path", h.Path, "/index.html")
		reqEq(t, "QueryNil", h.QueryNil, true)
		reqEq(t, "Proto", h.Proto, "1.1")
		reqEq(t, "Host", h.Host, "example.com")
		reqEq(t, "ContentLength", h.ContentLength, -1)
		reqEq(t, "KeepAlive", h.KeepAlive, true)
		reqEq(t, "Headers", h.Headers, "Host: example.com\n")
	})},
	{name: "query", in: "GET /a/b?x=1&y=%20 HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Path", h.Path, "/a/b")
		reqEq(t, "RawQuery", h.RawQuery, "x=1&y=%20")
	})},
	{name: "empty query", in: "GET /a? HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Path", h.Path, "/a")
		reqEq(t, "QueryNil", h.QueryNil, false)
	})},
	{name: "second ? in query", in: "GET /a?b?c HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "RawQuery", h.RawQuery, "b?c")
	})},
	{name: "path kept raw", in: "GET //x/%2e%2E/../y#f HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Path", h.Path, "//x/%2e%2E/../y#f")
	})},
	{name: "obs-text in target", in: "GET /caf\xc3\xa9 HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Path", h.Path, "/caf\xc3\xa9")
	})},
	{name: "extension method", in: "PURGE /x HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Method", h.Method, "PURGE")
	})},
	{name: "absolute-form", in: "GET http://Example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Target", h.Target, "http://Example.com:8080/p/q?x=1")
		reqEq(t, "Path", h.Path, "/p/q")
		reqEq(t, "RawQuery", h.RawQuery, "x=1")
		reqEq(t, "Host", h.Host, "Example.com:8080")
	})},
	{name: "absolute-form empty path", in: "GET HTTPS://[::1]:8443 HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Path", h.Path, "/")
		reqEq(t, "QueryNil", h.QueryNil, true)
		reqEq(t, "Host", h.Host, "[::1]:8443")
	})},
	{name: "absolute-form query only", in: "GET http://h?x HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Path", h.Path, "/")
		reqEq(t, "RawQuery", h.RawQuery, "x")
	})},
	{name: "absolute-form in HTTP/1.0 gives Host", in: "GET http://h/ HTTP/1.0\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Host", h.Host, "h")
	})},
	{name: "absolute-form userinfo", in: "GET http://u@h/ HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "absolute-form empty host", in: "GET http:///p HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "absolute-form other scheme", in: "GET ftp://h/p HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "absolute-form bad host byte", in: "GET http://h\"/ HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "authority-form without CONNECT", in: "GET example.com:80 HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "CONNECT", in: "CONNECT example.com:443 HTTP/1.1\r\n" + reqHost + "\r\n", status: 501, reason: reqReasonConnect},
	{name: "asterisk-form", in: "OPTIONS * HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Path", h.Path, "*")
		reqEq(t, "Target", h.Target, "*")
	})},
	{name: "asterisk-form not OPTIONS", in: "GET * HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "asterisk and more", in: "OPTIONS *x HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "HTTP/1.0", in: "GET / HTTP/1.0\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Proto", h.Proto, "1.0")
		reqEq(t, "HostNil", h.HostNil, true)
		reqEq(t, "KeepAlive", h.KeepAlive, false)
	})},
	{name: "HTTP/1.2 is handled as 1.1", in: "GET / HTTP/1.2\r\n" + reqHost + "\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Proto", h.Proto, "1.2")
		reqEq(t, "KeepAlive", h.KeepAlive, true)
	})},
	{name: "HTTP/2.0", in: "GET / HTTP/2.0\r\n" + reqHost + "\r\n", status: 505},
	{name: "HTTP/0.9 version", in: "GET / HTTP/0.9\r\n\r\n", status: 505},
	{name: "PRI preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505},
	{name: "lower-case version", in: "GET / http/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonVersion},
	{name: "two-digit version", in: "GET / HTTP/1.10\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonVersion},
	{name: "no minor", in: "GET / HTTP/1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonVersion},
	{name: "trailing space", in: "GET / HTTP/1.1 \r\n" + reqHost + "\r\n", status: 400, reason: reqReasonVersion},
	{name: "no version", in: "GET /\r\n\r\n", status: 400, reason: reqReasonRequestLine},
	{name: "double space", in: "GET  / HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonRequestLine},
	{name: "leading space", in: " GET / HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonRequestLine},
	{name: "tab separator", in: "GET\t/ HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonMethod},
	{name: "bad method byte", in: "GE(T / HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonMethod},
	{name: "NUL in method", in: "G\x00T / HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonMethod},
	{name: "control byte in target", in: "GET /a\x01b HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "tab in target", in: "GET /a\tb HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "NUL in target", in: "GET /a\x00b HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "DEL in target", in: "GET /a\x7fb HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "target without slash", in: "GET index.html HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonTarget},
	{name: "leading empty lines", in: "\r\n\r\n\n\r\nGET / HTTP/1.1\r\n" + reqHost + "\r\n"},
	{name: "eight empty lines", in: strings.Repeat("\r\n", 8) + "GET / HTTP/1.1\r\n" + reqHost + "\r\n"},
	{name: "nine empty lines", in: strings.Repeat("\r\n", 9) + "GET / HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonEmptyLines},
	{name: "bare LF line ends", in: "GET / HTTP/1.1\nHost: a\nX: 1\r\n\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Headers", h.Headers, "Host: a\nX: 1\n")
	})},
	{name: "bare CR in request line", in: "GET /\r HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonBareCR},
	{name: "bare CR ends request line", in: "GET / HTTP/1.1\r" + reqHost + "\r\n", status: 400, reason: reqReasonBareCR},
	{name: "CR CR LF", in: "GET / HTTP/1.1\r\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonBareCR},
	{name: "bare CR as empty line", in: "\rGET / HTTP/1.1\r\n" + reqHost + "\r\n", status: 400, reason: reqReasonBareCR},
}

func TestRequestParserRequestLine(t *testing.T) { reqRunCases(t, reqRequestLineCases) }

const reqGet = "GET / HTTP/1.1\r\n"

// reqHeaderFieldCases: field syntax, Host, and connection options.
var reqHeaderFieldCases = []reqCase{
	{name: "values trimmed", in: reqGet + reqHost + "A:  \t v 1 \t \r\nB:\r\nC:x\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Headers", h.Headers, "Host: example.com\nA: v 1\nB: \nC: x\n")
	})},
	{name: "obs-text and tab in value", in: reqGet + reqHost + "X: a\tb \xff\x80\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Headers", h.Headers, "Host: example.com\nX: a\tb \xff\x80\n")
	})},
	{name: "space before colon", in: reqGet + "Host : example.com\r\n\r\n", status: 400, reason: reqReasonFieldName},
	{name: "tab before colon", in: reqGet + reqHost + "X\t: a\r\n\r\n", status: 400, reason: reqReasonFieldName},
	{name: "space in name", in: reqGet + reqHost + "Bad Name: a\r\n\r\n", status: 400, reason: reqReasonFieldName},
	{name: "empty name", in: reqGet + reqHost + ": a\r\n\r\n", status: 400, reason: reqReasonFieldName},
	{name: "no colon", in: reqGet + reqHost + "NoColon\r\n\r\n", status: 400, reason: reqReasonFieldName},
	{name: "NUL in name", in: reqGet + reqHost + "X\x00: a\r\n\r\n", status: 400, reason: reqReasonFieldName},
	{name: "NUL in value", in: reqGet + reqHost + "X: a\x00b\r\n\r\n", status: 400, reason: reqReasonFieldValue},
	{name: "control byte in value", in: reqGet + reqHost + "X: a\x1bb\r\n\r\n", status: 400, reason: reqReasonFieldValue},
	{name: "DEL in value", in: reqGet + reqHost + "X: a\x7f\r\n\r\n", status: 400, reason: reqReasonFieldValue},
	{name: "bare CR in value", in: reqGet + reqHost + "X: a\rb\r\n\r\n", status: 400, reason: reqReasonBareCR},
	{name: "bare CR ends field", in: reqGet + reqHost + "X: a\r\r\n\r\n", status: 400, reason: reqReasonBareCR},
	{name: "bare CR in empty line", in: reqGet + reqHost + "\r\r\n", status: 400, reason: reqReasonBareCR},
	{name: "obs-fold", in: reqGet + reqHost + "X: a\r\n b\r\n\r\n", status: 400, reason: reqReasonObsFold},
	{name: "obs-fold with tab", in: reqGet + reqHost + "X: a\r\n\tb\r\n\r\n", status: 400, reason: reqReasonObsFold},
	{name: "space before first field", in: reqGet + " " + reqHost + "\r\n", status: 400, reason: reqReasonObsFold},
	{name: "missing Host", in: reqGet + "X: a\r\n\r\n", status: 400, reason: reqReasonHostMissing},
	{name: "two Host", in: reqGet + reqHost + "host: example.com\r\n\r\n", status: 400, reason: reqReasonHostMultiple},
	{name: "two Host in HTTP/1.0", in: "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", status: 400, reason: reqReasonHostMultiple},
	{name: "Host with space", in: reqGet + "Host: a b\r\n\r\n", status: 400, reason: reqReasonHostInvalid},
	{name: "Host with slash", in: reqGet + "Host: a/b\r\n\r\n", status: 400, reason: reqReasonHostInvalid},
	{name: "Host IPv6 and port", in: reqGet + "Host: [::1]:8080\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Host", h.Host, "[::1]:8080")
	})},
	{name: "empty Host", in: reqGet + "Host:\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Host", h.Host, "")
		reqEq(t, "HostNil", h.HostNil, false)
	})},
	{name: "Connection close", in: reqGet + reqHost + "Connection: close\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "KeepAlive", h.KeepAlive, false)
	})},
	{name: "Connection list with Close", in: reqGet + reqHost + "Connection: foo, Close\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "KeepAlive", h.KeepAlive, false)
	})},
	{name: "HTTP/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "KeepAlive", h.KeepAlive, true)
	})},
	{name: "HTTP/1.0 keep-alive and close", in: "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "KeepAlive", h.KeepAlive, false)
	})},
	{name: "Expect 100-continue", in: "POST / HTTP/1.1\r\n" + reqHost + "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Expect100", h.Expect100, true)
	})},
	{name: "Expect in HTTP/1.0 ignored", in: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Expect100", h.Expect100, false)
	})},
	{name: "other expectation", in: reqGet + reqHost + "Expect: something\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Expect100", h.Expect100, false)
	})},
	{name: "Upgrade", in: reqGet + reqHost + "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Upgrade", h.Upgrade, true)
	})},
	{name: "Upgrade without Connection token", in: reqGet + reqHost + "Upgrade: websocket\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Upgrade", h.Upgrade, false)
	})},
	{name: "Connection upgrade without Upgrade", in: reqGet + reqHost + "Connection: upgrade\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Upgrade", h.Upgrade, false)
	})},
	{name: "Upgrade in HTTP/1.0 ignored", in: "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "Upgrade", h.Upgrade, false)
	})},
}

func TestRequestParserHeaderFields(t *testing.T) { reqRunCases(t, reqHeaderFieldCases) }

const reqPost = "POST /f HTTP/1.1\r\n" + reqHost

// reqSmallBody limits bodies, chunk extensions and trailers.
var reqSmallBody = Limits{MaxBodyBytes: 10, MaxChunkExtBytes: 16}

// reqFramingCases: Content-Length, Transfer-Encoding and chunked bodies.
var reqFramingCases = []reqCase{
	{name: "no body", in: "GET / HTTP/1.1\r\n" + reqHost + "\r\n", check: reqWantBodies("")},
	{name: "POST without length has no body", in: reqPost + "\r\n", check: reqWantBodies("")},
	{name: "Content-Length", in: reqPost + "Content-Length: 11\r\n\r\nhello world", check: reqWantBodies("hello world")},
	{name: "GET with Content-Length", in: "GET / HTTP/1.1\r\n" + reqHost + "Content-Length: 3\r\n\r\nabc", check: reqWantBodies("abc")},
	{name: "Content-Length 0", in: reqPost + "Content-Length: 0\r\n\r\n", check: reqWantHead(func(t *testing.T, h reqHead) {
		reqEq(t, "ContentLength", h.ContentLength, 0)
	})},
	{name: "Content-Length leading zeros", in: reqPost + "Content-Length: 003\r\n\r\nabc", check: reqWantBodies("abc")},
	{name: "Content-Length in HTTP/1.0", in: "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nok", check: reqWantBodies("ok")},
	{name: "body bytes are data", in: reqPost + "Content-Length: 4\r\n\r\n\r\x00\n\r", check: reqWantBodies("\r\x00\n\r")},
	{name: "identical Content-Length", in: reqPost + "Content-Length: 2\r\ncontent-length: 2\r\n\r\nok", check: reqWantBodies("ok")},
	{name: "differing Content-Length", in: reqPost + "Content-Length: 2\r\nContent-Length: 3\r\n\r\nok", status: 400, reason: reqReasonCLConflict},
	{name: "Content-Length list", in: reqPost + "Content-Length: 2, 2\r\n\r\nok", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length sign", in: reqPost + "Content-Length: +2\r\n\r\nok", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length negative", in: reqPost + "Content-Length: -1\r\n\r\n", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length inner space", in: reqPost + "Content-Length: 1 2\r\n\r\n", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length empty", in: reqPost + "Content-Length:\r\n\r\n", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length hex", in: reqPost + "Content-Length: 0x10\r\n\r\n", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length max int64", in: reqPost + "Content-Length: 9223372036854775807\r\n\r\n", status: 413, reason: reqReasonBodyTooLarge},
	{name: "Content-Length overflow", in: reqPost + "Content-Length: 9223372036854775808\r\n\r\n", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length far overflow", in: reqPost + "Content-Length: 99999999999999999999999\r\n\r\n", status: 400, reason: reqReasonCLInvalid},
	{name: "Content-Length at limit", lim: reqSmallBody, in: reqPost + "Content-Length: 10\r\n\r\n0123456789", check: reqWantBodies("0123456789")},
	{name: "Content-Length over limit", lim: reqSmallBody, in: reqPost + "Content-Length: 11\r\n\r\n", status: 413, reason: reqReasonBodyTooLarge},

	{name: "chunked", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", check: func(t *testing.T, run reqRun) {
		reqWantBodies("hello world")(t, run)
		reqEq(t, "Chunked", run.Reqs[0].Head.Chunked, true)
		reqEq(t, "ContentLength", run.Reqs[0].Head.ContentLength, -1)
	}},
	{name: "chunked upper case", in: reqPost + "Transfer-Encoding: CHUNKED\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", check: reqWantBodies("0123456789")},
	{name: "chunked with empty element", in: reqPost + "Transfer-Encoding: chunked,\r\n\r\n1\r\nx\r\n0\r\n\r\n", status: 400, reason: reqReasonTEInvalid},
	{name: "chunked after empty field", in: reqPost + "Transfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", status: 400, reason: reqReasonTEInvalid},
	{name: "gzip in second field", in: reqPost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400, reason: reqReasonTENotChunked},
	{name: "chunk size leading zeros", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0002\r\nab\r\n0000\r\n\r\n", check: reqWantBodies("ab")},
	{name: "chunk extensions", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;a=b;c ; d = \"q\\\"\t;\" \r\nab\r\n0;last\r\n\r\n", check: reqWantBodies("ab")},
	{name: "chunk size then space", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2 \r\nab\r\n0\r\n\r\n", check: reqWantBodies("ab")},
	{name: "trailers", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-Sum: 1\r\nY:\r\n\r\n", check: reqWantBodies("ab")},
	{name: "empty chunked body", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", check: reqWantBodies("")},
	{name: "chunked with Content-Length", in: reqPost + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400, reason: reqReasonTEWithCL},
	{name: "chunked in HTTP/1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400, reason: reqReasonTEHTTP10},
	{name: "gzip", in: reqPost + "Transfer-Encoding: gzip\r\n\r\n", status: 400, reason: reqReasonTENotChunked},
	{name: "gzip then chunked", in: reqPost + "Transfer-Encoding: gzip, chunked\r\n\r\n", status: 501, reason: reqReasonTEUnsupported},
	{name: "xchunked", in: reqPost + "Transfer-Encoding: xchunked\r\n\r\n", status: 400, reason: reqReasonTENotChunked},
	{name: "chunked then empty then gzip", in: reqPost + "Transfer-Encoding: chunked, , gzip\r\n\r\n", status: 400, reason: reqReasonTENotChunked},
	{name: "chunked then gzip", in: reqPost + "Transfer-Encoding: chunked, gzip\r\n\r\n", status: 400, reason: reqReasonTENotChunked},
	{name: "identity", in: reqPost + "Transfer-Encoding: identity\r\n\r\n", status: 400, reason: reqReasonTENotChunked},
	{name: "chunked with parameter", in: reqPost + "Transfer-Encoding: chunked;x=1\r\n\r\n", status: 501, reason: reqReasonTEUnsupported},
	{name: "chunked twice", in: reqPost + "Transfer-Encoding: chunked, chunked\r\n\r\n", status: 400, reason: reqReasonTEInvalid},
	{name: "chunked in two fields", in: reqPost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400, reason: reqReasonTEInvalid},
	{name: "empty Transfer-Encoding", in: reqPost + "Transfer-Encoding:\r\n\r\n", status: 400, reason: reqReasonTEInvalid},
	{name: "chunk size bare LF", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkLineEnd},
	{name: "chunk size bare CR", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2\r;a\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkLineEnd},
	{name: "last chunk bare LF", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\n\r\n", status: 400, reason: reqReasonChunkLineEnd},
	{name: "final line bare LF", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\n\n", status: 400, reason: reqReasonChunkLineEnd},
	{name: "trailer bare LF", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n\r\n", status: 400, reason: reqReasonChunkLineEnd},
	{name: "data then bare LF", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\n0\r\n\r\n", status: 400, reason: reqReasonChunkDataEnd},
	{name: "data too long", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkDataEnd},
	{name: "data then CR only", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\rX0\r\n\r\n", status: 400, reason: reqReasonChunkDataEnd},
	{name: "no chunk size", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n\r\n", status: 400, reason: reqReasonChunkSize},
	{name: "bad chunk size", in: reqPost + "Transfer-Encoding: chunked\r\n\r\ng\r\n", status: 400, reason: reqReasonChunkSize},
	{name: "signed chunk size", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkSize},
	{name: "chunk size 17 digits", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkSize},
	{name: "chunk size over int64", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n8000000000000000\r\n", status: 400, reason: reqReasonChunkSize},
	{name: "chunk size max int64", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n", status: 413, reason: reqReasonBodyTooLarge},
	{name: "chunk size ffff...", in: reqPost + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", status: 400, reason: reqReasonChunkSize},
	{name: "empty extension", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension no name", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;=x\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension no value", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;a=\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension open quote", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;a=\"x\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension control byte in quotes", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;a=\"\x01\"\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension ends in backslash", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;a=\"x\\\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension bad quoted-pair", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;a=\"x\\\x00\"\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension NUL", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n2;a\x00\r\nab\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "space inside size", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n1 0\r\n", status: 400, reason: reqReasonChunkExt},
	{name: "extension at limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n1;aaaaaaa=bbbbbbb\r\nx\r\n0\r\n\r\n", check: reqWantBodies("x")},
	{name: "extension over limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n1;aaaaaaa=bbbbbbbb\r\nx\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkLineLong},
	{name: "chunk line far over limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("a", 100) + "\r\nx\r\n0\r\n\r\n", status: 400, reason: reqReasonChunkLineLong},
	{name: "chunked at body limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n", check: reqWantBodies("0123456789")},
	{name: "chunked over body limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n", status: 413, reason: reqReasonBodyTooLarge},
	{name: "trailer at limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 0123456789A\r\n\r\n", check: reqWantBodies("")},
	{name: "trailer over limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 012345678901\r\n\r\n", status: 431, reason: reqReasonTrailerTooLarge},
	{name: "trailers over limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 01\r\nY: 01234\r\n\r\n", status: 431, reason: reqReasonTrailerTooLarge},
	{name: "trailer far over limit", lim: reqSmallBody, in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n", status: 431, reason: reqReasonTrailerTooLarge},
	{name: "trailer obs-fold", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n 2\r\n\r\n", status: 400, reason: reqReasonTrailerField},
	{name: "trailer without colon", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX\r\n\r\n", status: 400, reason: reqReasonTrailerField},
	{name: "trailer bad value", in: reqPost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: \x01\r\n\r\n", status: 400, reason: reqReasonTrailerField},
}

func TestRequestParserFraming(t *testing.T) { reqRunCases(t, reqFramingCases) }

var (
	reqSmallHead = Limits{MaxTargetBytes: 16, MaxHeaderBytes: 64, MaxHeaders: 3}
	reqTarget16  = "/" + strings.Repeat("a", 15)
)

// reqLimitCases: 414 and 431.
var reqLimitCases = []reqCase{
	{name: "target at limit", lim: reqSmallHead, in: "GET " + reqTarget16 + " HTTP/1.1\r\nHost: h\r\n\r\n"},
	{name: "target over limit", lim: reqSmallHead, in: "GET " + reqTarget16 + "b HTTP/1.1\r\nHost: h\r\n\r\n", status: 414, reason: reqReasonTargetTooLong},
	{name: "target over limit, line unfinished", lim: reqSmallHead, in: "GET " + reqTarget16 + "bbbbbb", status: 414, reason: reqReasonTargetTooLong},
	{name: "target over limit, bad method", lim: reqSmallHead, in: "G(T " + reqTarget16 + "b HTTP/1.1\r\n\r\n", status: 414, reason: reqReasonTargetTooLong},
	{name: "request line over head limit", lim: reqSmallHead, in: "GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\n\r\n", status: 414, reason: reqReasonTargetTooLong},
	{name: "request line over head limit, long method", lim: reqSmallHead, in: strings.Repeat("M", 70) + " / HTTP/1.1\r\n\r\n", status: 431, reason: reqReasonHeadTooLarge},
	{name: "unfinished line over head limit", lim: reqSmallHead, in: "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 60), status: 431, reason: reqReasonHeadTooLarge},
	// 16 + 9 + 36 + 2 + 1 = 64 bytes, one CR short of the limit with "\r\n\r\n".
	{name: "head at limit", lim: reqSmallHead, in: "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 33) + "\r\n\n"},
	{name: "head over limit", lim: reqSmallHead, in: "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 33) + "\r\n\r\n", status: 431, reason: reqReasonHeadTooLarge},
	{name: "empty lines do not count", lim: reqSmallHead, in: strings.Repeat("\r\n", 8) + "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 33) + "\r\n\n"},
	{name: "fields at limit", lim: reqSmallHead, in: "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n"},
	{name: "fields over limit", lim: reqSmallHead, in: "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", status: 431, reason: reqReasonTooManyHeaders},
	{name: "default field limit", in: "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 31) + reqHost + "\r\n"},
	{name: "default field limit passed", in: "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 32) + reqHost + "\r\n", status: 431, reason: reqReasonTooManyHeaders},
	{name: "default target limit", in: "GET /" + strings.Repeat("a", 2047) + " HTTP/1.1\r\n" + reqHost + "\r\n"},
	{name: "default target limit passed", in: "GET /" + strings.Repeat("a", 2048) + " HTTP/1.1\r\n" + reqHost + "\r\n", status: 414},
	{name: "default head limit passed", in: "GET / HTTP/1.1\r\n" + reqHost + "X: " + strings.Repeat("a", 4096) + "\r\n\r\n", status: 431},
}

func TestRequestParserLimits(t *testing.T) { reqRunCases(t, reqLimitCases) }

const (
	reqPipeGet     = "GET /1 HTTP/1.1\r\n" + reqHost + "\r\n"
	reqPipePostCL  = "POST /2 HTTP/1.1\r\n" + reqHost + "Content-Length: 5\r\n\r\nhello"
	reqPipePostChk = "POST /3 HTTP/1.1\r\n" + reqHost + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n"
)

// reqWantPaths checks the paths of the requests.
func reqWantPaths(want ...string) func(t *testing.T, run reqRun) {
	return func(t *testing.T, run reqRun) {
		t.Helper()
		if len(run.Reqs) != len(want) {
			t.Fatalf("%d requests; want %d", len(run.Reqs), len(want))
		}
		for i, r := range run.Reqs {
			reqEq(t, fmt.Sprintf("request %d path", i), r.Head.Path, want[i])
		}
	}
}

// reqAll runs every check.
func reqAll(fs ...func(t *testing.T, run reqRun)) func(t *testing.T, run reqRun) {
	return func(t *testing.T, run reqRun) {
		t.Helper()
		for _, f := range fs {
			f(t, run)
		}
	}
}

// reqPipelineCases: several requests in one input.
var reqPipelineCases = []reqCase{
	{name: "two GETs", in: reqPipeGet + reqPipeGet, reqs: 2, check: reqWantBodies("", "")},
	{name: "content-length then chunked", in: reqPipePostCL + reqPipePostChk, reqs: 2, check: reqAll(reqWantBodies("hello", "abcde"), reqWantPaths("/2", "/3"))},
	{name: "chunked then content-length", in: reqPipePostChk + reqPipePostCL, reqs: 2, check: reqAll(reqWantBodies("abcde", "hello"), reqWantPaths("/3", "/2"))},
	{name: "three", in: reqPipePostCL + reqPipeGet + reqPipePostChk, reqs: 3, check: reqAll(reqWantBodies("hello", "", "abcde"), reqWantPaths("/2", "/1", "/3"))},
	{name: "CRLF after body", in: reqPipePostCL + "\r\n" + reqPipePostChk + "\r\n" + reqPipeGet, reqs: 3, check: reqWantBodies("hello", "abcde", "")},
	{name: "valid then invalid", in: reqPipePostCL + "BAD\r\n\r\n", status: 400, check: reqWantBodies("hello")},
}

func TestRequestParserPipelining(t *testing.T) { reqRunCases(t, reqPipelineCases) }

// reqAllCases returns every table case.
func reqAllCases() []reqCase {
	var cs []reqCase
	for _, l := range [][]reqCase{reqRequestLineCases, reqHeaderFieldCases, reqFramingCases, reqLimitCases, reqPipelineCases} {
		cs = append(cs, l...)
	}
	return cs
}

// TestRequestParserUnfinished checks input that ends inside a request.
func TestRequestParserUnfinished(t *testing.T) {
	run := reqCheckSplits(t, Limits{}, "POST / HTTP/1.1\r\n"+reqHost+"Content-Length: 5\r\n\r\nhel")
	if len(run.Reqs) != 1 || run.Reqs[0].Done || run.Reqs[0].Body != "hel" || !run.Started || !run.InBody {
		t.Fatalf("got %v", run)
	}
	run = reqCheckSplits(t, Limits{}, "POST / HTTP/1.1\r\n"+reqHost+"Transfer-Encoding: chunked\r\n\r\n5\r\nhel")
	if len(run.Reqs) != 1 || run.Reqs[0].Done || run.Reqs[0].Body != "hel" || !run.InBody {
		t.Fatalf("got %v", run)
	}
	run = reqCheckSplits(t, Limits{}, "\r\n\r\nGE")
	if len(run.Reqs) != 0 || !run.Started || run.InBody {
		t.Fatalf("got %v", run)
	}
}

func TestRequestParserHeaderLookup(t *testing.T) {
	p := NewRequestParser(Limits{})
	in := "GET / HTTP/1.1\r\n" + reqHost +
		"Accept-Encoding: gzip;q=1.0, BR\r\n" +
		"X-Dup: first\r\n" +
		"Connection: keep-alive\r\n" +
		"x-dup: second\r\n" +
		"Connection: Upgrade\r\n" +
		"Upgrade: websocket\r\n" +
		"Empty:\r\n\r\n"
	n, ev := p.Feed([]byte(in))
	if n != len(in) || ev.Kind != HTTPHead {
		t.Fatalf("Feed = %d, %+v", n, ev)
	}
	r := p.Request()
	if r.NumHeaders() != 8 {
		t.Fatalf("NumHeaders = %d", r.NumHeaders())
	}
	if name, value := r.HeaderAt(4); string(name) != "x-dup" || string(value) != "second" {
		t.Errorf("HeaderAt(4) = %q, %q", name, value)
	}
	for _, c := range []struct{ name, want string }{
		{"host", "example.com"}, {"X-DUP", "first"}, {"connection", "keep-alive"}, {"Upgrade", "websocket"},
	} {
		if got := r.Header(c.name); string(got) != c.want {
			t.Errorf("Header(%q) = %q; want %q", c.name, got, c.want)
		}
	}
	if got := r.Header("Empty"); got == nil || len(got) != 0 {
		t.Errorf("Header(Empty) = %#v; want empty, not nil", got)
	}
	for _, name := range []string{"Missing", "Hos", "Hostt", ""} {
		if got := r.Header(name); got != nil {
			t.Errorf("Header(%q) = %q; want nil", name, got)
		}
	}
	for _, c := range []struct {
		header, token string
		want          bool
	}{
		{"Accept-Encoding", "gzip", true},
		{"accept-encoding", "br", true},
		{"Accept-Encoding", "deflate", false},
		{"Accept-Encoding", "q=1.0", false},
		{"Connection", "upgrade", true},
		{"Connection", "Keep-Alive", true},
		{"Connection", "close", false},
		{"Upgrade", "WebSocket", true},
		{"Missing", "x", false},
		{"Empty", "", false},
	} {
		if got := r.HasToken(c.header, c.token); got != c.want {
			t.Errorf("HasToken(%q, %q) = %v; want %v", c.header, c.token, got, c.want)
		}
	}
	// Views are capped: appending to one must not touch the buffer.
	_ = append(r.Method, "XXXXXXXX"...)
	_ = append(r.Header("Host"), "XXXXXXXX"...)
	if got := reqSnapshot(r); got.Method != "GET" || got.Headers[:len(reqHost)-1] != "Host: example.com\n" {
		t.Errorf("append to a view changed the head: %+v", got)
	}
}

func TestRequestParserStates(t *testing.T) {
	p := NewRequestParser(Limits{})
	step := func(in string, wantN int, want HTTPEventKind, started, inBody bool) HTTPEvent {
		t.Helper()
		n, ev := p.Feed([]byte(in))
		if n != wantN || ev.Kind != want || p.Started() != started || p.InBody() != inBody {
			t.Fatalf("Feed(%q) = %d, %v, Started %v, InBody %v; want %d, %v, %v, %v",
				in, n, ev.Kind, p.Started(), p.InBody(), wantN, want, started, inBody)
		}
		return ev
	}
	step("", 0, HTTPNeedMore, false, false)
	step("\r", 1, HTTPNeedMore, false, false)
	step("\n\r\n", 3, HTTPNeedMore, false, false)
	step("P", 1, HTTPNeedMore, true, false)
	const rest = "OST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
	step(rest+"ab", len(rest), HTTPHead, true, true)
	if ev := step("ab", 2, HTTPBody, true, true); string(ev.Data) != "ab" {
		t.Fatalf("Data = %q", ev.Data)
	}
	step("", 0, HTTPNeedMore, true, true)
	step("cGET", 1, HTTPBody, false, false)
	step("GET", 0, HTTPDone, false, false)
	step("GET", 0, HTTPDone, false, false)
	if string(p.Request().Method) != "POST" {
		t.Fatal("Request changed before Next")
	}
	p.Next()
	step("GET / HTTP/1.1\r\nHost: h\r\n\r\nX", 27, HTTPHead, false, false)
	step("X", 0, HTTPDone, false, false)
	p.Next()
	ev := step("X\r\n", 3, HTTPError, true, false)
	if ev.Status != 400 {
		t.Fatalf("Status = %d", ev.Status)
	}
	step("GET / HTTP/1.1\r\n", 0, HTTPError, true, false)
	p.Reset()
	step("\r\n", 2, HTTPNeedMore, false, false)
	step("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, HTTPHead, false, false)

	// Reset in the middle of a body starts afresh.
	p.Reset()
	const chunkedHead = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	step(chunkedHead+"5\r\nab", len(chunkedHead), HTTPHead, true, true)
	p.Reset()
	step("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, HTTPHead, false, false)
	step("", 0, HTTPDone, false, false)
}

func TestRequestParserDefaults(t *testing.T) {
	p := NewRequestParser(Limits{MaxHeaders: 7, MaxBodyBytes: -1})
	want := DefaultLimits()
	want.MaxHeaders = 7
	if got := p.Limits(); got != want {
		t.Fatalf("Limits() = %+v; want %+v", got, want)
	}
	if cap(p.buf) != want.MaxHeaderBytes || cap(p.fields) != 7 {
		t.Fatalf("buffers %d, %d", cap(p.buf), cap(p.fields))
	}
}

func TestHTTPEventKindString(t *testing.T) {
	for k := HTTPNeedMore; k <= numHTTPEventKinds; k++ {
		if k.String() == "" || k < numHTTPEventKinds && k.String() == "unknown" {
			t.Errorf("kind %d has name %q", k, k.String())
		}
	}
}
