package simpcap_test

import (
	"io"
	"testing"

	"github.com/vigil-ndr/vigil/internal/sim/simpcap"
)

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// BenchmarkRender renders the varied session mix; SetBytes is the pcap
// size, so MB/s is pcap written per second.
func BenchmarkRender(b *testing.B) {
	ss := varied(1000, 9)
	var cw countWriter
	w := simpcap.NewWriter(&cw, simpcap.Options{})
	for _, s := range ss {
		if err := w.Write(s); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(cw.n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w := simpcap.NewWriter(io.Discard, simpcap.Options{})
		for _, s := range ss {
			if err := w.Write(s); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ss))/b.Elapsed().Seconds(), "sessions/s")
}
