// Package store holds Vigil's persistent state behind small interfaces that
// its consumers declare and use: checkpoints of followed sources, the device
// inventory and ingest bookkeeping. The embedded default is store/sqlite, a
// single SQLite file; store/mem keeps the same contract in memory for tests
// and dry runs. A scaled-out PostgreSQL backend (later) satisfies the same
// interfaces; nothing here depends on SQL.
//
// All times a store returns are in UTC. A store never invents values:
// unknown fields stay zero.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Checkpoints keeps one opaque checkpoint per source key (a followed Zeek
// directory, a live interface, ...). The bytes belong to the source that
// wrote them; the store only keeps them. Load returns ok=false, and no
// error, for a key never saved.
type Checkpoints interface {
	Load(ctx context.Context, key string) ([]byte, bool, error)
	Save(ctx context.Context, key string, cp []byte) error
}

// Devices keeps the device inventory. UpsertDevices merges each
// observation into the stored row by the rules on Device; ListDevices
// returns every device sorted by Key; Device returns one by key, ok=false
// when it is unknown.
type Devices interface {
	UpsertDevices(ctx context.Context, ds []Device) error
	ListDevices(ctx context.Context) ([]Device, error)
	Device(ctx context.Context, key string) (Device, bool, error)
}

// Breaches keeps model breaches. A breach's ID is derived from its
// content, so committing one twice keeps one: a replayed record never
// duplicates a breach. ListBreaches returns them by time, then ID.
type Breaches interface {
	ListBreaches(ctx context.Context) ([]Breach, error)
}

// Breach is one model breach as stored: the fields queries select on, and
// the whole breach as its breaches.jsonl line (the store does not read it).
type Breach struct {
	ID     string
	Time   time.Time
	Model  string
	Device netip.Addr
	Score  int
	JSON   []byte
}

// Normalize returns b with its time in UTC, or an error wrapping
// ErrInvalid when it has no ID or a time the stores cannot keep.
func (b Breach) Normalize() (Breach, error) {
	if b.ID == "" {
		return b, fmt.Errorf("breach without id: %w", ErrInvalid)
	}
	var err error
	if b.Time, err = checkTime(b.Time); err != nil {
		return b, fmt.Errorf("breach %s: %w", b.ID, err)
	}
	if b.Time.IsZero() {
		return b, fmt.Errorf("breach %s without time: %w", b.ID, ErrInvalid)
	}
	return b, nil
}

// Ingest reports the ingest bookkeeping, one IngestStats per source key,
// sorted by Source.
type Ingest interface {
	IngestStats(ctx context.Context) ([]IngestStats, error)
}

// Committer applies a Batch atomically: all of it or, on any error, none
// of it. A source that saves its checkpoint in the same Batch as the state
// derived from the records before it is exactly-once across crashes: after
// a restart the stored checkpoint and the stored state agree.
type Committer interface {
	Commit(ctx context.Context, b Batch) error
}

// Store is everything a backend provides. Consumers should ask for the
// smallest interface above that they need, not for Store.
type Store interface {
	Checkpoints
	Devices
	Breaches
	Ingest
	Committer
	io.Closer
}

// Batch is one unit of work for Committer.Commit. Its parts are applied in
// order: devices (in slice order, as by UpsertDevices), breaches (a known
// ID is kept as it is), ingest deltas (as by IngestStats.Add), then
// checkpoints (as by Save). The store does not keep the slices or the
// bytes after Commit returns.
type Batch struct {
	Devices     []Device
	Breaches    []Breach
	Ingest      []IngestStats
	Checkpoints []Checkpoint
}

// Checkpoint is one source's opaque checkpoint.
type Checkpoint struct {
	Key  string
	Data []byte
}

// Device is one internal device as the store keeps it.
//
// An upsert merges an observation o into the stored row r like this:
//   - FirstSeen keeps the earliest and LastSeen the latest known time
//     (a zero time is unknown and never wins);
//   - IP, MAC, Hostname and Score take o's value when o is at least as new
//     as r (o.LastSeen >= r.LastSeen, unknown counting as oldest), so a
//     changed MAC or hostname replaces the old one and the score is the
//     one computed most recently in event time; an empty MAC or Hostname
//     or an invalid IP in o never replaces a known value, but fills an
//     empty one whatever its age.
//
// Callers therefore send the device's current score with every upsert.
type Device struct {
	// Key is the stable device key: the MAC when known, else the IP
	// (see DeviceKey). An upsert with an empty Key derives it.
	Key       string
	IP        netip.Addr
	MAC       string
	Hostname  string
	FirstSeen time.Time
	LastSeen  time.Time
	Score     float64
}

// DeviceKey returns the stable key for a device: its MAC in lower case
// when known, else its IP's text form; "" when both are unknown.
func DeviceKey(mac string, ip netip.Addr) string {
	if mac != "" {
		return strings.ToLower(mac)
	}
	if ip.IsValid() {
		return ip.String()
	}
	return ""
}

// ErrInvalid marks a record that a store refuses (an empty key, a time it
// cannot represent). Errors wrap it so callers can tell bad input from a
// failing backend.
var ErrInvalid = errors.New("invalid record")

// Normalize returns d with its Key derived when empty and its times in
// UTC, or an error wrapping ErrInvalid when it has no key, a score that
// is not a finite number, or a time outside what the stores keep (years 1678 to 2261, nanosecond integers).
func (d Device) Normalize() (Device, error) {
	if d.Key == "" {
		d.Key = DeviceKey(d.MAC, d.IP)
	}
	if d.Key == "" {
		return d, fmt.Errorf("device without mac or ip: %w", ErrInvalid)
	}
	if math.IsNaN(d.Score) || math.IsInf(d.Score, 0) {
		return d, fmt.Errorf("device %s: score %v: %w", d.Key, d.Score, ErrInvalid)
	}
	var err error
	if d.FirstSeen, err = checkTime(d.FirstSeen); err != nil {
		return d, fmt.Errorf("device %s first_seen: %w", d.Key, err)
	}
	if d.LastSeen, err = checkTime(d.LastSeen); err != nil {
		return d, fmt.Errorf("device %s last_seen: %w", d.Key, err)
	}
	return d, nil
}

// Merge returns the stored device r updated with the observation o by the
// rules on Device. Both must be normalized and share a Key. Backends that
// cannot run it (SQL) implement the same rules and are tested against it.
func Merge(r, o Device) Device {
	// The zero time (unknown) sorts before every time a store keeps, so
	// an observation of unknown age is newer only than another such.
	newer := !o.LastSeen.Before(r.LastSeen)
	out := r
	out.FirstSeen = minTime(r.FirstSeen, o.FirstSeen)
	out.LastSeen = maxTime(r.LastSeen, o.LastSeen)
	if o.IP.IsValid() && (newer || !r.IP.IsValid()) {
		out.IP = o.IP
	}
	if o.MAC != "" && (newer || r.MAC == "") {
		out.MAC = o.MAC
	}
	if o.Hostname != "" && (newer || r.Hostname == "") {
		out.Hostname = o.Hostname
	}
	if newer {
		out.Score = o.Score
	}
	return out
}

// IngestStats is the bookkeeping of one source key: what it is, which
// files or paths it read, how many records it read and skipped, how many
// events of each kind it produced, and the span of event time seen. In a
// Batch it is a delta, merged by Add.
type IngestStats struct {
	Source string
	// Kind names the source type ("zeek", "pcap", "iface", ...).
	Kind string
	// Paths lists the files or paths read, sorted, without duplicates.
	Paths   []string
	Records int64
	// Events counts events by kind name (event.Kind.String()).
	Events     map[string]int64
	Skipped    int64
	FirstEvent time.Time
	LastEvent  time.Time
	// UpdatedAt is set by the store, from its clock, when a delta is
	// committed; a delta's own UpdatedAt is ignored.
	UpdatedAt time.Time
}

// Normalize returns s with sorted, deduplicated Paths, zero event counts
// dropped and times in UTC, or an error wrapping ErrInvalid when it has no
// Source, a negative count or an unrepresentable time.
func (s IngestStats) Normalize() (IngestStats, error) {
	if s.Source == "" {
		return s, fmt.Errorf("ingest stats without source: %w", ErrInvalid)
	}
	if s.Records < 0 || s.Skipped < 0 {
		return s, fmt.Errorf("ingest %s: negative count: %w", s.Source, ErrInvalid)
	}
	s.Paths = slices.Clone(s.Paths)
	slices.Sort(s.Paths)
	s.Paths = slices.Compact(s.Paths)
	ev := make(map[string]int64, len(s.Events))
	for k, n := range s.Events {
		if n < 0 || k == "" {
			return s, fmt.Errorf("ingest %s: bad event count %q=%d: %w", s.Source, k, n, ErrInvalid)
		}
		if n > 0 {
			ev[k] = n
		}
	}
	s.Events = ev
	var err error
	if s.FirstEvent, err = checkTime(s.FirstEvent); err != nil {
		return s, fmt.Errorf("ingest %s first event: %w", s.Source, err)
	}
	if s.LastEvent, err = checkTime(s.LastEvent); err != nil {
		return s, fmt.Errorf("ingest %s last event: %w", s.Source, err)
	}
	if s.UpdatedAt, err = checkTime(s.UpdatedAt); err != nil {
		return s, fmt.Errorf("ingest %s updated_at: %w", s.Source, err)
	}
	return s, nil
}

// Add returns s merged with the normalized delta d: counters added, Paths
// united, Kind replaced when d names one, FirstEvent the earliest and
// LastEvent the latest known, UpdatedAt set to now.
func (s IngestStats) Add(d IngestStats, now time.Time) IngestStats {
	out := s
	out.Source = d.Source
	if d.Kind != "" {
		out.Kind = d.Kind
	}
	out.Paths = slices.Clone(s.Paths)
	for _, p := range d.Paths {
		if i, found := slices.BinarySearch(out.Paths, p); !found {
			out.Paths = slices.Insert(out.Paths, i, p)
		}
	}
	out.Records += d.Records
	out.Skipped += d.Skipped
	out.Events = maps.Clone(s.Events)
	if out.Events == nil {
		out.Events = map[string]int64{}
	}
	for k, n := range d.Events {
		out.Events[k] += n
	}
	out.FirstEvent = minTime(s.FirstEvent, d.FirstEvent)
	out.LastEvent = maxTime(s.LastEvent, d.LastEvent)
	out.UpdatedAt = now.UTC()
	return out
}

// minTimeKept and maxTimeKept bound the times a store keeps: backends
// store nanoseconds since 1970 in a signed 64-bit integer.
var (
	minTimeKept = time.Unix(0, -1<<63+1).UTC()
	maxTimeKept = time.Unix(0, 1<<63-1).UTC()
)

// checkTime returns t in UTC, or an error when a store cannot keep it.
func checkTime(t time.Time) (time.Time, error) {
	if t.IsZero() {
		return time.Time{}, nil
	}
	if t.Before(minTimeKept) || t.After(maxTimeKept) {
		return t, fmt.Errorf("time %s out of range: %w", t.Format(time.RFC3339), ErrInvalid)
	}
	return t.UTC(), nil
}

// minTime returns the earlier known time of a and b (zero is unknown).
func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// maxTime returns the later known time of a and b (zero is unknown).
func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
