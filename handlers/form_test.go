package handlers

import (
	"net/url"
	"slices"
	"testing"
)

var queries = []string{
	"a=1&b=2&a=3",
	"name=J%C3%BCrgen&x=a+b%2Bc",
	"flag&empty=&=nokey",
	"a+b=1&a%20b=2",
	"bad=%zz&ok=1",
	"&&a=1&&",
	"",
}

// Query and FormValue agree with net/url on well-formed lists.
func TestQueryAgreesWithNetURL(t *testing.T) {
	for _, q := range queries {
		want, err := url.ParseQuery(q)
		r := get(t, "/p?"+q)
		if err == nil {
			for k, vs := range want {
				got, ok := r.Query(k)
				if !ok || string(got) != vs[0] {
					t.Errorf("%q: Query(%q) = %q %v, want %q", q, k, got, ok, vs[0])
				}
			}
		}
		var pairs [][2]string
		for k, v := range r.QueryPairs() {
			pairs = append(pairs, [2]string{string(k), string(v)})
		}
		if err == nil {
			n := 0
			for _, vs := range want {
				n += len(vs)
			}
			if len(pairs) != n {
				t.Errorf("%q: QueryPairs gave %d pairs %q, want %d", q, len(pairs), pairs, n)
			}
			for _, p := range pairs {
				if !slices.Contains(want[p[0]], p[1]) {
					t.Errorf("%q: QueryPairs gave %q, not in %v", q, p, want)
				}
			}
		}
	}
	// A malformed escape is returned as sent rather than dropped.
	r := get(t, "/p?bad=%zz")
	if v, ok := r.Query("bad"); !ok || string(v) != "%zz" {
		t.Errorf("Query(bad) = %q %v", v, ok)
	}
	if _, ok := r.Query("missing"); ok {
		t.Error("Query(missing) found")
	}
}

func TestFormValue(t *testing.T) {
	r := post(t, "/p?a=query&q=only", "application/x-www-form-urlencoded; charset=UTF-8", []byte("a=body&msg=hello+world%21&a=second"))
	for _, c := range []struct {
		name, want string
		ok         bool
	}{{"a", "body", true}, {"msg", "hello world!", true}, {"q", "only", true}, {"zz", "", false}} {
		v, ok := r.FormValue(c.name)
		if ok != c.ok || string(v) != c.want {
			t.Errorf("FormValue(%q) = %q %v, want %q %v", c.name, v, ok, c.want, c.ok)
		}
	}
	if _, ok := r.PostFormValue("q"); ok {
		t.Error("PostFormValue found a query parameter")
	}
	var got []string
	for k, v := range r.FormPairs() {
		got = append(got, string(k)+"="+string(v))
	}
	if want := []string{"a=body", "msg=hello world!", "a=second"}; !slices.Equal(got, want) {
		t.Errorf("FormPairs = %q, want %q", got, want)
	}
	// Another Content-Type: the body has no fields.
	r = post(t, "/p", "text/plain", []byte("a=1"))
	if _, ok := r.PostFormValue("a"); ok {
		t.Error("text/plain body read as a form")
	}
	for range r.FormPairs() {
		t.Error("text/plain body yielded a pair")
	}
}
