package handlers

import (
	"strings"
	"testing"
)

// Send formats events as the SSE spec reads them, and eventSize (which
// bounds the queue) counts exactly what Send writes.
func TestEventStreamFormat(t *testing.T) {
	for _, tc := range []struct {
		event, id, data, want string
	}{
		{"", "", "", "data: \n\n"},
		{"tick", "", "12:00", "event: tick\ndata: 12:00\n\n"},
		{"", "7", "a\nb", "id: 7\ndata: a\ndata: b\n\n"},
		{"x", "8", "a\r\nb\rc\n", "event: x\nid: 8\ndata: a\ndata: b\ndata: c\ndata: \n\n"},
		{"", "", " leading space", "data:  leading space\n\n"},
		{"", "", "\n\n", "data: \ndata: \ndata: \n\n"},
	} {
		es := &EventStream{d: newFakeDetached(), max: 1 << 10}
		if err := es.Send(tc.event, tc.id, tc.data); err != nil {
			t.Fatal(err)
		}
		if got := string(es.buf); got != tc.want {
			t.Errorf("Send(%q, %q, %q) = %q, want %q", tc.event, tc.id, tc.data, got, tc.want)
		}
		if n := eventSize(tc.event, tc.id, tc.data); n != len(tc.want) {
			t.Errorf("eventSize(%q, %q, %q) = %d, want %d", tc.event, tc.id, tc.data, n, len(tc.want))
		}
	}
}

// The queue is bounded: an event that can never fit is refused alone; one
// that does not fit now ends the stream (the client is too slow), and
// what was queued still goes out before the end.
func TestEventStreamQueueBound(t *testing.T) {
	es := &EventStream{d: newFakeDetached(), max: 100}
	if err := es.Send("", "", strings.Repeat("x", 100)); err != ErrEventTooLarge {
		t.Fatalf("oversized event: %v", err)
	}
	for i := range 3 {
		if err := es.Send("", "", strings.Repeat("x", 20)); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if err := es.Send("", "", strings.Repeat("x", 20)); err != ErrSlowClient {
		t.Fatalf("overflow: %v", err)
	}
	if err := es.Send("", "", "x"); err != ErrSlowClient {
		t.Fatalf("after the overflow: %v", err)
	}
	b := make([]byte, 1000)
	n, err := es.read(b)
	if n != 3*len("data: \n\n")+60 || err != nil {
		t.Fatalf("Read: %d %v", n, err)
	}
	if n, err := es.read(b); n != 0 || err == nil {
		t.Fatalf("after the queue: %d %v, want the end", n, err)
	}
}

func BenchmarkEventStreamSend(b *testing.B) {
	es := &EventStream{d: newFakeDetached(), max: 16 << 10}
	buf := make([]byte, 2048)
	data := strings.Repeat("sensor reading\n", 4)
	b.ReportAllocs()
	for b.Loop() {
		es.Send("reading", "12345", data)
		es.read(buf)
	}
}
