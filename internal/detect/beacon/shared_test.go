package beacon_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/app"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect/beacon"
	"github.com/vigil-ndr/vigil/internal/detect/detecttest"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/pcap"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// TestLabCapture runs the model over the lab capture (72 h, a second):
// the TLS beacon M6 and the python C2 M4 fire; the NTP (B1) and update
// check-ins (B2) and every other benign device do not.
func TestLabCapture(t *testing.T) {
	p := testkit.SharedData(t, "lab", "dev-intrusion.pcap")
	got := run(t, p, config.Default())
	byEndpoint := map[string]breach.Breach{}
	for _, b := range got {
		k := b.Endpoint.Hostname
		if k == "" {
			k = b.Endpoint.IP.String()
		}
		byEndpoint[b.Device.String()+" "+k] = b
		t.Logf("%d %s %s", b.Score, b.Time.Format("2006-01-02 15:04"), b.Summary)
	}
	m6, ok := byEndpoint["172.16.40.60 edge.kestrel-metrics.net"]
	require.True(t, ok, "M6 (TLS beacon) not raised")
	require.InDelta(t, 300, m6.Evidence["period_s"], 60)
	m4, ok := byEndpoint["172.16.40.23 203.0.113.77"]
	require.True(t, ok, "M4 (python C2) not raised")
	require.InDelta(t, 45, m4.Evidence["period_s"], 5)
	require.Len(t, got, 2, "only M4 and M6: NTP, update check-ins and the benign devices stay quiet")
}

// TestSlipsBeacon: the Slips strict beacon (curl to testing.com every 2 s
// for 11 minutes) fires as a fast beacon.
func TestSlipsBeacon(t *testing.T) {
	p := testkit.SharedData(t, "slips", "dataset", "test-cc", "test-cc-capture-1.pcap")
	cfg := config.Default()
	cfg.Internal = []config.Prefix{config.Prefix(netip.MustParsePrefix("147.32.0.0/16"))}
	got := run(t, p, cfg)
	require.Len(t, got, 1)
	require.Equal(t, "testing.com", got[0].Endpoint.Hostname)
	require.InDelta(t, 2, got[0].Evidence["period_s"], 0.5)
}

func run(t *testing.T, path string, cfg config.Config) []breach.Breach {
	t.Helper()
	e := detecttest.Engine(t, cfg, beacon.ID)
	err := pcap.ReadFiles(context.Background(), []string{path}, app.CaptureConfig(cfg), sensor.Options{},
		func(ev event.Event) error { e.Observe(ev); return nil })
	require.NoError(t, err)
	e.Flush()
	return e.Breaches()
}
