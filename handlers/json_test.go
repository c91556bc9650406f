package handlers

import (
	"errors"
	"math"
	"strings"
	"testing"
)

type item struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
	Inner struct {
		On bool `json:"on"`
	} `json:"inner"`
}

func TestDecodeJSON(t *testing.T) {
	var v item
	r := post(t, "/", "application/json; charset=utf-8", []byte(`{"name":"lamp","count":2,"tags":["a"],"inner":{"on":true}}`+"\n"))
	if err := DecodeJSON(r, &v, JSONOptions{}); err != nil || v.Name != "lamp" || v.Count != 2 || !v.Inner.On {
		t.Fatalf("DecodeJSON: %+v %v", v, err)
	}
	r = post(t, "/", "application/vnd.api+json", []byte(`{"name":"x"}`))
	if err := DecodeJSON(r, &v, JSONOptions{}); err != nil {
		t.Errorf("+json type refused: %v", err)
	}
	for _, c := range []struct {
		name, ctype, body string
		o                 JSONOptions
		code              int
		msg               string
	}{
		{"no content type", "", `{}`, JSONOptions{}, 415, "Content-Type must be application/json"},
		{"form", "application/x-www-form-urlencoded", `{}`, JSONOptions{}, 415, "Content-Type must be application/json"},
		{"text/plain", "text/plain", `{}`, JSONOptions{}, 415, "Content-Type must be application/json"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, JSONOptions{MaxBytes: 64}, 413, "JSON body too large"},
		{"empty", "application/json", "  \n", JSONOptions{}, 400, "JSON body is empty"},
		{"syntax", "application/json", `{"name": x}`, JSONOptions{}, 400, "invalid JSON at byte 10: invalid character 'x' looking for beginning of value"},
		{"truncated", "application/json", `{"name": "x"`, JSONOptions{}, 400, "JSON body ends in the middle of a value"},
		{"type", "application/json", `{"count": "two"}`, JSONOptions{}, 400, `JSON field "count" must be an integer, not string`},
		{"nested type", "application/json", `{"inner": {"on": 1}}`, JSONOptions{}, 400, `JSON field "inner.on" must be true or false, not number`},
		{"array type", "application/json", `{"tags": "a"}`, JSONOptions{}, 400, `JSON field "tags" must be an array, not string`},
		{"unknown", "application/json", `{"name": "x", "colour": "red"}`, JSONOptions{DisallowUnknownFields: true}, 400, `JSON has an unknown field "colour"`},
		{"trailing", "application/json", `{"name": "x"} {"name": "y"}`, JSONOptions{}, 400, "JSON body has data after its value"},
		{"trailing garbage", "application/json", `{"name": "x"}]`, JSONOptions{}, 400, "JSON body has data after its value"},
	} {
		var v item
		r := post(t, "/", c.ctype, []byte(c.body))
		err := DecodeJSON(r, &v, c.o)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != c.code || se.Msg != c.msg {
			t.Errorf("%s: got %v, want %d %s", c.name, err, c.code, c.msg)
			continue
		}
		res := serve(HandlerFunc(func(w *ResponseWriter, r *Request) { WriteError(w, err) }), r)
		if res.status != c.code || res.body != c.msg+"\n" {
			t.Errorf("%s: WriteError answered %d %q", c.name, res.status, res.body)
		}
	}
	// Unknown fields pass without the option.
	r = post(t, "/", "application/json", []byte(`{"name": "x", "colour": "red"}`))
	if err := DecodeJSON(r, &v, JSONOptions{}); err != nil {
		t.Errorf("unknown field without DisallowUnknownFields: %v", err)
	}
	// A programming error is not the client's: a 500 without detail.
	err := DecodeJSON(r, v, JSONOptions{})
	res := serve(HandlerFunc(func(w *ResponseWriter, r *Request) { WriteError(w, err) }), r)
	if err == nil || res.status != 500 || strings.Contains(res.body, "json") {
		t.Errorf("non-pointer target: %v answered %d %q", err, res.status, res.body)
	}
}

func TestWriteJSON(t *testing.T) {
	res := serve(HandlerFunc(func(w *ResponseWriter, r *Request) {
		if err := WriteJSON(w, 201, map[string]any{"id": 7, "html": "<b>"}); err != nil {
			t.Error(err)
		}
	}), get(t, "/"))
	if res.status != 201 || res.header.Get("Content-Type") != "application/json" || res.body != `{"html":"\u003cb\u003e","id":7}`+"\n" {
		t.Errorf("WriteJSON: %d %v %q", res.status, res.header, res.body)
	}
	res = serve(HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.AddHeader("X-Before", "1")
		if err := WriteJSON(w, 200, math.Inf(1)); err == nil {
			t.Error("WriteJSON(+Inf) succeeded")
		}
	}), get(t, "/"))
	if res.status != 500 || res.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("WriteJSON failure answered %d %v %q", res.status, res.header, res.body)
	}
}
