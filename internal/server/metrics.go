package server

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	panics   *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	loadedAt prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akssec_webhook_requests_total",
			Help: "Webhook requests by path, HTTP code and outcome (allowed, denied, error)."}, []string{"path", "code", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "akssec_webhook_request_duration_seconds",
			Help:    "Time to answer a webhook request.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 5}}, []string{"path"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akssec_webhook_panics_total",
			Help: "Decisions that panicked (and were answered with an error)."}, []string{"path"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "akssec_snapshot_reloads_total",
			Help: "Snapshot loads by result."}, []string{"result"}),
		loadedAt: prometheus.NewGauge(prometheus.GaugeOpts{Name: "akssec_snapshot_loaded_timestamp_seconds",
			Help: "When the snapshot being served was loaded."}),
	}
	reg.MustRegister(m.requests, m.latency, m.panics, m.reloads, m.loadedAt)
	return m
}
