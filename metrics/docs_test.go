package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// described is the name of every Beckon metric the registry can export,
// the scrape-time collectors included.
func described(t *testing.T) map[string]bool {
	t.Helper()
	m := newTest(t)
	cs := []prometheus.Collector{m.sends, m.lateness, m.providerRequests, m.providerDuration, m.paceWait,
		m.feedMessages, m.eventDeliveries, m.inbound, m.httpRequests, m.httpDuration,
		&queueCollector{}, &dueCollector{}, dbCollector{}}
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	names := map[string]bool{}
	for _, c := range cs {
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			names[fq.FindStringSubmatch(d.String())[1]] = true
		}
	}
	if len(names) != 19 {
		t.Fatalf("%d metrics described, want 19: %v", len(names), names)
	}
	return names
}

// The README lists every metric, and the sample dashboard asks only for
// metrics that exist.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	names := described(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for n := range names {
		if !strings.Contains(string(readme), "`"+n+"`") {
			t.Errorf("README does not list %s", n)
		}
	}
	dash, err := os.ReadFile("../deploy/grafana/beckon.json")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`beckon_[a-z_]+`).FindAllString(string(dash), -1)
	if len(used) == 0 {
		t.Fatal("the dashboard uses no beckon metric")
	}
	for _, u := range used {
		base := u
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !names[base] {
			t.Errorf("the dashboard asks for %s, which Beckon does not export", u)
		}
	}
}
