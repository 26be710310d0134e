package newpsua

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/units"
)

// A device that stops using PowerShell for a whole prevalence window is
// forgotten: its next PowerShell request is a first again.
func TestForgetsAfterWindow(t *testing.T) {
	m := detect.MustFind(ID).New().(*Model)
	set := baseline.DefaultSettings()
	set.Window = units.Duration(24 * time.Hour)
	inv := device.NewInventory(device.DefaultInternal())
	e := detect.NewEngine(detect.Options{
		Baseline: set, Internal: inv.Internal,
		Models: []detect.Configured{{Model: m, Info: m.Info(), Cooldown: time.Hour}},
	})
	t0 := time.Date(2026, 1, 13, 8, 0, 0, 0, time.UTC)
	for _, at := range []time.Duration{0, time.Hour, 20 * time.Hour, 50 * time.Hour} {
		e.Observe(&event.HTTP{
			Meta: event.Meta{TS: t0.Add(at), UID: "C" + at.String(), ID: event.ConnID{
				OrigH: netip.MustParseAddr("10.0.0.23"), RespH: netip.MustParseAddr("10.0.0.5"), RespP: 80,
			}},
			Method: "GET", Host: "intranet.corp.example", URI: "/logon.ps1",
			UserAgent: "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3803",
		})
	}
	var at []time.Duration
	for _, b := range e.Breaches() {
		at = append(at, b.Time.Sub(t0))
	}
	require.Equal(t, []time.Duration{0, 50 * time.Hour}, at, "first use, then first use after 30 h without")
	require.Len(t, m.users, 1)
}
