package soak_test

import (
	"flag"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

var recoveryResets = flag.Int("soak.resets", 2, "TestRecoveryPaced: resets per firmware profile (make soak: 20)")

// TestRecoveryPaced resets a paced emulator (115200 baud, the profile's
// own boot and reconnect times) while a client keeps asking, and measures
// from each reset to the end of the first response to a request begun
// after it, as the client sees it: emulated time, which on a paced line is
// wall time. The server must serve again within 2 s.
func TestRecoveryPaced(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		t.Parallel()
		clock := &resetClock{}
		quiet := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
		a := newApp()
		env := e2etest.Start(t, p, &espgate.Server{
			Routes: a.routes(), Logger: &quiet,
			Emulator: sim.Config{Baud: 115200, Logf: clock.logf},
		})
		if env.Modem.Params().Unpaced {
			t.Fatal("the emulator is not paced")
		}
		stop := make(chan struct{})
		var served atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			c := &client{addr: env.Addr, app: a, timeout: 10 * time.Second}
			defer c.drop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := request{method: http.MethodGet, path: "/bytes", n: 300, seed: uint64(i)}
				begun := time.Now()
				if o, _ := c.do(&q, fmt.Sprintf("r%d", i)); o == outOK {
					clock.served(begun, time.Now())
					served.Add(1)
				} else {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
		for range *recoveryResets {
			waitServed(t, &served)
			time.Sleep(100 * time.Millisecond) // let the host finish the send
			env.Modem.Reset()
			time.Sleep(10 * time.Millisecond)
		}
		waitServed(t, &served)
		close(stop)
		<-done
		d, pending := clock.recoveries()

		slices.Sort(d)
		t.Logf("%s, 115200 baud: served again after %d resets in %v (emulated time)", p, len(d), d)
		if pending > 0 {
			t.Errorf("%d resets not followed by serving", pending)
		}
		for _, x := range d {
			if x > recoveryBound {
				t.Errorf("served again %v after a reset (bound %v)", x, recoveryBound)
			}
		}
	})
}

// waitServed waits (at most 20 s) until the client has been served once
// more.
func waitServed(t *testing.T, served *atomic.Int64) {
	t.Helper()
	n := served.Load()
	for end := time.Now().Add(20 * time.Second); served.Load() <= n; {
		if time.Now().After(end) {
			t.Fatal("not served within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
