package httpposts

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/event"
)

func engine(m *Model) *detect.Engine {
	inv := device.NewInventory(device.DefaultInternal())
	return detect.NewEngine(detect.Options{
		Baseline: baseline.DefaultSettings(), Internal: inv.Internal,
		Models: []detect.Configured{{Model: m, Info: m.Info(), Cooldown: time.Hour}},
	})
}

func post(ts time.Time, host string) *event.HTTP {
	return &event.HTTP{
		Meta: event.Meta{TS: ts, UID: fmt.Sprintf("C%d", ts.UnixNano()), ID: event.ConnID{
			OrigH: netip.MustParseAddr("10.0.0.23"), OrigP: 50000,
			RespH: netip.MustParseAddr("198.51.100.7"), RespP: 80,
		}},
		Method: "POST", Host: host, URI: "/", UserAgent: "curl/8.5.0", RequestBodyLen: 100, StatusCode: 200,
	}
}

func TestTrackedPairsAreBounded(t *testing.T) {
	m := info().New().(*Model)
	m.MaxTracked = 8
	e := engine(m)
	t0 := time.Date(2026, 1, 13, 8, 0, 0, 0, time.UTC)
	for i := range 100 {
		e.Observe(post(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("h%d.example.net", i)))
		require.LessOrEqual(t, len(m.tracks), m.MaxTracked)
	}
	require.Empty(t, e.Breaches(), "one POST per host is no burst")
}

func TestWindowSlides(t *testing.T) {
	t0 := time.Date(2026, 1, 13, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		every time.Duration
		fires bool
	}{
		{"every 15 min fills a 2 h window", 15 * time.Minute, true},
		{"every 40 min never holds 5 in 2 h", 40 * time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := info().New().(*Model)
			e := engine(m)
			for i := range 12 {
				e.Observe(post(t0.Add(time.Duration(i)*tc.every), "c2.example.net"))
			}
			require.Equal(t, tc.fires, len(e.Breaches()) > 0)
		})
	}
}

// info returns the registered model description.
func info() detect.Info { return detect.MustFind(ID) }
