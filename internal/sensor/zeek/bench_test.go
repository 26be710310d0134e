package zeek

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

// BenchmarkConnTSV parses a generated realistic conn.log line by line;
// records/s is the figure to watch (goal: 1,000,000 per core).
func BenchmarkConnTSV(b *testing.B) {
	const n = 20000
	data := connLog(n)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var sink event.Event
	for i := 0; i < b.N; i++ {
		p := NewParser("conn.log")
		for _, l := range lines {
			ev, err := p.Line(l)
			if err != nil {
				b.Fatal(err)
			}
			if ev != nil {
				sink = ev
			}
		}
	}
	_ = sink
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReadConnLog is the whole Read path on one conn.log file: file
// I/O, line framing, parsing and the merge. Parsing is about four fifths
// of it (go test -cpuprofile), so the parser's figure bounds this one.
func BenchmarkReadConnLog(b *testing.B) {
	const n = 100000
	data := connLog(n)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "conn.log"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := Read(context.Background(), []string{dir}, sensor.Options{}, func(event.Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
