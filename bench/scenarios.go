package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/espgate/espgate/sim"
)

// result is one scenario's measurement and its bound.
type result struct {
	scenario string
	unit     string // of achieved and bound
	achieved float64
	bound    float64
	count    int             // downloads, requests or pages measured
	lat      []time.Duration // one per download, request or page
	retries  retries         // connections that ended before their response
	notes    noteCounts      // what the server reported during the run
	tap      tapAcc          // the server's and the emulator's time per chunk
	pace     sim.PacingStats // how late the emulator's timed actions came
	err      error
}

func (r result) ratio() float64 { return r.achieved / r.bound }

// settings sizes the scenarios.
type settings struct {
	downloadBudget time.Duration // target time for the downloads
	minDownloads   int
	maxDownloads   int
	requestTime    time.Duration // per requests/s scenario
	pageBudget     time.Duration
	minPages       int
	maxPages       int
}

// countFor is how many runs of an expected length fit the budget.
func countFor(budget time.Duration, expected float64, lo, hi int) int {
	n := int(budget.Seconds() / expected)
	return max(lo, min(hi, n))
}

// warm opens n keep-alive connections and sends one small request on each.
func warm(s *server, a *app, n int) ([]*client, error) {
	var cs []*client
	for range n {
		c, err := dial(s.addr)
		if err != nil {
			closeAll(cs)
			return nil, err
		}
		cs = append(cs, c)
		if _, err := c.get(a.small.path, false, a.small.body); err != nil {
			closeAll(cs)
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	return cs, nil
}

func closeAll(cs []*client) {
	for _, c := range cs {
		if c != nil {
			c.close()
		}
	}
}

// runGoodput downloads the large body several times on one keep-alive
// connection, each from an idle modem.
func runGoodput(s *server, a *app, st settings) result {
	m := s.model
	r := result{scenario: "goodput", unit: "B/s"}
	cs, err := warm(s, a, 1)
	if err != nil {
		r.err = err
		return r
	}
	defer closeAll(cs)
	c := cs[0]
	var bodies, took, ideal float64
	n := 0
	for {
		s.idle(30 * time.Millisecond)
		e, err := c.get(a.big.path, false, a.big.body)
		if err != nil {
			r.err = err
			return r
		}
		n++
		r.lat = append(r.lat, e.dur())
		bodies += float64(e.bodyLen)
		took += e.dur().Seconds()
		ideal += m.download(e.headLen+e.bodyLen, m.ipdLen(e.reqLen, e.ip, e.port))
		if n == 1 {
			// The first download sizes the rest.
			st.minDownloads = countFor(st.downloadBudget, took, st.minDownloads, st.maxDownloads)
		}
		if n >= st.minDownloads {
			break
		}
	}
	r.count = n
	r.achieved = bodies / took
	r.bound = bodies / ideal
	return r
}

// runRequests runs clients clients, each sending small requests back to
// back for st.requestTime, on one keep-alive connection each or on a new
// connection per request with Connection: close. Latency is from the
// request's first attempt (its dial, with Connection: close) to its last
// byte; a connection that ends before the response is redialled and the
// request sent again, as browsers do.
func runRequests(s *server, a *app, st settings, clients int, close bool) result {
	m := s.model
	r := result{scenario: requestsName(clients, close), unit: "req/s"}
	conns := make([]*client, clients)
	if !close {
		cs, err := warm(s, a, clients)
		if err != nil {
			r.err = err
			return r
		}
		copy(conns, cs)
		defer func() { closeAll(conns) }()
	}
	s.idle(30 * time.Millisecond)

	type perClient struct {
		ex  []exchange
		cnt retries
		err error
	}
	per := make([]perClient, clients)
	var wg sync.WaitGroup
	stop := time.Now().Add(st.requestTime)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &per[i]
			for time.Now().Before(stop) {
				var e exchange
				var err error
				if close {
					e, err = getRetry(s.addr, nil, a.small, true, &p.cnt)
				} else {
					e, err = getRetry(s.addr, &conns[i], a.small, false, &p.cnt)
				}
				if err != nil {
					p.err = err
					return
				}
				p.ex = append(p.ex, e)
			}
		}()
	}
	wg.Wait()
	var all []exchange
	for _, p := range per {
		if p.err != nil {
			r.err = p.err
			return r
		}
		r.retries.add(p.cnt)
		all = append(all, p.ex...)
	}
	if len(all) == 0 {
		r.err = errors.New("no request completed")
		return r
	}
	first, last := all[0].start, all[0].end
	head, ipd := all[0].headLen, m.ipdLen(all[0].reqLen, all[0].ip, all[0].port)
	for _, e := range all {
		r.lat = append(r.lat, e.dur())
		if e.start.Before(first) {
			first = e.start
		}
		if e.end.After(last) {
			last = e.end
		}
		// The bound takes the smallest response and frame seen.
		head = min(head, e.headLen)
		ipd = min(ipd, m.ipdLen(e.reqLen, e.ip, e.port))
	}
	n := len(all)
	r.count = n
	r.achieved = float64(n) / last.Sub(first).Seconds()
	total := head + len(a.small.body)
	fails := s.notes.peek().sendFail
	if clients == 1 {
		r.bound = float64(n) / m.sequential(n, fails, total, ipd, close)
	} else {
		r.bound = float64(n) / m.concurrent(n, clients, fails, total, ipd, close)
	}
	return r
}

func requestsName(clients int, close bool) string {
	if close {
		return fmt.Sprintf("small-close-c%d", clients)
	}
	return fmt.Sprintf("small-ka-c%d", clients)
}

// retries counts connections that ended before their response.
type retries struct {
	resets int // reset by the modem: no free link (§5, Q13)
	closed int // closed by the server before it answered
}

func (r *retries) add(o retries) { r.resets += o.resets; r.closed += o.closed }

// getRetry gets res on *c (keep-alive), or on a new connection with
// Connection: close when c is nil, redialling while the connection ends
// before its response. The exchange starts at the first attempt.
func getRetry(addr string, c **client, res *resource, close bool, cnt *retries) (exchange, error) {
	begin := time.Now()
	for try := 0; ; try++ {
		if try > 10000 {
			return exchange{}, errors.New("connections kept ending before their response")
		}
		conn, err := (*client)(nil), error(nil)
		if c != nil && *c != nil {
			conn = *c
		} else {
			conn, err = dial(addr)
		}
		var e exchange
		if err == nil {
			e, err = conn.get(res.path, close, res.body)
		}
		switch {
		case errors.Is(err, errReset), errors.Is(err, errClosed):
			if errors.Is(err, errReset) {
				cnt.resets++
			} else {
				cnt.closed++
			}
			if conn != nil {
				conn.close()
			}
			if c != nil {
				*c = nil
			}
			time.Sleep(time.Millisecond)
			continue
		case err != nil:
			return e, err
		}
		if c != nil {
			*c = conn
		} else {
			conn.close()
		}
		e.start = begin
		return e, nil
	}
}

// runPages loads the page back to back: the HTML on the first of four
// open keep-alive connections, then the four assets at once, one per
// connection. Latency is from the HTML request to the last asset byte.
func runPages(s *server, a *app, st settings) result {
	m := s.model
	r := result{scenario: "page", unit: "pages/s"}
	conns, err := warm(s, a, len(a.assets))
	if err != nil {
		r.err = err
		return r
	}
	defer closeAll(conns)
	s.idle(30 * time.Millisecond)

	var htmlTotal, htmlIPD int
	assetTotals := make([]int, len(a.assets))
	assetIPDs := make([]int, len(a.assets))
	errs := make([]error, len(a.assets))
	pages := st.minPages
	var first, last time.Time
	for p := 0; p < pages; p++ {
		h, err := conns[0].get(a.page.path, false, a.page.body)
		if err != nil {
			r.err = err
			return r
		}
		end := h.end
		ex := make([]exchange, len(a.assets))
		var wg sync.WaitGroup
		for i, res := range a.assets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ex[i], errs[i] = conns[i].get(res.path, false, res.body)
			}()
		}
		wg.Wait()
		for i, e := range ex {
			if errs[i] != nil {
				r.err = errs[i]
				return r
			}
			if e.end.After(end) {
				end = e.end
			}
			assetTotals[i] = e.headLen + e.bodyLen
			assetIPDs[i] = m.ipdLen(e.reqLen, e.ip, e.port)
		}
		htmlTotal, htmlIPD = h.headLen+h.bodyLen, m.ipdLen(h.reqLen, h.ip, h.port)
		if p == 0 {
			first = h.start
			pages = countFor(st.pageBudget, end.Sub(h.start).Seconds(), st.minPages, st.maxPages)
		}
		last = end
		r.lat = append(r.lat, end.Sub(h.start))
	}
	r.count = pages
	r.achieved = float64(pages) / last.Sub(first).Seconds()
	r.bound = float64(pages) / m.page(pages, htmlTotal, htmlIPD, assetTotals, assetIPDs)
	return r
}

// String shows the redials as "resets+closed".
func (r retries) String() string { return fmt.Sprintf("%d+%d", r.resets, r.closed) }
