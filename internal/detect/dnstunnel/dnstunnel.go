// Package dnstunnel implements "Compromise::DNS Tunnelling": a device
// sends many unique, long, high-entropy names under one registrable domain
// that nobody else in the network uses. DNS tunnels (dnscat2, iodine,
// RogueRobin, Saitama, Symbiote, home-made exfiltration scripts) encode
// their upstream data in the labels left of a domain whose authoritative
// server they control, and fetch the answer in TXT, NULL, CNAME or MX
// records; every query is a new name, so the attacker's server sees it
// through any recursive resolver (MITRE T1071.004 Application Layer
// Protocol: DNS, T1048 Exfiltration Over Alternative Protocol).
//
// State is kept per (device, registrable domain of the query name) over a
// window: unique subdomains (by hash, bounded), their lengths, the
// entropy of their alphabet, the qtype mix, NXDOMAIN share, the upstream
// bytes (sum of the unique subdomains' lengths: roughly the payload) and
// which encoding the names look like (hex: dnscat2-like; one-case base32
// or base36: iodine's default and most home-made tools; mixed-case base64
// or bytes outside ASCII: iodine's base64/base128 codecs).
//
// A second check catches C2 that spreads few names over many domains
// (RogueRobin rotates one session label over ten look-alike domains and
// cycles A, AAAA, CNAME, TXT, MX, SRV and SOA): one label queried by one
// device under fanout_domains rare domains with three query types or more,
// two of them data-carrying (see fanout.go).
//
// The breach says whether the tunnel is uploading (many long names, a lot
// of upstream bytes), idle (short polls: keep-alive of an idle session) or
// interactive (both). An idle tunnel still fires when its polls are
// unique names with a data-carrying qtype or encoded labels: dnscat2 and
// iodine poll with a fresh name every second or so, which no benign
// software does, and the session is the attacker's channel whether or
// not it carries data at this moment.
//
// What must not fire, and why it does not:
//   - a resolver forwarding everyone's queries: an internal address that
//     answers other internal devices' DNS is a resolver; its own queries
//     are skipped and the clients are judged instead;
//   - popular domains with hashed subdomains (CDNs, anti-virus cloud
//     lookups, DNSBL and reputation lookups, DoH/ECS probes): a domain
//     queried by popular_devices or more devices (counted here over
//     prevalence_window, and from the connection baselines) is skipped;
//     a domain the device also connects to (its profile holds it) serves
//     content under those names; and lookups answered with loopback
//     addresses (127.0.0.0/8: the DNSBL and reputation answer convention)
//     are reputation queries, not a channel.
//
// State is bounded: at most cache_size (device, domain) windows, device
// fan-out windows and domains (twice that many in the generational
// caches), each remembering at most maxTrack unique subdomain hashes,
// maxSamples sample names, maxFanLabels labels of maxFanDomains domains.
package dnstunnel

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "dns-tunnelling"

const (
	// maxTrack bounds the unique subdomain hashes one window remembers;
	// beyond it the count saturates (the model has long fired).
	maxTrack = 512
	// maxSamples bounds the names shown in evidence.
	maxSamples = 5
	// maxMembers bounds the devices remembered per domain for prevalence.
	maxMembers = 16
	// minWindowSub is the shortest subdomain of an address lookup that is
	// counted in a window (shorter ones carry no payload).
	minWindowSub = 8
	// minEncodedLen is the shortest subdomain whose alphabet is judged.
	minEncodedLen = 12
)

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Compromise::DNS Tunnelling",
		MITRE: []string{"T1071.004", "T1048"},
		Reads: []event.Kind{event.KindDNS},
		Summary: "a device sends many unique, long, high-entropy subdomains (or data-carrying TXT/NULL/CNAME/MX " +
			"queries) under one registrable domain that few devices use; says whether it uploads or idles",
		Learning: "Needs no baseline: counts from the first query, so a short capture holding a tunnel fires. " +
			"Popularity is judged from the devices seen querying the domain so far and from the connection " +
			"baselines, so on a capture with one device only the shape, the answers (loopback = reputation " +
			"lookup) and whether the device connects to the domain keep hashed-name services quiet.",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{
				Window:           units.Duration(30 * time.Minute),
				MinUnique:        10,
				MinUniqueEncoded: 5,
				MinMeanLen:       12,
				MinEncodedLen:    40,
				MinEntropy:       3.0,
				UploadBytes:      2048,
				LongName:         48,
				PopularDevices:   3,
				PrevalenceWindow: units.Duration(24 * time.Hour),
				FanoutDomains:    4,
				MinScore:         40,
				CacheSize:        8192,
			}
		},
	})
}

// Model holds the thresholds and the per-(device, domain) windows.
type Model struct {
	// Window is the span over which one (device, domain)'s queries are
	// counted; a window starts at its first query.
	Window units.Duration `yaml:"window"`
	// MinUnique is how many unique subdomains in Window make a tunnel...
	MinUnique int `yaml:"min_unique"`
	// MinUniqueEncoded is enough instead when the names are long
	// (mean >= min_encoded_len) and look encoded (hex, base32, base64).
	MinUniqueEncoded int `yaml:"min_unique_encoded"`
	// MinMeanLen is the least mean subdomain length for the MinUnique
	// path, unless most queries use a data-carrying qtype (iodine's
	// NULL polls are short).
	MinMeanLen    int `yaml:"min_mean_len"`
	MinEncodedLen int `yaml:"min_encoded_len"`
	// MinEntropy is the least Shannon entropy (bits per character) of the
	// subdomains' alphabet: English host names reach ~3.5-4, hex 4,
	// base32 5, base64 6.
	MinEntropy float64 `yaml:"min_entropy"`
	// UploadBytes: a window with this many upstream bytes, mostly in
	// names of LongName characters or more, is an upload.
	UploadBytes units.Bytes `yaml:"upload_bytes"`
	LongName    int         `yaml:"long_name"`
	// PopularDevices: a domain this many devices queried (or connected
	// to) within PrevalenceWindow is a service, not a tunnel.
	PopularDevices   int            `yaml:"popular_devices"`
	PrevalenceWindow units.Duration `yaml:"prevalence_window"`
	// FanoutDomains: one label queried under this many rare domains, with
	// three query types or more (two of them data-carrying), is a C2
	// spread over fallback domains (0 turns the check off).
	FanoutDomains int `yaml:"fanout_domains"`
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
	// CacheSize bounds the windows and domains remembered.
	CacheSize int `yaml:"cache_size"`

	st *state
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.Window <= 0:
		return fmt.Errorf("window: must be positive, got %s", m.Window)
	case m.MinUnique < 2 || m.MinUnique > maxTrack:
		return fmt.Errorf("min_unique: must be 2–%d, got %d", maxTrack, m.MinUnique)
	case m.MinUniqueEncoded < 2 || m.MinUniqueEncoded > m.MinUnique:
		return fmt.Errorf("min_unique_encoded: must be 2–min_unique, got %d", m.MinUniqueEncoded)
	case m.MinMeanLen < 0 || m.MinEncodedLen < 0 || m.LongName < 1:
		return fmt.Errorf("min_mean_len, min_encoded_len: must not be negative; long_name: positive")
	case m.MinEntropy < 0 || m.MinEntropy > 6:
		return fmt.Errorf("min_entropy: must be 0–6 bits, got %g", m.MinEntropy)
	case m.UploadBytes < 0:
		return fmt.Errorf("upload_bytes: must not be negative")
	case m.PopularDevices < 2 || m.PopularDevices > maxMembers:
		return fmt.Errorf("popular_devices: must be 2–%d, got %d", maxMembers, m.PopularDevices)
	case m.PrevalenceWindow <= 0:
		return fmt.Errorf("prevalence_window: must be positive, got %s", m.PrevalenceWindow)
	case m.FanoutDomains != 0 && (m.FanoutDomains < 2 || m.FanoutDomains > maxFanDomains):
		return fmt.Errorf("fanout_domains: must be 0 or 2–%d, got %d", maxFanDomains, m.FanoutDomains)
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	case m.CacheSize < 16:
		return fmt.Errorf("cache_size: must be at least 16, got %d", m.CacheSize)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// state is the model's memory, bounded as the package doc says.
type state struct {
	wins *detect.Cache[winKey, *window]
	fans *detect.Cache[uint32, *fanWindow]
	doms *detect.Cache[string, *domSeen]
}

type winKey struct {
	dev uint32
	dom string
}

// window is one device's queries under one registrable domain.
type window struct {
	start, last    int64 // unix nanoseconds
	queries        int
	seen           map[uint64]struct{}
	uniq           int
	bytes          int // sum of the unique subdomains' lengths
	maxLen, minLen int
	long           int // unique subdomains of LongName characters or more
	labels         int // sum of labels left of the domain, unique names
	replies, nx    int
	withAddr       int // replies holding addresses
	loopback       int // of those, replies whose addresses are all in 127.0.0.0/8
	qtypes         [numQ]int
	enc            [numEnc]int
	chars          [64]uint32
	samples        []string
	firedUniq      int
	firstUID       string
}

// domSeen remembers which devices queried a domain lately.
type domSeen struct {
	members [maxMembers]member
	n       int
}

type member struct {
	dev  uint32
	last int64
}

func (m *Model) state() *state {
	if m.st == nil {
		m.st = &state{
			wins: detect.NewCache[winKey, *window](m.CacheSize),
			fans: detect.NewCache[uint32, *fanWindow](m.CacheSize),
			doms: detect.NewCache[string, *domSeen](m.CacheSize),
		}
	}
	return m.st
}

// Observe counts one DNS query and returns a breach when its window looks
// like a tunnel.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	x, ok := e.(*event.DNS)
	if !ok || c.Contact == nil || x.Query == "" {
		return nil
	}
	st := m.state()
	ts := x.TS.UnixNano()
	if c.Forwarded() {
		return nil // a resolver forwarding its clients' queries: judged at the clients
	}
	raw := strings.TrimSuffix(x.Query, ".")
	name := domain.Normalize(raw)
	if name == "" || local(name) || domain.IsAddr(name) {
		return nil
	}
	reg := c.Registrable(name)
	if reg == "" || len(name) <= len(reg)+1 {
		return nil // the domain itself: no subdomain to carry data
	}
	sub := raw[:len(name)-len(reg)-1] // keeps the query's case (base64 codecs use it)
	dev := c.Contact.Device.ID
	devices := st.prevalence(reg, dev, ts, int64(m.PrevalenceWindow.D()))

	// A short subdomain in an address lookup (www, mail, api) carries no
	// payload: it is most of all DNS traffic, and keeping a window for it
	// would cost more than the rest of the model.
	var w *window
	if len(sub) >= minWindowSub || carrier(qclass(x.QTypeName, x.QType)) {
		k := winKey{dev, reg}
		var ok bool
		w, ok = st.wins.Get(k)
		if !ok || ts-w.start > int64(m.Window.D()) {
			w = &window{start: ts, seen: make(map[uint64]struct{}, 8)}
			st.wins.Put(k, w)
		}
		m.add(w, x, sub, ts)
	}
	if devices < m.PopularDevices {
		if bs := m.fanout(c, st, x, sub, reg, ts); bs != nil {
			return bs
		}
	}
	if w == nil || w.uniq < m.MinUniqueEncoded || w.uniq == w.firedUniq {
		return nil
	}
	// Judge at the thresholds, then each time the unique count doubles
	// (so the score can grow past the engine's cooldown).
	if w.firedUniq > 0 && w.uniq < 2*w.firedUniq {
		return nil
	}
	f := m.features(w)
	if !m.tunnel(f) {
		return nil
	}
	w.firedUniq = w.uniq
	if devices >= m.PopularDevices {
		return nil
	}
	if p := c.Net.Name(baseline.KindDomain, reg, dev); p.Devices >= m.PopularDevices {
		return nil // many devices connect to it: a service with hashed names
	}
	if _, connects := c.Contact.Device.Domains.Has(reg); connects {
		return nil // the device fetches content from it: names are a CDN's or an API's
	}
	if w.withAddr > 0 && w.loopback*2 >= w.withAddr || lookupShaped(w) {
		return nil // answered in 127/8 or shaped like it: DNSBL or reputation lookups
	}
	score := m.score(f, devices)
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	return []breach.Breach{m.raise(c, w, f, reg, devices, score)}
}

// prevalence records that dev queried reg and returns how many devices
// did within win nanoseconds.
func (s *state) prevalence(reg string, dev uint32, ts, win int64) int {
	d, ok := s.doms.Get(reg)
	if !ok {
		d = &domSeen{}
		s.doms.Put(reg, d)
	}
	n, mine, oldest := 0, -1, 0
	for i := 0; i < d.n; i++ {
		mb := &d.members[i]
		if mb.dev == dev {
			mine = i
		}
		if ts-mb.last <= win {
			n++
		}
		if mb.last < d.members[oldest].last {
			oldest = i
		}
	}
	switch {
	case mine >= 0:
		if ts-d.members[mine].last > win {
			n++
		}
		d.members[mine].last = ts
	case d.n < maxMembers:
		d.members[d.n] = member{dev, ts}
		d.n++
		n++
	default:
		d.members[oldest] = member{dev, ts}
		n++
	}
	return n
}

// count returns how many devices queried the domain within win.
func (d *domSeen) count(ts, win int64) int {
	n := 0
	for i := 0; i < d.n; i++ {
		if ts-d.members[i].last <= win {
			n++
		}
	}
	return n
}

// add counts one query in the window.
func (m *Model) add(w *window, x *event.DNS, sub string, ts int64) {
	w.queries++
	w.last = ts
	w.qtypes[qclass(x.QTypeName, x.QType)]++
	if x.HasReply {
		w.replies++
		if x.NXDomain() {
			w.nx++
		}
		if addr, loop := loopbackAnswers(x.Answers); addr {
			w.withAddr++
			if loop {
				w.loopback++
			}
		}
	}
	if w.firstUID == "" {
		w.firstUID = x.UID
	}
	h := hash64(sub)
	if _, dup := w.seen[h]; dup {
		return
	}
	if len(w.seen) < maxTrack {
		w.seen[h] = struct{}{}
	}
	w.uniq++
	n := len(sub) - strings.Count(sub, ".")
	w.bytes += n
	w.labels += strings.Count(sub, ".") + 1
	w.maxLen = max(w.maxLen, len(sub))
	if w.minLen == 0 || len(sub) < w.minLen {
		w.minLen = len(sub)
	}
	if len(sub) >= m.LongName {
		w.long++
	}
	w.enc[encoding(sub, minEncodedLen)]++
	for i := 0; i < len(sub); i++ {
		if sub[i] != '.' {
			w.chars[charClass(sub[i])]++
		}
	}
	if len(w.samples) < maxSamples {
		w.samples = append(w.samples, sub)
	}
}

// loopbackAnswers reports whether a reply holds addresses, and whether
// they are all loopback.
func loopbackAnswers(as []string) (addr, loop bool) {
	loop = true
	for _, a := range as {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		addr = true
		loop = loop && ip.Unmap().IsLoopback()
	}
	return addr, addr && loop
}

// lookupShaped reports whether a window looks like reputation lookups
// (DNSBL, hash blocklists, anti-virus clouds) rather than a channel: only
// address queries, every reply "not listed" (NXDOMAIN) or listed (127/8),
// and names of one fixed length (a hash or a reversed address). A tunnel
// varies its names' length with its payload, or asks for data-carrying
// record types.
func lookupShaped(w *window) bool {
	return w.qtypes[qA]+w.qtypes[qAAAA] == w.queries && w.replies > 0 && w.nx+w.loopback == w.replies &&
		w.maxLen-w.minLen <= 2
}

// features are one window's figures.
type features struct {
	uniq, queries int
	meanLen       float64
	entropy       float64
	carrierShare  float64
	nxShare       float64
	encShare      float64
	longShare     float64
	enc           int // the most common encoding among unique names
	bytes         int
	span          time.Duration
}

func (m *Model) features(w *window) features {
	f := features{uniq: w.uniq, queries: w.queries, bytes: w.bytes, span: time.Duration(w.last - w.start)}
	f.meanLen = float64(w.bytes) / float64(w.uniq)
	f.entropy = entropy(&w.chars)
	c := 0
	for q := range w.qtypes {
		if carrier(q) {
			c += w.qtypes[q]
		}
	}
	f.carrierShare = float64(c) / float64(w.queries)
	if w.replies > 0 {
		f.nxShare = float64(w.nx) / float64(w.replies)
	}
	enc := 0
	for i := encHex; i < numEnc; i++ {
		enc += w.enc[i]
		if w.enc[i] > w.enc[f.enc] || f.enc == encNone && w.enc[i] > 0 {
			f.enc = i
		}
	}
	f.encShare = float64(enc) / float64(w.uniq)
	f.longShare = float64(w.long) / float64(w.uniq)
	return f
}

// tunnel applies the gates: enough unique names, long or data-carrying,
// from a random-looking alphabet.
func (m *Model) tunnel(f features) bool {
	if f.entropy < m.MinEntropy {
		return false
	}
	if f.uniq >= m.MinUnique && (f.meanLen >= float64(m.MinMeanLen) || f.carrierShare >= 0.5) {
		return true
	}
	return f.uniq >= m.MinUniqueEncoded && f.meanLen >= float64(m.MinEncodedLen) && f.encShare >= 0.8
}

// score grades how tunnel-like the window is and how few devices use the
// domain.
func (m *Model) score(f features, devices int) float64 {
	mu := float64(m.MinUnique)
	strength := 0.25*ramp(float64(f.uniq), mu/2, 8*mu) +
		0.2*ramp(f.meanLen, 8, 60) +
		0.1*ramp(f.entropy, m.MinEntropy, m.MinEntropy+2) +
		0.15*f.carrierShare +
		0.15*ramp(float64(f.bytes), 256, 16384) +
		0.15*f.encShare
	rarity := 1 - 0.15*float64(devices-1)
	return (0.35 + 0.65*strength) * rarity
}

// mode tells an upload from an idle session's keep-alive polls.
func (m *Model) mode(f features) string {
	switch {
	case f.bytes >= int(m.UploadBytes) && f.longShare >= 0.3:
		return "upload"
	case f.longShare < 0.1 && f.meanLen < float64(m.LongName):
		return "idle"
	}
	return "interactive"
}

func (m *Model) raise(c *detect.Context, w *window, f features, reg string, devices int, score float64) breach.Breach {
	mode := m.mode(f)
	mix := map[string]int{}
	var parts []string
	for q, n := range w.qtypes {
		if n > 0 {
			mix[qNames[q]] = n
			parts = append(parts, fmt.Sprintf("%s %d", qNames[q], n))
		}
	}
	sort.Strings(parts)
	ev := breach.Evidence{
		"domain":                 reg,
		"unique_subdomains":      f.uniq,
		"queries":                f.queries,
		"window":                 m.Window.String(),
		"span":                   units.Ago(f.span),
		"first_query":            time.Unix(0, w.start).UTC(),
		"mean_subdomain_len":     math.Round(f.meanLen*10) / 10,
		"max_name_len":           w.maxLen + 1 + len(reg),
		"max_subdomain_len":      w.maxLen,
		"mean_labels":            math.Round(float64(w.labels)/float64(f.uniq)*10) / 10,
		"entropy_bits_per_char":  math.Round(f.entropy*100) / 100,
		"qtype_mix":              mix,
		"data_qtype_share":       math.Round(f.carrierShare*100) / 100,
		"nxdomain_share":         math.Round(f.nxShare*100) / 100,
		"upstream_bytes":         f.bytes,
		"encoding":               encNames[f.enc],
		"encoded_share":          math.Round(f.encShare*100) / 100,
		"mode":                   mode,
		"sample_names":           samples(w.samples, reg),
		"domain_devices_queried": devices,
	}
	if hint := toolHint(f, w); hint != "" {
		ev["shape"] = hint
	}
	ev.Why(fmt.Sprintf("%d unique subdomains of %s in %d queries over %s (mean %.0f, max %d characters, %.1f bits/char): about %s sent upstream",
		f.uniq, reg, f.queries, units.Ago(f.span), f.meanLen, w.maxLen, f.entropy, units.Human(int64(f.bytes))))
	ev.Why(fmt.Sprintf("query types: %s; %.0f%% NXDOMAIN", strings.Join(parts, ", "), f.nxShare*100))
	if devices <= 1 {
		ev.Why(fmt.Sprintf("no other device queried %s in %s", reg, m.PrevalenceWindow))
	} else {
		ev.Why(fmt.Sprintf("%d devices queried %s in %s", devices, reg, m.PrevalenceWindow))
	}
	switch mode {
	case "upload":
		ev.Why("mode upload: mostly long names carrying data (exfiltration)")
	case "idle":
		ev.Why("mode idle: short unique polls (an open tunnel keeping alive)")
	default:
		ev.Why("mode interactive: short polls mixed with data-carrying names")
	}
	summary := fmt.Sprintf("%s sent %d unique encoded subdomains of %s (%s upstream, %s)", c.Addr(), f.uniq, reg,
		units.Human(int64(f.bytes)), mode)
	b := c.Breach(m.Info(), score, ev, summary, w.firstUID)
	b.Endpoint.Hostname = reg
	return b
}

// toolHint names the shape of a known tool, from the names alone.
func toolHint(f features, w *window) string {
	switch {
	case f.enc == encHex && f.encShare >= 0.8:
		return "hex-encoded labels (dnscat2-like)"
	case (f.enc == encBase64 || f.enc == encBinary) && w.qtypes[qNULL] > 0:
		return "mixed-case/8-bit encoded labels with NULL queries (iodine-like)"
	case w.qtypes[qNULL]*2 >= f.queries:
		return "NULL-record queries (iodine-like)"
	case f.enc == encBase32 && f.encShare >= 0.8:
		return "base32/base36 labels"
	case f.enc == encBase64:
		return "mixed-case base64 labels"
	}
	return ""
}

func samples(s []string, reg string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = v + "." + reg
	}
	return out
}

var _ detect.Model = (*Model)(nil)
