package handlers

import (
	"bytes"
	"io"
	"net/http"
)

// MultipartLimits bounds what Multipart accepts. A zero field takes its
// value from DefaultMultipartLimits.
type MultipartLimits struct {
	MaxParts           int   // parts in the body; more: 413
	MaxPartHeaderBytes int   // one part's header block; larger: 413
	MaxFileBytes       int64 // one file part's content; larger: 413. Negative: no limit of its own (the request body's limit still applies)
	MaxFieldBytes      int64 // one part without a filename; larger: 413
}

// DefaultMultipartLimits returns the limits used for fields left zero.
func DefaultMultipartLimits() MultipartLimits {
	return MultipartLimits{MaxParts: 64, MaxPartHeaderBytes: 1024, MaxFileBytes: -1, MaxFieldBytes: 64 << 10}
}

func (l MultipartLimits) withDefaults() MultipartLimits {
	d := DefaultMultipartLimits()
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxPartHeaderBytes <= 0 {
		l.MaxPartHeaderBytes = d.MaxPartHeaderBytes
	}
	if l.MaxFileBytes == 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = d.MaxFieldBytes
	}
	return l
}

// Errors of Multipart, FormFile and MultipartReader.Next; WriteError
// answers each with its status.
var (
	ErrNotMultipart      = &StatusError{http.StatusUnsupportedMediaType, "the request body is not multipart/form-data"}
	ErrNoBoundary        = &StatusError{http.StatusBadRequest, "multipart: Content-Type has no valid boundary"}
	ErrMultipartMissing  = &StatusError{http.StatusBadRequest, "multipart: the body does not start with the boundary"}
	ErrMultipartUnclosed = &StatusError{http.StatusBadRequest, "multipart: the body ends without its closing boundary"}
	ErrBadBoundaryLine   = &StatusError{http.StatusBadRequest, "multipart: a boundary line has text after the boundary"}
	ErrPartHeader        = &StatusError{http.StatusBadRequest, "multipart: malformed part header"}
	ErrPartDisposition   = &StatusError{http.StatusBadRequest, `multipart: a part lacks Content-Disposition: form-data; name="..."`}
	ErrPartTwoHeaders    = &StatusError{http.StatusBadRequest, "multipart: a part has two Content-Disposition or Content-Type fields"}
	ErrTooManyParts      = &StatusError{http.StatusRequestEntityTooLarge, "multipart: too many parts"}
	ErrPartHeaderTooBig  = &StatusError{http.StatusRequestEntityTooLarge, "multipart: a part header is too large"}
	ErrFileTooBig        = &StatusError{http.StatusRequestEntityTooLarge, "multipart: a file is too large"}
	ErrFieldTooBig       = &StatusError{http.StatusRequestEntityTooLarge, "multipart: a form field is too large"}
	ErrMissingFile       = &StatusError{http.StatusBadRequest, "multipart: no such file field"}
)

// MultipartReader reads the parts of a multipart/form-data body in place:
// nothing is copied, each Part is a view into Request.Body.
type MultipartReader struct {
	r        *Request
	body     []byte
	boundary []byte
	nlDash   [3 + 70]byte // "\n--" and the boundary
	pos      int          // where the next part's header starts
	done     bool
	err      error
	parts    int
	lim      MultipartLimits
	part     Part
}

// Part is one part of a multipart body: an io.Reader over its content, and
// its name, filename and headers. It is valid until the next call to Next,
// and no longer than the handler.
type Part struct {
	name        []byte
	fileName    []byte
	contentType []byte
	header      []byte // the header block, lines with CRLF
	isFile      bool
	data        []byte
	off         int
}

// Multipart starts reading r's multipart/form-data body under lim. It
// returns ErrNotMultipart (415) for any other Content-Type and
// ErrNoBoundary (400) when the boundary is missing or invalid. The reader
// belongs to r: each call starts over.
func (r *Request) Multipart(lim MultipartLimits) (*MultipartReader, error) {
	if err := r.initMultipart(&r.mp, lim); err != nil {
		return nil, err
	}
	return &r.mp, nil
}

func (r *Request) initMultipart(m *MultipartReader, lim MultipartLimits) error {
	*m = MultipartReader{r: r, body: r.Body, lim: lim.withDefaults()}
	typ, params := mediaType(r.Header("Content-Type"))
	if !equalFold(typ, "multipart/form-data") {
		return ErrNotMultipart
	}
	b, ok := r.param(params, "boundary")
	if !ok || !validBoundary(b) {
		return ErrNoBoundary
	}
	m.boundary = b
	copy(m.nlDash[:], "\n--")
	copy(m.nlDash[3:], b)
	// The first boundary: at the start, or after a preamble and CRLF.
	i := m.delimiter(0, true)
	for i >= 0 && !m.boundaryLineOK(i) {
		i = m.delimiter(i, false)
	}
	if i < 0 {
		m.fail(ErrMultipartMissing)
		return nil
	}
	m.pos = i
	m.afterBoundary()
	return nil
}

// validBoundary follows RFC 2046 section 5.1.1: 1 to 70 characters, not
// ending in a space.
func validBoundary(b []byte) bool {
	if len(b) == 0 || len(b) > 70 || b[len(b)-1] == ' ' {
		return false
	}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// delimiter returns the index just after the next "--boundary" at or after
// from that starts the body (when first) or follows a line end, or -1.
// It looks for the line end first: rare in content, where the boundary's
// first character may be common.
func (m *MultipartReader) delimiter(from int, first bool) int {
	nl := m.nlDash[:3+len(m.boundary)] // "\n--boundary"
	if first && from == 0 && bytes.HasPrefix(m.body, nl[1:]) {
		return len(nl) - 1
	}
	if from >= len(m.body) {
		return -1
	}
	i := bytes.Index(m.body[from:], nl)
	if i < 0 {
		return -1
	}
	return from + i + len(nl)
}

// delimiterStart returns where the line end before the delimiter that ends
// at end begins (the end of the previous part's content).
func (m *MultipartReader) delimiterStart(end int) int {
	s := end - len(m.boundary) - 2 // the "--"
	if s >= 1 && m.body[s-1] == '\n' {
		s--
		if s >= 1 && m.body[s-1] == '\r' {
			s--
		}
	}
	return s
}

// afterBoundary reads what follows a boundary at m.pos: "--" ends the
// body; otherwise optional spaces and a line end start the next part.
func (m *MultipartReader) afterBoundary() {
	rest := m.body[m.pos:]
	if bytes.HasPrefix(rest, []byte("--")) {
		m.done = true
		return
	}
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	switch {
	case bytes.HasPrefix(rest[i:], []byte("\r\n")):
		m.pos += i + 2
	case bytes.HasPrefix(rest[i:], []byte("\n")):
		m.pos += i + 1
	case i == len(rest):
		m.fail(ErrMultipartUnclosed)
	default:
		m.fail(ErrBadBoundaryLine)
	}
}

func (m *MultipartReader) fail(err error) {
	m.err = err
	m.done = true
}

// Next returns the next part, or io.EOF after the last one, or a
// *StatusError: 400 for a malformed body, 413 for a part or count over a
// limit. After an error Next returns it again.
func (m *MultipartReader) Next() (*Part, error) {
	if m.err != nil {
		return nil, m.err
	}
	if m.done {
		return nil, io.EOF
	}
	if m.parts == m.lim.MaxParts {
		m.fail(ErrTooManyParts)
		return nil, m.err
	}
	m.parts++
	rest := m.body[m.pos:]
	// The header block ends with an empty line.
	var hdr []byte
	var cs int
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		cs = m.pos + 2
	case bytes.HasPrefix(rest, []byte("\n")):
		cs = m.pos + 1
	default:
		limit := min(len(rest), m.lim.MaxPartHeaderBytes+4)
		i := bytes.Index(rest[:limit], []byte("\n\r\n"))
		j := bytes.Index(rest[:limit], []byte("\n\n"))
		switch {
		case i >= 0 && (j < 0 || i < j):
			hdr, cs = rest[:i+1], m.pos+i+3
		case j >= 0:
			hdr, cs = rest[:j+1], m.pos+j+2
		case limit < len(rest):
			m.fail(ErrPartHeaderTooBig)
			return nil, m.err
		default:
			m.fail(ErrMultipartUnclosed)
			return nil, m.err
		}
		if len(hdr) > m.lim.MaxPartHeaderBytes {
			m.fail(ErrPartHeaderTooBig)
			return nil, m.err
		}
	}
	var end int
	if dash := m.nlDash[1 : 3+len(m.boundary)]; bytes.HasPrefix(m.body[cs:], dash) && m.boundaryLineOK(cs+len(dash)) {
		end = cs + len(dash) // no content, and no line end of its own before the boundary
	} else {
		end = m.delimiter(cs, false)
		for end >= 0 && !m.boundaryLineOK(end) {
			if m.paddedBoundary(end) {
				m.fail(ErrBadBoundaryLine)
				return nil, m.err
			}
			end = m.delimiter(end, false)
		}
	}
	if end < 0 {
		m.fail(ErrMultipartUnclosed)
		return nil, m.err
	}
	p := &m.part
	*p = Part{header: hdr, data: m.body[cs:max(cs, m.delimiterStart(end))]}
	if err := m.parseHeader(p); err != nil {
		m.fail(err)
		return nil, err
	}
	switch {
	case p.isFile && m.lim.MaxFileBytes >= 0 && int64(len(p.data)) > m.lim.MaxFileBytes:
		m.fail(ErrFileTooBig)
		return nil, m.err
	case !p.isFile && int64(len(p.data)) > m.lim.MaxFieldBytes:
		m.fail(ErrFieldTooBig)
		return nil, m.err
	}
	m.pos = end
	m.afterBoundary()
	if m.err != nil {
		return nil, m.err
	}
	return p, nil
}

// boundaryLineOK reports whether the boundary ending at end is followed by
// "--", or by optional spaces and a line end: otherwise it is content.
func (m *MultipartReader) boundaryLineOK(end int) bool {
	rest := m.body[end:]
	if bytes.HasPrefix(rest, []byte("--")) {
		return true
	}
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	return i < len(rest) && (rest[i] == '\r' || rest[i] == '\n')
}

// paddedBoundary reports whether the boundary ending at end is followed by
// a space or tab but not by a line end after them: transport padding with
// something after it. That is neither a delimiter nor content anyone meant
// (mime/multipart ends the part there and then fails), so it is refused.
func (m *MultipartReader) paddedBoundary(end int) bool {
	return end < len(m.body) && (m.body[end] == ' ' || m.body[end] == '\t') && !m.boundaryLineOK(end)
}

// parseHeader checks the header block's lines and reads Content-Disposition
// and Content-Type.
func (m *MultipartReader) parseHeader(p *Part) error {
	var disp []byte
	for h := p.header; len(h) > 0; {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || !isToken(name) {
			return ErrPartHeader
		}
		value = trimOWS(value)
		switch {
		case equalFold(name, "Content-Disposition"):
			if disp != nil {
				return ErrPartTwoHeaders // which name would it be?
			}
			disp = value
		case equalFold(name, "Content-Type"):
			if p.contentType != nil {
				return ErrPartTwoHeaders
			}
			p.contentType = value
		}
	}
	typ, params := mediaType(disp)
	if !equalFold(typ, "form-data") {
		return ErrPartDisposition
	}
	name, ok := m.r.param(params, "name")
	if !ok {
		return ErrPartDisposition
	}
	p.name = name
	if fn, ok := m.r.param(params, "filename*"); ok {
		if v, ok := m.r.extValue(fn); ok {
			p.fileName, p.isFile = v, true
		}
	}
	if !p.isFile {
		p.fileName, p.isFile = m.r.param(params, "filename")
	}
	if p.isFile {
		p.fileName = baseName(p.fileName)
	}
	return nil
}

// extValue decodes an RFC 8187 ext-value: charset (UTF-8 only), a quote,
// an optional language, a quote, percent-encoded bytes.
func (r *Request) extValue(v []byte) ([]byte, bool) {
	charset, rest, ok := bytes.Cut(v, []byte{'\''})
	if !ok || !equalFold(charset, "utf-8") {
		return nil, false
	}
	_, enc, ok := bytes.Cut(rest, []byte{'\''}) // the language tag
	if !ok {
		return nil, false
	}
	return r.unescape(enc, false), true
}

// baseName drops any directory part a client put in a filename (old
// browsers sent the whole path).
func baseName(b []byte) []byte {
	if i := bytes.LastIndexAny(b, `/\`); i >= 0 {
		return b[i+1:]
	}
	return b
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is a tchar of RFC 9110.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// FormFile returns the first part named name that has a filename, read
// with DefaultMultipartLimits, or ErrMissingFile, or the body's error.
// The part shares the request's reader: a later Multipart or FormFile
// call starts it over.
func (r *Request) FormFile(name string) (*Part, error) {
	mr, err := r.Multipart(MultipartLimits{})
	if err != nil {
		return nil, err
	}
	for {
		p, err := mr.Next()
		if err == io.EOF {
			return nil, ErrMissingFile
		}
		if err != nil {
			return nil, err
		}
		if p.isFile && string(p.name) == name {
			return p, nil
		}
	}
}

// Name returns the form field's name.
func (p *Part) Name() []byte { return p.name }

// FileName returns the file's name without any directory part, as the
// client sent it (check it before using it as a path), or nil.
func (p *Part) FileName() []byte { return p.fileName }

// IsFile reports whether the part came with a filename (a file input,
// even one left empty).
func (p *Part) IsFile() bool { return p.isFile }

// ContentType returns the part's Content-Type as sent; nil when absent
// (which means text/plain).
func (p *Part) ContentType() []byte { return p.contentType }

// Header returns the value of the part's first header field named name
// (ASCII case-insensitive), or nil.
func (p *Part) Header(name string) []byte {
	for h := p.header; len(h) > 0; {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		k, v, _ := bytes.Cut(bytes.TrimSuffix(line, []byte("\r")), []byte{':'})
		if equalFold(k, name) {
			return trimOWS(v)
		}
	}
	return nil
}

// Size returns the content's length in bytes.
func (p *Part) Size() int64 { return int64(len(p.data)) }

// Bytes returns the whole content (a view into the request body).
func (p *Part) Bytes() []byte { return p.data }

// Read reads the content; it is io.EOF at the end.
func (p *Part) Read(b []byte) (int, error) {
	if p.off >= len(p.data) {
		return 0, io.EOF
	}
	n := copy(b, p.data[p.off:])
	p.off += n
	return n, nil
}

// WriteTo writes the rest of the content to w (io.Copy uses it).
func (p *Part) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(p.data[p.off:])
	p.off += n
	return int64(n), err
}
