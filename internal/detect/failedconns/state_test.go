package failedconns

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
)

// feeder drives the model directly, the way the engine does, so that its
// state can be inspected.
type feeder struct {
	m *Model
	b *baseline.Baselines
}

func newFeeder(t *testing.T) *feeder {
	m := newModel(t)
	internal := netip.MustParsePrefix("10.0.0.0/8")
	return &feeder{m: m, b: baseline.New(baseline.DefaultSettings(), internal.Contains)}
}

func newModel(t *testing.T) *Model {
	t.Helper()
	m, ok := detect.MustFind(ID).New().(*Model)
	require.True(t, ok)
	require.NoError(t, m.Validate())
	return m
}

func (f *feeder) fail(ts time.Time, dev, peer netip.Addr, port uint16) int {
	x := &event.Conn{Meta: event.Meta{TS: ts, ID: event.ConnID{OrigH: dev, OrigP: 40000, RespH: peer, RespP: port}},
		Proto: event.ProtoTCP, ConnState: event.StateS0, History: "S", OrigPkts: 1}
	f.b.Net.Advance(ts)
	c := &detect.Context{Now: f.b.Net.Now(), Base: f.b, Net: f.b.Net, Contact: &baseline.Contact{
		TS: ts, Device: f.b.Device(dev, ts), IP: peer, Port: port, Proto: uint8(event.ProtoTCP), Conn: true, External: true,
	}}
	return len(f.m.Observe(c, x))
}

func addr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, byte(18 + i>>16&1), byte(i >> 8), byte(i)})
}

func TestStateIsBounded(t *testing.T) {
	f := newFeeder(t)
	dev := netip.MustParseAddr("10.0.0.5")
	t0 := time.Date(2026, 1, 12, 9, 0, 0, 0, time.UTC)
	fired := 0
	for i := range 5000 { // 5,000 failures to distinct endpoints in 5 minutes
		fired += f.fail(t0.Add(time.Duration(i)*60*time.Millisecond), dev, addr(i), 23)
	}
	require.Equal(t, 1, fired, "one burst, one breach (repeat_after holds the rest)")
	d := f.m.devices[f.b.Lookup(dev).ID]
	require.LessOrEqual(t, len(d.recs), maxRecords)
	require.Equal(t, 5000, len(f.m.endpoints))

	// Two hours later the window and the shared window have passed: one
	// more failure sweeps the old endpoints and the device's old failures.
	f.fail(t0.Add(2*time.Hour), dev, addr(9999), 23)
	require.Len(t, f.m.endpoints, 1)
	require.Len(t, d.recs, 1)

	// A month later the device itself is forgotten (its breach too).
	other := netip.MustParseAddr("10.0.0.6")
	f.fail(t0.Add(30*24*time.Hour), other, addr(1), 23)
	_, kept := f.m.devices[f.b.Lookup(dev).ID]
	require.False(t, kept)
}

func TestEndpointMapEvicts(t *testing.T) {
	f := newFeeder(t)
	t0 := time.Date(2026, 1, 12, 9, 0, 0, 0, time.UTC)
	for i := range maxEndpoints + 100 {
		dev := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) // many devices, two failures each at most
		f.fail(t0.Add(time.Duration(i)*time.Millisecond), dev, netip.AddrFrom4([4]byte{203, byte(i >> 16), byte(i >> 8), byte(i)}), 443)
	}
	require.LessOrEqual(t, len(f.m.endpoints), maxEndpoints)
}
