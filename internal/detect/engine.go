package detect

import (
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
)

// Options configure an Engine.
type Options struct {
	Baseline baseline.Settings
	// Internal says which addresses are the organisation's devices.
	Internal func(netip.Addr) bool
	// Models are the configured models to run (see Configure).
	Models []Configured
	// Allow lists breaches not to report.
	Allow []AllowRule
	// Scoring configures the device threat score.
	Scoring Scoring
	// OnBreach, when set, gets each breach as it is raised (live use).
	OnBreach func(breach.Breach)
	// Baselines, when set, are baselines learned earlier (baseline.Load)
	// to continue from; otherwise the engine starts empty.
	Baselines *baseline.Baselines
}

// Configured is a model with its settings applied.
type Configured struct {
	Model    Model
	Info     Info
	Cooldown time.Duration
}

type fired struct {
	at    time.Time
	score int
}

type suppressKey struct {
	model    string
	device   uint32
	endpoint string
}

// Engine runs the models over events in event time. It is not safe for
// concurrent use: one source goroutine feeds it.
type Engine struct {
	opt      Options
	base     *baseline.Baselines
	byKind   [event.NumKinds][]int
	models   []Configured
	uidHost  *Cache[string, string]
	resolved *Cache[resolveKey, string]
	last     map[suppressKey]fired
	breaches []breach.Breach
	threat   *Threat
	allowed  int
	ctx      Context
	contact  baseline.Contact
	// pending holds connection summaries waiting for their handshake, in
	// arrival order (nil where one was released early); pendBase is the
	// sequence number of pending[0], and pendingUID maps a uid to its
	// connection's sequence number.
	pending    []*event.Conn
	pendBase   uint64
	pendingUID map[string]uint64
	domains    *domain.Cache
	resolvers  resolvers
}

type resolveKey struct {
	dev uint32
	ip  netip.Addr
}

// NewEngine returns an engine for the options.
func NewEngine(opt Options) *Engine {
	e := &Engine{
		opt:      opt,
		base:     opt.Baselines,
		models:   opt.Models,
		uidHost:  NewCache[string, string](1 << 16),
		resolved: NewCache[resolveKey, string](1 << 18),
		last:     make(map[suppressKey]fired),
		threat:   NewThreat(opt.Scoring),

		pendingUID: make(map[string]uint64),
		domains:    domain.NewCache(1 << 16),
		resolvers:  resolvers{},
	}
	if e.base == nil {
		e.base = baseline.New(opt.Baseline, opt.Internal)
	}
	for i, m := range opt.Models {
		for _, k := range m.Info.Reads {
			e.byKind[k] = append(e.byKind[k], i)
		}
	}
	return e
}

// Baselines returns the engine's baselines (for tests and reports).
func (e *Engine) Baselines() *baseline.Baselines { return e.base }

// Threat returns the device threat scores.
func (e *Engine) Threat() *Threat { return e.threat }

// Breaches returns the breaches raised so far, sorted. Call Flush first
// when the input has ended.
func (e *Engine) Breaches() []breach.Breach {
	out := append([]breach.Breach(nil), e.breaches...)
	breach.Sort(out)
	return out
}

// Allowed returns how many breaches allowlist rules suppressed.
func (e *Engine) Allowed() int { return e.allowed }

// joinWait is how long, in event time, a connection summary whose
// handshake or request has not been seen yet waits for it (Zeek logs the
// connection, by its start time, before its ssl and http records).
const joinWait = 2 * time.Minute

// maxPending bounds the connections waiting for their handshake.
const maxPending = 1 << 16

// Observe judges one event and learns from it. A connection summary that
// says it carried TLS or HTTP, but whose handshake or request has not been
// seen, is held until that record names its host (or joinWait of event
// time passes), so that every model sees the connection with its name
// whatever order the source delivers them in.
func (e *Engine) Observe(ev event.Event) {
	ts := ev.Base().TS
	if len(e.pending) > 0 && ts.Sub(e.pending[0].TS) > joinWait {
		e.release(ts.Add(-joinWait))
	}
	if c, ok := ev.(*event.Conn); ok && c.UID != "" && waitsForName(c) {
		if _, named := e.uidHost.Get(c.UID); !named {
			if len(e.pending) >= maxPending {
				e.release(e.pending[0].TS.Add(time.Nanosecond))
			}
			e.pendingUID[c.UID] = e.pendBase + uint64(len(e.pending))
			e.pending = append(e.pending, c)
			return
		}
	}
	e.observe(ev)
	switch x := ev.(type) {
	case *event.TLS:
		e.releaseUID(x.UID)
	case *event.HTTP:
		e.releaseUID(x.UID)
	}
}

// Flush releases every held connection; call it at the end of the input.
func (e *Engine) Flush() { e.release(time.Time{}) }

func waitsForName(c *event.Conn) bool {
	return strings.Contains(c.Service, "ssl") || strings.Contains(c.Service, "http")
}

// release judges held connections that started before cut (all of them
// when cut is zero), oldest first.
func (e *Engine) release(cut time.Time) {
	for len(e.pending) > 0 {
		c := e.pending[0]
		if c != nil && !cut.IsZero() && !c.TS.Before(cut) {
			break
		}
		e.popFront()
		if c != nil {
			e.observe(c)
		}
	}
}

// popFront drops the oldest held connection (and its uid's entry, unless
// a later connection reused the uid).
func (e *Engine) popFront() {
	if c := e.pending[0]; c != nil && e.pendingUID[c.UID] == e.pendBase {
		delete(e.pendingUID, c.UID)
	}
	e.pending[0] = nil
	e.pending = e.pending[1:]
	e.pendBase++
	if len(e.pending) == 0 {
		e.pending = nil // let the backing array go
	}
}

// releaseUID judges the held connection with this uid, now that its host
// is known.
func (e *Engine) releaseUID(uid string) {
	seq, ok := e.pendingUID[uid]
	if !ok {
		return
	}
	delete(e.pendingUID, uid)
	i := seq - e.pendBase
	c := e.pending[i]
	e.pending[i] = nil
	for len(e.pending) > 0 && e.pending[0] == nil {
		e.popFront()
	}
	e.observe(c)
}

func (e *Engine) observe(ev event.Event) {
	m := ev.Base()
	net := e.base.Net
	net.Advance(m.TS)
	switch x := ev.(type) {
	case *event.DHCP:
		a := x.AssignedAddr
		if !a.IsValid() {
			a = x.ClientAddr
		}
		e.base.DHCP(x.MAC, a, x.TS)
	case *event.TLS:
		if h := domain.Normalize(x.ServerName); h != "" && x.UID != "" {
			e.uidHost.Put(x.UID, h)
		}
	case *event.HTTP:
		if h := domain.Normalize(x.Host); h != "" && x.UID != "" && !domain.IsAddr(h) {
			e.uidHost.Put(x.UID, h)
		}
	}
	orig := m.ID.OrigH.Unmap()
	if !orig.IsValid() || !e.base.Internal(orig) {
		e.run(ev, nil, orig)
		return
	}
	c := &e.contact
	*c = baseline.Contact{
		TS:     m.TS,
		Device: e.base.Device(orig, m.TS),
		IP:     m.ID.RespH.Unmap(),
		Port:   m.ID.RespP,
	}
	// Multicast and broadcast (SSDP, mDNS, NetBIOS) never leave the
	// network: they are not external endpoints.
	c.External = c.IP.IsValid() && !e.base.Internal(c.IP) && !c.IP.IsMulticast() &&
		c.IP != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && !c.IP.IsUnspecified()
	switch x := ev.(type) {
	case *event.Conn:
		c.Proto = uint8(x.Proto)
		c.Conn = true
		c.Established = !x.ConnState.Failed() && (x.RespPkts > 0 || x.RespBytes > 0)
		c.Up, c.Down = x.OrigBytes, x.RespBytes
		// Only connections that carried TLS or HTTP (or whose protocol is
		// unknown) can have a name from their own handshake or request.
		if x.Service == "" || waitsForName(x) {
			c.Host, _ = e.uidHost.Get(x.UID)
		}
		if c.Host == "" {
			if h, ok := e.resolved.Get(resolveKey{c.Device.ID, c.IP}); ok {
				c.Host, c.HostFromDNS = h, true
			}
		}
	case *event.TLS:
		c.Proto = uint8(event.ProtoTCP)
		c.Host = domain.Normalize(x.ServerName)
		if domain.IsAddr(c.Host) {
			c.Host = ""
		}
		c.Established = x.Established
		c.JA3, c.JA4 = x.JA3, x.JA4
	case *event.HTTP:
		c.Proto = uint8(event.ProtoTCP)
		c.Host = domain.Normalize(x.Host)
		if domain.IsAddr(c.Host) {
			c.Host = ""
		}
		c.Established = x.StatusCode > 0
		c.UserAgent = x.UserAgent
	case *event.DNS:
		c.Proto = uint8(x.Proto)
		c.External = false // a query is a contact with the resolver, judged by name elsewhere
		e.learnAnswers(c.Device.ID, x)
		if c.IP.IsValid() && c.IP != orig && e.base.Internal(c.IP) {
			e.resolvers.saw(c.IP, m.TS.Unix())
		}
	}
	if c.Host != "" {
		c.Domain = e.domains.Registrable(c.Host)
	}
	net.SawDevice(c.Device.ID)
	e.run(ev, c, orig)
	e.base.Learn(c)
}

// learnAnswers remembers which names a device resolved to which
// addresses, so that a later connection to the address has a name.
func (e *Engine) learnAnswers(dev uint32, d *event.DNS) {
	if !d.HasReply || d.RCode != 0 || (d.QTypeName != "A" && d.QTypeName != "AAAA") {
		return
	}
	name := domain.Normalize(d.Query)
	for _, a := range d.Answers {
		if !domain.IsAddr(a) {
			continue // a CNAME in the chain
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		e.resolved.Put(resolveKey{dev, ip.Unmap()}, name)
	}
}

func (e *Engine) run(ev event.Event, c *baseline.Contact, addr netip.Addr) {
	idx := e.byKind[ev.Kind()]
	if len(idx) == 0 {
		return
	}
	ctx := &e.ctx
	*ctx = Context{Now: e.base.Net.Now(), Contact: c, Base: e.base, Net: e.base.Net, addr: addr, domains: e.domains,
		resolvers: e.resolvers}
	for _, i := range idx {
		m := &e.models[i]
		for _, b := range m.Model.Observe(ctx, ev) {
			e.raise(m, c, b)
		}
	}
}

func (e *Engine) raise(m *Configured, c *baseline.Contact, b breach.Breach) {
	if b.Model == "" {
		b.Model = m.Info.Name
	}
	if b.MITRE == nil {
		b.MITRE = m.Info.MITRE
	}
	if b.Evidence == nil {
		b.Evidence = breach.Evidence{}
	}
	if rule, ok := e.allowedBy(m.Info, b); ok {
		_ = rule
		e.allowed++
		return
	}
	var dev uint32
	if c != nil {
		dev = c.Device.ID
	}
	// Repeats are judged per registrable domain when there is a name: a
	// C2 that rotates subdomains (or a look-alike domain with many hosts)
	// is one finding per cooldown, not one per name.
	k := suppressKey{m.Info.ID, dev, ipString(b.Endpoint.IP)}
	if b.Endpoint.Hostname != "" {
		k.endpoint = e.domains.Registrable(b.Endpoint.Hostname)
	}
	if f, ok := e.last[k]; ok && b.Time.Sub(f.at) < m.Cooldown && b.Time.Sub(f.at) >= 0 && b.Score < f.score+10 {
		return
	}
	e.last[k] = fired{b.Time, b.Score}
	b.ID = breach.MakeID(&b)
	e.breaches = append(e.breaches, b)
	e.threat.Add(b)
	if e.opt.OnBreach != nil {
		e.opt.OnBreach(b)
	}
}

func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// maxResolvers bounds the internal DNS servers remembered.
const maxResolvers = 64

// resolvers remembers internal addresses that answer other internal
// devices' DNS queries (with when they last did). Their own queries to the
// outside are their clients' queries forwarded: DNS models judge those at
// the clients, not again at the resolver.
type resolvers map[netip.Addr]int64

func (r resolvers) saw(a netip.Addr, now int64) {
	if _, ok := r[a]; !ok && len(r) >= maxResolvers {
		var oldest netip.Addr
		at := int64(0)
		for k, t := range r {
			if !oldest.IsValid() || t < at || t == at && k.Less(oldest) {
				oldest, at = k, t
			}
		}
		delete(r, oldest)
	}
	r[a] = now
}
