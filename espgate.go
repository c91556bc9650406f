// Package espgate serves web applications to Wi-Fi clients through an
// ESP8266 (or ESP32) running Espressif's AT firmware on a serial line.
//
// The modem accepts TCP connections itself; espgate drives it with AT
// commands, parses the HTTP requests that arrive as +IPD frames, and sends
// the responses back through AT+CIPSEND. Any net/http.Handler runs over it
// unmodified, and native handlers (package handlers) answer without
// allocating. With no Device, the embedded emulator of the modem stands in,
// so everything runs on a machine with no modem at all.
package espgate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/espgate/espgate/fsm"
	"github.com/espgate/espgate/handlers"
	"github.com/espgate/espgate/loop"
	"github.com/espgate/espgate/metrics"
	"github.com/espgate/espgate/parser"
	"github.com/espgate/espgate/port"
	"github.com/espgate/espgate/proxy"
	"github.com/espgate/espgate/sim"
)

// Server serves HTTP through one modem. Set its fields, then call
// ListenAndServe; a Server is not reused after it returns.
type Server struct {
	// Device names the modem line: a serial device (/dev/serial0), a pty,
	// or tcp://host:port. Empty means the embedded emulator.
	Device string
	// Baud is the line rate; 0 means 115200.
	Baud int
	// TargetBaud, when set, makes the server switch the modem and the port
	// to this faster rate after each reset (AT+UART_CUR), check that the
	// modem answers there, and fall back to Baud if it does not. Not with
	// a TCP bridge, whose serial side keeps its own rate.
	TargetBaud int
	// SSID and Password, when SSID is set, make the modem join that
	// network. They go into an AT command, escaped; ListenAndServe refuses
	// values that cannot be (control characters, over 32 and 64 bytes).
	SSID, Password string
	// SetupAP, when set, makes the modem open its own Wi-Fi network of this
	// name at start, where every request gets a set-up page to choose the
	// network to join (the modem keeps it for later boots); SSID must be
	// empty. Without SetupAP or SSID, the set-up network (named "espgate-"
	// and the end of the modem's MAC) opens only if the modem joins no
	// network by itself within 20 s.
	SetupAP string
	// SetupPassword protects the set-up network with WPA2 (8 to 64
	// characters); empty leaves it open.
	SetupPassword string
	// MDNSName, when set, has the modem announce the server as
	// http://<MDNSName>.local/ (AT+MDNS). Firmware without mDNS is logged
	// and served all the same.
	MDNSName string
	// ModemPort is the TCP port the modem listens on; 0 means 80.
	ModemPort int
	// Emulator configures the embedded emulator when Device is empty. Its
	// zero value is a NonOS AT 1.7 modem, already on a network, with
	// clients connecting to 127.0.0.1:8080; with SetupAP, on no network.
	// When it names its network (Emulator.SSID), Emulator.Joined says
	// whether the modem starts on it.
	Emulator sim.Config

	// Routes, when set, answers first with native handlers; what it does
	// not match goes to Handler (through the net/http gateway).
	Routes *handlers.Router
	// Handler serves every request Routes does not; nil means 404.
	Handler http.Handler
	// Middleware wraps the whole server, Routes and Handler alike, the
	// first outermost (handlers.CORS, handlers.BasicAuth, ...).
	Middleware []handlers.Middleware
	// DefaultHeaders are added to every response, the server's own error
	// answers (400, 404, 408, 413, 503, ...) included, unless the response
	// sets the same name: X-Frame-Options, Content-Security-Policy, ...
	DefaultHeaders http.Header
	// Upstream, when set, forwards every request Routes does not match to
	// an HTTP application already running on the host:
	// "http://127.0.0.1:8000" or "unix:/run/app.sock" (see package proxy).
	// It takes Handler's place: set one or the other.
	Upstream string
	// Proxy tunes the reverse proxy to Upstream; its zero value is ready,
	// and a nil Proxy.Logger means Logger.
	Proxy proxy.Options

	// Logger receives the server's log; nil means no logging.
	Logger *zerolog.Logger
	// Trace, if set, receives every byte of the serial exchange as
	// readable text with timestamps, passwords redacted. It is written
	// from the server's loop and must not block (buffer it).
	Trace io.Writer
	// Registerer, when set, gets espgate's Prometheus collectors.
	Registerer prometheus.Registerer
	// Metrics, when set, is used instead of collectors made for Registerer.
	Metrics *metrics.Metrics
	// Limits bounds requests; the zero value means parser.DefaultLimits().
	Limits parser.Limits
	// HeaderTimeout and IdleTimeout bound a request's head and an idle
	// keep-alive link; zero means 10 s and 5 s.
	HeaderTimeout, IdleTimeout time.Duration
	// BodyTimeout bounds a pause inside a request body; zero means 10 s.
	BodyTimeout time.Duration
	// CommandTimeout and SendOKTimeout bound the modem's answer to an AT
	// command and to a send's payload; zero means 2 s and 5 s. Shorter
	// values suit only a fast line or an unpaced emulator.
	CommandTimeout, SendOKTimeout time.Duration
	// ShutdownTimeout bounds how long open responses may finish after the
	// context ends or Shutdown is called; zero means 5 s.
	ShutdownTimeout time.Duration
	// MaxLongLived bounds how many of the modem's five links long-lived
	// responses (event streams, WebSockets, hijacked links) may hold at
	// once, so that ordinary requests always find one; beyond it the
	// client gets 503 with Retry-After. 0 means 2, at most 4; negative
	// allows none.
	MaxLongLived int
	// OnServing, if set, is called with the URL clients use once the modem
	// serves (again after every recovery or change of address), and with
	// http://<MDNSName>.local/ once a modem on a serial line announces it.
	// It must not block.
	OnServing func(url string)
	// OnSetup, if set, is called with the set-up network's name and the
	// set-up page's URL when set-up mode starts. It must not block.
	OnSetup func(network, url string)
	// Observe, if set, sees every protocol note on the loop. It must not block.
	Observe func(fsm.Note)

	mu     sync.Mutex
	stop   context.CancelFunc
	done   chan struct{}
	modem  *sim.Modem
	closed bool
}

// ErrServerClosed is returned by ListenAndServe after Shutdown, and by a
// second call on the same Server.
var ErrServerClosed = errors.New("espgate: Server closed")

// ListenAndServe opens the modem line (or starts the emulator), brings the
// modem up and serves until ctx ends or Shutdown is called. It returns nil
// after a graceful stop, ErrServerClosed if the Server was used before, or
// the error that stopped it.
func (s *Server) ListenAndServe(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.done != nil {
		s.mu.Unlock()
		return ErrServerClosed
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.done = make(chan struct{})
	s.mu.Unlock()
	defer close(s.done)
	defer s.stop()
	if err := s.checkWiFi(); err != nil {
		return fmt.Errorf("espgate: %w", err)
	}

	if s.MaxLongLived >= fsm.MaxLinks {
		return fmt.Errorf("espgate: MaxLongLived %d: at most %d of the modem's %d links", s.MaxLongLived, fsm.MaxLinks-1, fsm.MaxLinks)
	}
	log := zerolog.Nop()
	if s.Logger != nil {
		log = *s.Logger
	}
	mx := s.Metrics
	if mx == nil && s.Registerer != nil {
		mx = metrics.New(s.Registerer)
	}
	baud := s.Baud
	if baud <= 0 {
		baud = 115200
	}
	app := s.Handler
	if s.Upstream != "" {
		if s.Handler != nil {
			return errors.New("espgate: set Handler or Upstream, not both")
		}
		opt := s.Proxy
		if opt.Logger == nil {
			opt.Logger = &log
		}
		px, err := proxy.New(s.Upstream, opt)
		if err != nil {
			return fmt.Errorf("espgate: %w", err)
		}
		defer px.CloseIdleConnections()
		app = px
	}

	defaultHeader, err := renderHeader(s.DefaultHeaders)
	if err != nil {
		return err
	}

	var (
		p   port.Port
		url func(ip string) string
	)
	if s.Device == "" {
		cfg := s.Emulator
		if cfg.Listen == "" {
			cfg.Listen = "127.0.0.1:8080"
		}
		if cfg.Baud == 0 {
			cfg.Baud = baud
		}
		if s.SSID != "" && cfg.SSID == "" {
			cfg.SSID, cfg.Password = s.SSID, s.Password
		} else if s.SSID == "" && cfg.SSID == "" && s.SetupAP == "" {
			cfg.Joined = true
		}
		m, err := sim.New(cfg)
		if err != nil {
			return fmt.Errorf("espgate: emulator: %w", err)
		}
		defer m.Close()
		s.mu.Lock()
		s.modem = m
		s.mu.Unlock()
		p = port.Wrap(m.Host(), "emulator")
		addr := m.Addr().String()
		url = func(string) string { return "http://" + addr + "/" }
	} else {
		if s.TargetBaud > 0 && strings.HasPrefix(s.Device, "tcp://") {
			return fmt.Errorf("espgate: TargetBaud needs a serial device: the bridge %s keeps its own rate", s.Device)
		}
		var err error
		if p, err = port.Open(s.Device, baud); err != nil {
			return fmt.Errorf("espgate: %w", err)
		}
		modemPort := s.ModemPort
		url = func(ip string) string {
			if modemPort == 0 || modemPort == 80 {
				return "http://" + ip + "/"
			}
			return fmt.Sprintf("http://%s:%d/", ip, modemPort)
		}
	}

	mc := fsm.Config{
		ServerPort:     s.ModemPort,
		SSID:           s.SSID,
		Password:       s.Password,
		Baud:           baud,
		Limits:         s.Limits,
		HeaderTimeout:  s.HeaderTimeout,
		IdleTimeout:    s.IdleTimeout,
		BodyTimeout:    s.BodyTimeout,
		CommandTimeout: s.CommandTimeout,
		SendOKTimeout:  s.SendOKTimeout,
		SetupAP:        s.SetupAP,
		SetupPassword:  s.SetupPassword,
		MDNSName:       s.MDNSName,
		DefaultHeader:  defaultHeader,
		TargetBaud:     s.TargetBaud,
	}
	gate := newSetupGate(s.handler(app), mc, url)
	lp := loop.New(loop.Config{
		Port:            p,
		Machine:         mc,
		Handler:         gate,
		Log:             log,
		Metrics:         mx,
		ShutdownTimeout: s.ShutdownTimeout,
		MaxLongLived:    s.MaxLongLived,
		Trace:           s.Trace,
		Observe: func(n fsm.Note) {
			gate.observe(n)
			if n.Kind == fsm.NoteServing && (len(n.Text) > 0 || s.Device == "") {
				if s.OnServing != nil {
					s.OnServing(url(string(n.Text)))
				}
				if gate.on && !gate.announced && s.OnSetup != nil {
					gate.announced = true
					s.OnSetup(gate.network, url(string(n.Text)))
				}
			}
			if n.Kind == fsm.NoteMDNS && n.Status == 0 && s.Device != "" && s.OnServing != nil {
				s.OnServing(loop.MDNSURL(string(n.Text), s.ModemPort))
			}
			if s.Observe != nil {
				s.Observe(n)
			}
		},
	})
	gate.lp = lp
	if err := lp.Run(ctx); err != nil {
		return fmt.Errorf("espgate: %w", err)
	}
	return nil
}

// handler combines Routes and app (Handler or the upstream's proxy),
// wrapped in Middleware.
func (s *Server) handler(app http.Handler) handlers.Handler {
	var gw handlers.Handler
	if app != nil {
		gw = handlers.Gateway(app)
	}
	var h handlers.Handler
	switch {
	case s.Routes != nil && gw != nil:
		s.Routes.NotFound(gw)
		h = s.Routes
	case s.Routes != nil:
		h = s.Routes
	case gw != nil:
		h = gw
	case len(s.Middleware) > 0:
		h = handlers.NewRouter() // 404 for everything
	default:
		return nil // the loop answers 404
	}
	return handlers.Chain(h, s.Middleware...)
}

// Shutdown stops taking requests, lets open responses finish (for at most
// ShutdownTimeout) and waits until ListenAndServe has returned or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// EmulatorModem returns the embedded emulator while ListenAndServe runs without
// a Device (for its address, statistics and fault injection), else nil.
func (s *Server) EmulatorModem() *sim.Modem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modem
}
