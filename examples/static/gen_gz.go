//go:build ignore

// gen_gz writes a gzip sibling (maximum compression) beside every text
// file under site/ of at least 512 bytes (below that, Content-Encoding
// and Vary cost about what gzip saves), for FileServer to send to
// clients that accept gzip. It leaves a sibling that already holds the
// file's content untouched.
package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
)

func main() {
	err := filepath.WalkDir("site", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".html", ".css", ".js", ".svg", ".json", ".txt":
		default:
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil || len(src) < 512 {
			return err
		}
		if old, err := os.ReadFile(path + ".gz"); err == nil && sameContent(old, src) {
			return nil
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return err
		}
		zw.Write(src)
		if err := zw.Close(); err != nil {
			return err
		}
		log.Printf("%s: %d bytes, gzip %d", path, len(src), buf.Len())
		return os.WriteFile(path+".gz", buf.Bytes(), 0o644)
	})
	if err != nil {
		log.Fatal(err)
	}
}

// sameContent reports whether gz decompresses to src.
func sameContent(gz, src []byte) bool {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return false
	}
	b, err := io.ReadAll(zr)
	return err == nil && bytes.Equal(b, src)
}
