package newuaip

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

func TestFamiliesAreBounded(t *testing.T) {
	m := detect.MustFind(ID).New().(*Model)
	m.MaxFamilies = 4
	inv := device.NewInventory(device.DefaultInternal())
	e := detect.NewEngine(detect.Options{
		Baseline: baseline.DefaultSettings(), Internal: inv.Internal,
		Models: []detect.Configured{{Model: m, Info: m.Info(), Cooldown: time.Hour}},
	})
	t0 := time.Date(2026, 1, 13, 8, 0, 0, 0, time.UTC)
	for i := range 40 {
		e.Observe(&event.HTTP{
			Meta: event.Meta{TS: t0.Add(time.Duration(i) * time.Minute), UID: fmt.Sprint(i), ID: event.ConnID{
				OrigH: netip.MustParseAddr("10.0.0.23"), RespH: netip.MustParseAddr("198.51.100.7"), RespP: 80,
			}},
			Method: "GET", Host: "198.51.100.7", URI: "/", UserAgent: fmt.Sprintf("agent-%c/1.0", 'a'+i%26),
		})
		for _, f := range m.families {
			require.LessOrEqual(t, len(f), m.MaxFamilies)
		}
	}
	require.Len(t, m.families, 1)
	for _, f := range m.families {
		require.Len(t, f, m.MaxFamilies, "the most recent families are kept")
	}
}
