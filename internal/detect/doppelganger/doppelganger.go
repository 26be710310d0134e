// Package doppelganger implements "Compromise::Possible Doppelganger
// Attack": a device looks up or connects to a rare host name that
// masquerades as a well-known brand or service, or as one of the
// organisation's own popular domains. Credential phishing, fake login
// portals and malware staging sites live on such names
// (login.micros0ft-online.com, paypal-secure-login.com, аpple.com in
// Cyrillic), and a certificate check does not help: they carry valid
// certificates.
//
// It reads DNS queries (not those answered NXDOMAIN: nothing to be lured
// to; not names that resolve only to internal addresses, nor WPAD/ISATAP
// names the system makes up; an internal resolver's forwarded queries are
// judged at the client),
// TLS server names and HTTP Host headers. A name is judged by its
// registrable domain: a brand's own domains (internal/intel/brands) and
// the network's popular domains never fire. Any other name fires when its
// label
//
//   - has the skeleton of a brand's or popular domain's name: look-alike
//     characters (0/o, 1/l/i, rn/m, vv/w, or letters of other scripts in
//     an IDN, decoded from Punycode);
//   - is a small Damerau–Levenshtein distance from a brand's distinctive
//     name or a long popular domain, counting only the slips typosquatters
//     register (a swap, a letter left out inside, a doubled letter; in long
//     names also a neighbouring key or vowel), two of them from 13
//     characters on (edits to short words mostly give other words);
//   - is the same name under a new generic suffix (paypal.xyz), or only
//     adds hyphens (micro-soft.com);
//   - contains a brand's name as a whole part, bounded by hyphens or by
//     combosquatting and filler terms (paypal-secure-login.com,
//     microsoftonline), the terms raising the score; word-like and short
//     names ("apple", "ups") count only beside such a term;
//   - or carries a brand's domain in its subdomain (paypal.com.verify.net).
//
// Only names whose registrable domain is rare on the network fire; the
// score grows with the similarity, the brand's importance, combosquatting
// terms, newness and rarity. One breach covers a device's use of one
// look-alike domain for domain_cooldown, however many names under it.
package doppelganger

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/brands"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "doppelganger"

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Compromise::Possible Doppelganger Attack",
		MITRE: []string{"T1036", "T1583.001"},
		Reads: []event.Kind{event.KindDNS, event.KindTLS, event.KindHTTP},
		Summary: "DNS lookup, TLS SNI or HTTP Host of a rare name that imitates a well-known brand or one of the " +
			"organisation's popular domains (look-alike characters, typos, brand name plus combosquatting terms)",
		Learning: "Brand look-alikes need no baseline: the brand list is built in, so they fire from the first " +
			"event. The organisation's popular domains are learned as devices use them (org_min_devices), so " +
			"look-alikes of those fire only once the original is established. Newness adds to the score only " +
			"as the network's learning period fills, so short captures score a little lower.",
		Cooldown: detect.DefaultCooldown,
		New:      New,
	})
}

// New returns the model with its default thresholds.
func New() detect.Model {
	return &Model{
		MinScore:        50,
		MinTokenLen:     4,
		TypoMinLen:      5,
		TypoLongLen:     9,
		TypoTwoEditsLen: 13,
		ComboWeight:     0.15,
		NewnessWeight:   0.2,
		OrgMinDevices:   3,
		OrgMinShare:     0.05,
		OrgMaxDomains:   512,
		OrgForget:       units.Duration(28 * 24 * time.Hour),
		OrgImportance:   0.8,
		DomainCooldown:  units.Duration(detect.DefaultCooldown),
		CacheSize:       1 << 15,
	}
}

// Model holds the thresholds and the bounded state learned from events.
type Model struct {
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
	// MinTokenLen is the shortest brand name searched for inside a foreign
	// domain or compared by look-alike characters; shorter names ("ups",
	// "dhl") count only as a whole hyphen-separated part beside a
	// combosquatting term.
	MinTokenLen int `yaml:"min_token_len"`
	// TypoMinLen is the shortest name compared by edit distance ("x.com"
	// and "t.co" are one edit apart and unrelated).
	TypoMinLen int `yaml:"typo_min_len"`
	// Edit distance counts only slips a reader overlooks: a swap of
	// neighbours, a letter left out inside the name, a doubled letter, a
	// neighbouring key; other single edits of a word mostly give another
	// word ("slack" and "stack"). TypoLongLen: names at least this long
	// also match a neighbouring key added, one vowel for another, and one
	// look-alike on top of a slip.
	TypoLongLen int `yaml:"typo_long_len"`
	// TypoTwoEditsLen: names at least this long match two edits.
	TypoTwoEditsLen int `yaml:"typo_two_edits_len"`
	// ComboWeight is what each combosquatting term adds (noisy-or, at most
	// three terms).
	ComboWeight float64 `yaml:"combo_weight"`
	// NewnessWeight is what a domain first seen after the learning period
	// adds.
	NewnessWeight float64 `yaml:"newness_weight"`
	// OrgMinDevices and OrgMinShare make a registrable domain one of the
	// organisation's popular domains: used by at least this many devices
	// and this share of the population, whichever is more.
	OrgMinDevices int     `yaml:"org_min_devices"`
	OrgMinShare   float64 `yaml:"org_min_share"`
	// OrgMaxDomains bounds the popular domains kept (least recently
	// popular goes first).
	OrgMaxDomains int `yaml:"org_max_domains"`
	// OrgForget drops a popular domain not seen popular for this long.
	OrgForget units.Duration `yaml:"org_forget"`
	// OrgImportance is the importance of a popular domain, as a brand's
	// (0–1).
	OrgImportance float64 `yaml:"org_importance"`
	// DomainCooldown: after a breach for a device and a look-alike
	// registrable domain, other names under that domain from the device
	// raise nothing for this long unless they score 10 more (a DNS tunnel
	// under "0ffice365.life" is a new name per query).
	DomainCooldown units.Duration `yaml:"domain_cooldown"`
	// CacheSize bounds the judged host names remembered (twice this many
	// at most).
	CacheSize int `yaml:"cache_size"`

	st *state
}

// state is what the model learns and caches; bounded by OrgMaxDomains,
// maxResolvers and CacheSize.
type state struct {
	ix    *index
	pop   *popular
	cache *detect.Cache[string, *judgement]
	fired *fired
	swept int64
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	case m.MinTokenLen < 3:
		return fmt.Errorf("min_token_len: must be at least 3, got %d", m.MinTokenLen)
	case m.TypoMinLen < 3:
		return fmt.Errorf("typo_min_len: must be at least 3, got %d", m.TypoMinLen)
	case m.TypoLongLen < m.TypoMinLen:
		return errors.New("typo_long_len: must not be below typo_min_len")
	case m.TypoTwoEditsLen < m.TypoLongLen:
		return errors.New("typo_two_edits_len: must not be below typo_long_len")
	case m.ComboWeight < 0 || m.ComboWeight > 1 || m.NewnessWeight < 0 || m.NewnessWeight > 1:
		return errors.New("combo_weight, newness_weight: must be 0–1")
	case m.OrgMinDevices < 2:
		return fmt.Errorf("org_min_devices: must be at least 2, got %d", m.OrgMinDevices)
	case m.OrgMinShare < 0 || m.OrgMinShare > 1:
		return fmt.Errorf("org_min_share: must be 0–1, got %g", m.OrgMinShare)
	case m.OrgMaxDomains < 0:
		return errors.New("org_max_domains: must not be negative")
	case m.OrgForget <= 0:
		return errors.New("org_forget: must be positive")
	case m.OrgImportance < 0 || m.OrgImportance > 1:
		return fmt.Errorf("org_importance: must be 0–1, got %g", m.OrgImportance)
	case m.DomainCooldown < 0:
		return errors.New("domain_cooldown: must not be negative")
	case m.CacheSize < 16:
		return fmt.Errorf("cache_size: must be at least 16, got %d", m.CacheSize)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

func (m *Model) limits() limits {
	return limits{minToken: m.MinTokenLen, typoMin: m.TypoMinLen, typoLong: m.TypoLongLen, typoTwo: m.TypoTwoEditsLen}
}

func (m *Model) state() *state {
	if m.st == nil {
		m.st = &state{
			ix:    newIndex(brands.Default(), m.limits()),
			pop:   newPopular(max(m.OrgMaxDomains, 1), m.limits()),
			cache: detect.NewCache[string, *judgement](m.CacheSize),
			fired: newFired(m.CacheSize),
		}
	}
	return m.st
}

// Observe judges the name in a DNS query, TLS handshake or HTTP request.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	if c.Contact == nil {
		return nil
	}
	st := m.state()
	now := c.Contact.TS.Unix()
	var host, reg, via, uid string
	switch x := e.(type) {
	case *event.DNS:
		if c.Forwarded() {
			return nil // the resolver forwarding a client's query
		}
		if x.Rejected || x.HasReply && x.RCode != 0 {
			return nil // no such name (NXDOMAIN) or refused: nothing to be lured to
		}
		if internalAnswers(c, x.Answers) {
			return nil // an internal name under a public-looking suffix
		}
		host, via, uid = domain.Normalize(x.Query), "dns", x.UID
		if host == "" || domain.IsAddr(host) || strings.HasSuffix(host, ".arpa") || !strings.Contains(host, ".") ||
			autoDiscovery(host) {
			return nil
		}
	case *event.TLS, *event.HTTP:
		if !c.Contact.External || c.Contact.Host == "" {
			return nil
		}
		host, reg, uid = c.Contact.Host, c.Contact.Domain, e.Base().UID
		via = "tls"
		if _, ok := e.(*event.HTTP); ok {
			via = "http"
		}
		m.learnPopular(c, st, host, reg, now)
	default:
		return nil
	}
	j := m.judge(st, host, reg)
	if j.verdict == nil {
		return nil
	}
	return m.raise(c, e, j, host, via, uid)
}

// autoDiscovery reports whether a name is one the operating system makes
// up by putting a fixed label before the search domain (WPAD, ISATAP, DNS
// service discovery): nobody chose it, so it imitates nothing.
func autoDiscovery(host string) bool {
	first, _, _ := strings.Cut(host, ".")
	return first == "wpad" || first == "isatap" || strings.HasPrefix(first, "_")
}

// internalAnswers reports whether a DNS answer has addresses and all of
// them are internal: a look-alike that lures anyone resolves outside.
func internalAnswers(c *detect.Context, answers []string) bool {
	seen := false
	for _, a := range answers {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue // a name in a CNAME chain
		}
		if !c.Base.Internal(ip.Unmap()) {
			return false
		}
		seen = true
	}
	return seen
}

// judge checks a host name, from the cache when it can.
func (m *Model) judge(st *state, host, reg string) *judgement {
	if j, ok := st.cache.Get(host); ok && j.gen == st.pop.gen {
		return j
	}
	if reg == "" {
		reg = domain.Registrable(host)
	}
	j := &judgement{reg: reg, gen: st.pop.gen}
	if _, legit := st.ix.cat.Owner(reg); !legit && !st.pop.has(reg) {
		var org *targetSet
		if len(st.pop.last) > 0 {
			org = st.pop.set()
		}
		j.verdict = st.ix.check(host, reg, org, m.OrgImportance)
	}
	st.cache.Put(host, j)
	return j
}

// learnPopular adds the registrable domain to the popular set when enough
// devices use it, unless it is itself a brand look-alike (a phishing
// domain that reached three users must not become a trusted original).
func (m *Model) learnPopular(c *detect.Context, st *state, host, reg string, now int64) {
	if m.OrgMaxDomains == 0 || reg == "" {
		return
	}
	if now-st.swept >= 3600 {
		st.swept = now
		st.pop.expire(now - int64(m.OrgForget.D()/time.Second))
	}
	need := max(m.OrgMinDevices, int(math.Ceil(m.OrgMinShare*float64(c.Net.Population()))))
	if c.DomainPrevalence().Devices < need {
		return
	}
	if st.pop.has(reg) {
		st.pop.touch(reg, now)
		return
	}
	if _, legit := st.ix.cat.Owner(reg); legit {
		return
	}
	if st.ix.check(host, reg, nil, m.OrgImportance) != nil {
		return
	}
	st.pop.touch(reg, now)
}

// raise scores a look-alike that the network rarely uses and writes its
// evidence.
func (m *Model) raise(c *detect.Context, e event.Event, j *judgement, host, via, uid string) []breach.Breach {
	dev := c.Contact.Device.ID
	domP := c.Net.Name(baseline.KindDomain, j.reg, dev)
	if !c.Net.Rare(domP) {
		return nil
	}
	hostP := c.Net.Name(baseline.KindHost, host, dev)
	peer := detect.Endpoint{
		Label: host, Prev: hostP, Rare: c.Net.Rare(hostP), New: c.Net.New(hostP),
		Rarity: c.Net.Rarity(hostP), Newness: c.Net.Newness(hostP), DomainDevices: domP.Devices,
	}
	v := j.verdict
	best := v.findings[0]
	terms := append(append([]string(nil), v.combos...), v.subTerms...)
	newness, rarity := c.Net.Newness(domP), c.Net.Rarity(domP)
	score := m.score(v, newness, rarity)
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	if m.st.fired.suppress(dev, j.reg, c.Contact.TS.Unix(), int64(m.DomainCooldown.D()/time.Second), detect.Scale(score)) {
		return nil
	}

	ev := c.PrevalenceEvidence(peer)
	ev["domain"], ev["host"], ev["seen_in"] = j.reg, host, via
	ev["imitates"], ev["technique"] = best.imitates, best.tech.String()
	ev["brand"] = m.brandName(best.brand)
	ev["similarity"] = math.Round(best.sim*100) / 100
	if best.how != "" {
		ev["differences"] = best.how
	}
	if best.tech == techTypo || best.tech == techHomoglyph || best.tech == techIDN || best.tech == techHyphen {
		ev["edit_distance"] = best.diffs
	}
	if len(terms) > 0 {
		ev["combosquat_terms"] = terms
	}
	if v.decoded != "" {
		ev["idn_unicode"] = v.decoded
	}
	ev["newness"] = math.Round(newness*100) / 100
	switch x := e.(type) {
	case *event.DNS:
		ev["query_type"] = x.QTypeName
		if len(x.Answers) > 0 {
			ev["answers"] = x.Answers[:min(len(x.Answers), 4)]
		}
	default:
		ev["server_ip"], ev["server_port"] = c.Contact.IP.String(), c.Contact.Port
	}
	for _, f := range v.findings {
		ev.Why(m.sentence(f, j.reg, v))
	}
	if len(terms) > 0 {
		ev.Why("combosquatting terms: " + strings.Join(terms, ", "))
	}
	ev.Why(c.Describe(peer))

	verb := map[string]string{"dns": "looked up", "tls": "connected to", "http": "sent HTTP to"}[via]
	what := best.imitates
	if best.brand < 0 {
		what += ", a domain popular in this network"
	} else {
		b := &m.st.ix.cat.Brands[best.brand]
		if !strings.Contains(what, ".") {
			what = b.Domains[0]
		}
		what = b.Name + " (" + what + ")"
	}
	sum := fmt.Sprintf("%s %s %s, a look-alike of %s", c.Addr(), verb, host, what)
	b := c.Breach(m.Info(), score, ev, sum, uid)
	// One breach per device and name whichever way it was seen: a lookup,
	// then the handshake to the address it returned, are one event (the
	// engine's cooldown is keyed by the endpoint).
	b.Endpoint = breach.Endpoint{Hostname: host}
	return []breach.Breach{b}
}

// score combines the strongest finding (similarity times the brand's
// importance) with each combosquatting term (at most three) and the
// domain's newness, then scales by its rarity: a name no other device uses
// keeps its full score, one at the rare limit three quarters of it.
func (m *Model) score(v *verdict, newness, rarity float64) float64 {
	parts := []float64{v.findings[0].weight}
	for i := 0; i < len(v.combos)+len(v.subTerms) && i < 3; i++ {
		parts = append(parts, m.ComboWeight)
	}
	parts = append(parts, m.NewnessWeight*newness)
	return detect.NoisyOr(parts...) * (0.75 + 0.25*rarity)
}

func (m *Model) brandName(b int32) string {
	if b < 0 {
		return "a domain popular in this network"
	}
	return m.st.ix.cat.Brands[b].Name
}

// ownDomains says which domains the brand really uses ("PayPal's own
// domains are paypal.com, paypal.me and 20 more").
func (m *Model) ownDomains(b int32) string {
	br := &m.st.ix.cat.Brands[b]
	ds := br.Domains[:min(2, len(br.Domains))]
	s := br.Name + "'s own domains are " + strings.Join(ds, ", ")
	if n := len(br.Domains) - len(ds); n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	return s
}

// sentence says in words what one finding is.
func (m *Model) sentence(f finding, reg string, v *verdict) string {
	who := m.brandName(f.brand)
	owner := who + "'s"
	if f.brand < 0 {
		owner = "the popular"
	}
	label := v.label
	if v.decoded != "" {
		label = v.decoded + " (" + v.label + ")"
	}
	switch f.tech {
	case techIDN:
		return fmt.Sprintf("internationalised name %s reads as %s %s: %s (%s)", label, owner, f.imitates, f.how, f.tech)
	case techHomoglyph, techHyphen, techTypo:
		where := ""
		if f.part != strings.ReplaceAll(v.label, "-", "") && f.part != v.label {
			where = fmt.Sprintf(" (in part %q)", f.part)
		}
		note := ""
		if f.hyphens {
			note = " (ignoring hyphens)"
		}
		return fmt.Sprintf("%s is edit distance %d from %s %s%s%s: %s (%s)", reg, f.diffs, owner, f.imitates, where, note, f.how, f.tech)
	case techTLD:
		return fmt.Sprintf("%s uses %s name '%s' (%s) under a suffix it does not use", reg, owner, f.part, f.imitates)
	case techToken, techTokenEnd, techWord:
		s := fmt.Sprintf("brand name '%s' in foreign domain %s", f.imitates, reg)
		if f.how != "" {
			s += ", written " + f.how
		}
		if f.tech == techTokenEnd {
			s += " (at one end of a longer word)"
		}
		return s + "; " + m.ownDomains(f.brand)
	case techSubdomain:
		return fmt.Sprintf("%s name in the subdomain of foreign domain %s: %s", owner, reg, f.how)
	}
	return ""
}

var _ detect.Model = (*Model)(nil)
