package baseline

import (
	"net/netip"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
)

// Set is a bounded set of strings with the last time each was seen. When
// it is full, the least recently seen eighth is dropped, so memory is
// bounded and what remains is what the device does now. The most recent
// key is kept beside the map, because a device repeats itself (the same
// user agent, the same fingerprint) and most adds then touch no map.
type Set struct {
	m     map[string]int64
	max   int
	lastK string // always in m when set
	lastT int64
	dirty bool // lastT is newer than m[lastK]
}

func newSet(max int) Set { return Set{max: max} }

// Has reports whether k was seen, and when last.
func (s *Set) Has(k string) (time.Time, bool) {
	if k != "" && k == s.lastK {
		return time.Unix(s.lastT, 0).UTC(), true
	}
	t, ok := s.m[k]
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(t, 0).UTC(), true
}

// Len returns the number of entries.
func (s *Set) Len() int { return len(s.m) }

func (s *Set) add(k string, now int64) {
	if k == "" {
		return
	}
	if k == s.lastK {
		s.lastT, s.dirty = now, true
		return
	}
	if s.m == nil {
		s.m = make(map[string]int64, 8)
	}
	s.flush()
	if len(s.m) >= s.max {
		if _, ok := s.m[k]; !ok {
			evictOldest(s.m, s.max/8)
			if _, kept := s.m[s.lastK]; !kept {
				s.lastK = ""
			}
		}
	}
	s.m[k] = now
	s.lastK, s.lastT = k, now
}

// flush writes the latest key's time back to the map.
func (s *Set) flush() {
	if s.dirty {
		s.m[s.lastK] = s.lastT
		s.dirty = false
	}
}

func (s *Set) expire(before int64) {
	s.flush()
	for k, t := range s.m {
		if t < before {
			delete(s.m, k)
		}
	}
	if _, kept := s.m[s.lastK]; !kept {
		s.lastK, s.lastT = "", 0
	}
}

// evictOldest drops the n least recently seen entries.
func evictOldest[K comparable](m map[K]int64, n int) {
	if n < 1 {
		n = 1
	}
	// A threshold from a coarse histogram of ages avoids sorting the map.
	var lo, hi int64 = 1 << 62, 0
	for _, t := range m {
		lo, hi = min(lo, t), max(hi, t)
	}
	cut := lo
	for step := (hi - lo) / 64; ; cut += max(step, 1) {
		c := 0
		for _, t := range m {
			if t <= cut {
				c++
			}
		}
		if c >= n || cut >= hi {
			break
		}
	}
	for k, t := range m {
		if t <= cut {
			delete(m, k)
		}
	}
}

// Profile is one device's pattern of life.
type Profile struct {
	// ID is the device's index; Key its identity ("mac:…" when DHCP gave
	// its MAC, else "ip:…").
	ID  uint32
	Key string
	// First and Last bound the device's activity.
	First, Last time.Time

	// Hosts, Domains and UserAgents, JA3 and JA4 are what the device used,
	// with when it last did.
	Hosts, Domains, UserAgents, JA3, JA4 Set
	// IPs are external and internal peers the device connected to.
	IPs map[netip.Addr]int64
	// Ports are (protocol, responder port) pairs the device connected to.
	Ports map[uint32]int64

	// Hours counts connections by hour of the week (0 = Monday 00:00 in
	// the configured zone).
	Hours [168]uint32
	// Up and Down are the distributions of bytes sent and received per
	// external connection; HourlyUp the bytes sent per active hour.
	Up, Down, HourlyUp *ddsketch.DDSketch
	// ConnsPerHour is the distribution of connections per active hour.
	ConnsPerHour *ddsketch.DDSketch

	hour        int64 // current hour (unix/3600)
	hourConns   float64
	hourUp      float64
	maxPeers    int
	learnPeriod time.Duration
}

func newSketch() *ddsketch.DDSketch {
	// 2 % relative accuracy over at most 256 bins (values up to ~10^4
	// times apart are kept exactly; the lowest collapse first).
	s, _ := ddsketch.LogCollapsingLowestDenseDDSketch(0.02, 256)
	return s
}

func newProfile(id uint32, key string, set Settings, ts time.Time) *Profile {
	return &Profile{
		ID: id, Key: key, First: ts, Last: ts,
		Hosts: newSet(set.MaxPeers), Domains: newSet(set.MaxPeers), UserAgents: newSet(256),
		JA3: newSet(256), JA4: newSet(256),
		IPs: make(map[netip.Addr]int64), Ports: make(map[uint32]int64),
		Up: newSketch(), Down: newSketch(), HourlyUp: newSketch(), ConnsPerHour: newSketch(),
		maxPeers: set.MaxPeers, learnPeriod: set.LearningPeriod.D(),
	}
}

// Learned returns how far the device is through its learning period, from
// 0 to 1.
func (p *Profile) Learned(now time.Time) float64 {
	return learned(now.Unix()-p.First.Unix(), p.learnPeriod)
}

// HasIP reports whether the device connected to a in the window.
func (p *Profile) HasIP(a netip.Addr) bool { _, ok := p.IPs[a]; return ok }

// HasPort reports whether the device connected to this protocol and port.
func (p *Profile) HasPort(proto uint8, port uint16) bool {
	_, ok := p.Ports[uint32(proto)<<16|uint32(port)]
	return ok
}

// UpQuantile returns the q-quantile of bytes sent per external connection,
// and false when the device has sent too few connections to say.
func (p *Profile) UpQuantile(q float64) (float64, bool) {
	if p.Up.GetCount() < 20 {
		return 0, false
	}
	v, err := p.Up.GetValueAtQuantile(q)
	return v, err == nil
}

// HourlyUpQuantile is UpQuantile for bytes sent per active hour.
func (p *Profile) HourlyUpQuantile(q float64) (float64, bool) {
	if p.HourlyUp.GetCount() < 12 {
		return 0, false
	}
	v, err := p.HourlyUp.GetValueAtQuantile(q)
	return v, err == nil
}

// HourShare returns the share of the device's connections made in the
// hour of the week that t falls in (1/168 means flat).
func (p *Profile) HourShare(t time.Time) float64 {
	var total uint32
	for _, c := range p.Hours {
		total += c
	}
	if total == 0 {
		return 0
	}
	return float64(p.Hours[hourOfWeek(t)]) / float64(total)
}

func hourOfWeek(t time.Time) int {
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return wd*24 + t.Hour()
}

func (p *Profile) touch(ts time.Time) {
	if ts.After(p.Last) {
		p.Last = ts
	}
}

// connection folds one connection into the profile.
func (p *Profile) connection(ts time.Time, local time.Time, proto uint8, port uint16, peer netip.Addr, external bool, up, down int64) {
	now := ts.Unix()
	p.touch(ts)
	p.Hours[hourOfWeek(local)]++
	if _, ok := p.IPs[peer]; !ok && len(p.IPs) >= p.maxPeers {
		evictOldest(p.IPs, p.maxPeers/8)
	}
	p.IPs[peer] = now
	pk := uint32(proto)<<16 | uint32(port)
	if _, ok := p.Ports[pk]; !ok && len(p.Ports) >= p.maxPeers {
		evictOldest(p.Ports, p.maxPeers/8)
	}
	p.Ports[pk] = now
	h := now / 3600
	if h != p.hour {
		if p.hourConns > 0 {
			_ = p.ConnsPerHour.Add(p.hourConns)
			if p.hourUp > 0 {
				_ = p.HourlyUp.Add(p.hourUp)
			}
		}
		p.hour, p.hourConns, p.hourUp = h, 0, 0
	}
	p.hourConns++
	if external {
		if up > 0 {
			_ = p.Up.Add(float64(up))
			p.hourUp += float64(up)
		}
		if down > 0 {
			_ = p.Down.Add(float64(down))
		}
	}
}

func (p *Profile) expire(before int64) {
	p.Hosts.expire(before)
	p.Domains.expire(before)
	p.UserAgents.expire(before)
	p.JA3.expire(before)
	p.JA4.expire(before)
	for k, t := range p.IPs {
		if t < before {
			delete(p.IPs, k)
		}
	}
	for k, t := range p.Ports {
		if t < before {
			delete(p.Ports, k)
		}
	}
}
