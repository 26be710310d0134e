// Package beacon implements "Compromise::Beaconing Activity To External
// Rare": a device calls one rare external endpoint on a steady rhythm.
// Implants check in with their controller on a timer, with jitter to look
// less mechanical, and keep doing so for days; people and most software
// reach rare endpoints irregularly, and the periodic software that every
// machine runs (updaters, NTP, push, telemetry) talks to endpoints that
// many devices share (MITRE T1071 Application Layer Protocol, T1573
// Encrypted Channel).
//
// For every (device, external address) and every (device, host name) —
// the name from SNI, HTTP Host or the device's DNS answer, so that a
// beacon spread over a CDN's addresses is one beacon, and the target of a
// proxy's CONNECT or proxied request is the real destination — the model
// keeps the start times of the last max_starts check-ins (sub-second, in
// a window of up to window) and the bytes each sent. Connections closer
// than merge_gap are one check-in. Failed TCP attempts are a separate
// series whose retries within attempt_gap of each other are one attempt
// episode, so a dead server retried every second never looks like a
// one-second beacon.
//
// The period is estimated robustly: from the median gap and lower
// quantiles, each refined by folding every gap onto the nearest multiple
// of the candidate (a missed check-in is a gap of two periods); gaps
// longer than max_fold periods are sleeps (nights, weekends) and are left
// out of the active spans, so a business-hours beacon scores as well as a
// round-the-clock one. Sub-scores: timing (the folded jitter's median
// absolute deviation, and the share of gaps of exactly one period),
// coverage (check-ins seen of those expected in the active spans), size
// (MAD/median of bytes sent) and volume. Only endpoints that are rare
// (baseline definition) are followed; the score rises with the
// endpoint's newness, a bare address, a port other than 80/443, and a user
// agent or TLS fingerprint new to the device.
//
// State is bounded: max_starts check-ins per series, series idle longer
// than window are forgotten at the hourly sweep, and at most max_series
// series are kept (the least recently active go first).
package beacon

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "beaconing"

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Compromise::Beaconing Activity To External Rare",
		MITRE: []string{"T1071", "T1573"},
		Reads: []event.Kind{event.KindConn, event.KindTLS, event.KindHTTP},
		Summary: "regular, periodic connections (jitter, missed check-ins and sleep periods tolerated) from one " +
			"device to a rare external address or host name",
		Learning: "Needs no baseline to see a rhythm: a short capture fires once a series holds min_conns " +
			"check-ins over min_span (or fast_min_conns for fast beacons). While the network is learning " +
			"every endpoint is rare and new; newness counts in proportion to how much the network has " +
			"learned, so first-day breaches score lower, and endpoints many devices use never count.",
		Cooldown: 7 * 24 * time.Hour,
		New: func() detect.Model {
			return &Model{
				Window:       units.Duration(7 * 24 * time.Hour),
				MaxStarts:    384,
				MinConns:     12,
				MinSpan:      units.Duration(time.Hour),
				FastMinConns: 100,
				MergeGap:     units.Duration(500 * time.Millisecond),
				AttemptGap:   units.Duration(10 * time.Second),
				MinPeriod:    units.Duration(time.Second),
				MaxPeriod:    units.Duration(6 * time.Hour),
				MaxFold:      8,
				MinTiming:    0.45,
				MinScore:     33,
				RepeatAfter:  units.Duration(7 * 24 * time.Hour),
				MaxSeries:    1 << 21,
			}
		},
	})
}

// Model holds the thresholds and the per-series check-in times.
type Model struct {
	// Window is how far back check-ins are kept.
	Window units.Duration `yaml:"window"`
	// MaxStarts bounds the check-ins kept per series (the oldest go).
	MaxStarts int `yaml:"max_starts"`
	// MinConns check-ins over at least MinSpan of activity make a series
	// eligible; FastMinConns check-ins make it eligible over any span.
	MinConns     int            `yaml:"min_conns"`
	MinSpan      units.Duration `yaml:"min_span"`
	FastMinConns int            `yaml:"fast_min_conns"`
	// MergeGap: connections starting closer than this are one check-in
	// (a beacon that opens two connections at once).
	MergeGap units.Duration `yaml:"merge_gap"`
	// AttemptGap: failed attempts each within this of the previous are one
	// episode of retries.
	AttemptGap units.Duration `yaml:"attempt_gap"`
	// MinPeriod and MaxPeriod bound the periods considered.
	MinPeriod units.Duration `yaml:"min_period"`
	MaxPeriod units.Duration `yaml:"max_period"`
	// MaxFold is the longest gap, in periods, that counts as missed
	// check-ins; longer gaps are sleeps.
	MaxFold int `yaml:"max_fold"`
	// MinTiming is the least timing sub-score (0–1) that fires.
	MinTiming float64 `yaml:"min_timing"`
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
	// RepeatAfter is how long a series that fired stays quiet unless its
	// score rises by 10 or more.
	RepeatAfter units.Duration `yaml:"repeat_after"`
	// MaxSeries bounds the series kept.
	MaxSeries int `yaml:"max_series"`

	byIP      map[ipKey]*series
	byHost    map[hostKey]*series
	agents    *detect.Cache[string, uint8] // uid -> novelty flags of its TLS/HTTP record
	an        analyser
	lastSweep int64
}

type ipKey struct {
	dev uint32
	ip  netip.Addr
}

type hostKey struct {
	dev  uint32
	host string
}

// Novelty flags, from a connection's TLS or HTTP record.
const (
	newUA uint8 = 1 << iota
	newJA3
	newJA4
	sawUA
	// tlsFailed: the TLS handshake never completed (a client retrying a
	// server that will not talk to it, not a check-in).
	tlsFailed
)

// series is one device's check-ins to one endpoint.
type series struct {
	ts    []int64  // check-in starts, unix nanoseconds, ascending
	up    []uint32 // bytes sent per check-in
	first int64    // first check-in ever (the ring may have dropped it)
	last  int64    // latest connection start
	conns uint32   // connections, merged or not
	// since counts check-ins added since the last scoring.
	since   uint32
	fired   uint8 // score of the last breach
	firedAt int64
	port    uint16
	agent   uint8  // novelty of the client at the series' start, 0–255
	multi   bool   // more than one name (IP series) or address (host series)
	name    string // IP series: the last host name; host series: unused
	ip      netip.Addr
	ua      string
	fails   *series // failed attempts, by episode
}

// agentConns is how many of a series' first connections are checked for
// a client new to the device.
const agentConns = 3

// agentNovelty grades a connection's novelty flags.
func agentNovelty(f uint8) float64 {
	switch {
	case f&newUA != 0:
		return 1
	case f&(newJA3|newJA4) != 0:
		return 0.7
	}
	return 0
}

// uidCacheSize bounds the TLS/HTTP novelty remembered per uid.
const uidCacheSize = 1 << 14

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.Window < units.Duration(time.Hour):
		return fmt.Errorf("window: must be at least 1h, got %s", m.Window)
	case m.MaxStarts < 16 || m.MaxStarts > 1<<16:
		return fmt.Errorf("max_starts: must be 16–65536, got %d", m.MaxStarts)
	case m.MinConns < 4 || m.MinConns > m.MaxStarts:
		return fmt.Errorf("min_conns: must be 4–max_starts (%d), got %d", m.MaxStarts, m.MinConns)
	case m.FastMinConns < m.MinConns:
		return fmt.Errorf("fast_min_conns: must be at least min_conns (%d), got %d", m.MinConns, m.FastMinConns)
	case m.MinSpan < 0:
		return fmt.Errorf("min_span: must not be negative, got %s", m.MinSpan)
	case m.MergeGap < 0 || m.AttemptGap < 0:
		return fmt.Errorf("merge_gap, attempt_gap: must not be negative")
	case m.MinPeriod <= m.MergeGap:
		return fmt.Errorf("min_period: must be above merge_gap (%s), got %s", m.MergeGap, m.MinPeriod)
	case m.MaxPeriod < m.MinPeriod:
		return fmt.Errorf("max_period: must be at least min_period (%s), got %s", m.MinPeriod, m.MaxPeriod)
	case m.MaxFold < 2:
		return fmt.Errorf("max_fold: must be at least 2, got %d", m.MaxFold)
	case m.MinTiming < 0 || m.MinTiming > 1:
		return fmt.Errorf("min_timing: must be 0–1, got %g", m.MinTiming)
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	case m.RepeatAfter < 0:
		return fmt.Errorf("repeat_after: must not be negative, got %s", m.RepeatAfter)
	case m.MaxSeries < 1:
		return fmt.Errorf("max_series: must be at least 1, got %d", m.MaxSeries)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

func (m *Model) init() {
	if m.byIP == nil {
		m.byIP = make(map[ipKey]*series)
		m.byHost = make(map[hostKey]*series)
		m.agents = detect.NewCache[string, uint8](uidCacheSize)
		m.an = analyser{minPeriod: m.MinPeriod.D().Seconds(), maxPeriod: m.MaxPeriod.D().Seconds(), maxFold: m.MaxFold}
	}
}

// Observe records a connection's start in its series and judges them.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	if c.Contact == nil {
		return nil
	}
	m.init()
	switch x := e.(type) {
	case *event.TLS:
		m.noteAgent(c, x.UID)
		if !x.Established && x.UID != "" {
			f, _ := m.agents.Get(x.UID)
			m.agents.Put(x.UID, f|tlsFailed)
		}
	case *event.HTTP:
		m.noteAgent(c, x.UID)
	case *event.Conn:
		return m.conn(c, x)
	}
	return nil
}

// noteAgent remembers whether the connection's user agent or TLS
// fingerprints are new to the device (the profile has not learned them
// yet when the model sees the record).
func (m *Model) noteAgent(c *detect.Context, uid string) {
	if uid == "" {
		return
	}
	var f uint8
	d := c.Contact.Device
	if ua := c.Contact.UserAgent; ua != "" {
		f |= sawUA
		if !has(d.UserAgents.Has(ua)) {
			f |= newUA
		}
	}
	if c.Contact.JA3 != "" && !has(d.JA3.Has(c.Contact.JA3)) {
		f |= newJA3
	}
	if c.Contact.JA4 != "" && !has(d.JA4.Has(c.Contact.JA4)) {
		f |= newJA4
	}
	if f == 0 {
		return // nothing to remember: most handshakes use a known client
	}
	old, _ := m.agents.Get(uid)
	m.agents.Put(uid, old|f)
}

// skipped reports whether a connection is periodic by its protocol's
// nature and judged by other models: NTP polls and DNS lookups.
func skipped(x *event.Conn) bool {
	if strings.Contains(x.Service, "dns") || strings.Contains(x.Service, "ntp") {
		return true
	}
	p := x.ID.RespP
	return p == 53 || (x.Proto == event.ProtoUDP && p == 123)
}

// broadcast reports whether a is the IPv4 limited broadcast address
// (a directed broadcast is in an internal range, so not external).
func broadcast(a netip.Addr) bool {
	return a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// proxied reports whether a connection to an internal address names an
// external destination itself (an HTTP proxy's CONNECT target or the
// Host of a proxied request).
func proxied(c *detect.Context) bool {
	h := c.Contact.Host
	if h == "" || c.Contact.HostFromDNS {
		return false
	}
	_, icann := publicsuffix.PublicSuffix(h)
	return icann
}

func (m *Model) conn(c *detect.Context, x *event.Conn) []breach.Breach {
	if (x.Proto != event.ProtoTCP && x.Proto != event.ProtoUDP) || skipped(x) {
		return nil
	}
	// Multicast and broadcast discovery (SSDP, mDNS, NetBIOS) is periodic
	// by design and reaches no external host.
	ext := c.Contact.External && c.Contact.IP.IsGlobalUnicast() && !broadcast(c.Contact.IP)
	if !ext && !proxied(c) {
		return nil
	}
	now := x.TS.UnixNano()
	m.sweep(c.Now.UnixNano())
	flags, _ := m.agents.Get(x.UID)
	dev := c.Contact.Device.ID
	var out []breach.Breach
	if h := c.Contact.Host; h != "" {
		k := hostKey{dev, h}
		if p := c.HostPrevalence(); m.popular(c, p.Others) {
			delete(m.byHost, k)
		} else {
			s := m.byHost[k]
			if s == nil {
				s = &series{ip: c.Contact.IP}
				m.byHost[k] = s
			}
			if s.ip != c.Contact.IP {
				s.multi = true
				s.ip = c.Contact.IP
			}
			if b, ok := m.add(c, s, x, now, flags, h); ok {
				out = append(out, b)
			}
		}
	}
	if ext {
		k := ipKey{dev, c.Contact.IP}
		if p := c.IPPrevalence(); m.popular(c, p.Others) {
			delete(m.byIP, k)
		} else {
			s := m.byIP[k]
			if s == nil {
				s = &series{}
				m.byIP[k] = s
			}
			if h := c.Contact.Host; h != "" {
				if s.name != "" && s.name != h {
					s.multi = true
				}
				s.name = h
			}
			if b, ok := m.add(c, s, x, now, flags, ""); ok {
				// A named series that never changed names is the host
				// series' finding.
				if s.name == "" || s.multi {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// popular reports whether an endpoint is too common to follow.
func (m *Model) popular(c *detect.Context, others int) bool {
	return others > c.Net.RareLimit()
}

// add records the connection in s (or its failed attempts) and scores
// the series when enough has changed.
func (m *Model) add(c *detect.Context, s *series, x *event.Conn, now int64, flags uint8, host string) (breach.Breach, bool) {
	s.conns++
	s.last = max(s.last, now)
	s.port = x.ID.RespP
	if flags&sawUA != 0 {
		s.ua = c.Contact.UserAgent
	}
	// A client new to the device tells only when the series began with
	// it, and only as much as the device's profile has learned.
	if s.conns <= agentConns {
		if l := c.Contact.Device.Learned(c.Contact.TS); l > 0 {
			s.agent = max(s.agent, uint8(math.Round(agentNovelty(flags)*l*255)))
		}
	}
	tgt := s
	gap := int64(m.MergeGap.D())
	if x.Proto == event.ProtoTCP && (!c.Contact.Established || flags&tlsFailed != 0) {
		if s.fails == nil {
			s.fails = &series{}
		}
		tgt = s.fails
		tgt.conns++
		gap = int64(m.AttemptGap.D())
		// Retries chain: each within AttemptGap of the last attempt.
		if tgt.last > 0 && now-tgt.last < gap && now >= tgt.last {
			tgt.last = now
			return breach.Breach{}, false
		}
		tgt.last = max(tgt.last, now)
		gap = 0
	}
	if !m.insert(tgt, now, x.OrigBytes, gap) {
		return breach.Breach{}, false
	}
	tgt.since++
	n := len(tgt.ts)
	if n < m.MinConns || tgt.since < uint32(max(1, n/16)) {
		return breach.Breach{}, false
	}
	tgt.since = 0
	b, ok := m.judge(c, s, tgt, host, tgt != s)
	if ok && x.UID != "" {
		b.UIDs = []string{x.UID}
	}
	return b, ok
}

// insert adds a check-in at t, merging it with a neighbour closer than
// gap; it reports whether a new check-in was added.
func (m *Model) insert(s *series, t, up, gap int64) bool {
	u := uint32(min(max(up, 0), math.MaxUint32))
	i, _ := slices.BinarySearch(s.ts, t)
	if i > 0 && t-s.ts[i-1] < gap {
		s.up[i-1] = satAdd(s.up[i-1], u)
		return false
	}
	if i < len(s.ts) && s.ts[i]-t < gap {
		s.ts[i] = t
		s.up[i] = satAdd(s.up[i], u)
		return false
	}
	if s.first == 0 || t < s.first {
		s.first = t
	}
	// Forget check-ins older than the window, then the oldest beyond
	// MaxStarts.
	cut := max(s.last, t) - int64(m.Window.D())
	drop := 0
	for drop < len(s.ts) && s.ts[drop] < cut {
		drop++
	}
	if len(s.ts)-drop >= m.MaxStarts {
		drop = len(s.ts) - m.MaxStarts + 1
	}
	if drop > 0 {
		if i < drop {
			return false // older than everything kept
		}
		s.ts = s.ts[:copy(s.ts, s.ts[drop:])]
		s.up = s.up[:copy(s.up, s.up[drop:])]
		i -= drop
	}
	if len(s.ts) == cap(s.ts) {
		// Grow by doubling, but never past MaxStarts: a full series
		// holds no slack.
		c := min(max(2*cap(s.ts), 8), m.MaxStarts)
		s.ts = append(make([]int64, 0, c), s.ts...)
		s.up = append(make([]uint32, 0, c), s.up...)
	}
	s.ts = slices.Insert(s.ts, i, t)
	s.up = slices.Insert(s.up, i, u)
	return true
}

func satAdd(a, b uint32) uint32 {
	if a > math.MaxUint32-b {
		return math.MaxUint32
	}
	return a + b
}

// sweep forgets, once an hour of event time, series idle for a window,
// and the least recently active when there are too many.
func (m *Model) sweep(now int64) {
	over := len(m.byIP)+len(m.byHost) > m.MaxSeries
	if now-m.lastSweep < int64(time.Hour) && !over {
		return
	}
	m.lastSweep = now
	cut := now - int64(m.Window.D())
	if over {
		// Keep the more recently active: raise the cut until an eighth
		// would go, approximately, by the median idle time of a sample.
		var sample []int64
		for _, s := range m.byIP {
			if sample = append(sample, s.last); len(sample) >= 1024 {
				break
			}
		}
		for _, s := range m.byHost {
			if sample = append(sample, s.last); len(sample) >= 2048 {
				break
			}
		}
		slices.Sort(sample)
		cut = max(cut, sample[len(sample)/8])
	}
	for k, s := range m.byIP {
		if s.last <= cut {
			delete(m.byIP, k)
		}
	}
	for k, s := range m.byHost {
		if s.last <= cut {
			delete(m.byHost, k)
		}
	}
}

var _ detect.Model = (*Model)(nil)

func has(_ time.Time, ok bool) bool { return ok }
