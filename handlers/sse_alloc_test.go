//go:build !race

package handlers

import (
	"strings"
	"testing"
)

// Queuing an event and handing it to the loop allocates nothing.
func TestEventStreamSendZeroAllocs(t *testing.T) {
	es := &EventStream{d: newFakeDetached(), max: 16 << 10}
	buf := make([]byte, 2048)
	data := strings.Repeat("sensor reading\n", 4)
	send := func() {
		es.Send("reading", "12345", data)
		es.read(buf)
	}
	send()
	if a := testing.AllocsPerRun(100, send); a != 0 {
		t.Fatalf("%.1f allocations per event", a)
	}
}
