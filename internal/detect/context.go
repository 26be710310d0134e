package detect

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
	"github.com/vigil-ndr/vigil/internal/units"
)

// Context is what a model knows when it judges one event: the event's
// contact (device and peer), and the baselines as they were before it.
// The engine reuses one Context; models must not keep it.
type Context struct {
	// Now is the latest event time seen (events can arrive slightly out of
	// order: a connection summary comes when the connection ends).
	Now time.Time
	// Contact is nil for events not made by an internal device.
	Contact *baseline.Contact
	Base    *baseline.Baselines
	Net     *baseline.Network

	addr             netip.Addr // the device's address in this event
	domains          *domain.Cache
	resolvers        resolvers
	have             uint8
	ipP, hostP, domP baseline.Prevalence
	peer             Endpoint
}

// Registrable returns the registrable domain of a normalised host name
// (memoised; see domain.Registrable).
func (c *Context) Registrable(h string) string {
	if c.domains == nil {
		return domain.Registrable(h)
	}
	return c.domains.Registrable(h)
}

// Forwarded reports whether the event is a DNS query that an internal
// resolver (an address seen answering other devices' queries) sends on to
// a server outside: its clients' queries, which DNS models judge at the
// clients.
func (c *Context) Forwarded() bool {
	if c.Contact == nil {
		return false
	}
	_, isResolver := c.resolvers[c.addr]
	return isResolver && c.Contact.IP.IsValid() && !c.Base.Internal(c.Contact.IP)
}

// Device returns the event's device profile (nil without a contact).
func (c *Context) Device() *baseline.Profile {
	if c.Contact == nil {
		return nil
	}
	return c.Contact.Device
}

// IPPrevalence returns the peer address's prevalence, seen from the device.
func (c *Context) IPPrevalence() baseline.Prevalence {
	if c.have&1 == 0 {
		c.have |= 1
		c.ipP = c.Net.IP(c.Contact.IP, c.Contact.Device.ID)
	}
	return c.ipP
}

// HostPrevalence returns the peer host name's prevalence (zero without one).
func (c *Context) HostPrevalence() baseline.Prevalence {
	if c.have&2 == 0 {
		c.have |= 2
		c.hostP = c.Net.Name(baseline.KindHost, c.Contact.Host, c.Contact.Device.ID)
	}
	return c.hostP
}

// DomainPrevalence returns the peer's registrable domain's prevalence.
func (c *Context) DomainPrevalence() baseline.Prevalence {
	if c.have&4 == 0 {
		c.have |= 4
		c.domP = c.Net.Name(baseline.KindDomain, c.Contact.Domain, c.Contact.Device.ID)
	}
	return c.domP
}

// Endpoint is the peer's rarity as the models use it: by host name when
// the device used one, else by address.
type Endpoint struct {
	// Label is what was judged: the host name or the address.
	Label string
	Prev  baseline.Prevalence
	// Rare and New apply the baseline's definitions to Prev.
	Rare, New bool
	// Rarity and Newness grade them from 0 to 1 (see baseline).
	Rarity, Newness float64
	// DomainDevices is how many devices used the registrable domain (-1
	// when there is no name).
	DomainDevices int
}

// Peer judges the contact's peer (once per event: models share it).
func (c *Context) Peer() Endpoint {
	if c.have&8 == 0 {
		c.have |= 8
		c.peer = c.judgePeer()
	}
	return c.peer
}

func (c *Context) judgePeer() Endpoint {
	e := Endpoint{DomainDevices: -1}
	if c.Contact.Host != "" {
		e.Label, e.Prev = c.Contact.Host, c.HostPrevalence()
		e.DomainDevices = c.DomainPrevalence().Devices
	} else {
		e.Label, e.Prev = c.Contact.IP.String(), c.IPPrevalence()
	}
	e.Rare, e.New = c.Net.Rare(e.Prev), c.Net.New(e.Prev)
	e.Rarity, e.Newness = c.Net.Rarity(e.Prev), c.Net.Newness(e.Prev)
	return e
}

// Describe says in words how common the endpoint is, e.g. "edge.example.net
// was contacted by no other device of 12 in 28d, first seen 3h ago".
func (c *Context) Describe(e Endpoint) string {
	pop := c.Net.Population()
	win := c.Base.Set.Window
	var s string
	switch {
	case !e.Prev.Seen:
		s = fmt.Sprintf("%s was never contacted before by any of %d devices in %s", e.Label, pop, win)
	case e.Prev.Others == 0:
		s = fmt.Sprintf("%s was contacted by no other device of %d in %s, first seen %s ago", e.Label, pop, win,
			units.Ago(c.Now.Sub(e.Prev.FirstSeen)))
	default:
		approx := ""
		if !e.Prev.Exact {
			approx = "about "
		}
		s = fmt.Sprintf("%s was contacted by %s%d other devices of %d in %s, first seen %s ago", e.Label, approx,
			e.Prev.Others, pop, win, units.Ago(c.Now.Sub(e.Prev.FirstSeen)))
	}
	if l := c.Net.Learned(); l < 1 {
		s += fmt.Sprintf(" (network still learning: %s of data)", units.Ago(c.Now.Sub(c.Net.Start())))
	}
	return s
}

// PrevalenceEvidence returns the endpoint's prevalence as evidence fields.
func (c *Context) PrevalenceEvidence(e Endpoint) breach.Evidence {
	ev := breach.Evidence{
		"endpoint_devices":    e.Prev.Devices,
		"other_devices":       e.Prev.Others,
		"population":          c.Net.Population(),
		"prevalence_window":   c.Base.Set.Window.String(),
		"rare":                e.Rare,
		"new":                 e.New,
		"network_learned_pct": math.Round(c.Net.Learned() * 100),
	}
	if e.Prev.Seen {
		ev["endpoint_first_seen"] = e.Prev.FirstSeen
	}
	if e.DomainDevices >= 0 {
		ev["domain"] = c.Contact.Domain
		ev["domain_devices"] = e.DomainDevices
	}
	return ev
}

// Breach fills a breach for the contact's device and peer. score is 0–1;
// it is scaled to 0–100 and clamped.
func (c *Context) Breach(m Info, score float64, ev breach.Evidence, summary string, uid string) breach.Breach {
	b := breach.Breach{
		Time:     c.Contact.TS.UTC(),
		Model:    m.Name,
		Device:   c.deviceAddr(),
		Score:    Scale(score),
		Endpoint: breach.Endpoint{IP: c.Contact.IP, Hostname: c.Contact.Host, Port: c.Contact.Port},
		MITRE:    m.MITRE,
		Evidence: ev,
		Summary:  summary,
	}
	if uid != "" {
		b.UIDs = []string{uid}
	}
	return b
}

// deviceAddr is the address the device used for this event.
func (c *Context) deviceAddr() netip.Addr { return c.addr }

// Addr returns the address the device used for this event (for summaries).
func (c *Context) Addr() netip.Addr { return c.addr }

// Scale turns a 0–1 strength into a 0–100 score.
func Scale(s float64) int {
	if math.IsNaN(s) || s < 0 {
		return 0
	}
	if s > 1 {
		s = 1
	}
	return int(math.Round(s * 100))
}

// NoisyOr combines independent pieces of evidence, each 0–1, so that
// several weak ones add up without ever exceeding 1.
func NoisyOr(ps ...float64) float64 {
	q := 1.0
	for _, p := range ps {
		if p > 0 {
			q *= 1 - math.Min(p, 1)
		}
	}
	return 1 - q
}
