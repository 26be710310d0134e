package app

import (
	"context"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
	"github.com/vigil-ndr/vigil/internal/sim"
)

// benchDays and benchDevices size the detection benchmarks' input: two
// simulated days of a 200-device office with the clickfix intrusion.
const benchDays, benchDevices = 2, 200

var benchInput struct {
	once   sync.Once
	events []event.Event
	zeek   string
}

func benchEvents(b *testing.B) []event.Event {
	benchInput.once.Do(func() {
		_, err := sim.GenerateEvents(context.Background(), sim.Config{Scenario: "macos-clickfix", Seed: 1, Days: benchDays, Devices: benchDevices},
			func(e event.Event) error {
				switch e.Kind() { // the input: conn, http, ssl and dns
				case event.KindConn, event.KindHTTP, event.KindTLS, event.KindDNS:
					benchInput.events = append(benchInput.events, e)
				}
				return nil
			})
		require.NoError(b, err)
	})
	return benchInput.events
}

// BenchmarkDetect measures every model together, events in memory:
// baselines, prevalence and all models, per event.
func BenchmarkDetect(b *testing.B) {
	evs := benchEvents(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p, err := newPipeline(config.Default(), "")
		require.NoError(b, err)
		for _, e := range evs {
			p.engine.Observe(e)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAnalyzeZeek measures end to end from Zeek TSV logs (conn,
// http, ssl, dns) to breaches.jsonl, as `vigil analyze --zeek` runs.
func BenchmarkAnalyzeZeek(b *testing.B) {
	evs := benchEvents(b)
	dir := b.TempDir()
	w, err := zeek.NewWriter(dir)
	require.NoError(b, err)
	for _, e := range evs {
		require.NoError(b, w.Write(e))
	}
	require.NoError(b, w.Close())
	out := b.TempDir()
	runtime.GC()
	b.ResetTimer()
	for range b.N {
		a := Analyze{Zeek: []string{dir}, Out: out, Config: config.Default(), Stdout: io.Discard, Stderr: io.Discard}
		require.NoError(b, a.Run(context.Background()))
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
