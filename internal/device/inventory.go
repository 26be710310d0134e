// Package device keeps the inventory of internal devices: which internal
// addresses are real devices, when they were seen, and what they are called
// (MAC and host name from DHCP, TLS client certificates, DNS and
// link-layer addresses).
//
// Identity: one device per internal IP, with the strongest name evidence
// winning, except that addresses DHCP leased to the same MAC are one
// device (Devices lists it once, under its most recent address, with every
// address it held in IPs).
package device

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// Device is one internal device as the inventory knows it.
type Device struct {
	IP        netip.Addr `json:"ip"`
	MAC       string     `json:"mac,omitempty"`
	Hostname  string     `json:"hostname,omitempty"`
	FirstSeen time.Time  `json:"first_seen"`
	LastSeen  time.Time  `json:"last_seen"`
	Score     float64    `json:"score"`
	// IPs lists every address the device held, when DHCP moved it.
	IPs []netip.Addr `json:"ips,omitempty"`
}

// Name evidence, weakest first: a stronger source replaces a weaker one.
const (
	nameNone = iota
	nameDNSForward
	nameDNSPTR
	nameTLSClient
	nameDHCP
)

type entry struct {
	dev      Device
	nameRank int
	active   bool // sent traffic or answered: a real device, not a scan target
	changed  bool // touched since the last Changed call
	dhcpMAC  bool
	macs     map[string]struct{}
	lastMAC  string // the MAC last recorded, to skip the maps when it repeats
}

// Inventory builds the device list from events. It is not safe for
// concurrent use.
type Inventory struct {
	// internal4 and internal6 are the internal prefixes by family, so that
	// the per-event test looks only at prefixes that can match.
	internal4, internal6 []netip.Prefix
	byIP                 map[netip.Addr]*entry
	// ipsPerMAC counts internal IPs seen behind each link-layer address, so
	// that a router's MAC (seen for many IPs) is not given to any of them.
	ipsPerMAC map[string]map[netip.Addr]struct{}
}

// NewInventory returns an empty inventory; addresses inside one of the
// internal prefixes are devices.
func NewInventory(internal []netip.Prefix) *Inventory {
	inv := &Inventory{
		byIP:      make(map[netip.Addr]*entry),
		ipsPerMAC: make(map[string]map[netip.Addr]struct{}),
	}
	for _, p := range internal {
		if p.Addr().Is4() {
			inv.internal4 = append(inv.internal4, p)
		} else {
			inv.internal6 = append(inv.internal6, p)
		}
	}
	return inv
}

// Internal reports whether a is inside the internal prefixes.
func (inv *Inventory) Internal(a netip.Addr) bool {
	a = a.Unmap()
	prefixes := inv.internal6
	if a.Is4() {
		prefixes = inv.internal4
	}
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (inv *Inventory) get(a netip.Addr, ts time.Time) *entry {
	a = a.Unmap()
	e := inv.byIP[a]
	if e == nil {
		e = &entry{dev: Device{IP: a, FirstSeen: ts, LastSeen: ts}}
		inv.byIP[a] = e
	}
	e.changed = true
	if ts.Before(e.dev.FirstSeen) {
		e.dev.FirstSeen = ts
	}
	if ts.After(e.dev.LastSeen) {
		e.dev.LastSeen = ts
	}
	return e
}

func (inv *Inventory) sawMAC(e *entry, mac string) {
	if mac == "" || mac == "00:00:00:00:00:00" || mac == e.lastMAC { // loopback and some tunnels; a repeat
		return
	}
	e.lastMAC = mac
	if e.macs == nil {
		e.macs = make(map[string]struct{}, 1)
	}
	e.macs[mac] = struct{}{}
	set := inv.ipsPerMAC[mac]
	if set == nil {
		set = make(map[netip.Addr]struct{}, 1)
		inv.ipsPerMAC[mac] = set
	}
	set[e.dev.IP] = struct{}{}
}

func (e *entry) name(n string, rank int) {
	n = strings.TrimSuffix(strings.ToLower(n), ".")
	if n == "" || rank < e.nameRank {
		return
	}
	e.dev.Hostname, e.nameRank, e.changed = n, rank, true
}

// Observe updates the inventory with one event.
func (inv *Inventory) Observe(ev event.Event) {
	switch e := ev.(type) {
	case *event.Conn:
		end := e.TS.Add(e.Duration)
		if inv.Internal(e.ID.OrigH) {
			d := inv.get(e.ID.OrigH, e.TS)
			d.active = true
			if end.After(d.dev.LastSeen) {
				d.dev.LastSeen = end
			}
			inv.sawMAC(d, e.OrigL2Addr)
		}
		if inv.Internal(e.ID.RespH) && e.RespPkts > 0 {
			d := inv.get(e.ID.RespH, e.TS)
			d.active = true
			if end.After(d.dev.LastSeen) {
				d.dev.LastSeen = end
			}
			inv.sawMAC(d, e.RespL2Addr)
		}
	case *event.DHCP:
		ip := e.AssignedAddr
		if !ip.IsValid() {
			ip = e.ClientAddr
		}
		if !ip.IsValid() || !inv.Internal(ip) {
			return
		}
		d := inv.get(ip, e.TS)
		d.active = true
		if e.MAC != "" {
			d.dev.MAC, d.dhcpMAC = strings.ToLower(e.MAC), true
		}
		host := e.HostName
		if host == "" {
			host = e.ClientFQDN
		} else if e.Domain != "" && !strings.Contains(host, ".") {
			host += "." + e.Domain
		}
		d.name(host, nameDHCP)
	case *event.DNS:
		inv.sawOrig(&e.Meta)
		inv.observeDNS(e)
	case *event.HTTP:
		inv.sawOrig(&e.Meta)
	case *event.TLS:
		inv.sawOrig(&e.Meta)
	case *event.X509:
		inv.observeClientCert(e)
	}
}

// observeClientCert names a device from the TLS client certificate it
// presented: machine certificates (802.1X, mutual TLS, MDM) carry the
// device's host name as their CN.
func (inv *Inventory) observeClientCert(x *event.X509) {
	if !x.ClientCert || x.BasicCA || !x.ID.OrigH.IsValid() || !inv.Internal(x.ID.OrigH) {
		return
	}
	cn := subjectCN(x.Subject)
	if !hostLike(cn) {
		return
	}
	if d := inv.byIP[x.ID.OrigH.Unmap()]; d != nil {
		d.name(cn, nameTLSClient)
	}
}

// subjectCN returns the CN of a distinguished name in Zeek's form
// ("CN=ws-17.corp.example,O=Example").
func subjectCN(dn string) string {
	for _, part := range strings.Split(dn, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "CN="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// hostLike reports whether s looks like a host name (labels of letters,
// digits and hyphens), not a person's name or an e-mail address.
func hostLike(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return letter && !strings.HasPrefix(s, "-") && !strings.HasPrefix(s, ".")
}

// sawOrig counts the originator of a request or handshake as a device:
// Zeek logs without conn.log (DNS or SSL only) still show who is there.
func (inv *Inventory) sawOrig(m *event.Meta) {
	if m.ID.OrigH.IsValid() && inv.Internal(m.ID.OrigH) {
		inv.get(m.ID.OrigH, m.TS).active = true
	}
}

// observeDNS learns names from answers that map internal addresses to names:
// PTR answers for internal addresses, and A/AAAA answers that are internal.
func (inv *Inventory) observeDNS(e *event.DNS) {
	if !e.HasReply || e.RCode != 0 || len(e.Answers) == 0 {
		return
	}
	switch e.QTypeName {
	case "PTR":
		ip, ok := ptrAddr(e.Query)
		if !ok || !inv.Internal(ip) {
			return
		}
		if d := inv.byIP[ip]; d != nil {
			d.name(e.Answers[0], nameDNSPTR)
		}
	case "A", "AAAA":
		for _, a := range e.Answers {
			ip, err := netip.ParseAddr(a)
			if err != nil || !inv.Internal(ip) {
				continue
			}
			if d := inv.byIP[ip.Unmap()]; d != nil {
				d.name(e.Query, nameDNSForward)
			}
		}
	}
}

// ptrAddr turns "4.3.2.1.in-addr.arpa" (or an ip6.arpa name) into an address.
func ptrAddr(q string) (netip.Addr, bool) {
	q = strings.TrimSuffix(strings.ToLower(q), ".")
	if rest, ok := strings.CutSuffix(q, ".in-addr.arpa"); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		for i, j := 0, 3; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		a, err := netip.ParseAddr(strings.Join(parts, "."))
		return a, err == nil
	}
	if rest, ok := strings.CutSuffix(q, ".ip6.arpa"); ok {
		nibbles := strings.Split(rest, ".")
		if len(nibbles) != 32 {
			return netip.Addr{}, false
		}
		var b strings.Builder
		for i := 31; i >= 0; i-- {
			b.WriteString(nibbles[i])
			if i%4 == 0 && i > 0 {
				b.WriteByte(':')
			}
		}
		a, err := netip.ParseAddr(b.String())
		return a, err == nil
	}
	return netip.Addr{}, false
}

// Devices returns the devices seen, sorted by address. A MAC learned only
// from link-layer addresses is given to a device when that MAC was seen for
// no other internal address (a router's MAC fronts many). Addresses that
// DHCP leased to one MAC are merged into one device.
func (inv *Inventory) Devices() []Device { return mergeByMAC(inv.collect(false), inv.byIP) }

// mergeByMAC folds devices whose MAC came from DHCP into one per MAC: the
// most recently seen address names it, first and last seen span them all,
// and a host name from the newest address that has one wins.
func mergeByMAC(ds []Device, byIP map[netip.Addr]*entry) []Device {
	groups := map[string][]int{}
	for i, d := range ds {
		if e := byIP[d.IP]; e != nil && e.dhcpMAC && d.MAC != "" {
			groups[d.MAC] = append(groups[d.MAC], i)
		}
	}
	drop := map[int]bool{}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		best := idx[0]
		for _, i := range idx[1:] {
			if ds[i].LastSeen.After(ds[best].LastSeen) {
				best = i
			}
		}
		m := ds[best]
		for _, i := range idx {
			d := ds[i]
			m.IPs = append(m.IPs, d.IP)
			if d.FirstSeen.Before(m.FirstSeen) {
				m.FirstSeen = d.FirstSeen
			}
			if m.Hostname == "" {
				m.Hostname = d.Hostname
			}
			if i != best {
				drop[i] = true
			}
		}
		sort.Slice(m.IPs, func(a, b int) bool { return m.IPs[a].Less(m.IPs[b]) })
		ds[best] = m
	}
	out := ds[:0]
	for i, d := range ds {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out
}

// Changed returns, like Devices, the devices touched since the last call
// to Changed, so that a live server stores only what changed.
func (inv *Inventory) Changed() []Device { return inv.collect(true) }

func (inv *Inventory) collect(changedOnly bool) []Device {
	out := make([]Device, 0, len(inv.byIP))
	for _, e := range inv.byIP {
		if !e.active || (changedOnly && !e.changed) {
			continue
		}
		if changedOnly {
			e.changed = false
		}
		d := e.dev
		if !e.dhcpMAC && len(e.macs) == 1 {
			for mac := range e.macs {
				if len(inv.ipsPerMAC[mac]) == 1 {
					d.MAC = strings.ToLower(mac)
				}
			}
		}
		d.FirstSeen, d.LastSeen = d.FirstSeen.UTC(), d.LastSeen.UTC()
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}

// Len returns how many devices the inventory holds.
func (inv *Inventory) Len() int {
	n := 0
	for _, e := range inv.byIP {
		if e.active {
			n++
		}
	}
	return n
}

// DefaultInternal lists the address ranges treated as internal when none
// are configured: RFC 1918, RFC 4193 (unique local IPv6), link-local and
// loopback.
func DefaultInternal() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
		"fc00::/7", "169.254.0.0/16", "fe80::/10",
		"127.0.0.0/8", "::1/128",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}
