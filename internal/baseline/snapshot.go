package baseline

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// snapshotVersion is the format of Save's output; Load refuses others.
const snapshotVersion = 1

// The snapshot types mirror the baselines' state with exported fields.
// JSON sorts map keys, so the same baselines always save to the same bytes.
type snapshot struct {
	Format   string                `json:"format"`
	Version  int                   `json:"version"`
	Network  netSnap               `json:"network"`
	Profiles []profSnap            `json:"profiles"`
	ByIP     map[netip.Addr]uint32 `json:"by_ip"`
	Swept    int64                 `json:"swept"`
}

type netSnap struct {
	Start, Now, LastSweep int64
	IPs                   map[netip.Addr]epSnap
	Hosts, Domains        map[string]epSnap
	Devices               map[uint32]int64
}

type epSnap struct {
	First, Last int64
	Members     [][2]int64  `json:",omitempty"` // device, last contact
	Sketch      *sketchSnap `json:",omitempty"`
}

type sketchSnap struct {
	Span    int64
	Start   [hllBuckets]int64
	Buckets [hllBuckets][]byte
}

type profSnap struct {
	ID                                   uint32
	Key                                  string
	First, Last                          time.Time
	Hosts, Domains, UserAgents, JA3, JA4 map[string]int64
	IPs                                  map[netip.Addr]int64
	Ports                                map[uint32]int64
	Hours                                [168]uint32
	Up, Down, HourlyUp, ConnsPerHour     []byte
	Hour                                 int64
	HourConns, HourUp                    float64
}

const snapshotFormat = "vigil-baseline"

// Save writes the baselines (every device's pattern of life and the
// network's prevalence) as gzip-compressed JSON, so that a later run can
// continue learning where this one stopped (Load). Models' own short
// windows are not part of it.
func (b *Baselines) Save(w io.Writer) error {
	s := snapshot{Format: snapshotFormat, Version: snapshotVersion, ByIP: b.byIP, Swept: b.swept}
	n := b.Net
	s.Network = netSnap{Start: n.start, Now: n.now, LastSweep: n.lastSweep, Devices: n.devices,
		IPs: make(map[netip.Addr]epSnap, len(n.ips)), Hosts: make(map[string]epSnap, len(n.names[0])),
		Domains: make(map[string]epSnap, len(n.names[1]))}
	for k, e := range n.ips {
		s.Network.IPs[k] = snapEndpoint(e)
	}
	for k, e := range n.names[0] {
		s.Network.Hosts[k] = snapEndpoint(e)
	}
	for k, e := range n.names[1] {
		s.Network.Domains[k] = snapEndpoint(e)
	}
	for _, p := range b.profiles {
		ps := profSnap{ID: p.ID, Key: p.Key, First: p.First.UTC(), Last: p.Last.UTC(),
			Hosts: p.Hosts.snap(), Domains: p.Domains.snap(), UserAgents: p.UserAgents.snap(), JA3: p.JA3.snap(), JA4: p.JA4.snap(),
			IPs: p.IPs, Ports: p.Ports, Hours: p.Hours, Hour: p.hour, HourConns: p.hourConns, HourUp: p.hourUp}
		p.Up.Encode(&ps.Up, true)
		p.Down.Encode(&ps.Down, true)
		p.HourlyUp.Encode(&ps.HourlyUp, true)
		p.ConnsPerHour.Encode(&ps.ConnsPerHour, true)
		s.Profiles = append(s.Profiles, ps)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(zw)
	if err := enc.Encode(&s); err != nil {
		return fmt.Errorf("save baseline: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("save baseline: %w", err)
	}
	return nil
}

func snapEndpoint(e *endpoint) epSnap {
	s := epSnap{First: e.first, Last: e.last}
	for _, m := range e.members {
		s.Members = append(s.Members, [2]int64{int64(m.dev), m.last})
	}
	if w := e.sketch; w != nil {
		s.Sketch = &sketchSnap{Span: w.span, Start: w.start}
		for i, sk := range w.buckets {
			if sk != nil {
				s.Sketch.Buckets[i], _ = sk.MarshalBinary()
			}
		}
	}
	return s
}

func (s *Set) snap() map[string]int64 {
	if s.m == nil {
		return nil
	}
	s.flush()
	return s.m
}

// ErrBadSnapshot marks a baseline file that is not one, or is damaged.
var ErrBadSnapshot = errors.New("not a Vigil baseline file")

// Load reads baselines written by Save, to continue learning from them
// with the given settings (which need not be the ones they were learned
// with: a longer window simply keeps more from now on).
func Load(r io.Reader, set Settings, internal func(netip.Addr) bool) (*Baselines, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	var s snapshot
	if err := json.NewDecoder(zr).Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	if s.Format != snapshotFormat {
		return nil, ErrBadSnapshot
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("%w: format version %d, this Vigil reads %d", ErrBadSnapshot, s.Version, snapshotVersion)
	}
	b := New(set, internal)
	n := b.Net
	n.start, n.now, n.lastSweep = s.Network.Start, s.Network.Now, s.Network.LastSweep
	if s.Network.Devices != nil {
		n.devices = s.Network.Devices
	}
	for k, e := range s.Network.IPs {
		if n.ips[k], err = loadEndpoint(e); err != nil {
			return nil, err
		}
	}
	for i, t := range []map[string]epSnap{s.Network.Hosts, s.Network.Domains} {
		for k, e := range t {
			if n.names[i][k], err = loadEndpoint(e); err != nil {
				return nil, err
			}
		}
	}
	for i, ps := range s.Profiles {
		if ps.ID != uint32(i) {
			return nil, fmt.Errorf("%w: profile %d has id %d", ErrBadSnapshot, i, ps.ID)
		}
		p := newProfile(ps.ID, ps.Key, set, ps.First)
		p.Last, p.Hours, p.hour, p.hourConns, p.hourUp = ps.Last, ps.Hours, ps.Hour, ps.HourConns, ps.HourUp
		for _, x := range []struct {
			dst *Set
			src map[string]int64
		}{{&p.Hosts, ps.Hosts}, {&p.Domains, ps.Domains}, {&p.UserAgents, ps.UserAgents}, {&p.JA3, ps.JA3}, {&p.JA4, ps.JA4}} {
			x.dst.m = x.src
		}
		if ps.IPs != nil {
			p.IPs = ps.IPs
		}
		if ps.Ports != nil {
			p.Ports = ps.Ports
		}
		for _, x := range []struct {
			dst interface{ DecodeAndMergeWith([]byte) error }
			src []byte
		}{{p.Up, ps.Up}, {p.Down, ps.Down}, {p.HourlyUp, ps.HourlyUp}, {p.ConnsPerHour, ps.ConnsPerHour}} {
			if len(x.src) > 0 {
				if err := x.dst.DecodeAndMergeWith(x.src); err != nil {
					return nil, fmt.Errorf("%w: profile %s: %v", ErrBadSnapshot, ps.Key, err)
				}
			}
		}
		b.profiles = append(b.profiles, p)
		b.byKey[p.Key] = p.ID
	}
	for a, id := range s.ByIP {
		if int(id) >= len(b.profiles) {
			return nil, fmt.Errorf("%w: address %s names unknown profile %d", ErrBadSnapshot, a, id)
		}
		b.byIP[a] = id
	}
	b.swept = s.Swept
	return b, nil
}

func loadEndpoint(s epSnap) (*endpoint, error) {
	e := &endpoint{first: s.First, last: s.Last}
	for _, m := range s.Members {
		e.members = append(e.members, member{dev: uint32(m[0]), last: m[1]})
	}
	if s.Sketch != nil {
		if s.Sketch.Span <= 0 {
			return nil, fmt.Errorf("%w: sketch span %d", ErrBadSnapshot, s.Sketch.Span)
		}
		w := &windowSketch{span: s.Sketch.Span, start: s.Sketch.Start, dirty: true}
		for i, raw := range s.Sketch.Buckets {
			if len(raw) == 0 {
				continue
			}
			sk := &hyperloglog.Sketch{}
			if err := sk.UnmarshalBinary(raw); err != nil {
				return nil, fmt.Errorf("%w: sketch: %v", ErrBadSnapshot, err)
			}
			w.buckets[i] = sk
		}
		e.sketch = w
	}
	return e, nil
}
