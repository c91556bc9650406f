package loop

import (
	"testing"

	"github.com/rs/zerolog"
)

// BenchmarkPipeline measures one keep-alive request through the whole host
// side: +IPD frame in, request parsed, handler run, response framed, the
// access-log line written (to io.Discard), and the AT+CIPSEND exchange out.
func BenchmarkPipeline(b *testing.B) {
	benchPipeline(b, zerolog.InfoLevel)
}

// BenchmarkPipelineNoAccessLog is BenchmarkPipeline with the log at warn
// level, so without the access-log line: the difference is that line's
// cost.
func BenchmarkPipelineNoAccessLog(b *testing.B) {
	benchPipeline(b, zerolog.WarnLevel)
}

func benchPipeline(b *testing.B, level zerolog.Level) {
	p := newPipeline(b, true)
	p.l.cfg.Log = p.l.cfg.Log.Level(level)
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
