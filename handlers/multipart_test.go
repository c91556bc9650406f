package handlers

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

type testPart struct {
	name, file, ctype, data string
}

// multipartBody writes parts with mime/multipart.Writer, as a Go client
// would send them.
func multipartBody(t testing.TB, parts []testPart) (contentType string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		switch {
		case p.file != "":
			if p.ctype != "" {
				h := textproto.MIMEHeader{}
				h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+strings.ReplaceAll(p.file, `"`, `\"`)+`"`)
				h.Set("Content-Type", p.ctype)
				w, err = mw.CreatePart(h)
			} else {
				w, err = mw.CreateFormFile(p.name, p.file)
			}
		default:
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func readParts(t testing.TB, r *Request, lim MultipartLimits) ([]testPart, error) {
	t.Helper()
	mr, err := r.Multipart(lim)
	if err != nil {
		return nil, err
	}
	var got []testPart
	for {
		p, err := mr.Next()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		data, _ := io.ReadAll(p)
		if !bytes.Equal(data, p.Bytes()) || p.Size() != int64(len(data)) {
			t.Fatalf("Read and Bytes disagree for part %q", p.Name())
		}
		if p.IsFile() != (p.FileName() != nil) {
			t.Fatalf("IsFile %v with FileName %q", p.IsFile(), p.FileName())
		}
		got = append(got, testPart{string(p.Name()), string(p.FileName()), string(p.ContentType()), string(data)})
	}
}

func TestMultipart(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 4096) + "\r\n--not-the-boundary\r\n"
	parts := []testPart{
		{name: "title", data: "Hello, world"},
		{name: "empty", data: ""},
		{name: "upload", file: "notes.txt", data: "line 1\r\nline 2\r\n"},
		{name: "photo", file: "cat.jpg", ctype: "image/jpeg", data: big},
		{name: "quote\"d", file: `a "b".txt`, data: "\r\n\r\n--"},
		{name: "emptyfile", file: "e.bin", data: ""},
	}
	ct, body := multipartBody(t, parts)
	r := post(t, "/up", ct, body)
	got, err := readParts(t, r, MultipartLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(parts) {
		t.Fatalf("got %d parts, want %d", len(got), len(parts))
	}
	for i, p := range parts {
		want := p
		if want.file != "" && want.ctype == "" {
			want.ctype = "application/octet-stream"
		}
		if want.file == "" {
			want.ctype = ""
		}
		if got[i] != want {
			t.Errorf("part %d: got %+.60v, want %+.60v", i, got[i], want)
		}
	}
	// Form accessors see the fields, not the files.
	if v, ok := r.FormValue("title"); !ok || string(v) != "Hello, world" {
		t.Errorf("FormValue(title) = %q %v", v, ok)
	}
	if _, ok := r.FormValue("upload"); ok {
		t.Error("FormValue returned a file part")
	}
	var names []string
	for k := range r.FormPairs() {
		names = append(names, string(k))
	}
	if strings.Join(names, ",") != "title,empty" {
		t.Errorf("FormPairs names = %q", names)
	}
	f, err := r.FormFile("photo")
	if err != nil || string(f.FileName()) != "cat.jpg" || string(f.Bytes()) != big || string(f.Header("content-type")) != "image/jpeg" {
		t.Fatalf("FormFile(photo) = %v, %v", f, err)
	}
	var sb strings.Builder
	if n, err := io.Copy(&sb, f); err != nil || n != int64(len(big)) || sb.String() != big {
		t.Errorf("io.Copy of the part: %d %v", n, err)
	}
	if _, err := r.FormFile("title"); err != ErrMissingFile {
		t.Errorf("FormFile(title) error %v, want ErrMissingFile", err)
	}
}

// A reader a handler is using is not disturbed by form accessors.
func TestMultipartReaderSurvivesFormValue(t *testing.T) {
	ct, body := multipartBody(t, []testPart{{name: "a", data: "1"}, {name: "b", data: "2"}, {name: "c", data: "3"}})
	r := post(t, "/up", ct, body)
	mr, err := r.Multipart(MultipartLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := mr.Next(); err != nil || string(p.Name()) != "a" {
		t.Fatalf("first part: %v %v", p, err)
	}
	if v, _ := r.FormValue("c"); string(v) != "3" {
		t.Fatalf("FormValue(c) = %q", v)
	}
	p, err := mr.Next()
	if err != nil || string(p.Name()) != "b" {
		t.Fatalf("second part after FormValue: %v %v", p, err)
	}
}

func TestMultipartFileNames(t *testing.T) {
	for _, c := range []struct{ disp, want string }{
		{`form-data; name="f"; filename="C:\\Users\\me\\cv.pdf"`, "cv.pdf"},
		{`form-data; name="f"; filename="../../etc/passwd"`, "passwd"},
		{`form-data; name="f"; filename*=UTF-8''J%C3%BCrgen.txt; filename="fallback.txt"`, "Jürgen.txt"},
		{`form-data; name="f"; filename=plain.txt`, "plain.txt"},
		{`FORM-DATA; NAME=f; FILENAME="x y.txt"`, "x y.txt"},
	} {
		body := "--B\r\nContent-Disposition: " + c.disp + "\r\n\r\ndata\r\n--B--\r\n"
		r := post(t, "/", "multipart/form-data; boundary=B", []byte(body))
		f, err := r.FormFile("f")
		if err != nil {
			t.Errorf("%s: %v", c.disp, err)
			continue
		}
		if string(f.FileName()) != c.want {
			t.Errorf("%s: FileName %q, want %q", c.disp, f.FileName(), c.want)
		}
	}
}

func TestMultipartErrors(t *testing.T) {
	part := func(disp, data string) string {
		return "--B\r\nContent-Disposition: " + disp + "\r\n\r\n" + data + "\r\n"
	}
	ok := part(`form-data; name="a"`, "1")
	for _, c := range []struct {
		name, ctype, body string
		lim               MultipartLimits
		want              error
		wantCode          int
	}{
		{"not multipart", "application/json", "{}", MultipartLimits{}, ErrNotMultipart, 415},
		{"no boundary", "multipart/form-data", ok, MultipartLimits{}, ErrNoBoundary, 400},
		{"boundary too long", "multipart/form-data; boundary=" + strings.Repeat("b", 71), ok, MultipartLimits{}, ErrNoBoundary, 400},
		{"no first boundary", "multipart/form-data; boundary=B", "just text", MultipartLimits{}, ErrMultipartMissing, 400},
		{"unclosed", "multipart/form-data; boundary=B", ok, MultipartLimits{}, ErrMultipartUnclosed, 400},
		{"cut in a header", "multipart/form-data; boundary=B", "--B\r\nContent-Disp", MultipartLimits{}, ErrMultipartUnclosed, 400},
		{"text after boundary", "multipart/form-data; boundary=B", "--Bxyz\r\n--B-x", MultipartLimits{}, ErrMultipartMissing, 400},
		{"bare CR after boundary", "multipart/form-data; boundary=B", "--B\rx" + ok + "--B--", MultipartLimits{}, ErrBadBoundaryLine, 400},
		{"bad header line", "multipart/form-data; boundary=B", "--B\r\nno colon here\r\n\r\nx\r\n--B--", MultipartLimits{}, ErrPartHeader, 400},
		{"no disposition", "multipart/form-data; boundary=B", "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--", MultipartLimits{}, ErrPartDisposition, 400},
		{"no name", "multipart/form-data; boundary=B", part(`form-data; filename="x"`, "x") + "--B--", MultipartLimits{}, ErrPartDisposition, 400},
		{"too many parts", "multipart/form-data; boundary=B", ok + ok + ok + "--B--", MultipartLimits{MaxParts: 2}, ErrTooManyParts, 413},
		{"header too big", "multipart/form-data; boundary=B", part(`form-data; name="`+strings.Repeat("n", 100)+`"`, "x") + "--B--", MultipartLimits{MaxPartHeaderBytes: 64}, ErrPartHeaderTooBig, 413},
		{"file too big", "multipart/form-data; boundary=B", part(`form-data; name="f"; filename="f"`, strings.Repeat("x", 11)) + "--B--", MultipartLimits{MaxFileBytes: 10}, ErrFileTooBig, 413},
		{"field too big", "multipart/form-data; boundary=B", part(`form-data; name="f"`, strings.Repeat("x", 11)) + "--B--", MultipartLimits{MaxFieldBytes: 10}, ErrFieldTooBig, 413},
	} {
		r := post(t, "/", c.ctype, []byte(c.body))
		_, err := readParts(t, r, c.lim)
		if err != c.want {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
			continue
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Code != c.wantCode {
			t.Errorf("%s: %v is not a %d StatusError", c.name, err, c.wantCode)
		}
		// The error sticks.
		if mr, err := r.Multipart(c.lim); err == nil {
			for {
				if _, err := mr.Next(); err != nil {
					if _, err2 := mr.Next(); err2 != err {
						t.Errorf("%s: error changed from %v to %v", c.name, err, err2)
					}
					break
				}
			}
		}
	}
	// At the limit is fine.
	r := post(t, "/", "multipart/form-data; boundary=B", []byte(part(`form-data; name="f"; filename="f"`, strings.Repeat("x", 10))+"--B--"))
	if _, err := readParts(t, r, MultipartLimits{MaxFileBytes: 10}); err != nil {
		t.Errorf("a file of exactly MaxFileBytes: %v", err)
	}
	// Preamble, epilogue, transport padding and bare LF line ends are accepted.
	r = post(t, "/", `multipart/form-data; boundary="a b"`, []byte("preamble\r\n--a b  \r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b\nContent-Disposition: form-data; name=y\n\n2\n--a b--\r\nepilogue"))
	got, err := readParts(t, r, MultipartLimits{})
	if err != nil || len(got) != 2 || got[0].data != "1" || got[1].data != "2" {
		t.Errorf("lenient body: %+v %v", got, err)
	}
}

// FuzzMultipart checks that the reader never panics, that every part it
// returns lies inside the body, and that where mime/multipart reads the
// same parts without error, the names, filenames and contents agree.
func FuzzMultipart(f *testing.F) {
	_, body := multipartBody(f, []testPart{{name: "a", data: "1"}, {name: "f", file: "x.txt", data: "hello\r\n"}})
	f.Add(string(body))
	f.Add("--B\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n--B--")
	f.Add("--B\r\n\r\n--B--")
	f.Add("--B--")
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 4096 {
			return
		}
		boundary := "B"
		if i := strings.Index(body, "--"); i >= 0 && strings.HasPrefix(string(body[i+2:]), multipartBoundaryOf(body)) {
			boundary = multipartBoundaryOf(body)
		}
		r := post(t, "/", "multipart/form-data; boundary="+boundary, []byte(body))
		got, err := readParts(t, r, MultipartLimits{MaxParts: 1000, MaxPartHeaderBytes: 4096, MaxFieldBytes: 1 << 20})
		if err != nil || strings.Count(body, "\n") != strings.Count(body, "\r\n") {
			return // bare LF line ends: mime/multipart picks one line end per body, this reader per line
		}
		mr := multipart.NewReader(strings.NewReader(body), boundary)
		for i := 0; ; i++ {
			p, err := mr.NextRawPart()
			if err != nil {
				return // mime/multipart refuses or ends: nothing to compare
			}
			data, err := io.ReadAll(p)
			if err != nil || i >= len(got) {
				return
			}
			if p.FormName() != got[i].name || string(data) != got[i].data {
				t.Fatalf("part %d: got name %q data %q; mime/multipart: %q %q", i, got[i].name, got[i].data, p.FormName(), data)
			}
		}
	})
}

// multipartBoundaryOf guesses the boundary of the fuzzer's first line.
func multipartBoundaryOf(body string) string {
	line, _, _ := strings.Cut(body, "\n")
	line = strings.TrimSuffix(strings.TrimPrefix(line, "--"), "\r")
	if validBoundary([]byte(line)) && !strings.ContainsAny(line, `"; `) {
		return line
	}
	return "B"
}

// A part with two Content-Disposition (or Content-Type) fields is refused:
// readers disagree on which one names it (mime/multipart takes the first).
func TestMultipartTwoDispositionsRefused(t *testing.T) {
	for _, hdr := range []string{
		"Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b",
		"Content-Disposition: form-data; name=a\r\nContent-Type: text/plain\r\ncontent-type: image/png",
	} {
		r := post(t, "/", "multipart/form-data; boundary=B", []byte("--B\r\n"+hdr+"\r\n\r\n1\r\n--B--"))
		_, err := readParts(t, r, MultipartLimits{})
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 400 || err != ErrPartTwoHeaders {
			t.Errorf("%q: %v, want ErrPartTwoHeaders", hdr, err)
		}
	}
}

// A boundary line with transport padding and then something else is
// refused, not read as content: mime/multipart would end the part there.
func TestMultipartPaddedBoundaryRefused(t *testing.T) {
	r := post(t, "/", "multipart/form-data; boundary=B", []byte("--B\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--B x\r\n--B--"))
	_, err := readParts(t, r, MultipartLimits{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 400 {
		t.Fatalf("got %v, want a 400 StatusError", err)
	}
}
