package simpcap_test

import (
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/sim/simpcap"
)

// heapPeak renders n small sessions and returns the largest HeapInuse
// seen after a GC, sampled ten times along the way.
func heapPeak(t *testing.T, n int) uint64 {
	next := generator(11, true)
	w := simpcap.NewWriter(io.Discard, simpcap.Options{})
	var peak uint64
	var ms runtime.MemStats
	for i := range n {
		require.NoError(t, w.Write(next(i)))
		if (i+1)%(n/10) == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	require.NoError(t, w.Close())
	return peak
}

// TestBoundedMemory: the renderer's heap does not grow with the number
// of sessions, only with how many overlap in time.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: renders 250k sessions")
	}
	n := 50_000
	if raceEnabled {
		n = 5_000 // the race detector makes rendering ten times slower
	}
	small := heapPeak(t, n)
	large := heapPeak(t, 4*n)
	t.Logf("HeapInuse peak: %.1f MiB for %d sessions, %.1f MiB for %d", float64(small)/(1<<20), n, float64(large)/(1<<20), 4*n)
	require.Less(t, large, small+small/2+4<<20, "heap grows with the session count")
	require.Less(t, large, uint64(64<<20))
}
