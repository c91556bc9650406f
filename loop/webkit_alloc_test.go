//go:build !race

package loop

import (
	"bytes"
	"testing"

	"github.com/espgate/espgate/handlers"
)

// Default headers and the package's middleware keep a request free of
// allocations.
func TestDefaultHeadersAndMiddlewareZeroAllocs(t *testing.T) {
	hello := handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
		w.AddHeader("Content-Type", "text/plain")
		w.SetBody(helloBody)
	})
	p := newPipeline(t, true, func(c *Config) {
		c.Machine.DefaultHeader = []byte("X-Frame-Options: DENY\r\nContent-Security-Policy: default-src 'self'\r\nContent-Type: never/used\r\n")
		c.Handler = handlers.Chain(hello, handlers.CORS(handlers.CORSOptions{AllowOrigins: []string{"*"}}))
	})
	for range 10 {
		p.request()
	}
	if a := testing.AllocsPerRun(200, func() { p.request() }); a != 0 {
		t.Errorf("%.1f allocations per request, want 0", a)
	}
	// The response carries the default headers, except the one it set itself.
	p.l.m.Input(p.now, getFrame)
	p.l.drain(p.now)
	p.take()
	p.l.m.Input(p.now, promptBytes)
	p.l.drain(p.now)
	resp := p.take()
	if !bytes.Contains(resp, []byte("\r\nX-Frame-Options: DENY\r\nContent-Security-Policy: default-src 'self'\r\n\r\n")) ||
		bytes.Count(resp, []byte("Content-Type:")) != 1 {
		t.Errorf("response head: %q", resp)
	}
}
