//go:build ignore

// gen_gz writes site/index.html.gz, the page gzipped at maximum
// compression, for FileServer to send to browsers (all accept gzip). Run
// it with go generate after editing the page; a test checks it is fresh.
package main

import (
	"bytes"
	"compress/gzip"
	"log"
	"os"
)

func main() {
	const page = "site/index.html"
	src, err := os.ReadFile(page)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	zw.Write(src)
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(page+".gz", buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %d bytes, gzip %d", page, len(src), buf.Len())
}
