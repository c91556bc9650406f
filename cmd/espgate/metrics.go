package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/espgate/espgate/handlers"
)

// serveHostMetrics serves /metrics on a host address (a USB-gadget link or
// a local agent), beside the route through the modem.
func serveHostMetrics(addr string, reg *prometheus.Registry, auth string, log zerolog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var h http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if auth != "" {
		inner, check := h, credentials(auth)
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, pass, ok := r.BasicAuth(); !ok || !check([]byte(user), []byte(pass)) {
				w.Header().Set("WWW-Authenticate", `Basic realm="espgate metrics"`)
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("metrics listener")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("metrics on the host")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// credentials checks a user and password against "user:password" in
// constant time (digests compared, so the length does not leak either).
func credentials(auth string) func(user, pass []byte) bool {
	user, pass, _ := strings.Cut(auth, ":")
	return handlers.BasicCredentials(user, pass)
}

// basicAuth guards a native handler with HTTP Basic auth when auth is set.
func basicAuth(auth string, h handlers.Handler) handlers.Handler {
	if auth == "" {
		return h
	}
	return handlers.BasicAuth("espgate metrics", credentials(auth))(h)
}
