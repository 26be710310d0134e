package baseline

import (
	"net/netip"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// maxExact is how many devices an endpoint remembers exactly (with their
// last contact) before it switches to windowed HyperLogLog sketches. Most
// external endpoints are contacted by one or two devices; the popular few
// that are contacted by many are not rare under any threshold, so an
// estimate is plenty for them.
const maxExact = 16

// hllBuckets is the number of sketches an endpoint keeps in sketch mode:
// one per Window/(hllBuckets-1) span, so the union of the last hllBuckets
// covers the window.
const hllBuckets = 5

// hllPrecision is 2^8 registers: about 6.5 % standard error, 256 bytes per
// dense sketch.
const hllPrecision = 8

// Prevalence is what the network knows about one external endpoint.
type Prevalence struct {
	// Devices is how many distinct internal devices contacted it within the
	// window (an estimate above maxExact).
	Devices int
	// Others is Devices without the device being asked about.
	Others int
	// Exact is false when Devices is a sketch estimate.
	Exact bool
	// FirstSeen and LastSeen bound the contacts (zero when never seen).
	FirstSeen, LastSeen time.Time
	// Seen is false when no device contacted the endpoint in the window.
	Seen bool
}

type member struct {
	dev  uint32
	last int64 // unix seconds
}

type endpoint struct {
	first, last int64
	members     []member
	sketch      *windowSketch
}

// windowSketch counts distinct devices per time span, so that old spans
// drop out of the window whole.
type windowSketch struct {
	span    int64             // seconds per bucket
	start   [hllBuckets]int64 // bucket index (unix/span) each slot holds
	buckets [hllBuckets]*hyperloglog.Sketch
	est     int   // cached estimate
	estAt   int64 // hour the cache was computed in
	dirty   bool
}

func (w *windowSketch) insert(dev uint32, now int64) {
	idx := now / w.span
	slot := idx % hllBuckets
	if w.start[slot] != idx || w.buckets[slot] == nil {
		sk, _ := hyperloglog.NewSketch(hllPrecision, false) // dense: 256 bytes, fastest inserts
		w.buckets[slot], w.start[slot] = sk, idx
	}
	w.buckets[slot].InsertHash(mix(uint64(dev)))
	w.dirty = true
}

func (w *windowSketch) estimate(now int64) int {
	// An endpoint in sketch mode is popular; an estimate an hour old is
	// plenty, and merging the sketches on every query is not cheap.
	hour := now / 3600
	if w.estAt == hour && (!w.dirty || w.est > 0) {
		return w.est
	}
	idx := now / w.span
	var u *hyperloglog.Sketch
	for i, b := range w.buckets {
		if b == nil || idx-w.start[i] >= hllBuckets { // left the window
			w.buckets[i] = nil
			continue
		}
		if u == nil {
			u = b.Clone()
		} else {
			_ = u.Merge(b)
		}
	}
	w.est, w.estAt, w.dirty = 0, hour, false
	if u != nil {
		w.est = int(u.Estimate())
	}
	return w.est
}

// mix spreads a device index over 64 bits for the sketch (splitmix64).
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// EndpointKind says what an endpoint key names.
type EndpointKind uint8

// The kinds of external endpoint whose prevalence is tracked.
const (
	KindIP     EndpointKind = iota // an address
	KindHost                       // a full host name
	KindDomain                     // a registrable domain (eTLD+1)
)

// Network tracks the prevalence of external endpoints and the population
// of internal devices. It is not safe for concurrent use.
type Network struct {
	set       Settings
	window    int64
	start     int64 // first event, unix seconds
	now       int64
	lastSweep int64
	ips       map[netip.Addr]*endpoint
	names     [2]map[string]*endpoint // KindHost, KindDomain
	devices   map[uint32]int64        // device -> last seen
}

// NewNetwork returns an empty network with the given settings.
func NewNetwork(s Settings) *Network {
	return &Network{
		set:     s,
		window:  int64(s.Window.D() / time.Second),
		ips:     make(map[netip.Addr]*endpoint),
		names:   [2]map[string]*endpoint{make(map[string]*endpoint), make(map[string]*endpoint)},
		devices: make(map[uint32]int64),
	}
}

// Advance moves the network's clock to ts (never backwards) and, once an
// hour of event time, forgets endpoints and devices not seen in the window.
func (n *Network) Advance(ts time.Time) {
	t := ts.Unix()
	if n.start == 0 || t < n.start {
		n.start = t
	}
	if t <= n.now {
		return
	}
	n.now = t
	if n.lastSweep == 0 {
		n.lastSweep = t
	}
	if t-n.lastSweep >= 3600 {
		n.sweep()
		n.lastSweep = t
	}
}

// Now returns the latest event time seen.
func (n *Network) Now() time.Time { return time.Unix(n.now, 0).UTC() }

// Start returns the first event time seen.
func (n *Network) Start() time.Time { return time.Unix(n.start, 0).UTC() }

// Learned returns how far the network is through its learning period, from
// 0 (first event) to 1 (LearningPeriod of data seen).
func (n *Network) Learned() float64 {
	return learned(n.now-n.start, n.set.LearningPeriod.D())
}

func learned(age int64, period time.Duration) float64 {
	if period <= 0 {
		return 1
	}
	f := float64(age) / period.Seconds()
	if f > 1 {
		return 1
	}
	if f < 0 {
		return 0
	}
	return f
}

// SawDevice records that an internal device was active.
func (n *Network) SawDevice(dev uint32) { n.devices[dev] = n.now }

// Population returns how many internal devices were active in the window.
func (n *Network) Population() int { return len(n.devices) }

// RareLimit is the largest number of other devices an endpoint may have and
// still be rare: RareFraction of the population, rounded down, and at least
// one in a network of ten devices or more, so that two victims of one
// campaign both see its endpoint as rare.
func (n *Network) RareLimit() int {
	lim := int(n.set.RareFraction * float64(len(n.devices)))
	if lim < 1 && len(n.devices) >= 10 {
		lim = 1
	}
	return lim
}

// Rare reports whether p is rare by the package's definition.
func (n *Network) Rare(p Prevalence) bool { return p.Others <= n.RareLimit() }

// Rarity grades p from 1 (no other device) down to 0 (more than the rare
// limit), for scores.
func (n *Network) Rarity(p Prevalence) float64 {
	lim := n.RareLimit()
	if p.Others > lim {
		return 0
	}
	return 1 - float64(p.Others)/float64(lim+1)
}

// New reports whether p was first seen within NewAge (or never).
func (n *Network) New(p Prevalence) bool {
	return !p.Seen || n.now-p.FirstSeen.Unix() <= int64(n.set.NewAge.D()/time.Second)
}

// Newness grades how much "new" means for p: 1 when the endpoint first
// appeared after a full learning period of data, less when it appeared
// while the network was still learning (everything is new on day one), and
// 0 when it is not new at all.
func (n *Network) Newness(p Prevalence) float64 {
	if !n.New(p) {
		return 0
	}
	if !p.Seen {
		return learned(n.now-n.start, n.set.LearningPeriod.D())
	}
	return learned(p.FirstSeen.Unix()-n.start, n.set.LearningPeriod.D())
}

func (n *Network) table(k EndpointKind) map[string]*endpoint { return n.names[k-KindHost] }

// IP returns the prevalence of an external address, as seen by dev.
func (n *Network) IP(a netip.Addr, dev uint32) Prevalence { return n.prevalence(n.ips[a], dev) }

// Name returns the prevalence of a host name or registrable domain.
func (n *Network) Name(k EndpointKind, name string, dev uint32) Prevalence {
	if name == "" {
		return Prevalence{}
	}
	return n.prevalence(n.table(k)[name], dev)
}

func (n *Network) prevalence(e *endpoint, dev uint32) Prevalence {
	if e == nil || n.now-e.last > n.window {
		return Prevalence{Exact: true}
	}
	p := Prevalence{Seen: true, Exact: e.sketch == nil, FirstSeen: time.Unix(e.first, 0).UTC(), LastSeen: time.Unix(e.last, 0).UTC()}
	if e.sketch != nil {
		p.Devices = max(e.sketch.estimate(n.now), maxExact)
		p.Others = p.Devices - 1
		return p
	}
	mine := false
	for _, m := range e.members {
		if n.now-m.last <= n.window {
			p.Devices++
			if m.dev == dev {
				mine = true
			}
		}
	}
	p.Others = p.Devices
	if mine {
		p.Others--
	}
	return p
}

// ContactIP records that dev contacted an external address.
func (n *Network) ContactIP(a netip.Addr, dev uint32) {
	e := n.ips[a]
	if e == nil {
		e = &endpoint{first: n.now}
		n.ips[a] = e
	}
	n.touch(e, dev)
}

// ContactName records that dev contacted a host name or domain.
func (n *Network) ContactName(k EndpointKind, name string, dev uint32) {
	if name == "" {
		return
	}
	t := n.table(k)
	e := t[name]
	if e == nil {
		e = &endpoint{first: n.now}
		t[name] = e
	}
	n.touch(e, dev)
}

func (n *Network) touch(e *endpoint, dev uint32) {
	if n.now-e.last > n.window && e.last != 0 { // forgotten: new again
		e.first, e.members, e.sketch = n.now, e.members[:0], nil
	}
	e.last = n.now
	if e.sketch != nil {
		e.sketch.insert(dev, n.now)
		return
	}
	for i := range e.members {
		if e.members[i].dev == dev {
			e.members[i].last = n.now
			return
		}
	}
	// Reuse a slot whose contact left the window.
	for i := range e.members {
		if n.now-e.members[i].last > n.window {
			e.members[i] = member{dev, n.now}
			return
		}
	}
	if len(e.members) < maxExact {
		e.members = append(e.members, member{dev, n.now})
		return
	}
	span := n.window / (hllBuckets - 1)
	if span < 1 {
		span = 1
	}
	e.sketch = &windowSketch{span: span, dirty: true}
	for _, m := range e.members {
		e.sketch.insert(m.dev, m.last)
	}
	e.sketch.insert(dev, n.now)
	e.members = nil
}

// sweep forgets endpoints and devices not seen within the window.
func (n *Network) sweep() {
	for k, e := range n.ips {
		if n.now-e.last > n.window {
			delete(n.ips, k)
		}
	}
	for _, t := range n.names {
		for k, e := range t {
			if n.now-e.last > n.window {
				delete(t, k)
			}
		}
	}
	for d, last := range n.devices {
		if n.now-last > n.window {
			delete(n.devices, d)
		}
	}
}

// Endpoints returns how many endpoints of each kind are tracked.
func (n *Network) Endpoints() (ips, hosts, domains int) {
	return len(n.ips), len(n.names[0]), len(n.names[1])
}
