// Package storetest is the contract every store backend passes: the same
// tests run against store/mem, store/sqlite and, later, a PostgreSQL
// backend, so that they cannot drift apart.
package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/store"
)

// Opener returns a new, empty store whose clock is now. The test closes it.
type Opener func(t *testing.T, now func() time.Time) store.Store

// T0 is the suite's fixed wall clock.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// Run runs the whole contract against the stores open makes.
func Run(t *testing.T, open Opener) {
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, open) })
	t.Run("UpsertSemantics", func(t *testing.T) { testUpsert(t, open) })
	t.Run("UpsertMatchesMerge", func(t *testing.T) { testUpsertRandom(t, open) })
	t.Run("DeviceLookup", func(t *testing.T) { testLookup(t, open) })
	t.Run("Ingest", func(t *testing.T) { testIngest(t, open) })
	t.Run("Breaches", func(t *testing.T) { testBreaches(t, open) })
	t.Run("Atomicity", func(t *testing.T) { testAtomicity(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func openStore(t *testing.T, open Opener) store.Store {
	s := open(t, fixed(T0))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func at(sec int) time.Time { return time.Unix(1_700_000_000+int64(sec), 0).UTC() }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func testCheckpoints(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open)

	cp, ok, err := s.Load(ctx, "zeek:/logs")
	require.NoError(t, err)
	require.False(t, ok)
	require.Nil(t, cp)

	buf := []byte("offset=42")
	require.NoError(t, s.Save(ctx, "zeek:/logs", buf))
	buf[0] = 'X' // the store must have kept its own copy
	cp, ok, err = s.Load(ctx, "zeek:/logs")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte("offset=42"), cp)

	require.NoError(t, s.Save(ctx, "zeek:/logs", []byte{0, 1, 2, 0xff}))
	cp, _, err = s.Load(ctx, "zeek:/logs")
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2, 0xff}, cp)

	require.NoError(t, s.Save(ctx, "empty", nil))
	cp, ok, err = s.Load(ctx, "empty")
	require.NoError(t, err)
	require.True(t, ok, "an empty checkpoint is still a checkpoint")
	require.Empty(t, cp)

	require.ErrorIs(t, s.Save(ctx, "", []byte("x")), store.ErrInvalid)
}

func testUpsert(t *testing.T, open Opener) {
	cases := []struct {
		name string
		ups  [][]store.Device // each inner slice is one UpsertDevices call
		want []store.Device
	}{
		{
			name: "insert derives the key from the MAC in lower case",
			ups:  [][]store.Device{{{IP: ip("10.0.0.1"), MAC: "AA:BB:CC:00:00:01", FirstSeen: at(10), LastSeen: at(20), Score: 3}}},
			want: []store.Device{{Key: "aa:bb:cc:00:00:01", IP: ip("10.0.0.1"), MAC: "AA:BB:CC:00:00:01", FirstSeen: at(10), LastSeen: at(20), Score: 3}},
		},
		{
			name: "insert derives the key from the IP without a MAC",
			ups:  [][]store.Device{{{IP: ip("2001:db8::1"), LastSeen: at(5)}}},
			want: []store.Device{{Key: "2001:db8::1", IP: ip("2001:db8::1"), LastSeen: at(5)}},
		},
		{
			name: "first_seen keeps the earliest and last_seen the latest",
			ups: [][]store.Device{
				{{Key: "d", FirstSeen: at(50), LastSeen: at(60)}},
				{{Key: "d", FirstSeen: at(10), LastSeen: at(20)}},
				{{Key: "d", FirstSeen: at(70), LastSeen: at(80)}},
			},
			want: []store.Device{{Key: "d", FirstSeen: at(10), LastSeen: at(80)}},
		},
		{
			name: "unknown times never win",
			ups: [][]store.Device{
				{{Key: "d", Hostname: "a"}},
				{{Key: "d", FirstSeen: at(10), LastSeen: at(20), Hostname: "b"}},
				{{Key: "d", Hostname: "c", Score: 9}},
			},
			want: []store.Device{{Key: "d", FirstSeen: at(10), LastSeen: at(20), Hostname: "b"}},
		},
		{
			name: "a newer observation replaces ip, mac, hostname and score",
			ups: [][]store.Device{
				{{Key: "d", IP: ip("10.0.0.1"), MAC: "m1", Hostname: "old", LastSeen: at(10), Score: 1}},
				{{Key: "d", IP: ip("10.0.0.2"), MAC: "m2", Hostname: "new", LastSeen: at(20), Score: 2}},
			},
			want: []store.Device{{Key: "d", IP: ip("10.0.0.2"), MAC: "m2", Hostname: "new", LastSeen: at(20), Score: 2}},
		},
		{
			name: "an equally new observation also replaces",
			ups: [][]store.Device{
				{{Key: "d", Hostname: "old", LastSeen: at(10), Score: 1}},
				{{Key: "d", Hostname: "new", LastSeen: at(10), Score: 2}},
			},
			want: []store.Device{{Key: "d", Hostname: "new", LastSeen: at(10), Score: 2}},
		},
		{
			name: "an older observation changes nothing it knows",
			ups: [][]store.Device{
				{{Key: "d", IP: ip("10.0.0.2"), MAC: "m2", Hostname: "new", LastSeen: at(20), Score: 2}},
				{{Key: "d", IP: ip("10.0.0.1"), MAC: "m1", Hostname: "old", LastSeen: at(10), Score: 1}},
			},
			want: []store.Device{{Key: "d", IP: ip("10.0.0.2"), MAC: "m2", Hostname: "new", LastSeen: at(20), Score: 2}},
		},
		{
			name: "an older observation fills empty fields",
			ups: [][]store.Device{
				{{Key: "d", LastSeen: at(20), Score: 2}},
				{{Key: "d", IP: ip("10.0.0.1"), MAC: "m1", Hostname: "h", FirstSeen: at(5), LastSeen: at(10), Score: 1}},
			},
			want: []store.Device{{Key: "d", IP: ip("10.0.0.1"), MAC: "m1", Hostname: "h", FirstSeen: at(5), LastSeen: at(20), Score: 2}},
		},
		{
			name: "empty values in a newer observation do not clear known ones",
			ups: [][]store.Device{
				{{Key: "d", IP: ip("10.0.0.1"), MAC: "m1", Hostname: "h", LastSeen: at(10), Score: 5}},
				{{Key: "d", LastSeen: at(20), Score: 0}},
			},
			want: []store.Device{{Key: "d", IP: ip("10.0.0.1"), MAC: "m1", Hostname: "h", LastSeen: at(20), Score: 0}},
		},
		{
			name: "repeats within one batch merge in order",
			ups: [][]store.Device{{
				{Key: "d", Hostname: "a", LastSeen: at(10), Score: 1},
				{Key: "d", Hostname: "b", LastSeen: at(30), Score: 3},
				{Key: "d", Hostname: "c", LastSeen: at(20), Score: 2},
			}},
			want: []store.Device{{Key: "d", Hostname: "b", LastSeen: at(30), Score: 3}},
		},
		{
			name: "times come back in UTC",
			ups:  [][]store.Device{{{Key: "d", LastSeen: at(10).In(time.FixedZone("X", 3600))}}},
			want: []store.Device{{Key: "d", LastSeen: at(10)}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, open)
			for _, u := range tc.ups {
				require.NoError(t, s.UpsertDevices(ctx, u))
			}
			got, err := s.ListDevices(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("refuses bad records", func(t *testing.T) {
		ctx := context.Background()
		s := openStore(t, open)
		for _, d := range []store.Device{
			{},
			{Key: "d", Score: math.NaN()},
			{Key: "d", Score: math.Inf(1)},
			{Key: "d", LastSeen: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
		} {
			require.ErrorIs(t, s.UpsertDevices(ctx, []store.Device{d}), store.ErrInvalid)
		}
	})
}

// testUpsertRandom checks the backend's merge against store.Merge on a
// long pseudo-random sequence of observations.
func testUpsertRandom(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open)
	r := rand.New(rand.NewPCG(1, 2))
	want := map[string]store.Device{}
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	for batch := 0; batch < 40; batch++ {
		var ds []store.Device
		for i := r.IntN(30); i >= 0; i-- {
			d := store.Device{
				Key:      fmt.Sprintf("k%02d", r.IntN(12)),
				MAC:      pick("", "", "m1", "m2"),
				Hostname: pick("", "h1", "h2", "h3"),
				Score:    float64(r.IntN(100)),
			}
			if r.IntN(4) > 0 {
				d.IP = netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(4))})
			}
			if r.IntN(5) > 0 {
				d.LastSeen = at(r.IntN(50))
				d.FirstSeen = d.LastSeen.Add(-time.Duration(r.IntN(10)) * time.Second)
			}
			ds = append(ds, d)
			if old, ok := want[d.Key]; ok {
				want[d.Key] = store.Merge(old, d)
			} else {
				want[d.Key] = d
			}
		}
		require.NoError(t, s.UpsertDevices(ctx, ds))
	}
	got, err := s.ListDevices(ctx)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for _, d := range got {
		require.Equal(t, want[d.Key], d, d.Key)
	}
}

func testLookup(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open)
	got, err := s.ListDevices(ctx)
	require.NoError(t, err)
	require.Empty(t, got)
	require.NoError(t, s.UpsertDevices(ctx, []store.Device{
		{Key: "c", LastSeen: at(1)}, {Key: "a", LastSeen: at(2)}, {Key: "b", LastSeen: at(3)},
	}))
	got, err = s.ListDevices(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Device{{Key: "a", LastSeen: at(2)}, {Key: "b", LastSeen: at(3)}, {Key: "c", LastSeen: at(1)}}, got)

	d, ok, err := s.Device(ctx, "b")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, store.Device{Key: "b", LastSeen: at(3)}, d)
	_, ok, err = s.Device(ctx, "zz")
	require.NoError(t, err)
	require.False(t, ok)
}

func testIngest(t *testing.T, open Opener) {
	ctx := context.Background()
	now := T0
	s := open(t, func() time.Time { return now })
	t.Cleanup(func() { _ = s.Close() })

	got, err := s.IngestStats(ctx)
	require.NoError(t, err)
	require.Empty(t, got)

	require.NoError(t, s.Commit(ctx, store.Batch{Ingest: []store.IngestStats{{
		Source: "zeek:/b", Kind: "zeek", Paths: []string{"conn.log", "dns.log", "conn.log"},
		Records: 10, Skipped: 1, Events: map[string]int64{"conn": 7, "dns": 2, "http": 0},
		FirstEvent: at(100), LastEvent: at(200), UpdatedAt: at(1),
	}, {
		Source: "pcap:a", Kind: "pcap", Records: 5,
	}}}))
	now = T0.Add(time.Hour)
	require.NoError(t, s.Commit(ctx, store.Batch{Ingest: []store.IngestStats{{
		Source: "zeek:/b", Paths: []string{"http.log", "conn.log"},
		Records: 4, Events: map[string]int64{"conn": 1, "http": 3},
		FirstEvent: at(50), LastEvent: at(150),
	}}}))

	got, err = s.IngestStats(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.IngestStats{{
		Source: "pcap:a", Kind: "pcap", Records: 5, Events: map[string]int64{}, UpdatedAt: T0,
	}, {
		Source: "zeek:/b", Kind: "zeek", Paths: []string{"conn.log", "dns.log", "http.log"},
		Records: 14, Skipped: 1, Events: map[string]int64{"conn": 8, "dns": 2, "http": 3},
		FirstEvent: at(50), LastEvent: at(200), UpdatedAt: T0.Add(time.Hour),
	}}, got)

	for _, bad := range []store.IngestStats{
		{},
		{Source: "x", Records: -1},
		{Source: "x", Events: map[string]int64{"conn": -1}},
		{Source: "x", Events: map[string]int64{"": 1}},
	} {
		require.ErrorIs(t, s.Commit(ctx, store.Batch{Ingest: []store.IngestStats{bad}}), store.ErrInvalid)
	}
}

// snapshot is everything a store holds, for before/after comparisons.
type snapshot struct {
	devices []store.Device
	ingest  []store.IngestStats
	cps     map[string][]byte
}

func snap(t *testing.T, s store.Store, cpKeys ...string) snapshot {
	ctx := context.Background()
	var sn snapshot
	var err error
	sn.devices, err = s.ListDevices(ctx)
	require.NoError(t, err)
	sn.ingest, err = s.IngestStats(ctx)
	require.NoError(t, err)
	sn.cps = map[string][]byte{}
	for _, k := range cpKeys {
		cp, ok, err := s.Load(ctx, k)
		require.NoError(t, err)
		if ok {
			sn.cps[k] = cp
		}
	}
	return sn
}

func testAtomicity(t *testing.T, open Opener) {
	good := func(n int) store.Batch {
		return store.Batch{
			Devices: []store.Device{
				{Key: "a", Hostname: fmt.Sprint("a", n), LastSeen: at(n), Score: float64(n)},
				{Key: fmt.Sprint("new", n), LastSeen: at(n)},
			},
			Ingest:      []store.IngestStats{{Source: "src", Kind: "zeek", Records: int64(n), Events: map[string]int64{"conn": 1}, Paths: []string{fmt.Sprint("f", n)}}},
			Checkpoints: []store.Checkpoint{{Key: "src", Data: []byte(fmt.Sprint("cp", n))}},
		}
	}
	cases := []struct {
		name  string
		spoil func(b *store.Batch)
	}{
		{"bad device after good ones", func(b *store.Batch) {
			b.Devices = append(b.Devices, store.Device{Key: "x", Score: math.NaN()}, store.Device{Key: "y"})
		}},
		{"bad ingest after devices", func(b *store.Batch) {
			b.Ingest = append(b.Ingest, store.IngestStats{Source: "other", Records: 1}, store.IngestStats{})
		}},
		{"bad checkpoint last", func(b *store.Batch) {
			b.Checkpoints = append(b.Checkpoints, store.Checkpoint{Key: ""})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, open)
			require.NoError(t, s.Commit(ctx, good(1)))
			before := snap(t, s, "src", "other")
			b := good(2)
			tc.spoil(&b)
			require.ErrorIs(t, s.Commit(ctx, b), store.ErrInvalid)
			require.Equal(t, before, snap(t, s, "src", "other"))
			// The store still works after a failed batch.
			require.NoError(t, s.Commit(ctx, good(3)))
			cp, _, err := s.Load(ctx, "src")
			require.NoError(t, err)
			require.Equal(t, "cp3", string(cp))
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		s := openStore(t, open)
		require.NoError(t, s.Commit(context.Background(), good(1)))
		before := snap(t, s, "src")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, s.Commit(ctx, good(2)), context.Canceled)
		require.Equal(t, before, snap(t, s, "src"))
	})
}

func testConcurrent(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open)
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- s.Commit(ctx, store.Batch{
					Devices:     []store.Device{{Key: fmt.Sprintf("w%d", w), LastSeen: at(i)}},
					Ingest:      []store.IngestStats{{Source: "src", Records: 1}},
					Checkpoints: []store.Checkpoint{{Key: fmt.Sprintf("w%d", w), Data: []byte{byte(i)}}},
				})
				if _, _, err := s.Load(ctx, "src"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st, err := s.IngestStats(ctx)
	require.NoError(t, err)
	require.Len(t, st, 1)
	require.EqualValues(t, workers*each, st[0].Records)
	ds, err := s.ListDevices(ctx)
	require.NoError(t, err)
	require.Len(t, ds, workers)
	for _, d := range ds {
		require.Equal(t, at(each-1), d.LastSeen)
	}
}

// testBreaches checks that breaches are kept once per ID (a replay never
// duplicates one), listed by time then ID, and that a bad one fails the
// whole batch.
func testBreaches(t *testing.T, open Opener) {
	s := openStore(t, open)
	ctx := context.Background()
	b1 := store.Breach{ID: "b-1", Time: at(20), Model: "M::A", Device: ip("10.0.0.1"), Score: 70, JSON: []byte(`{"id":"b-1"}`)}
	b2 := store.Breach{ID: "b-2", Time: at(10), Model: "M::B", Device: ip("10.0.0.2"), Score: 40, JSON: []byte(`{"id":"b-2"}`)}
	require.NoError(t, s.Commit(ctx, store.Batch{Breaches: []store.Breach{b1, b2}}))
	again := b1
	again.Score = 99 // a replay: the stored breach stays as it was
	require.NoError(t, s.Commit(ctx, store.Batch{Breaches: []store.Breach{again, b1}}))
	got, err := s.ListBreaches(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "b-2", got[0].ID, "by time")
	require.Equal(t, b1.Time, got[1].Time)
	require.Equal(t, 70, got[1].Score)
	require.Equal(t, ip("10.0.0.1"), got[1].Device)
	require.Equal(t, `{"id":"b-1"}`, string(got[1].JSON))

	err = s.Commit(ctx, store.Batch{
		Breaches:    []store.Breach{{ID: "b-3", Time: at(30), Model: "M::A"}, {Time: at(31)}},
		Checkpoints: []store.Checkpoint{{Key: "src", Data: []byte("x")}},
	})
	require.ErrorIs(t, err, store.ErrInvalid)
	got, err = s.ListBreaches(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2, "all or nothing")
	_, ok, err := s.Load(ctx, "src")
	require.NoError(t, err)
	require.False(t, ok)
}
