package pcap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

type frame struct {
	ts   time.Time
	data []byte
}

// loadFrames reads a pcap into memory so the benchmark measures the engine only.
func loadFrames(b *testing.B, path string) ([]frame, layers.LinkType, int64) {
	b.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	var fs []frame
	var total int64
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		fs = append(fs, frame{ci.Timestamp, data})
		total += int64(len(data))
	}
	return fs, r.LinkType(), total
}

// BenchmarkEngine feeds the lab capture's frames through the engine (with
// an analyzer reading every TCP connection, as HTTP and TLS would).
func BenchmarkEngine(b *testing.B) {
	for _, bc := range []struct {
		name      string
		analyzers []AnalyzerFactory
	}{
		{name: "conn-only"},
		{name: "reassembling", analyzers: []AnalyzerFactory{func(stream.Conn, []byte, stream.Dir, func(event.Event)) stream.Analyzer { return &counter{} }}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fs, lt, total := loadFrames(b, testkit.SharedData(b, "lab", "dev-intrusion.pcap"))
			b.SetBytes(total)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				cfg := DefaultConfig()
				cfg.Analyzers = bc.analyzers
				en := NewEngine(cfg, func(event.Event) error { return nil })
				var last time.Time
				for _, f := range fs {
					_ = en.Packet(f.ts, lt, f.data)
					if f.ts.Sub(last) >= time.Second {
						en.Expire(f.ts)
						last = f.ts
					}
				}
				_ = en.Flush()
			}
			b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkReadFiles measures the whole path from file to events.
func BenchmarkReadFiles(b *testing.B) {
	path := testkit.SharedData(b, "lab", "dev-intrusion.pcap")
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for range b.N {
		err := ReadFiles(context.Background(), []string{path}, DefaultConfig(), sensor.Options{}, func(event.Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}
