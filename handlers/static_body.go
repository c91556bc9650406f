package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"sync"
)

// fileBody streams left bytes of a file; the loop closes it when the
// response ends or the link closes.
type fileBody struct {
	f    fs.File
	left int64
}

func (b *fileBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.f.Read(p)
	b.left -= int64(n)
	if n == 0 && err == nil {
		err = io.ErrNoProgress // a file is never "not ready yet"
	}
	return n, err
}

func (b *fileBody) Close() error { return b.f.Close() }

// gzipBody compresses a file as the modem takes it: each Read compresses
// input chunks until the compressor emits bytes, so that at most its
// window (64 KiB) is ever held, never the whole file. Pooled with its
// compressor, whose tables are large.
type gzipBody struct {
	f    fs.File
	zw   *gzip.Writer
	out  bytes.Buffer
	in   []byte
	done bool
	pool *sync.Pool
}

func (g *gzipBody) start(f fs.File, pool *sync.Pool) {
	g.f, g.pool, g.done = f, pool, false
	g.out.Reset()
	g.zw.Reset(&g.out)
}

func (g *gzipBody) Read(p []byte) (int, error) {
	for stalls := 0; g.out.Len() == 0 && !g.done; {
		n, err := g.f.Read(g.in)
		if n > 0 {
			g.zw.Write(g.in[:n]) // into a bytes.Buffer: cannot fail
		}
		switch {
		case err == io.EOF:
			g.zw.Close()
			g.done = true
		case err != nil:
			return 0, err
		case n == 0:
			if stalls++; stalls > 100 {
				return 0, io.ErrNoProgress
			}
		}
	}
	if g.out.Len() == 0 {
		return 0, io.EOF
	}
	return g.out.Read(p)
}

// Close closes the file and returns g to its pool; g is not used again.
func (g *gzipBody) Close() error {
	if g.f == nil {
		return nil
	}
	err := g.f.Close()
	g.f = nil
	g.zw.Reset(io.Discard)
	g.out.Reset()
	if g.out.Cap() > 256<<10 {
		g.out = bytes.Buffer{} // an unusual burst: do not keep it pooled
	}
	g.pool.Put(g)
	return err
}
