package sim

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// DefaultStart is the default first instant of a simulation: Monday 2
// February 2026, 00:00 UTC (the month holds Presidents' Day).
var DefaultStart = time.Date(2026, time.February, 2, 0, 0, 0, 0, time.UTC)

// Config says what to simulate.
type Config struct {
	// Scenario names one of Scenarios().
	Scenario string
	Seed     uint64
	// Start defaults to DefaultStart; Days to 28; Devices to 60.
	Start         time.Time
	Days, Devices int
}

func (c *Config) defaults() {
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	if c.Days <= 0 {
		c.Days = 28
	}
	if c.Devices <= 0 {
		c.Devices = 60
	}
}

// Truth is the ground truth of a run: the organisation and every
// malicious (or scenario) behaviour.
type Truth struct {
	Scenario   string            `json:"scenario"`
	Seed       uint64            `json:"seed"`
	Start      time.Time         `json:"start"`
	Days       int               `json:"days"`
	Devices    []TruthDevice     `json:"devices"`
	Behaviours []*TruthBehaviour `json:"behaviours"`
}

// TruthDevice describes one device of the organisation.
type TruthDevice struct {
	IP       netip.Addr `json:"ip"`
	MAC      string     `json:"mac"`
	Hostname string     `json:"hostname"`
	Role     Role       `json:"role"`
	OS       string     `json:"os"`
}

// TruthBehaviour is one scenario behaviour as it happened.
type TruthBehaviour struct {
	// ID is the sessions' Label ("macos-clickfix/c2-beacon").
	ID          string   `json:"id"`
	Description string   `json:"description"`
	MITRE       []string `json:"mitre,omitempty"`
	// Expect lists the detection models that must raise the behaviour.
	Expect    []string        `json:"expect,omitempty"`
	Devices   []netip.Addr    `json:"devices"`
	Endpoints []TruthEndpoint `json:"endpoints"`
	// EndpointsTruncated counts endpoints left out (a DGA's many names).
	EndpointsTruncated int       `json:"endpoints_truncated,omitempty"`
	First              time.Time `json:"first"`
	Last               time.Time `json:"last"`
	Sessions           int       `json:"sessions"`
	BytesUp            int64     `json:"bytes_up"`
	BytesDown          int64     `json:"bytes_down"`
}

// TruthEndpoint is a peer of a behaviour.
type TruthEndpoint struct {
	IP       netip.Addr `json:"ip"`
	Hostname string     `json:"hostname,omitempty"`
	Port     uint16     `json:"port"`
}

const maxTruthEndpoints = 64

func (b *TruthBehaviour) add(s *Session) {
	if b.Sessions == 0 || s.Start.Before(b.First) {
		b.First = s.Start
	}
	if s.Start.After(b.Last) {
		b.Last = s.Start
	}
	b.Sessions++
	b.BytesUp += s.BytesUp
	b.BytesDown += s.BytesDown
	if !slices.Contains(b.Devices, s.Client.IP) {
		b.Devices = append(b.Devices, s.Client.IP)
	}
	ep := TruthEndpoint{IP: s.Server.IP, Port: s.Server.Port, Hostname: sessionHost(s)}
	if slices.Contains(b.Endpoints, ep) {
		return
	}
	if len(b.Endpoints) >= maxTruthEndpoints {
		b.EndpointsTruncated++
		return
	}
	b.Endpoints = append(b.Endpoints, ep)
}

// sessionHost is the name a session asked for: SNI, HTTP Host or DNS query.
func sessionHost(s *Session) string {
	switch {
	case s.TLS != nil && s.TLS.SNI != "":
		return s.TLS.SNI
	case len(s.HTTP) > 0:
		return s.HTTP[0].Host
	case s.DNS != nil:
		return s.DNS.Name
	}
	return ""
}

// Generate simulates cfg and calls emit with every Session in
// non-decreasing Start order. Memory stays bounded: each behaviour of
// each device produces its next activity lazily, and a heap merges them.
func Generate(ctx context.Context, cfg Config, emit func(*Session) error) (*Truth, error) {
	cfg.defaults()
	sc, err := loadScenario(cfg.Scenario)
	if err != nil {
		return nil, err
	}
	w := newWorld(cfg)
	truth := &Truth{Scenario: sc.Name, Seed: cfg.Seed, Start: cfg.Start, Days: cfg.Days}
	for _, d := range w.org.Devices {
		truth.Devices = append(truth.Devices, TruthDevice{IP: d.IP, MAC: d.MAC, Hostname: d.Hostname, Role: d.Role, OS: d.OS})
	}
	w.addBenign()
	byLabel := map[string]*TruthBehaviour{}
	if err := w.addScenario(sc, func(tb *TruthBehaviour) {
		truth.Behaviours = append(truth.Behaviours, tb)
		byLabel[tb.ID] = tb
	}); err != nil {
		return nil, err
	}
	h := &w.heap
	for i, p := range w.procs {
		p.idx = i
		p.nextAct = p.first(p)
		if p.key().Before(w.end) {
			heap.Push(h, p)
		}
	}
	n := 0
	for h.Len() > 0 {
		p := (*h)[0]
		if p.q.Len() > 0 && !p.q.head().Start.After(p.nextAct) {
			s := heap.Pop(&p.q).(*Session)
			if s.Start.Before(w.end) {
				if s.Label != "" {
					if tb := byLabel[s.Label]; tb != nil {
						tb.add(s)
					}
				}
				if err := emit(s); err != nil {
					return nil, err
				}
			}
			n++
			if n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
		} else {
			t := p.nextAct
			p.fire(p, t)
			p.nextAct = p.next(p, t)
		}
		p.setKey()
		if p.key().Before(w.end) {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	for _, tb := range truth.Behaviours {
		sort.Slice(tb.Endpoints, func(i, j int) bool {
			a, b := tb.Endpoints[i], tb.Endpoints[j]
			if c := a.IP.Compare(b.IP); c != 0 {
				return c < 0
			}
			if a.Port != b.Port {
				return a.Port < b.Port
			}
			return a.Hostname < b.Hostname
		})
		slices.SortFunc(tb.Devices, netip.Addr.Compare)
	}
	return truth, nil
}

// world is the state of one run.
type world struct {
	cfg        Config
	org        *Org
	start, end time.Time
	state      map[*Device]*devState
	procs      []*proc
	heap       procHeap
	// resolverCache holds the resolver's cached names and their expiry.
	resolverCache map[string]time.Time
	tlsCache      map[[2]string]*TLS
	// zone holds names a scenario defines (answers, or NXDOMAIN when nil).
	zone map[string][]netip.Addr
}

func newWorld(cfg Config) *world {
	w := &world{
		cfg: cfg, org: NewOrg(cfg.Seed, cfg.Devices),
		start: cfg.Start, end: cfg.Start.AddDate(0, 0, cfg.Days),
		state:         map[*Device]*devState{},
		resolverCache: map[string]time.Time{},
		zone:          map[string][]netip.Addr{},
		tlsCache:      map[[2]string]*TLS{},
	}
	for _, d := range w.org.Devices {
		w.state[d] = &devState{d: d, sched: newSchedule(d, cfg.Start), cache: map[string]time.Time{}, port: 50000 + int(d.seed%10000)}
	}
	return w
}

// devState is a device's mutable state during a run.
type devState struct {
	d     *Device
	sched *schedule
	cache map[string]time.Time // DNS names cached until
	port  int
}

// ephemeral returns the device's next source port.
func (st *devState) ephemeral() uint16 {
	lo, hi := 49152, 65535
	if st.d.OS == "linux" || st.d.OS == "android" {
		lo, hi = 32768, 60999
	}
	st.port++
	if st.port < lo || st.port > hi {
		st.port = lo
	}
	return uint16(st.port)
}

// proc is one lazily running behaviour of one device: first and next give
// its activity times, fire turns an activity into sessions on q.
type proc struct {
	w       *world
	st      *devState
	rng     *rand.Rand
	name    string
	first   func(p *proc) time.Time
	next    func(p *proc, t time.Time) time.Time
	fire    func(p *proc, t time.Time)
	nextAct time.Time
	q       sessionQueue
	idx     int
	k       int64 // cached key, Unix nanoseconds
	label   string
	seq     uint64
}

// key is when the proc next does something: its next queued session or
// its next activity, whichever is first. It is cached in k by setKey.
func (p *proc) key() time.Time {
	if p.q.Len() > 0 && p.q.head().Start.Before(p.nextAct) {
		return p.q.head().Start
	}
	return p.nextAct
}

func (p *proc) setKey() { p.k = p.key().UnixNano() }

func (p *proc) push(s *Session) {
	s.Start = s.Start.UTC()
	s.Label = p.label
	p.seq++
	heap.Push(&p.q, queued{s, p.seq})
}

func (w *world) newProc(d *Device, name string) *proc {
	p := &proc{w: w, st: w.state[d], name: name, rng: rand.New(rand.NewPCG(w.cfg.Seed, hash64("proc", d.ID, name)))}
	w.procs = append(w.procs, p)
	return p
}

type queued struct {
	s   *Session
	seq uint64
}

// sessionQueue is a min-heap of one proc's pending sessions.
type sessionQueue []queued

func (q sessionQueue) Len() int { return len(q) }
func (q sessionQueue) Less(i, j int) bool {
	if !q[i].s.Start.Equal(q[j].s.Start) {
		return q[i].s.Start.Before(q[j].s.Start)
	}
	return q[i].seq < q[j].seq
}
func (q sessionQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *sessionQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *sessionQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = queued{}
	*q = old[:len(old)-1]
	return x.s
}
func (q sessionQueue) head() *Session { return q[0].s }

// procHeap orders procs by their next time, ties by creation order.
type procHeap []*proc

func (h procHeap) Len() int { return len(h) }
func (h procHeap) Less(i, j int) bool {
	if a, b := h[i].k, h[j].k; a != b {
		return a < b
	}
	return h[i].idx < h[j].idx
}
func (h procHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *procHeap) Push(x any)   { *h = append(*h, x.(*proc)) }
func (h *procHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Session helpers.

// extEndpoint is an external peer as seen at the capture point.
func extEndpoint(ip netip.Addr, port uint16) Endpoint {
	return Endpoint{IP: ip, Port: port, MAC: GatewayMAC, TTL: 64 - uint8(6+hash64(ip.String())%14)}
}

// devEndpoint is device d at address ip (its own, or a travel address).
func devEndpoint(d *Device, ip netip.Addr, port uint16) Endpoint {
	e := Endpoint{IP: ip, Port: port, MAC: d.MAC, TTL: d.TTL}
	if SubnetVPN.Contains(ip) {
		e.MAC, e.TTL = GatewayMAC, d.TTL-1 // through the VPN concentrator
	}
	return e
}

func isInternal(a netip.Addr) bool { return a.IsPrivate() }

// resolve performs a DNS lookup of host by the proc's device at t from
// address src: a query to the resolver unless cached (and the resolver's
// upstream query unless it has the name). It returns the address to
// connect to, when the answer arrived and whether the name resolved.
func (p *proc) resolve(t time.Time, src netip.Addr, host string, qtype uint16) (netip.Addr, time.Time, bool) {
	w, st := p.w, p.st
	addrs, scenario := w.zone[host]
	var strs []string
	ttl := 300 * time.Second
	if !scenario {
		s := lookupSite(host)
		addrs, strs = s.addrs, s.strs
		ttl = time.Duration(s.ttl) * time.Second
	}
	var ip netip.Addr
	i := 0
	if len(addrs) > 0 {
		i = p.rng.IntN(len(addrs))
		ip = addrs[i]
	}
	if exp, ok := st.cache[host]; ok && t.Before(exp) {
		return ip, t, ip.IsValid()
	}
	str := func(i int) string {
		if strs != nil {
			return strs[i]
		}
		return addrs[i].String()
	}
	var answers []string
	switch len(addrs) {
	case 0:
	case 1:
		answers = []string{str(0)}
	default:
		// CDN names answer with two of their addresses, rotating.
		answers = []string{str(i), str((i + 1) % len(addrs))}
	}
	rcode := uint16(0)
	if len(addrs) == 0 {
		rcode = 3
	}
	rtt := p.query(t, src, &DNS{Name: host, QType: qtype, Answers: answers, TTL: ttl, RCode: rcode}, true)
	if rcode == 0 {
		st.cache[host] = t.Add(ttl)
	}
	return ip, t.Add(rtt), ip.IsValid()
}

// query sends one DNS query from the proc's device to the resolver, which
// forwards it upstream unless cache allows and it has the name. It
// returns the round-trip time the device sees.
func (p *proc) query(t time.Time, src netip.Addr, q *DNS, cache bool) time.Duration {
	w, st := p.w, p.st
	res := w.org.Resolver
	rtt := time.Duration(300+p.rng.IntN(1500)) * time.Microsecond
	if exp, ok := w.resolverCache[q.Name]; !cache || !ok || !t.Before(exp) {
		up := time.Duration(8+p.rng.IntN(40)) * time.Millisecond
		fq := *q
		fw := &Session{
			Start:  t.Add(200 * time.Microsecond),
			Client: devEndpoint(res, res.IP, uint16(20000+p.rng.IntN(40000))),
			Server: extEndpoint(UpstreamDNS[p.rng.IntN(len(UpstreamDNS))], 53),
			Proto:  event.ProtoUDP, State: event.StateSF, Duration: up,
			DNS: &fq,
		}
		dnsBytes(fw)
		p.push(fw)
		rtt += up
		if cache {
			if len(w.resolverCache) > 200000 {
				clear(w.resolverCache)
			}
			w.resolverCache[q.Name] = t.Add(q.TTL)
		}
	}
	s := &Session{
		Start:  t,
		Client: devEndpoint(st.d, src, st.ephemeral()),
		Server: devEndpoint(res, res.IP, 53),
		Proto:  event.ProtoUDP, State: event.StateSF, Duration: rtt,
		DNS: q,
	}
	dnsBytes(s)
	p.push(s)
	return rtt
}

// dnsBytes sets a DNS session's payload sizes from its message.
func dnsBytes(s *Session) {
	q := int64(12 + len(s.DNS.Name) + 2 + 4)
	s.BytesUp = q
	if s.DNS.NoReply || s.State == event.StateS0 {
		return
	}
	a := q
	for _, x := range s.DNS.Answers {
		a += 12 + int64(len(x))
		if s.DNS.QType == 1 {
			a -= int64(len(x)) - 4
		}
	}
	s.BytesDown = a
}

// jitterDur returns d scaled by a random factor in [1-f, 1+f].
func jitterDur(r *rand.Rand, d time.Duration, f float64) time.Duration {
	if f <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + f*(2*r.Float64()-1)))
}

// logNormal draws a size around median m with spread sigma (log scale).
func logNormal(r *rand.Rand, m float64, sigma float64) int64 {
	v := m * math.Exp(sigma*r.NormFloat64())
	if v < 1 {
		v = 1
	}
	return int64(v)
}
