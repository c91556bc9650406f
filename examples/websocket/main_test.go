package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// What one page sends, every page receives.
func TestChat(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		env := e2etest.Start(t, p, &espgate.Server{Routes: routes()})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var pages []*websocket.Conn
		for range 2 {
			c, _, err := websocket.Dial(ctx, "ws://"+env.Addr+"/chat", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			pages = append(pages, c)
		}
		got := make(chan string, 64)
		go func() {
			for {
				_, b, err := pages[1].Read(ctx)
				if err != nil {
					close(got)
					return
				}
				got <- string(b)
			}
		}()
		// Both are in the room once a message from the first reaches the
		// second (joining happens just after the handshake).
		for i := 0; ; i++ {
			msg := fmt.Sprint("hello ", i)
			if err := pages[0].Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			if _, own, err := pages[0].Read(ctx); err != nil || string(own) != msg {
				t.Fatalf("own message: %q %v", own, err)
			}
			select {
			case m, ok := <-got:
				if !ok || !strings.HasPrefix(m, "hello ") {
					t.Fatalf("second page: %q (open %v)", m, ok)
				}
				pages[0].Close(websocket.StatusNormalClosure, "")
				pages[1].Close(websocket.StatusNormalClosure, "")
				return
			case <-time.After(100 * time.Millisecond):
			}
			if i == 100 {
				t.Fatal("the second page never got a message")
			}
		}
	})
}
