package baseline

import (
	"net/netip"
	"strings"
	"time"
)

// Contact is one event reduced to what the baselines learn from and the
// models judge: an internal device reaching a peer. The detection engine
// builds it once per event.
type Contact struct {
	TS     time.Time
	Device *Profile
	// IP, Port and Proto name the peer (the responder); Proto is the
	// event.Proto value.
	IP    netip.Addr
	Port  uint16
	Proto uint8
	// External is true when the peer is outside the internal ranges.
	External bool
	// Host is the name the device used for the peer (SNI, HTTP Host, or a
	// DNS answer it received), normalised; Domain its registrable domain.
	// HostFromDNS is true when the name came from a DNS answer rather than
	// from the connection itself.
	Host, Domain string
	HostFromDNS  bool
	// Conn is true for connection summaries; Established when the peer
	// answered (a failed attempt is not a contact).
	Conn, Established bool
	// Up and Down are payload bytes sent and received (connections only).
	Up, Down int64
	// UserAgent, JA3 and JA4 are set by HTTP and TLS events.
	UserAgent, JA3, JA4 string
}

// Baselines holds every device's profile and the network's prevalence.
// Identity: a device is its IP, unless DHCP told its MAC, in which case it
// is its MAC and keeps its profile when its address changes.
type Baselines struct {
	Set      Settings
	Net      *Network
	loc      *time.Location
	profiles []*Profile
	byKey    map[string]uint32
	byIP     map[netip.Addr]uint32
	internal func(netip.Addr) bool
	swept    int64
}

// New returns empty baselines. internal says which addresses are devices.
// The settings must have passed Validate.
func New(s Settings, internal func(netip.Addr) bool) *Baselines {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return &Baselines{
		Set: s, Net: NewNetwork(s), loc: loc,
		byKey: make(map[string]uint32), byIP: make(map[netip.Addr]uint32),
		internal: internal,
	}
}

// Internal reports whether a is an internal address.
func (b *Baselines) Internal(a netip.Addr) bool { return b.internal(a) }

// Lookup returns the profile of the device at a, or nil.
func (b *Baselines) Lookup(a netip.Addr) *Profile {
	id, ok := b.byIP[a]
	if !ok {
		return nil
	}
	return b.profiles[id]
}

// Device returns the profile of the device at a, creating it.
func (b *Baselines) Device(a netip.Addr, ts time.Time) *Profile {
	if p := b.Lookup(a); p != nil {
		return p
	}
	return b.bind("ip:"+a.String(), a, ts)
}

func (b *Baselines) bind(key string, a netip.Addr, ts time.Time) *Profile {
	id, ok := b.byKey[key]
	if !ok {
		id = uint32(len(b.profiles))
		b.profiles = append(b.profiles, newProfile(id, key, b.Set, ts))
		b.byKey[key] = id
	}
	b.byIP[a] = id
	return b.profiles[id]
}

// Profiles returns every profile, in creation order.
func (b *Baselines) Profiles() []*Profile { return b.profiles }

// DHCP records that the device with this MAC holds address a: a device
// that moves keeps its profile, and a profile first made for the address
// becomes the MAC's.
func (b *Baselines) DHCP(mac string, a netip.Addr, ts time.Time) {
	mac = strings.ToLower(mac)
	if mac == "" || !a.IsValid() || !b.internal(a) {
		return
	}
	key := "mac:" + mac
	if id, ok := b.byKey[key]; ok {
		b.byIP[a] = id
		return
	}
	if id, ok := b.byIP[a]; ok && strings.HasPrefix(b.profiles[id].Key, "ip:") {
		p := b.profiles[id] // adopt the address's profile for the MAC
		delete(b.byKey, p.Key)
		p.Key = key
		b.byKey[key] = id
		return
	}
	b.bind(key, a, ts)
}

// Local returns t in the configured time zone (for hour-of-week).
func (b *Baselines) Local(t time.Time) time.Time { return t.In(b.loc) }

// Learn folds a contact into the device's profile and the network's
// prevalence. Callers learn after the models have judged the event, so
// that "new" means new before it.
func (b *Baselines) Learn(c *Contact) {
	p := c.Device
	b.Net.Advance(c.TS)
	b.Net.SawDevice(p.ID)
	now := c.TS.Unix()
	if c.Conn {
		p.connection(c.TS, b.Local(c.TS), c.Proto, c.Port, c.IP, c.External, c.Up, c.Down)
	} else {
		p.touch(c.TS)
	}
	if c.UserAgent != "" {
		p.UserAgents.add(c.UserAgent, now)
	}
	if c.JA3 != "" {
		p.JA3.add(c.JA3, now)
	}
	if c.JA4 != "" {
		p.JA4.add(c.JA4, now)
	}
	if c.Host != "" {
		p.Hosts.add(c.Host, now)
		p.Domains.add(c.Domain, now)
	}
	if now-b.swept >= 6*3600 {
		b.swept = now
		before := now - int64(b.Set.Window.D()/time.Second)
		for _, p := range b.profiles {
			p.expire(before)
		}
	}
	if !c.External || !c.Established {
		return
	}
	if c.Conn {
		b.Net.ContactIP(c.IP, p.ID)
	}
	// A name counts once per way it is learned: from the connection's own
	// handshake or request, or from DNS for a connection summary.
	if c.Host != "" && (!c.Conn || c.HostFromDNS) {
		b.Net.ContactName(KindHost, c.Host, p.ID)
		b.Net.ContactName(KindDomain, c.Domain, p.ID)
	}
}
