package handlers

import (
	"errors"
	"net/http"
	"strconv"
)

// StatusError is a failure to read a request that has its own HTTP
// status: 400 for malformed input, 413 for input over a limit, 415 for
// the wrong Content-Type. Msg is short, fixed text fit for the response
// body and for logs; it never holds request bytes unless it says so.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return strconv.Itoa(e.Code) + " " + e.Msg }

// Error answers with code and msg as a plain-text body, as net/http's
// Error does. What the handler set before (status, headers, body) is
// dropped, except header lines marked by KeepHeaders (a middleware's, such
// as CORS's).
func Error(w *ResponseWriter, msg string, code int) {
	w.Discard()
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	w.AddHeader("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.WriteString(msg)
	w.WriteString("\n")
}

// WriteError answers with err: a *StatusError (anywhere in err's chain)
// gives its code and message; any other error gives a bare 500, its text
// kept out of the response.
func WriteError(w *ResponseWriter, err error) {
	if se, ok := errors.AsType[*StatusError](err); ok {
		Error(w, se.Msg, se.Code)
		return
	}
	Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

var errStreamAborted = errors.New("handlers: the stream was closed with an error")

var errNoBody = errors.New("handlers: the response is complete and has no body (HEAD, 204 or 304)")
