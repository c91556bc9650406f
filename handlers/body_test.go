package handlers

import (
	"errors"
	"io"
	"testing"
	"time"
)

func TestBodyPipe(t *testing.T) {
	p := NewBodyPipe()
	got := make(chan string)
	go func() {
		b, err := io.ReadAll(p)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
	}()
	src := []byte("hello, ")
	p.Write(src)
	src[0] = 'J' // Write copies
	p.Write([]byte("world"))
	p.CloseWithError(nil)
	select {
	case s := <-got:
		if s != "hello, world" {
			t.Fatalf("read %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadAll did not return after the body ended")
	}
	if _, err := p.Write([]byte("late")); err == nil {
		t.Fatal("Write after the end succeeded")
	}
}

func TestBodyPipeCut(t *testing.T) {
	p := NewBodyPipe()
	p.Write([]byte("part"))
	p.CloseWithError(ErrBodyCut)
	b, err := io.ReadAll(p)
	if string(b) != "part" || !errors.Is(err, ErrBodyCut) {
		t.Fatalf("read %q, %v; want the bytes that came, then ErrBodyCut", b, err)
	}
	q := NewBodyPipe()
	q.Write([]byte("dropped"))
	q.Close()
	if n, err := q.Read(make([]byte, 4)); n != 0 || err == nil {
		t.Fatalf("Read after Close: %d, %v", n, err)
	}
}
