package dnstunnel

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect/detecttest"
	"github.com/vigil-ndr/vigil/internal/event"
)

// BenchmarkObserve measures the per-query cost through the engine running
// only this model: 500 devices asking ordinary names under 2,000 domains,
// one in fifty queries a hex-encoded tunnel name (so windows fill, the
// gates run and breaches are raised and suppressed). The engine's own
// work (device lookup, baselines) is included.
func BenchmarkObserve(b *testing.B) {
	e := detecttest.Engine(b, config.Default(), ID)
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 14
	evs := make([]*event.DNS, n)
	resolver := netip.MustParseAddr("10.0.0.2")
	buf := make([]byte, 24)
	for i := range evs {
		dev := netip.AddrFrom4([4]byte{10, 1, byte(i % 500 / 250), byte(i % 250)})
		q := fmt.Sprintf("www%d.site%d.com", r.IntN(20), r.IntN(2000))
		qt, qn := uint16(1), "A"
		if i%50 == 0 {
			for j := range buf {
				buf[j] = byte(r.Uint32())
			}
			q = hex.EncodeToString(buf) + ".t.tunnel-example.net"
			qt, qn = 16, "TXT"
		}
		evs[i] = &event.DNS{
			Meta:  event.Meta{UID: "C1", ID: event.ConnID{OrigH: dev, OrigP: 40000, RespH: resolver, RespP: 53}},
			Proto: event.ProtoUDP, Query: q, QType: qt, QTypeName: qn, HasReply: true, Answers: []string{"192.0.2.1"},
		}
	}
	t0 := time.Date(2026, 1, 12, 8, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := evs[i%n]
		ev.TS = t0.Add(time.Duration(i) * 10 * time.Millisecond)
		e.Observe(ev)
	}
}
