package loop

import "testing"

// BenchmarkPipeline measures one keep-alive request through the whole host
// side: +IPD frame in, request parsed, handler run, response framed, and the
// AT+CIPSEND exchange out.
func BenchmarkPipeline(b *testing.B) {
	p := newPipeline(b, true)
	for range 10 {
		p.request()
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = p.request()
	}
	b.SetBytes(int64(len(getFrame) + n))
}
