package fsm

import (
	"strings"
	"testing"
	"time"

	"github.com/espgate/espgate/parser"
)

func streamAll(int, *parser.Request) bool { return true }

// takeBody collects what TakeBody hands over for the pending request.
func (tm *testModem) takeBody(n Note) string {
	return string(tm.m.TakeBody(n.Link, n.Gen))
}

// A streamed body: the request is announced at its head, the body follows
// piece by piece, and the next request on the connection waits its turn.
func TestStreamedBody(t *testing.T) {
	for _, g := range gens {
		tm := serving(t, g, Config{StreamBody: streamAll})
		tm.says("0,CONNECT\r\n" + ipd(0, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabcd"))
		if len(tm.pending) != 1 {
			t.Fatalf("%v: %d requests announced at the head, want 1", g, len(tm.pending))
		}
		req := tm.pending[0]
		if tm.m.Body(0) != nil || !tm.m.Streaming(0) {
			t.Fatalf("%v: Body %q Streaming %v, want nil and true", g, tm.m.Body(0), tm.m.Streaming(0))
		}
		if got := tm.takeBody(req); got != "abcd" {
			t.Fatalf("%v: first piece %q", g, got)
		}
		if tm.count(NoteBodyEnd) != 0 {
			t.Fatalf("%v: body ended early", g)
		}
		tm.says(ipd(0, "efghij"+"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"))
		if got := tm.takeBody(req); got != "efghij" {
			t.Fatalf("%v: second piece %q", g, got)
		}
		if n, ok := tm.lastNote(NoteBodyEnd); !ok || n.Status != 0 {
			t.Fatalf("%v: body end %+v %v", g, n, ok)
		}
		if err := tm.m.Respond(tm.now, 0, req.Gen, Response{Status: 201, Body: []byte("ok")}); err != nil {
			t.Fatal(err)
		}
		p := tm.sendChunk(0)
		if !strings.HasPrefix(p, "HTTP/1.1 201 Created\r\n") || strings.Contains(p, "Connection: close") {
			t.Fatalf("%v: %q", g, p)
		}
		if len(tm.pending) != 2 || string(tm.m.Request(0).Path) != "/next" {
			t.Fatalf("%v: the pipelined request was not announced after the first", g)
		}
	}
}

// An answer that goes out while the body is still arriving closes the
// connection after it; the rest of the body is never parsed as a request.
func TestStreamedBodyAnsweredEarly(t *testing.T) {
	tm := serving(t, GenNonOS, Config{StreamBody: streamAll})
	tm.says("0,CONNECT\r\n" + ipd(0, "PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nxx"))
	req := tm.pending[0]
	if err := tm.m.Respond(tm.now, 0, req.Gen, Response{Status: 413, Body: []byte("no")}); err != nil {
		t.Fatal(err)
	}
	p := tm.sendChunk(0)
	if !strings.HasPrefix(p, "HTTP/1.1 413 ") || !strings.Contains(p, "Connection: close") {
		t.Fatalf("got %q", p)
	}
	tm.says(ipd(0, "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.lingerThenClose(0)
	if len(tm.pending) != 1 {
		t.Fatalf("%d requests announced, want 1", len(tm.pending))
	}
}

// A body over the limit is cut: the application hears 413, and so does the
// client, since no answer had started.
func TestStreamedBodyTooLarge(t *testing.T) {
	lim := parser.DefaultLimits()
	lim.MaxBodyBytes = 8
	tm := serving(t, GenESPAT, Config{StreamBody: streamAll, Limits: lim})
	tm.says("0,CONNECT\r\n" + ipd(0, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"))
	if len(tm.pending) != 1 {
		t.Fatal("not announced at the head")
	}
	tm.says(ipd(0, "5\r\nworld\r\n"))
	n, ok := tm.lastNote(NoteBodyEnd)
	if !ok || n.Status != 413 {
		t.Fatalf("body end %+v %v, want status 413", n, ok)
	}
	if err := tm.m.Respond(tm.now, 0, n.Gen, Response{Status: 200}); err != ErrStale {
		t.Fatalf("Respond after the cut: %v, want ErrStale", err)
	}
	if p := tm.sendChunk(0); !strings.HasPrefix(p, "HTTP/1.1 413 ") {
		t.Fatalf("got %q", p)
	}
	tm.lingerThenClose(0)
}

// A pause inside a streamed body past BodyTimeout cuts it with 408; if the
// answer had already started, the link just closes.
func TestStreamedBodyTimeout(t *testing.T) {
	tm := serving(t, GenNonOS, Config{StreamBody: streamAll, BodyTimeout: 2 * time.Second})
	tm.says("0,CONNECT\r\n" + ipd(0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab"))
	tm.advance(time.Second)
	tm.says(ipd(0, "cd")) // progress pushes the deadline
	tm.advance(1500 * time.Millisecond)
	if tm.count(NoteBodyEnd) != 0 {
		t.Fatal("cut although the body made progress")
	}
	tm.advanceToDeadline()
	if n, _ := tm.lastNote(NoteBodyEnd); n.Status != 408 {
		t.Fatalf("body end %+v, want 408", n)
	}
	if p := tm.sendChunk(0); !strings.HasPrefix(p, "HTTP/1.1 408 ") {
		t.Fatalf("got %q", p)
	}
	tm.lingerThenClose(0)
	if n, _ := tm.lastNote(NoteLinkClosed); n.Reason != ClosedTimeout {
		t.Fatalf("reason %v", n.Reason)
	}
}

// Expect: 100-continue with a streamed body: the interim answer goes out
// while the handler holds the request.
func TestStreamedBodyExpectContinue(t *testing.T) {
	tm := serving(t, GenNonOS, Config{StreamBody: streamAll})
	tm.says("0,CONNECT\r\n" + ipd(0, "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"))
	if len(tm.pending) != 1 {
		t.Fatal("not announced at the head")
	}
	if p := tm.sendChunk(0); p != "HTTP/1.1 100 Continue\r\n\r\n" {
		t.Fatalf("interim %q", p)
	}
	tm.says(ipd(0, "data"))
	req := tm.pending[0]
	if got := tm.takeBody(req); got != "data" {
		t.Fatalf("body %q", got)
	}
	if err := tm.m.Respond(tm.now, 0, req.Gen, Response{Status: 200, Body: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if p := tm.sendChunk(0); !strings.HasPrefix(p, "HTTP/1.1 200 OK\r\n") || strings.Contains(p, "Connection: close") {
		t.Fatalf("final %q", p)
	}
}

// Only requests StreamBody chooses are streamed; a bodiless request never is.
func TestStreamBodyChoice(t *testing.T) {
	asked := 0
	tm := serving(t, GenNonOS, Config{StreamBody: func(_ int, r *parser.Request) bool {
		asked++
		return string(r.Path) == "/stream"
	}})
	tm.handler = func(link int, _ uint32) (Response, bool) {
		return Response{Status: 200, Body: append([]byte(nil), tm.m.Body(link)...)}, true
	}
	tm.says("0,CONNECT\r\n" + ipd(0, "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n"))
	tm.sendChunk(0)
	tm.says(ipd(0, "POST /whole HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"))
	if p := tm.sendChunk(0); !strings.HasSuffix(p, "\r\n\r\nabc") {
		t.Fatalf("got %q", p)
	}
	if asked != 1 {
		t.Fatalf("StreamBody asked %d times, want 1 (only for the request with a body)", asked)
	}
}
