package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/espgate/espgate/fsm"
)

type dashDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *dashDatasource `json:"datasource"`
	GridPos    struct{ X, Y, W, H int }
	Targets    []struct {
		Expr       string          `json:"expr"`
		RefID      string          `json:"refId"`
		Datasource *dashDatasource `json:"datasource"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int         `json:"schemaVersion"`
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	Panels        []dashPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Definition string          `json:"definition"`
			Datasource *dashDatasource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

// exposed returns the series names and label pairs a fresh registry
// exposes, histograms as their _bucket, _sum and _count series.
func exposed(t *testing.T) (names map[string]bool, labels map[string]map[string]bool) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Observe(fsm.Note{Kind: fsm.NoteFirmware, Firmware: fsm.GenNonOS, Text: []byte(version174)}, time.Time{})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names = map[string]bool{}
	labels = map[string]map[string]bool{"instance": {}, "job": {}, "le": {}}
	for _, mf := range mfs {
		n := mf.GetName()
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		} else {
			names[n] = true
		}
		for _, s := range mf.Metric {
			for _, l := range s.Label {
				if labels[l.GetName()] == nil {
					labels[l.GetName()] = map[string]bool{}
				}
				labels[l.GetName()][l.GetValue()] = true
			}
		}
	}
	return names, labels
}

var (
	reMetric  = regexp.MustCompile(`\bespgate_[a-zA-Z0-9_]+`)
	reMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	reBy      = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// checkExpr returns the metric names a PromQL expression uses, and its
// problems: names, label names and equality matchers the registry does not
// expose.
func checkExpr(expr string, names map[string]bool, labels map[string]map[string]bool) (used, problems []string) {
	used = reMetric.FindAllString(expr, -1)
	if len(used) == 0 {
		problems = append(problems, "uses no espgate metric")
	}
	for _, n := range used {
		if !names[n] {
			problems = append(problems, n+" is not exposed")
		}
	}
	for _, m := range reMatcher.FindAllStringSubmatch(expr, -1) {
		vals, ok := labels[m[1]]
		switch {
		case !ok:
			problems = append(problems, "no series has label "+m[1])
		case (m[2] == "=" || m[2] == "!=") && m[1] != "instance" && m[1] != "job" && !vals[m[3]]:
			problems = append(problems, "no series has "+m[1]+"="+strconv.Quote(m[3]))
		}
	}
	for _, m := range reBy.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && labels[l] == nil {
				problems = append(problems, "grouping by "+l+", which no series has")
			}
		}
	}
	return used, problems
}

func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.SchemaVersion < 36 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d, uid %q, title %q", d.SchemaVersion, d.UID, d.Title)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v, want one prometheus datasource DS_PROMETHEUS", d.Inputs)
	}
	names, labels := exposed(t)
	ds := func(where string, s *dashDatasource) {
		if s == nil || s.Type != "prometheus" || s.UID != "${DS_PROMETHEUS}" {
			t.Errorf("%s: datasource %+v, want ${DS_PROMETHEUS}", where, s)
		}
	}
	for _, v := range d.Templating.List {
		ds("variable "+v.Name, v.Datasource)
		if _, problems := checkExpr(v.Definition, names, labels); problems != nil {
			t.Errorf("variable %s: %q: %v", v.Name, v.Definition, problems)
		}
	}

	used := map[string]bool{}
	ids := map[int]bool{}
	type rect struct {
		title      string
		x, y, w, h int
	}
	var rects []rect
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("%q: gridPos %+v", p.Title, g)
			}
			for _, r := range rects {
				if g.X < r.x+r.w && r.x < g.X+g.W && g.Y < r.y+r.h && r.y < g.Y+g.H {
					t.Errorf("%q overlaps %q", p.Title, r.title)
				}
			}
			rects = append(rects, rect{p.Title, g.X, g.Y, g.W, g.H})
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			ds(p.Title, p.Datasource)
			if len(p.Targets) == 0 {
				t.Errorf("%q has no queries", p.Title)
			}
			refs := map[string]bool{}
			for _, q := range p.Targets {
				if refs[q.RefID] || q.RefID == "" {
					t.Errorf("%q: refId %q missing or repeated", p.Title, q.RefID)
				}
				refs[q.RefID] = true
				ds(p.Title+"/"+q.RefID, q.Datasource)
				ns, problems := checkExpr(q.Expr, names, labels)
				if problems != nil {
					t.Errorf("%q: %q: %v", p.Title, q.Expr, problems)
				}
				for _, n := range ns {
					used[n] = true
				}
			}
		}
	}
	walk(d.Panels)

	for _, n := range []string{
		"espgate_links",
		"espgate_http_requests_total",
		"espgate_http_request_duration_seconds_bucket",
		"espgate_http_time_to_first_byte_seconds_bucket",
		"espgate_uart_busy_seconds_total",
		"espgate_modem_resets_total",
		"espgate_at_failures_total",
		"espgate_at_command_duration_seconds_bucket",
		"espgate_send_queue_links",
	} {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}

// The checks themselves catch what they are for.
func TestCheckExprCatches(t *testing.T) {
	names, labels := exposed(t)
	for _, expr := range []string{
		`rate(espgate_http_request_total[1m])`,
		`rate(espgate_http_request_duration_seconds[1m])`,
		`espgate_links{state="open"}`,
		`sum by (status) (rate(espgate_http_requests_total[1m]))`,
		`espgate_modem_state{modem="x"}`,
		`up`,
	} {
		if _, problems := checkExpr(expr, names, labels); problems == nil {
			t.Errorf("%q passed the check", expr)
		}
	}
	valid := `sum by (le, command) (rate(espgate_at_command_duration_seconds_bucket{instance=~"a", command="AT+CIPSEND"}[5m]))`
	if _, problems := checkExpr(valid, names, labels); problems != nil {
		t.Errorf("%q: %v", valid, problems)
	}
}

// A light check of deploy/prometheus.yml: YAML indentation without tabs,
// and each active job with a path, a target, and a timeout within its
// interval.
func TestPrometheusConfig(t *testing.T) {
	b, err := os.ReadFile("../deploy/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Contains(text, "\t") {
		t.Error("tab in YAML")
	}
	var active []string
	for _, l := range strings.Split(text, "\n") {
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
			active = append(active, l)
		}
	}
	conf := strings.Join(active, "\n")
	global, jobs, ok := strings.Cut(conf, "\nscrape_configs:\n")
	if !ok {
		t.Fatal("no scrape_configs")
	}
	value := func(block, key string) string {
		m := regexp.MustCompile(`(?m)^\s*` + key + `:\s*(\S+)`).FindStringSubmatch(block)
		if m == nil {
			return ""
		}
		return m[1]
	}
	dur := func(where, s string) time.Duration {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Errorf("%s: duration %q", where, s)
		}
		return d
	}
	gInterval := dur("global scrape_interval", value(global, "scrape_interval"))
	gTimeout := dur("global scrape_timeout", value(global, "scrape_timeout"))
	blocks := strings.Split(jobs, "- job_name:")[1:]
	if len(blocks) == 0 {
		t.Fatal("no jobs")
	}
	for _, j := range blocks {
		name := strings.TrimSpace(strings.SplitN(j, "\n", 2)[0])
		interval, timeout := gInterval, gTimeout
		if v := value(j, "scrape_interval"); v != "" {
			interval = dur(name, v)
		}
		if v := value(j, "scrape_timeout"); v != "" {
			timeout = dur(name, v)
		}
		if timeout > interval {
			t.Errorf("%s: timeout %v exceeds interval %v", name, timeout, interval)
		}
		if value(j, "metrics_path") != "/metrics" {
			t.Errorf("%s: metrics_path %q", name, value(j, "metrics_path"))
		}
		if !regexp.MustCompile(`targets:\s*\["[^"]+:\d+"`).MatchString(j) {
			t.Errorf("%s: no host:port target", name)
		}
	}
}
