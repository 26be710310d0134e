package sqlite

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/vigil-ndr/vigil/internal/store"
)

// benchBatch is a live follower's batch: n device upserts (over a pool of
// 5000 devices, so most are updates once warm), one ingest delta and one
// checkpoint.
func benchBatch(i, n int) store.Batch {
	b := store.Batch{
		Ingest: []store.IngestStats{{
			Source: crashSource, Kind: "zeek", Records: int64(n),
			Events: map[string]int64{"conn": int64(n)}, Paths: []string{"conn.log"},
			FirstEvent: crashTime(i), LastEvent: crashTime(i),
		}},
		Checkpoints: []store.Checkpoint{{Key: crashSource, Data: make([]byte, 200)}},
	}
	for j := range n {
		k := (i*n + j) % 5000
		a := netip.AddrFrom4([4]byte{10, 0, byte(k >> 8), byte(k)})
		b.Devices = append(b.Devices, store.Device{
			IP: a, MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", k>>8, k&0xff), Hostname: "host",
			FirstSeen: crashTime(i), LastSeen: crashTime(i), Score: float64(j % 100),
		})
	}
	return b
}

func benchStore(b *testing.B) *Store {
	s, err := OpenFile(context.Background(), filepath.Join(b.TempDir(), FileName), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkCommitBatch(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	s := benchStore(b)
	batches := make([]store.Batch, 16)
	for i := range batches {
		batches[i] = benchBatch(i, n)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Commit(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i*n)/b.Elapsed().Seconds(), "devices/s")
}

func BenchmarkCheckpointSave(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	cp := make([]byte, 200)
	b.SetBytes(int64(len(cp)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Save(ctx, crashSource, cp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckpointLoad(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	if err := s.Save(ctx, crashSource, make([]byte, 200)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Load(ctx, crashSource); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeviceByKey(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	for i := range 5 {
		if err := s.Commit(ctx, benchBatch(i, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	keys := make([]string, 5000)
	for k := range keys {
		keys[k] = fmt.Sprintf("02:00:00:00:%02x:%02x", k>>8, k&0xff)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, err := s.Device(ctx, keys[i%len(keys)]); err != nil || !ok {
			b.Fatal(ok, err)
		}
		i++
	}
}

func BenchmarkListDevices(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	for i := range 5 {
		if err := s.Commit(ctx, benchBatch(i, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ds, err := s.ListDevices(ctx)
		if err != nil || len(ds) != 5000 {
			b.Fatal(len(ds), err)
		}
	}
}
