//go:build !race

package loop

import "testing"

// The whole pipeline, modem bytes in to modem bytes out, allocates nothing
// per request in steady state: parsing, the handler, framing, metrics, and
// the log calls of disabled levels.
func TestPipelineZeroAllocs(t *testing.T) {
	for _, nonos := range []bool{true, false} {
		p := newPipeline(t, nonos)
		for range 10 { // warm up: buffers reach their working size
			p.request()
		}
		if a := testing.AllocsPerRun(200, func() { p.request() }); a != 0 {
			t.Errorf("nonos=%v: %.1f allocations per request, want 0", nonos, a)
		}
	}
}
