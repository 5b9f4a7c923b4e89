package worker

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"github.com/evomerge/evomerge/activities"
)

// Metrics is a worker process's Prometheus endpoint: the Temporal SDK's own metrics
// (task polls, schedule-to-start latency, activity and workflow task outcomes, sticky
// cache — through the SDK's tally contrib, with its Prometheus naming) and evomerge's
// work per kind (steps found in the store or computed, the seconds and bytes of the
// computed ones). Pass Handler to client.Options.MetricsHandler and each worker's
// activities to Watch; serve HTTPHandler at /metrics.
type Metrics struct {
	reg    *prometheus.Registry
	scope  tally.Scope
	closer io.Closer

	mu   sync.Mutex
	acts []*activities.Activities
}

// NewMetrics makes an empty registry with the SDK's metrics scope and evomerge's
// collector registered.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: reg, DefaultTimerType: tallyprom.HistogramTimerType})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	m := &Metrics{reg: reg, scope: sdktally.NewPrometheusNamingScope(scope), closer: closer}
	reg.MustRegister(workCollector{m})
	return m
}

// Handler is the SDK metrics handler to dial the client with.
func (m *Metrics) Handler() client.MetricsHandler { return sdktally.NewMetricsHandler(m.scope) }

// Watch adds a worker's activities to the work counts.
func (m *Metrics) Watch(a *activities.Activities) {
	m.mu.Lock()
	m.acts = append(m.acts, a)
	m.mu.Unlock()
}

// HTTPHandler serves the metrics in the Prometheus text format.
func (m *Metrics) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Close flushes and stops the SDK's scope.
func (m *Metrics) Close() error { return m.closer.Close() }

var (
	stepsDesc = prometheus.NewDesc("evomerge_steps_total",
		"Memoized steps (merge, compress, benchmark, sensitivity) found in the store (result=hit) or computed (result=miss).",
		[]string{"kind", "result"}, nil)
	secondsDesc = prometheus.NewDesc("evomerge_step_seconds_total",
		"Seconds spent computing steps of a kind (result=miss only): merge, compress, benchmark, sensitivity.",
		[]string{"kind"}, nil)
	bytesDesc = prometheus.NewDesc("evomerge_step_bytes_total",
		"Bytes of the artifacts computed steps of a kind wrote to the store (kind=merge: bytes merged).",
		[]string{"kind"}, nil)
)

// workCollector reads the watched activities' work counts at every scrape.
type workCollector struct{ m *Metrics }

func (c workCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stepsDesc
	ch <- secondsDesc
	ch <- bytesDesc
}

func (c workCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	acts := slices.Clone(c.m.acts)
	c.m.mu.Unlock()
	sum := map[string]activities.WorkCount{}
	for _, a := range acts {
		for k, w := range activities.WorkCounts(a) {
			s := sum[k]
			s.Hits, s.Misses, s.Seconds, s.Bytes = s.Hits+w.Hits, s.Misses+w.Misses, s.Seconds+w.Seconds, s.Bytes+w.Bytes
			sum[k] = s
		}
	}
	// Every kind, also before its first step, so rates start at zero.
	for _, k := range []string{activities.WorkMerge, activities.WorkCompress, activities.WorkBenchmark, activities.WorkSensitivity} {
		w := sum[k]
		ch <- prometheus.MustNewConstMetric(stepsDesc, prometheus.CounterValue, float64(w.Hits), k, "hit")
		ch <- prometheus.MustNewConstMetric(stepsDesc, prometheus.CounterValue, float64(w.Misses), k, "miss")
		ch <- prometheus.MustNewConstMetric(secondsDesc, prometheus.CounterValue, w.Seconds, k)
		ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(w.Bytes), k)
	}
}
