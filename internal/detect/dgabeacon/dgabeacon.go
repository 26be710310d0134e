// Package dgabeacon implements "Compromise::Fast Beaconing to DGA"
// (MITRE T1568.002 Dynamic Resolution: Domain Generation Algorithms).
//
// Malware that finds its command-and-control server through a domain
// generation algorithm tries many generated names until one resolves: the
// device makes a burst of lookups for names that do not exist (NXDOMAIN),
// each an algorithmic-looking name under a different registrable domain,
// and then calls the one that answers on a short period. The model scores
// every name with the embedded DGA scorer (internal/intel/dga), which
// judges the registrable label, and fires on either
//
//   - a burst: min_nx_names distinct registrable domains scoring at least
//     min_name_score, all NXDOMAIN, looked up by one device within window;
//   - fast beaconing: min_contacts contacts (connections, or answered
//     lookups when no connection follows) from one device to one
//     high-scoring, rare registrable domain, regular in time (gaps of
//     at most max_period, their spread at most max_jitter of the median).
//
// Benign look-alikes it leaves alone: a DNS server forwarding its clients'
// queries (an internal address seen answering other devices' DNS is a
// resolver; its own lookups are judged at the client); CDN and cloud host
// names (d1234abcd.cloudfront.net is judged by "cloudfront"); Chrome's
// random 7-15-letter intranet-redirect probes and other single-label names
// (WPAD, ISATAP, NetBIOS-style names), names under suffixes that are not
// public (acme.lan, .local, .internal) and reverse lookups; and, for
// periodic contact, domains that are not rare (many devices use them:
// msftncsi.com scores high as a name but every Windows host calls it).
//
// State is bounded: at most maxDevices devices and maxPairs (device,
// domain) pairs are remembered (generational caches, the least recently
// used forgotten first), each holding at most maxNames names or
// maxContacts contact times, trimmed by event time.
package dgabeacon

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/dga"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "fast-beacon-dga"

const (
	maxDevices  = 4096 // devices with a burst window (per generation)
	maxPairs    = 8192 // (device, domain) pairs with contact times (per generation)
	maxNames    = 64   // names in one device's burst window
	maxContacts = 48   // contact times kept per pair
	maxScores   = 1 << 15
	maxShown    = 10
)

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Compromise::Fast Beaconing to DGA",
		MITRE: []string{"T1568.002"},
		Reads: []event.Kind{event.KindDNS, event.KindConn},
		Summary: "a burst of NXDOMAIN lookups for algorithmically generated names from one device, or " +
			"short-period regular contact with a rare algorithmically generated domain",
		Learning: "Needs no baseline: names are scored by the embedded DGA model from the first event, so " +
			"a short capture with a burst fires. Periodic contact also needs the domain to be rare, and " +
			"while the network is learning every domain is rare; an internal DNS server is recognised " +
			"once it is seen answering another device, and its forwarded lookups before that can count.",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{
				MinNameScore: 0.9,
				MinNXNames:   10,
				Window:       units.Duration(5 * time.Minute),
				MinContacts:  8,
				MaxPeriod:    units.Duration(15 * time.Minute),
				MaxJitter:    0.5,
				MinGap:       units.Duration(2 * time.Second),
				RepeatAfter:  units.Duration(6 * time.Hour),
			}
		},
	})
}

// Model holds the thresholds and the per-device state.
type Model struct {
	// MinNameScore is the DGA score (0-1) from which a name counts.
	MinNameScore float64 `yaml:"min_name_score"`
	// MinNXNames distinct high-scoring registrable domains answered
	// NXDOMAIN within Window make a burst.
	MinNXNames int            `yaml:"min_nx_names"`
	Window     units.Duration `yaml:"window"`
	// MinContacts regular contacts with one high-scoring rare domain,
	// their median gap at most MaxPeriod and the gaps' median absolute
	// deviation at most MaxJitter of the median, make fast beaconing.
	// Contacts closer than MinGap are one contact (a lookup and its
	// connection, retries).
	MinContacts int            `yaml:"min_contacts"`
	MaxPeriod   units.Duration `yaml:"max_period"`
	MaxJitter   float64        `yaml:"max_jitter"`
	MinGap      units.Duration `yaml:"min_gap"`
	// RepeatAfter is the least time between two breaches of one kind for
	// one device.
	RepeatAfter units.Duration `yaml:"repeat_after"`
	// MinScore drops breaches scoring below it (0-100).
	MinScore int `yaml:"min_score"`

	devices *detect.Cache[uint32, *burst]
	pairs   *detect.Cache[pairKey, *contacts]
	scores  *detect.Cache[string, float64] // registrable domain -> DGA score
}

// nxName is one NXDOMAIN lookup counted in a burst.
type nxName struct {
	ts    int64
	reg   string
	query string
	score float64
	uid   string
}

type burst struct {
	names []nxName
	nx    int   // NXDOMAIN answers in the window (any name), for evidence
	fired int64 // last breach, unix nanoseconds
}

type pairKey struct {
	dev uint32
	reg string
}

type contacts struct {
	ts    []int64
	ip    netip.Addr
	port  uint16
	host  string
	uid   string
	fired int64
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.MinNameScore <= 0 || m.MinNameScore >= 1:
		return fmt.Errorf("min_name_score: must be between 0 and 1, got %g", m.MinNameScore)
	case m.MinNXNames < 2 || m.MinNXNames > maxNames:
		return fmt.Errorf("min_nx_names: must be 2–%d, got %d", maxNames, m.MinNXNames)
	case m.Window <= 0:
		return fmt.Errorf("window: must be positive, got %s", m.Window)
	case m.MinContacts < 3 || m.MinContacts > maxContacts:
		return fmt.Errorf("min_contacts: must be 3–%d, got %d", maxContacts, m.MinContacts)
	case m.MaxPeriod <= 0:
		return fmt.Errorf("max_period: must be positive, got %s", m.MaxPeriod)
	case m.MaxJitter <= 0 || m.MaxJitter > 1:
		return fmt.Errorf("max_jitter: must be in (0, 1], got %g", m.MaxJitter)
	case m.MinGap < 0:
		return fmt.Errorf("min_gap: must not be negative, got %s", m.MinGap)
	case m.RepeatAfter < 0:
		return fmt.Errorf("repeat_after: must not be negative, got %s", m.RepeatAfter)
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// Observe counts NXDOMAIN lookups and contacts with high-scoring names.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	if c.Contact == nil {
		return nil
	}
	if m.devices == nil {
		m.devices = detect.NewCache[uint32, *burst](maxDevices)
		m.pairs = detect.NewCache[pairKey, *contacts](maxPairs)
		m.scores = detect.NewCache[string, float64](maxScores)
	}
	now := c.Contact.TS.UnixNano()
	switch x := e.(type) {
	case *event.DNS:
		if c.Forwarded() {
			return nil // a resolver forwarding its clients' queries
		}
		host := domain.Normalize(x.Query)
		reg, score, ok := m.judge(c, host)
		if !ok {
			return nil
		}
		if x.NXDomain() {
			return m.nx(c, x, host, reg, score, now)
		}
		if x.HasReply && x.RCode == 0 && len(x.Answers) > 0 {
			return m.contact(c, reg, score, now, netip.Addr{}, 0, host, x.UID)
		}
	case *event.Conn:
		if !c.Contact.External || c.Contact.Domain == "" {
			return nil
		}
		reg, score, ok := m.judge(c, c.Contact.Host)
		if !ok {
			return nil
		}
		return m.contact(c, reg, score, now, c.Contact.IP, c.Contact.Port, c.Contact.Host, x.UID)
	}
	return nil
}

// judge returns a name's registrable domain and DGA score, and whether the
// name is one the model considers at all (and scores high enough).
func (m *Model) judge(c *detect.Context, host string) (string, float64, bool) {
	if host == "" || !strings.Contains(host, ".") || domain.IsAddr(host) || strings.HasSuffix(host, ".arpa") {
		return "", 0, false // single labels: Chrome's probes, WPAD, NetBIOS-style names
	}
	first := host[:strings.IndexByte(host, '.')]
	if first == "wpad" || first == "isatap" {
		return "", 0, false
	}
	if suf, icann := publicsuffix.PublicSuffix(host); !icann && !strings.Contains(suf, ".") {
		return "", 0, false // acme.lan, .local, .internal: not a public suffix
	}
	reg := c.Registrable(host)
	s, ok := m.scores.Get(reg)
	if !ok {
		s = dga.Score(reg)
		m.scores.Put(reg, s)
	}
	return reg, s, s >= m.MinNameScore
}

// nx counts one NXDOMAIN answer for a high-scoring name.
func (m *Model) nx(c *detect.Context, x *event.DNS, host, reg string, score float64, now int64) []breach.Breach {
	dev := c.Contact.Device.ID
	b, _ := m.devices.Get(dev)
	if b == nil {
		b = &burst{}
	}
	m.devices.Put(dev, b)
	cut := now - int64(m.Window.D())
	kept := b.names[:0]
	for _, n := range b.names {
		if n.ts >= cut && n.reg != reg {
			kept = append(kept, n)
		}
	}
	b.names = kept
	if len(b.names) >= maxNames {
		b.names = b.names[:copy(b.names, b.names[1:])]
	}
	b.names = append(b.names, nxName{ts: now, reg: reg, query: host, score: score, uid: x.UID})
	if len(b.names) < m.MinNXNames || b.fired != 0 && now-b.fired < int64(m.RepeatAfter.D()) {
		return nil
	}
	br, ok := m.burstBreach(c, b.names)
	b.fired = now
	b.names = b.names[:0]
	if !ok {
		return nil
	}
	return []breach.Breach{br}
}

func (m *Model) burstBreach(c *detect.Context, names []nxName) (breach.Breach, bool) {
	n := float64(len(names))
	first, last := names[0].ts, names[0].ts
	var sum float64
	tlds := map[string]bool{}
	for _, x := range names {
		first, last = min(first, x.ts), max(last, x.ts)
		sum += x.score
		tlds[domain.Suffix(x.reg)] = true
	}
	mean := sum / n
	span := time.Duration(last - first)
	// A burst of generated names that do not exist is the finding (0.6);
	// more names than the threshold, names scoring nearer certainty, and
	// a faster burst make it surer.
	more := math.Min(1, (n-float64(m.MinNXNames))/float64(m.MinNXNames))
	sure := (mean - m.MinNameScore) / (1 - m.MinNameScore)
	speed := math.Max(0, 1-float64(span)/float64(m.Window.D()))
	score := detect.NoisyOr(0.6, 0.25*more, 0.3*sure, 0.15*speed)
	if detect.Scale(score) < m.MinScore {
		return breach.Breach{}, false
	}
	sorted := append([]nxName(nil), names...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].score != sorted[j].score {
			return sorted[i].score > sorted[j].score
		}
		return sorted[i].query < sorted[j].query
	})
	shown := make([]string, 0, maxShown)
	uids := make([]string, 0, maxShown)
	for _, x := range sorted[:min(len(sorted), maxShown)] {
		shown = append(shown, fmt.Sprintf("%s (%.2f)", x.query, x.score))
		if x.uid != "" {
			uids = append(uids, x.uid)
		}
	}
	tldList := make([]string, 0, len(tlds))
	for t := range tlds {
		tldList = append(tldList, t)
	}
	sort.Strings(tldList)
	ev := breach.Evidence{
		"kind":            "nxdomain-burst",
		"nxdomain_names":  len(names),
		"window":          m.Window.String(),
		"span":            units.Ago(span),
		"first_lookup":    time.Unix(0, first).UTC(),
		"last_lookup":     time.Unix(0, last).UTC(),
		"mean_dga_score":  math.Round(mean*1000) / 1000,
		"names":           shown,
		"suffixes":        tldList,
		"min_name_score":  m.MinNameScore,
		"min_nx_names":    m.MinNXNames,
		"lookups_per_min": math.Round(n/math.Max(span.Minutes(), 1.0/60)*10) / 10,
	}
	ev.Why(fmt.Sprintf("%d lookups in %s for distinct algorithmic-looking domains (mean DGA score %.2f) all answered NXDOMAIN",
		len(names), units.Ago(span), mean))
	ev.Why("for example " + strings.Join(shown[:min(len(shown), 3)], ", "))
	b := c.Breach(m.Info(), score, ev, "", "")
	b.Endpoint = breach.Endpoint{Hostname: sorted[0].query}
	b.UIDs = uids
	b.Summary = fmt.Sprintf("%s looked up %d algorithmically generated domains that do not exist in %s (DGA)",
		c.Addr(), len(names), units.Ago(span))
	return b, true
}

// contact records one contact with a high-scoring domain and fires when
// the contacts are fast and regular.
func (m *Model) contact(c *detect.Context, reg string, score float64, now int64, ip netip.Addr, port uint16, host, uid string) []breach.Breach {
	k := pairKey{c.Contact.Device.ID, reg}
	p, _ := m.pairs.Get(k)
	if p == nil {
		p = &contacts{}
	}
	m.pairs.Put(k, p)
	if ip.IsValid() {
		p.ip, p.port = ip, port
	}
	p.host, p.uid = host, uid
	if n := len(p.ts); n > 0 && now-p.ts[n-1] < int64(m.MinGap.D()) {
		return nil
	}
	// Contacts older than MinContacts periods cannot be part of a fast beacon.
	cut := now - int64(m.MaxPeriod.D())*int64(m.MinContacts)
	i := 0
	for i < len(p.ts) && p.ts[i] < cut {
		i++
	}
	p.ts = p.ts[:copy(p.ts, p.ts[i:])]
	if len(p.ts) >= maxContacts {
		p.ts = p.ts[:copy(p.ts, p.ts[1:])]
	}
	p.ts = append(p.ts, now)
	if len(p.ts) < m.MinContacts || p.fired != 0 && now-p.fired < int64(m.RepeatAfter.D()) {
		return nil
	}
	gaps := make([]float64, 0, len(p.ts)-1)
	for j := 1; j < len(p.ts); j++ {
		gaps = append(gaps, float64(p.ts[j]-p.ts[j-1]))
	}
	med := median(gaps)
	dev := make([]float64, len(gaps))
	for j, g := range gaps {
		dev[j] = math.Abs(g - med)
	}
	mad := median(dev)
	jitter := mad / med
	if med <= 0 || med > float64(m.MaxPeriod.D()) || jitter > m.MaxJitter {
		return nil
	}
	prev := c.Net.Name(baseline.KindDomain, reg, c.Contact.Device.ID)
	if !c.Net.Rare(prev) {
		return nil
	}
	rarity, newness := c.Net.Rarity(prev), c.Net.Newness(prev)
	regular := 1 - jitter/m.MaxJitter
	sure := (score - m.MinNameScore) / (1 - m.MinNameScore)
	s := detect.NoisyOr(0.5, 0.2*regular, 0.2*sure, 0.1*rarity, 0.1*newness)
	p.fired = now
	if detect.Scale(s) < m.MinScore {
		return nil
	}
	period := time.Duration(med)
	span := time.Duration(p.ts[len(p.ts)-1] - p.ts[0])
	ev := breach.Evidence{
		"kind":           "periodic",
		"domain":         reg,
		"host":           host,
		"dga_score":      math.Round(score*1000) / 1000,
		"contacts":       len(p.ts),
		"period":         units.Ago(period),
		"jitter":         math.Round(jitter*100) / 100,
		"first_contact":  time.Unix(0, p.ts[0]).UTC(),
		"last_contact":   time.Unix(0, p.ts[len(p.ts)-1]).UTC(),
		"span":           units.Ago(span),
		"domain_devices": prev.Devices,
		"rarity":         math.Round(rarity*100) / 100,
		"newness":        math.Round(newness*100) / 100,
		"max_period":     m.MaxPeriod.String(),
		"min_contacts":   m.MinContacts,
	}
	ev.Why(fmt.Sprintf("%d contacts with %s in %s, every %s (median absolute deviation %.0f%% of the period)",
		len(p.ts), host, units.Ago(span), units.Ago(period), jitter*100))
	ev.Why(fmt.Sprintf("the registrable domain %s looks algorithmically generated (DGA score %.2f)", reg, score))
	b := c.Breach(m.Info(), s, ev, "", p.uid)
	b.Endpoint = breach.Endpoint{IP: p.ip, Hostname: host, Port: p.port}
	b.Summary = fmt.Sprintf("%s contacted the algorithmically generated domain %s every %s (%d times)",
		c.Addr(), reg, units.Ago(period), len(p.ts))
	return []breach.Breach{b}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

var _ detect.Model = (*Model)(nil)
