// Command forms is a small guestbook served by native handlers through the
// modem (or, with no -device, through the embedded emulator):
//
//	go run ./examples/forms
//
// It shows a query filter (?q=), a urlencoded form posted and redirected
// (303, POST/redirect/GET), a cookie that remembers the visitor's name, a
// multipart file upload read in place, Basic auth on /admin, and
// server-wide security headers.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
)

type entry struct{ name, message string }

type upload struct {
	name string
	size int64
	sum  [sha256.Size]byte
}

// book is the guestbook's state; handlers hold the lock only briefly.
type book struct {
	mu      sync.Mutex
	entries []entry
	uploads []upload
}

func (b *book) routes(adminPassword string) *handlers.Router {
	rt := handlers.NewRouter()
	rt.HandleFunc("GET /{$}", b.page)
	rt.HandleFunc("POST /sign", b.sign)
	rt.HandleFunc("POST /upload", b.upload)
	rt.Handle("POST /admin/clear", handlers.BasicAuth("guestbook admin", handlers.BasicCredentials("admin", adminPassword))(
		handlers.HandlerFunc(func(w *handlers.ResponseWriter, r *handlers.Request) {
			b.mu.Lock()
			b.entries, b.uploads = nil, nil
			b.mu.Unlock()
			handlers.Redirect(w, r, "/", http.StatusSeeOther)
		})))
	return rt
}

// page lists the entries, filtered by ?q=, and greets a known visitor.
func (b *book) page(w *handlers.ResponseWriter, r *handlers.Request) {
	w.AddHeader("Content-Type", "text/html; charset=utf-8")
	w.WriteString("<!doctype html><title>Guestbook</title><h1>Guestbook</h1>")
	if name, ok := r.Cookie("name"); ok {
		fmt.Fprintf(w, "<p>Welcome back, %s.</p>", html.EscapeString(string(name)))
	}
	q, _ := r.Query("q")
	b.mu.Lock()
	w.WriteString("<ul>")
	for _, e := range b.entries {
		if strings.Contains(e.message, string(q)) {
			fmt.Fprintf(w, "<li><b>%s</b>: %s</li>", html.EscapeString(e.name), html.EscapeString(e.message))
		}
	}
	w.WriteString("</ul><h2>Files</h2><ul>")
	for _, u := range b.uploads {
		fmt.Fprintf(w, "<li>%s, %d bytes, sha256 %x…</li>", html.EscapeString(u.name), u.size, u.sum[:6])
	}
	b.mu.Unlock()
	w.WriteString(`</ul>
<form method="post" action="/sign"><input name="name" placeholder="name"> <input name="message" placeholder="message"> <button>Sign</button></form>
<form method="post" action="/upload" enctype="multipart/form-data"><input type="file" name="file"> <button>Upload</button></form>
<form method="get"><input name="q" placeholder="filter"> <button>Filter</button></form>
`)
}

// sign takes the urlencoded form, remembers the name in a cookie and
// redirects, so reloading the page does not post again.
func (b *book) sign(w *handlers.ResponseWriter, r *handlers.Request) {
	name, _ := r.FormValue("name")
	msg, ok := r.FormValue("message")
	if !ok || len(msg) == 0 || len(name) > 40 || len(msg) > 200 {
		handlers.Error(w, "a message (at most 200 bytes) and a name (at most 40) are needed", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.entries = append(b.entries, entry{string(name), string(msg)}) // copied: the views die with the request
	b.mu.Unlock()
	// A name with bytes a cookie cannot hold is simply not remembered.
	_ = w.SetCookie(&http.Cookie{Name: "name", Value: string(name), Path: "/", MaxAge: 30 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	handlers.Redirect(w, r, "/", http.StatusSeeOther)
}

// upload reads the multipart body in place: the file is hashed as it is
// read, never copied.
func (b *book) upload(w *handlers.ResponseWriter, r *handlers.Request) {
	f, err := r.FormFile("file")
	if err != nil {
		handlers.WriteError(w, err) // 400, 413 or 415 with the reason
		return
	}
	h := sha256.New()
	n, _ := io.Copy(h, f)
	u := upload{name: string(f.FileName()), size: n}
	h.Sum(u.sum[:0])
	b.mu.Lock()
	b.uploads = append(b.uploads, u)
	b.mu.Unlock()
	handlers.Redirect(w, r, "/", http.StatusSeeOther)
}

// server returns the configured server; main and the test share it.
func server(b *book, adminPassword string) *espgate.Server {
	return &espgate.Server{
		Routes: b.routes(adminPassword),
		DefaultHeaders: http.Header{
			"X-Frame-Options":         {"DENY"},
			"Content-Security-Policy": {"default-src 'self'"},
			"X-Content-Type-Options":  {"nosniff"},
		},
	}
}

func main() {
	device := flag.String("device", "", "modem line; empty: the embedded emulator")
	ssid := flag.String("ssid", "", "Wi-Fi network to join")
	password := flag.String("password", "", "Wi-Fi password")
	admin := flag.String("admin-password", "admin", "password of the user admin for POST /admin/clear")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := server(&book{}, *admin)
	srv.Device, srv.SSID, srv.Password = *device, *ssid, *password
	srv.OnServing = func(url string) { fmt.Println("serving", url) }
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}
