package handlers

import (
	"compress/gzip"
	"errors"
	"hash/crc64"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"sync"
	"time"
)

// StaticOptions configures FileServer. The zero value is usable.
type StaticOptions struct {
	// CacheControl, when set, goes with every file response (200, 206 and
	// 304). "no-cache" makes browsers revalidate each time, which costs a
	// 304 of about 150 bytes; "max-age=3600" spares even that for an hour.
	CacheControl string
	// Index is the file served for a path ending in "/"; "" means
	// "index.html". A directory without one is 404: there are no listings.
	Index string
	// GzipMinSize is the smallest compressible file gzipped on the fly
	// when it has no precompressed sibling the client accepts; 0 means
	// 512 bytes, negative turns on-the-fly gzip off.
	GzipMinSize int64
	// GzipLevel is the compress/flate level of on-the-fly gzip; 0 means
	// DefaultGzipLevel.
	GzipLevel int
}

// DefaultGzipLevel is the on-the-fly compression level. On the HTML, CSS
// and JavaScript of examples/static it comes within 1% of level 9's
// size and 14% under level 1's, at a third of level 1's speed: still
// over a thousand times what a 115200-baud line carries on a desktop
// CPU, so a Pi Zero keeps well ahead of the line. It compresses on the
// loop, one compressor block (up to 64 KiB of input) per read at most.
const DefaultGzipLevel = 5

// acceptRangesMin is the size from which a 200 advertises
// "Accept-Ranges: bytes" (Range works on any file): below it a download
// is quick to restart and the header would cost more than it saves.
const acceptRangesMin = 64 << 10

// hashMax is the largest file whose ETag is a hash of its content; a
// larger one with a modification time gets an ETag from its size and
// time, so that the loop never stalls hashing it.
const hashMax = 1 << 20

// maxTags bounds the ETag cache; it starts afresh when full.
const maxTags = 4096

// FileServer serves the files of fsys: GET and HEAD, the request path
// (see StripPrefix) naming a file relative to fsys's root.
//
// It sends Content-Type from the name's extension (a built-in table,
// then the system's; text gets charset=utf-8), a strong ETag computed
// from the content (once per file version, cached), Last-Modified when
// fsys has times (embed.FS does not), and opts.CacheControl.
// If-None-Match (weak comparison, lists, "*") and, without it,
// If-Modified-Since answer 304 with ETag, Cache-Control and Vary only.
//
// For a compressible type (text, JavaScript, JSON, SVG, ...) a sibling
// "name.br" or "name.gz" is sent instead, with Content-Encoding, when
// Accept-Encoding admits it (q=0 excludes; br wins a tie), each with its
// own ETag; a sibling older than its file is stale and ignored. Without
// one, a file of at least GzipMinSize is gzipped on the fly (chunked, as
// its length is unknown beforehand; weak ETag, as its bytes depend on
// the compressor). Vary: Accept-Encoding goes with every response of a
// file that has another encoding, and only those: for the others it
// would be 23 bytes of nothing.
//
// A single Range (bytes=a-b, a-, -n) on GET answers 206 with
// Content-Range, or 416 with "Content-Range: bytes */size" when it lies
// beyond the end; If-Range (strong ETag or exact date) is honoured.
// Ranges apply to the representation chosen by Accept-Encoding among
// the files themselves (the file or a precompressed sibling, whose
// bytes are fixed); a Range request never gets on-the-fly gzip. A list
// of several ranges, a malformed one, or a file that cannot seek
// (io.Seeker) gets the whole file (200).
// HEAD answers the headers and Content-Length of the identity or
// sibling representation, since an on-the-fly length is not known.
//
// The path is decoded once and refused with 400 if it holds a dot
// segment in any spelling (. or .. or %2e%2e), an encoded slash, a
// backslash (plain or %5c), a NUL or another control byte, or an empty
// segment; a name starting with "." (.git, .env) is 404. A directory
// without a trailing slash is redirected (301) to it. Use Dir for a
// directory on disk: os.DirFS follows symbolic links out of its tree.
//
// Bodies stream from the file one chunk at a time as the modem takes
// them; the file is closed when the response ends or the link closes.
// Reading a local file chunk (a few KiB) and hashing a new file version
// happen on the loop, which is fine for local disks and embedded files
// but not for a network file system.
func FileServer(fsys fs.FS, opts StaticOptions) Handler {
	s := &fileServer{fsys: fsys, opts: opts, index: opts.Index, tags: map[string]fileTag{}}
	if s.index == "" {
		s.index = "index.html"
	}
	s.gzipMin = opts.GzipMinSize
	if s.gzipMin == 0 {
		s.gzipMin = 512
	}
	level := opts.GzipLevel
	if level == 0 {
		level = DefaultGzipLevel
	}
	if level < gzip.HuffmanOnly || level > gzip.BestCompression {
		panic("handlers: StaticOptions.GzipLevel " + strconv.Itoa(level) + " is not a compress/flate level")
	}
	s.gzipPool.New = func() any {
		g := &gzipBody{in: make([]byte, 4<<10)}
		g.zw, _ = gzip.NewWriterLevel(&g.out, level) // the level is valid
		return g
	}
	return s
}

// Dir opens the directory at dir for FileServer. Names resolve inside it
// only (os.Root): a symbolic link may lead anywhere within the directory,
// but one leading out of it fails to open, so it is served as 404.
func Dir(dir string) (fs.FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return root.FS(), nil
}

// StripPrefix hands h the requests whose path starts with prefix, with
// Path shortened to what follows it (keeping a leading "/"), as
// net/http.StripPrefix does; the prefix itself, without a trailing
// slash, is redirected (301) to the path with one, and other requests
// get 404. Only Path changes, and only during the call:
//
//	rt.Handle("GET /static/", handlers.StripPrefix("/static", files))
func StripPrefix(prefix string, h Handler) Handler {
	return HandlerFunc(func(w *ResponseWriter, r *Request) {
		p := r.Path
		if len(p) < len(prefix) || string(p[:len(prefix)]) != prefix {
			staticError(w, http.StatusNotFound)
			return
		}
		rest := p[len(prefix):]
		switch {
		case len(rest) > 0 && rest[0] == '/':
		case len(prefix) > 0 && prefix[len(prefix)-1] == '/':
			rest = p[len(prefix)-1:]
		case len(rest) == 0: // "/static": its relative links need "/static/"
			redirectToDir(w, r)
			return
		default: // "/static" does not prefix "/staticfoo"
			staticError(w, http.StatusNotFound)
			return
		}
		r.Path = rest
		defer func() { r.Path = p }()
		h.ServeModem(w, r)
	})
}

type fileServer struct {
	fsys     fs.FS
	opts     StaticOptions
	index    string
	gzipMin  int64
	gzipPool sync.Pool // *gzipBody

	mu   sync.Mutex
	tags map[string]fileTag // by name in fsys
}

// fileTag is the ETag of one version of a file.
type fileTag struct {
	size int64
	mod  time.Time
	etag string // quoted, ready to send
}

// fileVariant is a representation of the requested file: the file itself
// or a precompressed sibling.
type fileVariant struct {
	name     string
	info     fs.FileInfo
	encoding string // "", "br" or "gzip"
}

func (s *fileServer) ServeModem(w *ResponseWriter, r *Request) {
	method := string(r.Method)
	get := method == http.MethodGet
	if !get && method != http.MethodHead {
		w.AddHeader("Allow", "GET, HEAD")
		staticError(w, http.StatusMethodNotAllowed)
		return
	}
	name, dirSlash, status := cleanFilePath(r.Path)
	if status != 0 {
		staticError(w, status)
		return
	}
	info, err := fs.Stat(s.fsys, name)
	if err != nil {
		staticError(w, openStatus(err))
		return
	}
	if info.IsDir() {
		if !dirSlash {
			redirectToDir(w, r)
			return
		}
		name = path.Join(name, s.index)
		if info, err = fs.Stat(s.fsys, name); err != nil {
			staticError(w, openStatus(err))
			return
		}
	} else if dirSlash {
		staticError(w, http.StatusNotFound)
		return
	}
	if !info.Mode().IsRegular() {
		staticError(w, http.StatusNotFound)
		return
	}

	ctype, compressible := contentType(name)
	v := fileVariant{name: name, info: info}
	vary, onTheFly := false, false
	ranged := get && r.Header("Range") != nil
	if compressible {
		br, gz := acceptedCodings(r)
		brInfo := s.sibling(name+".br", info)
		gzInfo := s.sibling(name+".gz", info)
		fly := s.gzipMin >= 0 && info.Size() >= s.gzipMin
		vary = brInfo != nil || gzInfo != nil || fly
		switch {
		case brInfo != nil && br > 0 && (gzInfo == nil || br >= gz):
			v = fileVariant{name: name + ".br", info: brInfo, encoding: "br"}
		case gzInfo != nil && gz > 0:
			v = fileVariant{name: name + ".gz", info: gzInfo, encoding: "gzip"}
		case fly && gz > 0 && get && !ranged:
			onTheFly = true
		}
	}

	f, err := s.fsys.Open(v.name)
	if err != nil {
		staticError(w, openStatus(err))
		return
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		v.info = fi // what the open file really is
	}
	etag, err := s.etag(v.name, v.info, f)
	if err != nil {
		f.Close()
		staticError(w, http.StatusInternalServerError)
		return
	}
	if onTheFly {
		etag = "W/" + etag[:len(etag)-1] + `.gz"`
	}
	mod := v.info.ModTime()
	if mod.Unix() <= 0 {
		mod = time.Time{} // embed.FS and the like: no time to offer
	}

	w.AddHeader("ETag", etag)
	if s.opts.CacheControl != "" {
		w.AddHeader("Cache-Control", s.opts.CacheControl)
	}
	if vary {
		w.AddHeader("Vary", "Accept-Encoding")
	}
	if notModified(r, etag, mod) {
		f.Close()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !mod.IsZero() {
		w.AddHeader("Last-Modified", mod.UTC().Format(http.TimeFormat))
	}
	w.AddHeader("Content-Type", ctype)
	if v.encoding != "" {
		w.AddHeader("Content-Encoding", v.encoding)
	}

	size := v.info.Size()
	if onTheFly {
		w.AddHeader("Content-Encoding", "gzip")
		g := s.gzipPool.Get().(*gzipBody)
		g.start(f, &s.gzipPool)
		w.SetStream(g, -1)
		return
	}
	if !get {
		f.Close()
		w.SetStream(eofReader{}, size) // HEAD: the length, no body
		return
	}
	start, length := int64(0), size
	if ranged && ifRangeHolds(r, etag, mod) {
		switch a, n, ok := parseRange(r.Header("Range"), size); {
		case ok && n < 0:
			f.Close()
			w.Discard()
			w.AddHeader("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		case ok:
			if _, err := seekFile(f, a); err != nil {
				break // cannot seek: send it whole
			}
			start, length = a, n
			w.AddHeader("Content-Range", "bytes "+strconv.FormatInt(a, 10)+"-"+
				strconv.FormatInt(a+n-1, 10)+"/"+strconv.FormatInt(size, 10))
			w.WriteHeader(http.StatusPartialContent)
		}
	}
	if start == 0 && length == size && size >= acceptRangesMin {
		w.AddHeader("Accept-Ranges", "bytes")
	}
	w.SetStream(&fileBody{f: f, left: length}, length)
}

// sibling returns the FileInfo of a precompressed sibling of the file
// of, or nil if there is no such regular file or it is older than the
// file (stale: the file was edited after it was compressed).
func (s *fileServer) sibling(name string, of fs.FileInfo) fs.FileInfo {
	fi, err := fs.Stat(s.fsys, name)
	if err != nil || !fi.Mode().IsRegular() || fi.ModTime().Before(of.ModTime()) {
		return nil
	}
	return fi
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// etag returns the strong ETag of the file version info describes,
// computed from the content the first time that version is seen: f's,
// rewound after, or a second reader's if f cannot seek.
func (s *fileServer) etag(name string, info fs.FileInfo, f fs.File) (string, error) {
	size, mod := info.Size(), info.ModTime()
	s.mu.Lock()
	t, ok := s.tags[name]
	s.mu.Unlock()
	if ok && t.size == size && t.mod.Equal(mod) {
		return t.etag, nil
	}
	var tag []byte
	if size > hashMax && mod.Unix() > 0 {
		tag = strconv.AppendInt(append(tag, '"'), size, 36)
		tag = append(tag, '-')
		tag = strconv.AppendInt(tag, mod.UnixNano(), 36)
	} else {
		src, seeks := f, true
		if _, ok := f.(io.Seeker); !ok {
			var err error
			if src, err = s.fsys.Open(name); err != nil {
				return "", err
			}
			defer src.Close()
			seeks = false
		}
		h := crc64.New(crcTable)
		buf := make([]byte, 8<<10)
		if _, err := io.CopyBuffer(h, io.LimitReader(onlyReader{src}, size), buf); err != nil {
			return "", err
		}
		if seeks {
			if _, err := seekFile(f, 0); err != nil {
				return "", err
			}
		}
		tag = appendBase64(append(tag, '"'), h.Sum64())
	}
	t = fileTag{size: size, mod: mod, etag: string(append(tag, '"'))}
	s.mu.Lock()
	if len(s.tags) >= maxTags {
		clear(s.tags)
	}
	s.tags[name] = t
	s.mu.Unlock()
	return t.etag, nil
}

// onlyReader hides every method but Read (io.CopyBuffer would use
// WriterTo and ignore the buffer).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func appendBase64(b []byte, v uint64) []byte {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~"
	for range 11 { // 64 bits, six at a time
		b = append(b, digits[v&63])
		v >>= 6
	}
	return b
}

var errNoSeek = errors.New("handlers: file cannot seek")

// seekFile moves f to offset from its start.
func seekFile(f fs.File, offset int64) (int64, error) {
	if sk, ok := f.(io.Seeker); ok {
		return sk.Seek(offset, io.SeekStart)
	}
	return 0, errNoSeek
}

// openStatus maps an error opening a file to a status; nothing about the
// file system leaks to the client.
func openStatus(err error) int {
	if errors.Is(err, fs.ErrPermission) {
		return http.StatusForbidden
	}
	return http.StatusNotFound
}

// redirectToDir sends a directory named without its trailing slash to
// the path with it, relative to the request's own path ("./name/"), so
// that it holds behind any prefix.
func redirectToDir(w *ResponseWriter, r *Request) {
	p := r.Path
	seg := p
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			seg = p[i+1:]
			break
		}
	}
	loc := "./" + string(seg) + "/"
	if len(r.RawQuery) > 0 {
		loc += "?" + string(r.RawQuery)
	}
	w.AddHeader("Location", loc)
	w.WriteHeader(http.StatusMovedPermanently)
}

func staticError(w *ResponseWriter, status int) {
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.WriteString(strconv.Itoa(status))
	w.WriteString(" ")
	w.WriteString(http.StatusText(status))
	w.WriteString("\n")
}

// cleanFilePath turns a raw request path into a name for fs.FS ("." for
// the root), reporting whether it ended in "/", or a status refusing it.
func cleanFilePath(raw []byte) (name string, dirSlash bool, status int) {
	if len(raw) == 0 || raw[0] != '/' {
		return "", false, http.StatusBadRequest
	}
	b := make([]byte, 0, len(raw))
	for i := 1; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) || unhex(raw[i+1]) < 0 || unhex(raw[i+2]) < 0 {
				return "", false, http.StatusBadRequest
			}
			c = byte(unhex(raw[i+1])<<4 | unhex(raw[i+2]))
			i += 2
			if c == '/' {
				return "", false, http.StatusBadRequest // an encoded slash hides a segment
			}
		}
		if c == '\\' || c < 0x20 || c == 0x7f {
			return "", false, http.StatusBadRequest
		}
		b = append(b, c)
	}
	if len(b) > 0 && b[len(b)-1] == '/' {
		dirSlash = true
		b = b[:len(b)-1]
	} else if len(b) == 0 {
		dirSlash = true
	}
	if len(b) == 0 {
		return ".", dirSlash, 0
	}
	hidden := false
	for seg := range splitSegments(b) {
		switch {
		case len(seg) == 0, string(seg) == ".", string(seg) == "..":
			return "", false, http.StatusBadRequest
		case seg[0] == '.':
			hidden = true
		}
	}
	if hidden {
		return "", false, http.StatusNotFound
	}
	name = string(b)
	if !fs.ValidPath(name) {
		return "", false, http.StatusBadRequest
	}
	return name, dirSlash, 0
}

// splitSegments yields the '/'-separated segments of p.
func splitSegments(p []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for {
			i := 0
			for i < len(p) && p[i] != '/' {
				i++
			}
			if !yield(p[:i]) || i == len(p) {
				return
			}
			p = p[i+1:]
		}
	}
}
