//go:build !race

package parser

import "testing"

// reqAllocs feeds the chunks as a server would, reading the head through
// the accessors, and returns the allocations per run.
func reqAllocs(p *RequestParser, chunks [][]byte) float64 {
	return testing.AllocsPerRun(100, func() {
		p.Reset()
		for _, in := range chunks {
			for {
				n, ev := p.Feed(in)
				in = in[n:]
				switch ev.Kind {
				case HTTPHead:
					r := p.Request()
					_ = r.Header("Host")
					_ = r.HasToken("Connection", "close")
					_ = r.HasToken("Accept-Encoding", "gzip")
					for i := 0; i < r.NumHeaders(); i++ {
						_, _ = r.HeaderAt(i)
					}
					continue
				case HTTPBody:
					continue
				case HTTPDone:
					p.Next()
					continue
				case HTTPError:
					return
				}
				break
			}
		}
	})
}

func TestRequestParserZeroAllocs(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
	}{
		{"browser GET", reqBenchBrowserGET},
		{"POST", reqBenchPOST},
		{"chunked POST", reqPipePostChk},
		{"pipelined", reqPipePostCL + reqBenchBrowserGET + reqPipePostChk},
	} {
		p := NewRequestParser(Limits{})
		for _, size := range []int{len(c.in), 1460, 100, 7, 1} {
			if got := reqAllocs(p, reqFragments(c.in, size)); got != 0 {
				t.Errorf("%s in %d-byte fragments: %v allocs per run; want 0", c.name, size, got)
			}
		}
	}
}

// TestRequestParserZeroAllocsTable holds every table case, errors
// included, to zero allocations.
func TestRequestParserZeroAllocsTable(t *testing.T) {
	for _, tc := range reqAllCases() {
		p := NewRequestParser(tc.lim)
		for _, size := range []int{len(tc.in), 5} {
			if got := reqAllocs(p, reqFragments(tc.in, size)); got != 0 {
				t.Errorf("%s in %d-byte fragments: %v allocs per run; want 0", tc.name, size, got)
			}
		}
	}
}

// FuzzRequestParserAllocs checks that the parser allocates nothing on any
// input, split anywhere: heads, bodies, pipelined requests and errors.
func FuzzRequestParserAllocs(f *testing.F) {
	reqFuzzSeeds(f, func(in string) { f.Add([]byte(in), uint16(len(in)/2)) })
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		if len(data) > reqFuzzMaxInput {
			return
		}
		i := int(split) % (len(data) + 1)
		p := NewRequestParser(reqFuzzLimits)
		if a := reqAllocs(p, [][]byte{data[:i], data[i:]}); a != 0 {
			t.Fatalf("%v allocations per run for %q split at %d", a, data, i)
		}
	})
}
