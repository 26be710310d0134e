package simpcap_test

import (
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sim"
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

// TestHugeSessionStreams: a backup of hundreds of megabytes renders step
// by step, interleaved with the sessions that start during it, so memory
// holds a burst of it at a time, not all of it.
func TestHugeSessionStreams(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("skipping: renders 300 MiB")
	}
	next := generator(12, true)
	huge := next(0)
	huge.State, huge.Duration = event.StateSF, time.Hour
	huge.Server.Port, huge.Proto = 443, event.ProtoTCP
	huge.TLS = &sim.TLS{SNI: "backup.example.com", Client: "go-http", Version: 0x0304}
	huge.DNS, huge.HTTP, huge.DHCP = nil, nil, nil
	huge.BytesUp, huge.BytesDown = 300<<20, 50000
	var cw countWriter
	w := simpcap.NewWriter(&cw, simpcap.Options{})
	require.NoError(t, w.Write(huge))
	var peak uint64
	var ms runtime.MemStats
	for i := 1; i < 2000; i++ {
		s := next(i)
		s.Start = huge.Start.Add(time.Duration(i) * 1800 * time.Millisecond)
		require.NoError(t, w.Write(s))
		if i%200 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	require.NoError(t, w.Close())
	t.Logf("HeapInuse peak %.1f MiB while writing %.0f MiB of pcap", float64(peak)/(1<<20), float64(cw.n)/(1<<20))
	require.Greater(t, cw.n, int64(300<<20))
	require.Less(t, peak, uint64(64<<20))
}
