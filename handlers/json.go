package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// JSONOptions tunes DecodeJSON.
type JSONOptions struct {
	// MaxBytes bounds the body; larger: 413. Zero means 64 KiB; the
	// server's parser.Limits.MaxBodyBytes applies first in any case.
	MaxBytes int64
	// DisallowUnknownFields makes an object key that matches no field of
	// the target struct a 400.
	DisallowUnknownFields bool
}

// Errors of DecodeJSON that need no detail.
var (
	ErrJSONContentType = &StatusError{http.StatusUnsupportedMediaType, "Content-Type must be application/json"}
	ErrJSONTooLarge    = &StatusError{http.StatusRequestEntityTooLarge, "JSON body too large"}
	ErrJSONEmpty       = &StatusError{http.StatusBadRequest, "JSON body is empty"}
	ErrJSONTruncated   = &StatusError{http.StatusBadRequest, "JSON body ends in the middle of a value"}
	ErrJSONTrailing    = &StatusError{http.StatusBadRequest, "JSON body has data after its value"}
)

// DecodeJSON decodes r's body into v (a pointer, as for json.Unmarshal).
// The Content-Type must be application/json or a +json type (else 415;
// requiring it also keeps cross-site forms, which cannot send it, out).
// Every failure to read the body is a *StatusError, with a message fit for
// the client: 413 over MaxBytes, 400 with the byte offset of a syntax
// error, the field and the types of a type mismatch, the name of an
// unknown field, or data after the value. WriteError answers with it.
// Unlike the rest of this package, it allocates (encoding/json does).
func DecodeJSON(r *Request, v any, o JSONOptions) error {
	typ, _ := mediaType(r.Header("Content-Type"))
	if !isJSONType(typ) {
		return ErrJSONContentType
	}
	limit := o.MaxBytes
	if limit <= 0 {
		limit = 64 << 10
	}
	if int64(len(r.Body)) > limit {
		return ErrJSONTooLarge
	}
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return ErrJSONEmpty
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	if o.DisallowUnknownFields {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrJSONTrailing
	}
	return nil
}

func isJSONType(typ []byte) bool {
	if equalFold(typ, "application/json") {
		return true
	}
	slash := bytes.IndexByte(typ, '/')
	return slash > 0 && len(typ) > slash+6 && equalFold(typ[len(typ)-5:], "+json")
}

// jsonError turns a decoding error into a 400 that says what is wrong.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var inv *json.InvalidUnmarshalError
	switch {
	case errors.As(err, &inv):
		return err // a programming error, not the client's: 500
	case errors.As(err, &syn):
		return &StatusError{http.StatusBadRequest, "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10) + ": " + syn.Error()}
	case errors.As(err, &typ):
		where := "JSON value"
		if typ.Field != "" {
			where = "JSON field " + strconv.Quote(typ.Field)
		}
		return &StatusError{http.StatusBadRequest, where + " must be " + jsonKind(typ.Type.Kind().String()) + ", not " + typ.Value}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ErrJSONTruncated
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &StatusError{http.StatusBadRequest, "JSON has an " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return &StatusError{http.StatusBadRequest, "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(k string) string {
	switch k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a " + k
}

// WriteJSON answers with status and v encoded as JSON (Content-Type
// application/json, a final newline). If v cannot be encoded, the answer
// is a 500 instead and the error is returned. It allocates (encoding/json
// does).
func WriteJSON(w *ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return err
	}
	w.AddHeader("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.WriteString("\n")
	return nil
}
