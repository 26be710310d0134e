// Package mem is an in-memory store.Store for tests and dry runs. It keeps
// the same contract as store/sqlite (the shared suite in store/storetest
// runs against both) but forgets everything on Close.
package mem

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vigil-ndr/vigil/internal/store"
)

// Options configure a Store.
type Options struct {
	// Now stamps updated_at; nil means time.Now. Tests pass a fixed clock
	// so that results are deterministic.
	Now func() time.Time
}

// Store is an in-memory store.Store, safe for concurrent use.
type Store struct {
	now func() time.Time

	mu          sync.Mutex
	closed      bool
	devices     map[string]store.Device
	breaches    map[string]store.Breach
	ingest      map[string]store.IngestStats
	checkpoints map[string]checkpoint
}

type checkpoint struct {
	data      []byte
	updatedAt time.Time
}

// New returns an empty Store.
func New(opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{
		now:         now,
		devices:     map[string]store.Device{},
		breaches:    map[string]store.Breach{},
		ingest:      map[string]store.IngestStats{},
		checkpoints: map[string]checkpoint{},
	}
}

var errClosed = fmt.Errorf("mem store: closed")

// Load returns the checkpoint saved under key, a copy the caller owns.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, errClosed
	}
	cp, ok := s.checkpoints[key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, cp.data...), true, nil
}

// Save replaces the checkpoint saved under key.
func (s *Store) Save(ctx context.Context, key string, cp []byte) error {
	return s.Commit(ctx, store.Batch{Checkpoints: []store.Checkpoint{{Key: key, Data: cp}}})
}

// UpsertDevices merges ds into the inventory by the rules on store.Device,
// all or nothing.
func (s *Store) UpsertDevices(ctx context.Context, ds []store.Device) error {
	return s.Commit(ctx, store.Batch{Devices: ds})
}

// ListDevices returns every device sorted by key.
func (s *Store) ListDevices(ctx context.Context) ([]store.Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	out := make([]store.Device, 0, len(s.devices))
	for _, k := range slices.Sorted(maps.Keys(s.devices)) {
		out = append(out, s.devices[k])
	}
	return out, nil
}

// Device returns the device stored under key.
func (s *Store) Device(ctx context.Context, key string) (store.Device, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Device{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.Device{}, false, errClosed
	}
	d, ok := s.devices[key]
	return d, ok, nil
}

// IngestStats returns the bookkeeping of every source, sorted by source.
func (s *Store) IngestStats(ctx context.Context) ([]store.IngestStats, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	out := make([]store.IngestStats, 0, len(s.ingest))
	for _, k := range slices.Sorted(maps.Keys(s.ingest)) {
		st := s.ingest[k]
		st.Paths = slices.Clone(st.Paths)
		st.Events = maps.Clone(st.Events)
		out = append(out, st)
	}
	return out, nil
}

// Commit applies b all or nothing: every change is first staged, and the
// stored maps change only once the whole batch has been checked.
func (s *Store) Commit(ctx context.Context, b store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	now := s.now().UTC()
	devs := map[string]store.Device{}
	for i, d := range b.Devices {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := d.Normalize()
		if err != nil {
			return fmt.Errorf("commit: device %d: %w", i, err)
		}
		r, ok := devs[d.Key]
		if !ok {
			r, ok = s.devices[d.Key]
		}
		if ok {
			d = store.Merge(r, d)
		}
		devs[d.Key] = d
	}
	brs := map[string]store.Breach{}
	for i, br := range b.Breaches {
		br, err := br.Normalize()
		if err != nil {
			return fmt.Errorf("commit: breach %d: %w", i, err)
		}
		if _, known := s.breaches[br.ID]; !known {
			if _, dup := brs[br.ID]; !dup {
				br.JSON = bytes.Clone(br.JSON)
				brs[br.ID] = br
			}
		}
	}
	ing := map[string]store.IngestStats{}
	for i, st := range b.Ingest {
		st, err := st.Normalize()
		if err != nil {
			return fmt.Errorf("commit: ingest %d: %w", i, err)
		}
		r, ok := ing[st.Source]
		if !ok {
			r = s.ingest[st.Source]
		}
		ing[st.Source] = r.Add(st, now)
	}
	cps := map[string]checkpoint{}
	for i, cp := range b.Checkpoints {
		if cp.Key == "" {
			return fmt.Errorf("commit: checkpoint %d without key: %w", i, store.ErrInvalid)
		}
		cps[cp.Key] = checkpoint{data: bytes.Clone(cp.Data), updatedAt: now}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	maps.Copy(s.devices, devs)
	maps.Copy(s.breaches, brs)
	maps.Copy(s.ingest, ing)
	maps.Copy(s.checkpoints, cps)
	return nil
}

// ListBreaches returns every breach by time, then ID.
func (s *Store) ListBreaches(ctx context.Context) ([]store.Breach, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	out := make([]store.Breach, 0, len(s.breaches))
	for _, b := range s.breaches {
		b.JSON = bytes.Clone(b.JSON)
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Close forgets everything; later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.devices, s.breaches, s.ingest, s.checkpoints = nil, nil, nil, nil
	return nil
}

var _ store.Store = (*Store)(nil)
