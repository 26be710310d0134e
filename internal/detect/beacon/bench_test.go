package beacon

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-ndr/vigil/internal/detect"
)

// BenchmarkPairs fills 100,000 (device, address) series with 100 (and 384) jittered
// check-ins each (a 5-minute beacon), reports the heap per pair, then
// times scoring every series once. The target, 1,000,000 pairs
// over 30 days, is max_starts (384) check-ins per pair at most.
func BenchmarkPairs(b *testing.B) {
	for _, starts := range []int{100, 384} {
		b.Run(fmt.Sprintf("starts=%d", starts), func(b *testing.B) { benchPairs(b, starts) })
	}
}

func benchPairs(b *testing.B, starts int) {
	const pairs = 100_000
	for b.Loop() {
		m := detect.MustFind(ID).New().(*Model)
		m.init()
		rng := rand.New(rand.NewPCG(1, 2))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t0 := time.Date(2026, 1, 12, 8, 0, 0, 0, time.UTC).UnixNano()
		for p := range pairs {
			s := &series{}
			m.byIP[ipKey{uint32(p % 5000), netip.AddrFrom4([4]byte{203, 0, byte(p >> 8), byte(p)})}] = s
			t := t0 + rng.Int64N(int64(300*time.Second))
			for range starts {
				s.last = t
				m.insert(s, t, 300+rng.Int64N(100), int64(m.MergeGap.D()))
				t += int64(float64(300*time.Second) * (0.7 + 0.6*rng.Float64()))
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/pairs, "B/pair")
		start := time.Now()
		for _, s := range m.byIP {
			if _, ok := m.an.analyse(s.ts, s.up); !ok {
				b.Fatal("no fit")
			}
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/pairs, "ns/score")
	}
}
