package handlers

// StreamWriter is a response body written progressively from any
// goroutine: each Write goes to the client as the modem takes it (with
// chunked framing for HTTP/1.1, to the link's close for HTTP/1.0). Write
// blocks its goroutine, never the server, while GatewayBuffer bytes wait.
type StreamWriter struct {
	d Detached
	p *pipe
}

// Stream answers the request with a body written later through the
// returned StreamWriter. The status and header lines set so far go out at
// once; the handler then returns, and a goroutine writes the body and
// calls Close. If the client goes away, Write returns ErrLinkClosed.
//
//	w.AddHeader("Content-Type", "text/plain")
//	s := w.Stream()
//	go func() {
//		defer s.Close()
//		for i := range 10 {
//			fmt.Fprintf(s, "tick %d\n", i)
//			time.Sleep(time.Second)
//		}
//	}()
func (w *ResponseWriter) Stream() *StreamWriter {
	status, closeAfter := w.Status(), w.close
	d := w.Detach()
	s := &StreamWriter{d: d, p: newPipe(d)}
	go func() {
		d.Respond(func(w *ResponseWriter) {
			w.WriteHeader(status)
			if closeAfter {
				w.CloseAfter()
			}
			w.SetStream(s.p, -1)
		})
		<-d.Done()
		err := d.Err()
		if err == nil {
			err = errNoBody // sent without reading the stream (HEAD, 204, 304)
		}
		s.p.close(err) // a no-op after Close
	}()
	return s
}

// Write sends p (copied) to the client; it blocks while the modem is
// behind by GatewayBuffer bytes. It fails once the link is closed, and
// when the response needed no body (HEAD, 204, 304) and is complete.
func (s *StreamWriter) Write(p []byte) (int, error) { return s.p.write(p) }

// WriteString sends str.
func (s *StreamWriter) WriteString(str string) (int, error) { return s.p.write([]byte(str)) }

// Close ends the body normally. It does not wait for the client to
// receive it: Done does.
func (s *StreamWriter) Close() error {
	s.p.close(nil)
	return nil
}

// CloseWithError ends the body as a failure: the link is closed without
// the body's proper end, so the client sees it cut.
func (s *StreamWriter) CloseWithError(err error) {
	if err == nil {
		err = errStreamAborted
	}
	s.p.close(err)
}

// Done is closed when the response is sent or the link closed; Err then
// says which.
func (s *StreamWriter) Done() <-chan struct{} { return s.d.Done() }

// Err is nil until Done, then nil when the whole body was sent or
// ErrLinkClosed.
func (s *StreamWriter) Err() error { return s.d.Err() }
