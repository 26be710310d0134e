package sim

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
)

// countingSink counts events by kind.
type countingSink struct {
	sessions int
	kinds    [event.NumKinds]int
}

func (c *countingSink) run(tb testing.TB, cfg Config) {
	_, err := Generate(context.Background(), cfg, func(s *Session) error {
		c.sessions++
		return Events(s, func(e event.Event) error {
			c.kinds[e.Kind()]++
			return nil
		})
	})
	require.NoError(tb, err)
}

func (c *countingSink) events() int {
	n := 0
	for _, k := range c.kinds {
		n += k
	}
	return n
}

func TestGenerateEventsMatches(t *testing.T) {
	cfg := Config{Scenario: "dga-beacon", Seed: 4, Days: 5, Devices: 30}
	var serial, piped []string
	_, err := Generate(context.Background(), cfg, func(s *Session) error {
		return Events(s, func(e event.Event) error {
			serial = append(serial, e.Base().UID+e.Kind().String())
			return nil
		})
	})
	require.NoError(t, err)
	_, err = GenerateEvents(context.Background(), cfg, func(e event.Event) error {
		piped = append(piped, e.Base().UID+e.Kind().String())
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, serial, piped)
	stop := errors.New("stop")
	n := 0
	_, err = GenerateEvents(context.Background(), cfg, func(event.Event) error {
		if n++; n == 5000 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
}

// BenchmarkGenerateEvents simulates one day of a 100-device organisation
// into a counting sink.
func BenchmarkGenerateEvents(b *testing.B) {
	b.ReportAllocs()
	var c countingSink
	for b.Loop() {
		c = countingSink{}
		c.run(b, Config{Scenario: "macos-clickfix", Seed: 1, Days: 1, Devices: 100, Start: DefaultStart.AddDate(0, 0, 1)})
	}
	b.ReportMetric(float64(c.sessions), "sessions/op")
	b.ReportMetric(float64(c.events()), "events/op")
}

// TestGenerateSize is a test-sized run with its throughput in the log.
func TestGenerateSize(t *testing.T) {
	var c countingSink
	start := time.Now()
	c.run(t, Config{Scenario: "shadow-ai", Seed: 1, Days: 3, Devices: 60})
	el := time.Since(start)
	require.Greater(t, c.sessions, 10000)
	require.Greater(t, c.kinds[event.KindDNS], 1000)
	require.Greater(t, c.kinds[event.KindTLS], 1000)
	require.Greater(t, c.kinds[event.KindHTTP], 100)
	require.Greater(t, c.kinds[event.KindX509], 100)
	require.Greater(t, c.kinds[event.KindDHCP], 10)
	t.Logf("%d sessions, %d events in %v (%.0f sessions/s, %.0f events/s)", c.sessions, c.events(), el,
		float64(c.sessions)/el.Seconds(), float64(c.events())/el.Seconds())
}

// TestMonthOf500 measures the target, 30 days x 500 devices as
// events; it runs only with SIM_MONTH=1 (about a minute of CPU).
func TestMonthOf500(t *testing.T) {
	if os.Getenv("SIM_MONTH") == "" {
		t.Skip("set SIM_MONTH=1 to simulate 30 days x 500 devices")
	}
	cfg := Config{Scenario: "macos-clickfix", Seed: 1, Days: 30, Devices: 500}
	var c countingSink
	start := time.Now()
	_, err := GenerateEvents(context.Background(), cfg, func(e event.Event) error {
		c.kinds[e.Kind()]++
		return nil
	})
	require.NoError(t, err)
	el := time.Since(start)
	t.Logf("30 days x 500 devices, pipelined: %d events %v in %v (%.0f events/s)", c.events(), c.kinds, el, float64(c.events())/el.Seconds())
}
