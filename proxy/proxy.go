// Package proxy puts an HTTP application that already listens on the host
// (Flask, Django, Node, a Go binary, a static file server) behind espgate:
// a reverse proxy on net/http/httputil.ReverseProxy, tuned for a modem
// line.
//
// It removes hop-by-hop headers, sets X-Forwarded-For (the client address
// the modem reports), X-Forwarded-Proto, X-Forwarded-Host and Via, keeps a
// small pool of keep-alive connections to the upstream, streams bodies both
// ways, passes protocol upgrades (WebSocket) through, answers 502 when the
// upstream refuses or dies and 504 when it is too slow, and compresses
// compressible bodies the upstream sent uncompressed when the client
// accepts gzip.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Defaults for the zero values of Options.
const (
	DefaultGzipMinSize     = 1024
	DefaultDialTimeout     = 5 * time.Second
	DefaultResponseTimeout = 60 * time.Second
	DefaultIdleConns       = 5 // the modem's links
	DefaultIdleConnTimeout = 30 * time.Second
)

// Options tunes a Proxy; the zero value is ready to use.
type Options struct {
	// RewriteHost sends the upstream's own host (from its URL; "localhost"
	// for a unix socket) as Host instead of the client's. X-Forwarded-Host
	// carries the client's Host either way.
	RewriteHost bool
	// NoGzip turns off compressing on the way.
	NoGzip bool
	// GzipMinSize is the smallest body of known length worth compressing;
	// zero means DefaultGzipMinSize. Bodies of unknown length are
	// compressed whatever their size.
	GzipMinSize int64
	// DialTimeout bounds connecting to the upstream (then 504); zero
	// means DefaultDialTimeout.
	DialTimeout time.Duration
	// ResponseTimeout bounds the wait for the upstream's response head
	// once the request is sent (then 504); zero means
	// DefaultResponseTimeout.
	ResponseTimeout time.Duration
	// IdleConns is how many idle keep-alive connections to the upstream
	// are kept; zero means DefaultIdleConns.
	IdleConns int
	// IdleConnTimeout closes a pooled connection unused this long; zero
	// means DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// Logger receives a line for every request the upstream failed; nil
	// means no logging.
	Logger *zerolog.Logger
}

// Proxy forwards requests to one upstream. It is safe for concurrent use.
type Proxy struct {
	target   *url.URL // scheme, host and base path requests go to
	upstream string   // as given, for logs
	opt      Options
	log      zerolog.Logger
	tr       *http.Transport
	rp       *httputil.ReverseProxy
}

// New returns a proxy to upstream: "http://host:port" (optionally with a
// base path, prefixed to every request's path) or "unix:/path/to.sock"
// for an application listening on a unix socket.
func New(upstream string, o Options) (*Proxy, error) {
	target, socket, err := parseUpstream(upstream)
	if err != nil {
		return nil, err
	}
	if o.GzipMinSize == 0 {
		o.GzipMinSize = DefaultGzipMinSize
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.ResponseTimeout, DefaultResponseTimeout)
	def(&o.IdleConnTimeout, DefaultIdleConnTimeout)
	if o.IdleConns <= 0 {
		o.IdleConns = DefaultIdleConns
	}
	p := &Proxy{target: target, upstream: upstream, opt: o, log: zerolog.Nop()}
	if o.Logger != nil {
		p.log = o.Logger.With().Str("upstream", upstream).Logger()
	}
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if socket != "" {
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
	}
	p.tr = &http.Transport{
		Proxy:                 nil, // never an HTTP_PROXY from the environment
		DialContext:           dial,
		MaxIdleConns:          o.IdleConns,
		MaxIdleConnsPerHost:   o.IdleConns,
		IdleConnTimeout:       o.IdleConnTimeout,
		ResponseHeaderTimeout: o.ResponseTimeout,
		DisableCompression:    true, // the client's Accept-Encoding goes up as it is
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      p.tr,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.fail,
		ErrorLog:       log.New(debugWriter{p.log}, "", 0),
		BufferPool:     copyBuffers{},
	}
	return p, nil
}

// parseUpstream reads "http://host:port[/base]" or "unix:/path.sock".
func parseUpstream(s string) (target *url.URL, socket string, err error) {
	if rest, ok := strings.CutPrefix(s, "unix:"); ok {
		rest = strings.TrimPrefix(rest, "//") // unix:///run/app.sock
		if rest == "" {
			return nil, "", fmt.Errorf("proxy: upstream %q: want a socket path after \"unix:\"", s)
		}
		return &url.URL{Scheme: "http", Host: "localhost"}, rest, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.Opaque != "" || u.Fragment != "" || u.User != nil {
		return nil, "", fmt.Errorf("proxy: upstream %q: want http://host:port[/path] or unix:/path/to.sock", s)
	}
	return u, "", nil
}

// CloseIdleConnections closes the pooled connections to the upstream.
func (p *Proxy) CloseIdleConnections() { p.tr.CloseIdleConnections() }

// ServeHTTP forwards r to the upstream and its answer to w. When the
// upstream fails in the middle of a body, it panics with
// http.ErrAbortHandler, so the server (espgate's gateway or net/http)
// cuts the response rather than end it as if it were complete.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{}
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
	cw := &compressWriter{ResponseWriter: w, x: x}
	p.rp.ServeHTTP(cw, r)
	if err := x.bodyErr; err != nil && r.Context().Err() == nil {
		// The upstream died mid-body: the client must see a cut
		// response, never one that looks complete.
		cw.abandon()
		p.log.Warn().Str("method", r.Method).Str("path", r.URL.Path).Err(err).Msg("upstream failed during the response body")
		panic(http.ErrAbortHandler)
	}
	cw.close()
}

// exchange is the state of one proxied request, shared by ServeHTTP and
// the ReverseProxy hooks through the request's context.
type exchange struct {
	gzip    bool  // compress the body on the way
	bodyErr error // reading the upstream's body failed
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange {
	if x, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
		return x
	}
	return &exchange{}
}

// rewrite builds the upstream request.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.target)
	pr.SetXForwarded()
	h := pr.Out.Header
	// espgate answered the client's 100-continue itself: the body is
	// already on its way, and the upstream need not be asked again.
	h.Del("Expect")
	if h.Get("X-Forwarded-For") == "0.0.0.0" {
		h.Del("X-Forwarded-For") // the modem did not report the client
	}
	if pr.In.Host == "" {
		h.Del("X-Forwarded-Host")
	}
	if !p.opt.RewriteHost {
		pr.Out.Host = pr.In.Host
	}
	addVia(h, pr.In.ProtoMajor, pr.In.ProtoMinor)
}

// addVia appends this hop to the Via header (RFC 9110, 7.6.3).
func addVia(h http.Header, major, minor int) {
	hop := fmt.Sprintf("%d.%d espgate", major, minor)
	if prior := h.Values("Via"); len(prior) > 0 {
		hop = strings.Join(prior, ", ") + ", " + hop
	}
	h.Set("Via", hop)
}

// modifyResponse runs once the upstream's head is in.
func (p *Proxy) modifyResponse(res *http.Response) error {
	addVia(res.Header, res.ProtoMajor, res.ProtoMinor)
	if res.StatusCode == http.StatusSwitchingProtocols {
		return nil // the body is the upgraded connection: leave it alone
	}
	x := exchangeOf(res.Request)
	res.Body = &trackedBody{ReadCloser: res.Body, x: x}
	if !p.opt.NoGzip {
		x.gzip = gzipResponse(res, p.opt.GzipMinSize)
	}
	return nil
}

// trackedBody records a failed read of the upstream's body.
type trackedBody struct {
	io.ReadCloser
	x *exchange
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.x.bodyErr == nil {
		b.x.bodyErr = err
	}
	return n, err
}

// fail answers a request the upstream did not: 504 when it was too slow,
// 502 otherwise.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		p.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Err(err).Msg("client left before the upstream answered")
		return
	}
	status, msg := classify(err)
	p.log.Warn().Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).Err(err).Msg(msg)
	h := w.Header()
	clear(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, http.StatusText(status)+": "+msg+"\n")
}

// classify maps a round-trip error to a status and a short explanation.
func classify(err error) (int, string) {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, "the upstream did not answer in time"
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT):
		return http.StatusBadGateway, "the upstream refused the connection"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return http.StatusBadGateway, "the upstream closed the connection without answering"
	default:
		return http.StatusBadGateway, "the upstream sent no valid answer"
	}
}

// copyBuffers lends ReverseProxy its body-copy buffers: 8 KiB, as much as
// the server takes ahead of the modem, instead of a fresh 32 KiB each.
type copyBuffers struct{}

var bufPool = sync.Pool{New: func() any { return new([8 << 10]byte) }}

func (copyBuffers) Get() []byte  { return bufPool.Get().(*[8 << 10]byte)[:] }
func (copyBuffers) Put(b []byte) { bufPool.Put((*[8 << 10]byte)(b)) }

// debugWriter turns ReverseProxy's own log lines into debug events.
type debugWriter struct{ log zerolog.Logger }

func (d debugWriter) Write(b []byte) (int, error) {
	d.log.Debug().Str("component", "reverseproxy").Msg(strings.TrimSpace(string(b)))
	return len(b), nil
}
