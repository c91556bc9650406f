package handlers

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"testing"
)

func BenchmarkFormValue(b *testing.B) {
	r := post(b, "/p?q=1", "application/x-www-form-urlencoded", []byte("user=ada+lovelace&note=a%26b&x=2&remember=on"))
	b.ReportAllocs()
	for b.Loop() {
		r.scratch = r.scratch[:0]
		r.FormValue("remember")
	}
}

func multipartBench(b *testing.B) (string, []byte) {
	return multipartBody(b, []testPart{{name: "title", data: "holiday"}, {name: "photo", file: "p.jpg", ctype: "image/jpeg", data: string(bytes.Repeat([]byte("0123456789abcdef"), 6400))}})
}

// A 100 KB upload read in place.
func BenchmarkMultipart(b *testing.B) {
	ct, body := multipartBench(b)
	r := post(b, "/up", ct, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.scratch = r.scratch[:0]
		mr, err := r.Multipart(MultipartLimits{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			p, err := mr.Next()
			if err != nil {
				break
			}
			io.Copy(io.Discard, p)
		}
	}
}

// The same upload through mime/multipart, for comparison.
func BenchmarkMultipartStdlib(b *testing.B) {
	ct, body := multipartBench(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_, params, _ := mime.ParseMediaType(ct)
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			io.Copy(io.Discard, p)
		}
	}
}

func BenchmarkBasicAuth(b *testing.B) {
	r := get(b, "/", "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("admin:correct horse battery staple")))
	h := BasicAuth("r", BasicCredentials("admin", "correct horse battery staple"))(okHandler)
	var w ResponseWriter
	b.ReportAllocs()
	for b.Loop() {
		r.scratch = r.scratch[:0]
		w.Reset(nil)
		h.ServeModem(&w, r)
	}
}

func BenchmarkSetCookie(b *testing.B) {
	c := &http.Cookie{Name: "session", Value: "0123456789abcdef", Path: "/", MaxAge: 3600, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	var w ResponseWriter
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(nil)
		w.SetCookie(c)
	}
}
