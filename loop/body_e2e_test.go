package loop_test

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/internal/e2etest"
	"github.com/espgate/espgate/sim"
)

// A net/http handler reads a request body while the client is still
// sending it: the first half arrives, the handler sees it, and only then
// does the client send the rest.
func TestGatewayStreamsRequestBody(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		firstHalf := make(chan []byte, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 3000)
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			firstHalf <- buf
			rest, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			fmt.Fprintf(w, "%x", sha256.Sum256(append(buf, rest...)))
		})
		env := e2etest.Start(t, p, &espgate.Server{Handler: h})

		body := pattern(6000)
		c, err := net.Dial("tcp", env.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body))
		c.Write(body[:3000])
		select {
		case got := <-firstHalf:
			if string(got) != string(body[:3000]) {
				t.Fatal("the handler read other bytes than the client sent")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the handler did not see the first half before the second was sent")
		}
		c.Write(body[3000:])
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("%x", sha256.Sum256(body)); resp.StatusCode != 200 || string(got) != want {
			t.Fatalf("%d %q, want 200 %q", resp.StatusCode, got, want)
		}
		if resp.Close {
			t.Error("the connection closes after a body read in full")
		}
	})
}

// A handler that answers before the body is in (here: a refusal) gets its
// answer to the client, and the link closes after it.
func TestGatewayAnswersBeforeBodyEnds(t *testing.T) {
	e2etest.EachProfile(t, func(t *testing.T, p sim.Profile) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "not today", http.StatusForbidden)
		})
		env := e2etest.Start(t, p, &espgate.Server{Handler: h})
		c, err := net.Dial("tcp", env.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nsome")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 403 || strings.TrimSpace(string(got)) != "not today" || !resp.Close {
			t.Fatalf("%d %q close=%v, want 403 with Connection: close", resp.StatusCode, got, resp.Close)
		}
		io.WriteString(c, "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
		if n, err := br.Read(make([]byte, 1)); err == nil {
			t.Fatalf("read %d more bytes after the closing answer", n)
		}
	})
}
