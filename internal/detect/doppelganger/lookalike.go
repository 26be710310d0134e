package doppelganger

import (
	"math/bits"
	"slices"
	"sort"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/vigil-ndr/vigil/internal/intel/brands"
)

// technique is the way a name imitates a brand or a popular domain.
type technique uint8

const (
	techIDN       technique = iota + 1 // IDN homograph: other scripts' letters
	techHomoglyph                      // ASCII look-alikes: 0/o, 1/l, rn/m, vv/w
	techHyphen                         // the same name with hyphens added
	techTypo                           // a small edit distance
	techTLD                            // the same name under another suffix
	techToken                          // the brand's name as a whole part of a foreign domain
	techTokenEnd                       // the brand's name at one end of a foreign label
	techWord                           // a word-like brand name beside combosquatting terms
	techSubdomain                      // the brand's domain or name in a foreign domain's subdomain
)

var techNames = [...]string{"", "idn-homograph", "homoglyph", "hyphenation", "typo", "tld-swap",
	"combosquat", "combosquat", "combosquat", "brand-in-subdomain"}

func (t technique) String() string { return techNames[t] }

// Similarity strength of each technique, before brand importance,
// combosquatting terms and newness. Look-alike characters are the
// strongest sign (nobody registers "micros0ft" by accident); a brand name
// in a longer foreign name is the weakest, because many legitimate
// partners and fan sites do it.
const (
	simIDN          = 1.0
	simHomoglyph    = 0.9
	simHyphen       = 0.75
	simTypoLong     = 0.75 // one slip in a name of typo_long_len or more
	simTypoShort    = 0.65 // one slip in a shorter name
	simTypoTwo      = 0.6  // two edits from a name of typo_two_edits_len or more
	simTLD          = 0.6
	simToken        = 0.45 // beside a combosquatting term ("paypal-secure-login")
	simTokenAlone   = 0.3  // with other words ("youtube-mp3", "paypal-casino")
	simTokenEnd     = 0.3
	simWord         = 0.45
	simSubDomain    = 0.7 // "paypal.com.account-verify.net"
	simSubToken     = 0.5 // "microsoft.login-verify.net"
	bonusLookalike  = 0.3 // a brand name written with look-alike characters
	penaltySegment  = 0.05
	minTokenEndLen  = 6 // shorter names at one end of a label are too often word parts
	maxFindingsKept = 4
)

// limits are the model's thresholds that shape matching.
type limits struct {
	minToken, typoMin, typoLong, typoTwo int
}

// allowed is the edit distance tolerated from a name of n characters.
func (l limits) allowed(n int) int {
	switch {
	case n < l.typoMin:
		return 0
	case n < l.typoTwo:
		return 1
	}
	return 2
}

// target is a name that look-alikes are compared with: the label of a
// brand's or popular domain ("microsoftonline"), or a brand token.
type target struct {
	orig     string // as listed, hyphens kept
	name     string // ASCII without hyphens
	imitates string // what the evidence names: "microsoftonline.com" or "microsoft"
	skel     string
	sk       []byte // skel, for the distance
	mask     uint64
	brand    int32 // index in the catalogue, -1 for a popular domain
	typo     bool  // compared by edit distance (else by look-alikes only)
}

// targetSet indexes targets by skeleton, and the typo targets by
// skeleton length with their letter masks side by side, so the scan for
// candidates within an edit distance reads one small array.
type targetSet struct {
	all     []target
	bySkel  map[string][]int32
	byLen   [maxLabel + 1][]int32
	masksAt [maxLabel + 1][]uint64
}

func newTargetSet() *targetSet { return &targetSet{bySkel: make(map[string][]int32)} }

func (s *targetSet) add(t target) {
	t.orig = t.name
	t.name = strings.ReplaceAll(t.name, "-", "")
	if t.name == "" || len(t.name) > maxLabel {
		return
	}
	t.skel = skeletonOf(t.name)
	for _, i := range s.bySkel[t.skel] {
		if o := &s.all[i]; o.brand == t.brand && o.orig == t.orig {
			if !strings.Contains(o.imitates, ".") {
				o.imitates = t.imitates // name the domain rather than the bare name
			}
			if t.typo && !o.typo {
				o.typo = true
				s.indexLen(i)
			}
			return
		}
	}
	t.sk = []byte(t.skel)
	t.mask = letterMask(t.sk)
	i := int32(len(s.all))
	s.all = append(s.all, t)
	s.bySkel[t.skel] = append(s.bySkel[t.skel], i)
	if t.typo {
		s.indexLen(i)
	}
}

func (s *targetSet) indexLen(i int32) {
	n := len(s.all[i].skel)
	s.byLen[n] = append(s.byLen[n], i)
	s.masksAt[n] = append(s.masksAt[n], s.all[i].mask)
}

// match calls fn for every target that x imitates: the same skeleton, or
// within the allowed edit distance of a typo target through slips only
// (see slip). orig is x as written, hyphens kept; exact is false when a
// target spelled exactly like x should be skipped.
func (s *targetSet) match(x *glyphs, orig string, lim limits, exact bool, fn func(t *target, dist int, edits []edit)) {
	sk := x.skel[:x.n]
	if ids, ok := s.bySkel[string(sk)]; ok {
		// The same skeleton as a name explains x better than a typo of
		// another name could. x spelled exactly as a listed name (hyphens
		// included) is that name, not a look-alike of its other spellings.
		for _, i := range ids {
			if t := &s.all[i]; t.orig == orig {
				if exact {
					fn(t, 0, nil)
				}
				return
			}
		}
		for _, i := range ids {
			t := &s.all[i]
			if t.name == x.ascii {
				if exact {
					fn(t, 0, nil)
				}
				continue
			}
			if len(t.name) < lim.minToken {
				continue
			}
			var tg glyphs
			tg.set(t.name)
			_, edits := align(x, &tg)
			if len(edits) > max(2, x.n/3) {
				continue // mostly digits and look-alikes: "t411", "1111"
			}
			if !t.typo && slices.ContainsFunc(edits, letterSwap) {
				continue
			}
			fn(t, 0, edits)
		}
		return
	}
	mask := letterMask(sk)
	for m := max(x.n-2, lim.typoMin); m <= x.n+2 && m <= maxLabel; m++ {
		k := lim.allowed(m)
		if k == 0 || m-x.n > k || x.n-m > k {
			continue
		}
		for j, tm := range s.masksAt[m] {
			if bits.OnesCount64(mask^tm) > 2*k {
				continue
			}
			t := &s.all[s.byLen[m][j]]
			d := osa(sk, t.sk, k)
			if d == 0 || d > k {
				continue
			}
			var tg glyphs
			tg.set(t.name)
			d, edits := align(x, &tg)
			long := m >= lim.typoLong
			ok, looks := true, 0
			for _, e := range edits {
				ok = ok && slip(e, long)
				if e.op == 'h' {
					looks++
				}
			}
			// A typo on top of look-alikes is a stretch in a short name
			// ("t411" is not "tmall"); a long one may carry one.
			if !ok || looks > 0 && !long || looks > 1 {
				continue
			}
			fn(t, d, edits)
		}
	}
}

// index is everything the per-name check needs, built once from the
// brand catalogue and the model's thresholds.
type index struct {
	cat    *brands.Catalog
	lim    limits
	brands *targetSet
	trie   trie
	short  map[string][]entry // brand names shorter than minToken, by skeleton
	names  map[string][]entry // every brand name, by skeleton (subdomain labels)
	combo  map[string]bool
	scr    scratch
}

// scratch is the per-check working space, kept to spare the allocator on
// the hot path.
type scratch struct {
	findings         []finding
	scans            []segScan
	occ              []occurrence
	combos, subTerms []string // combosquatting terms in the label and the subdomain
}

func newIndex(cat *brands.Catalog, lim limits) *index {
	ix := &index{cat: cat, lim: lim, brands: newTargetSet(),
		short: map[string][]entry{}, names: map[string][]entry{}, combo: map[string]bool{}}
	for _, c := range cat.ComboTerms {
		ix.combo[c] = true
		ix.trie.add(skeletonOf(c), entry{brand: -1, name: c})
	}
	for _, c := range cat.FillerTerms {
		ix.trie.add(skeletonOf(c), entry{brand: -1, filler: true, name: c})
	}
	for bi := range cat.Brands {
		b := &cat.Brands[bi]
		addName := func(n string, word bool) {
			e := entry{brand: int32(bi), word: word, name: n}
			sk := skeletonOf(strings.ReplaceAll(n, "-", ""))
			ix.names[sk] = append(ix.names[sk], e)
			if len(n) < lim.minToken {
				ix.short[sk] = append(ix.short[sk], e)
				return
			}
			ix.trie.add(sk, e)
			ix.brands.add(target{name: n, imitates: n, brand: int32(bi), typo: !word && !strings.Contains(n, "-")})
		}
		for _, n := range b.Tokens {
			addName(n, false)
		}
		for _, n := range b.Words {
			addName(n, true)
		}
		for _, d := range b.Domains {
			l, _ := splitRegistrable(d)
			if len(l) < lim.minToken {
				continue
			}
			// Domain labels match by look-alikes only; edit distance is kept
			// for the curated tokens, because many labels are words or
			// abbreviations with legitimate neighbours (youtu.be: "youth").
			ix.brands.add(target{name: l, imitates: d, brand: int32(bi)})
		}
	}
	return ix
}

// splitRegistrable returns the label of a registrable domain and its public
// suffix ("micros0ft-online", "com"). A domain that is itself a public
// suffix (a platform such as "github.io") gives its first label.
func splitRegistrable(d string) (label, suffix string) {
	suffix, _ = publicsuffix.PublicSuffix(d)
	if l, ok := strings.CutSuffix(d, "."+suffix); ok && !strings.Contains(l, ".") {
		return l, suffix
	}
	l, rest, _ := strings.Cut(d, ".")
	return l, rest
}

// finding is one way a host name imitates a brand or a popular domain.
type finding struct {
	tech     technique
	brand    int32  // index in the catalogue, -1 for a popular domain
	imitates string // "microsoftonline.com" or the brand name "microsoft"
	part     string // the part of the name that imitates it ("micros0ft-online")
	sim      float64
	dist     int  // edit distance on skeletons (typos)
	diffs    int  // visible differences, look-alikes included, hyphens not
	hyphens  bool // compared with the label's hyphens removed
	// needTerms drops the finding unless the label has a combosquatting term.
	needTerms bool
	how       string // "'0' for 'o', '-' added"
	weight    float64
}

// lookalike reports whether the finding rests on look-alike characters or
// a typo rather than on the brand's name spelled right.
func (f finding) lookalike() bool {
	switch f.tech {
	case techIDN, techHomoglyph, techTypo, techHyphen:
		return true
	}
	return f.how != "" && f.tech != techSubdomain
}

// verdict is what the check found in one host name.
type verdict struct {
	label    string // the registrable domain's label, as written
	decoded  string // its Unicode form when it is an IDN
	idn      []idnSub
	findings []finding // strongest first, at most maxFindingsKept
	combos   []string  // combosquatting terms in the registrable label
	subTerms []string  // combosquatting terms in the subdomain
}

// check judges a host name whose registrable domain reg is foreign to
// every brand. org holds the popular domains' targets (may be nil). It
// returns nil when nothing imitates anything. It reuses the index's
// scratch space, so it must not run concurrently.
func (ix *index) check(host, reg string, org *targetSet, orgImportance float64) *verdict {
	suffix, icann := publicsuffix.PublicSuffix(reg)
	if !icann && !strings.Contains(suffix, ".") {
		return nil // a top-level domain nobody delegated: acme.lan, host.local
	}
	if len(reg) <= len(suffix)+1 || reg[len(reg)-len(suffix)-1] != '.' {
		return nil
	}
	label := reg[:len(reg)-len(suffix)-1]
	if strings.Contains(label, ".") {
		return nil
	}
	platform := !icann // a user's name on a hosting platform (x.github.io)
	ascii, decoded, subs, foreign, ok := asciiLabel(label)
	if !ok || len(ascii) > maxLabel {
		return nil
	}
	scr := &ix.scr
	scr.findings, scr.occ, scr.scans = scr.findings[:0], scr.occ[:0], scr.scans[:0]
	scr.combos, scr.subTerms = scr.combos[:0], scr.subTerms[:0]
	add := func(f finding) {
		imp := orgImportance
		if f.brand >= 0 {
			imp = ix.cat.Brands[f.brand].Importance
		}
		f.weight = f.sim * importanceWeight(imp)
		scr.findings = append(scr.findings, f)
	}

	// The whole label, hyphens removed, against every name.
	hyphens := strings.IndexByte(ascii, '-') >= 0
	stripped := ascii
	if hyphens {
		stripped = strings.ReplaceAll(ascii, "-", "")
	}
	var g glyphs
	g.set(stripped)
	whole := func(t *target, dist int, edits []edit) {
		f := finding{brand: t.brand, imitates: t.imitates, part: ascii, dist: dist}
		looks := 0
		for _, e := range edits {
			if e.op == 'h' {
				looks++
			}
		}
		f.diffs = len(edits)
		switch {
		case dist == 0 && len(subs) > 0:
			f.tech, f.sim, f.diffs = techIDN, simIDN, len(subs)+looks
			var parts []string
			for _, s := range subs {
				parts = append(parts, s.describe())
			}
			edits = append(edits, edit{op: 'x', have: strings.Join(parts, ", ")})
		case dist == 0 && len(edits) == 0 && (!hyphens || ascii == t.orig):
			// "microsoft.github.io" is the brand's own page, "google.de"
			// and "taobao.org" its own domains more often than not.
			if !t.typo || platform || len(t.name) < ix.lim.typoMin || !swapSuffix(suffix) {
				return
			}
			f.tech, f.sim = techTLD, simTLD
		case dist == 0 && looks == 0:
			f.tech, f.sim = techHyphen, simHyphen
		case dist == 0:
			f.tech, f.sim = techHomoglyph, simHomoglyph
		default:
			f.tech, f.sim = techTypo, typoSim(dist, len(t.skel), ix.lim)
			if looks > 0 {
				f.sim = min(simHomoglyph, f.sim+0.1)
			}
		}
		f.how = describeEdits(edits)
		if hyphens {
			f.hyphens = true
			f.how = joinHow(f.how, "'-' added")
		}
		add(f)
	}
	ix.brands.match(&g, ascii, ix.lim, true, whole)
	if org != nil {
		org.match(&g, ascii, ix.lim, true, whole)
	}

	// Each hyphen-separated part, and brand names inside the parts.
	for start := 0; start <= len(ascii); {
		end := strings.IndexByte(ascii[start:], '-')
		if end < 0 {
			end = len(ascii)
		} else {
			end += start
		}
		seg, segStart := ascii[start:end], start
		start = end + 1
		if seg == "" {
			continue
		}
		scr.scans = append(scr.scans, segScan{off: segStart, foreign: foreign})
		s := &scr.scans[len(scr.scans)-1]
		s.g.set(seg)
		ix.scan(s)
		if !hyphens || s.g.n < ix.lim.minToken {
			continue
		}
		part := func(t *target, dist int, edits []edit) {
			f := finding{brand: t.brand, imitates: t.imitates, part: seg, dist: dist, diffs: len(edits)}
			if dist == 0 {
				f.tech, f.sim = techHomoglyph, simHomoglyph-penaltySegment
				if spanForeign(foreign, segStart, segStart+len(seg)) {
					f.tech, f.sim = techIDN, simIDN-penaltySegment
				}
			} else {
				f.tech, f.sim = techTypo, typoSim(dist, len(t.skel), ix.lim)-penaltySegment
				f.needTerms = true // "a-static" is not "gstatic"; "paypall-login" is "paypal"
			}
			f.how = describeEdits(edits)
			add(f)
		}
		ix.brands.match(&s.g, seg, ix.lim, false, part)
		if org != nil {
			org.match(&s.g, seg, ix.lim, false, part)
		}
	}
	allTerms, clean := len(scr.scans) > 0, true
	for i := range scr.scans {
		s := &scr.scans[i]
		allTerms = allTerms && s.onlyTerms
		clean = clean && s.left[s.g.n]
	}
	terms := len(scr.combos) > 0
	for i := range scr.scans {
		s := &scr.scans[i]
		for _, o := range scr.occ[s.occFrom:s.occTo] {
			if o.e.brand >= 0 {
				ix.tokenFinding(s, o, terms, add)
			}
		}
		if s.g.n < ix.lim.minToken && terms {
			for _, e := range ix.short[string(s.g.skel[:s.g.n])] {
				f := finding{tech: techWord, brand: e.brand, imitates: e.name, part: s.g.ascii, sim: simWord}
				if s.g.ascii != e.name {
					f.sim += bonusLookalike
					f.how = "'" + s.g.ascii + "' for '" + e.name + "'"
				}
				add(f)
			}
		}
	}

	// The subdomain: combosquatting terms, a brand's whole domain
	// ("paypal.com.verify-account.net"), or a brand name over a label made
	// only of combosquatting terms ("microsoft.login-verify.net").
	if len(host) > len(reg)+1 && host[len(host)-len(reg)-1] == '.' && strings.HasSuffix(host, reg) {
		sub := host[:len(host)-len(reg)-1]
		var cut [maxSubLabels + 1]int // label i is sub[cut[i]:cut[i+1]-1]
		n := 0
		for i := 0; i <= len(sub) && n < maxSubLabels; i++ {
			if i == len(sub) || sub[i] == '.' {
				n++
				cut[n] = i + 1
			}
		}
		for i := 0; i < n; i++ {
			l := sub[cut[i] : cut[i+1]-1]
			for rest := l; rest != ""; {
				p, r, _ := strings.Cut(rest, "-")
				rest = r
				if ix.combo[p] && !slices.Contains(scr.combos, p) && !slices.Contains(scr.subTerms, p) {
					scr.subTerms = append(scr.subTerms, p)
				}
			}
			for k := 2; k <= 3 && i+k <= n; k++ {
				d := sub[cut[i] : cut[i+k]-1]
				if b, ok := ix.cat.Owner(d); ok && len(d) > 4 {
					add(finding{tech: techSubdomain, brand: ix.brandIndex(b), imitates: d, part: d, sim: simSubDomain,
						how: d + " written as a subdomain of " + reg})
				}
			}
			if allTerms && terms && len(l) >= ix.lim.minToken {
				for _, e := range ix.names[skeletonOf(strings.ReplaceAll(l, "-", ""))] {
					add(finding{tech: techSubdomain, brand: e.brand, imitates: e.name, part: l, sim: simSubToken,
						how: "'" + l + "' over a domain made of combosquatting terms"})
				}
			}
		}
	}
	if len(scr.findings) == 0 {
		return nil
	}
	// On a platform a brand runs itself (x.githubusercontent.com,
	// x.azurewebsites.net) its name in a label is mostly its own service;
	// a look-alike, or its name made up only of combosquatting terms
	// ("microsoft-login.azurewebsites.net"), still counts.
	runBy := int32(-1)
	if platform {
		runBy = ix.platformOwner(suffix)
	}
	v := &verdict{label: label, decoded: decoded, idn: subs}
	for _, f := range scr.findings {
		switch {
		case f.needTerms && !terms:
		case f.brand == runBy && f.brand >= 0 && !f.lookalike() && (!clean || !terms):
		default:
			v.findings = append(v.findings, f)
		}
	}
	if len(v.findings) == 0 {
		return nil
	}
	v.combos = slices.Clone(scr.combos)
	v.subTerms = slices.Clone(scr.subTerms)
	sort.SliceStable(v.findings, func(a, b int) bool { return v.findings[a].weight > v.findings[b].weight })
	v.findings = dedupe(v.findings)
	return v
}

// maxSubLabels bounds the subdomain labels examined.
const maxSubLabels = 32

// platformOwner returns the brand that runs a private public suffix
// ("s3.us-east-2.amazonaws.com" is Amazon's), or -1.
func (ix *index) platformOwner(suffix string) int32 {
	for s := suffix; s != ""; {
		if b, ok := ix.cat.Owner(s); ok {
			return ix.brandIndex(b)
		}
		_, rest, ok := strings.Cut(s, ".")
		if !ok {
			break
		}
		s = rest
	}
	return -1
}

func (ix *index) brandIndex(b *brands.Brand) int32 {
	for i := range ix.cat.Brands {
		if &ix.cat.Brands[i] == b {
			return int32(i)
		}
	}
	return -1
}

// swapSuffix reports whether a brand's exact name under this public
// suffix is suspicious: a new generic suffix (.xyz, .online, .support) or
// the typo suffixes .co, .cm and .om. Brands mostly own their names under
// .com, .net, .org and country codes, so those are left alone.
func swapSuffix(suffix string) bool {
	switch suffix {
	case "co", "cm", "om":
		return true
	}
	tld := suffix[strings.LastIndexByte(suffix, '.')+1:]
	if brands.CountrySuffix(tld) {
		return false
	}
	switch tld {
	case "com", "net", "org", "edu", "gov", "mil", "int", "arpa":
		return false
	}
	return true
}

// importanceWeight scales a finding's similarity by the importance of
// what it imitates: from 0.6 (a brand few phish with) to 1, so that a
// perfect look-alike of a minor brand still counts.
func importanceWeight(imp float64) float64 { return 0.6 + 0.4*imp }

// typoSim grades a typo by its distance and the length of the name.
func typoSim(dist, n int, lim limits) float64 {
	switch {
	case dist >= 2:
		return simTypoTwo
	case n >= lim.typoLong:
		return simTypoLong
	}
	return simTypoShort
}

func joinHow(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

// dedupe keeps the strongest finding per (brand, technique, imitated
// name), at most maxFindingsKept.
func dedupe(fs []finding) []finding {
	out := fs[:0]
	for _, f := range fs {
		dup := false
		for _, o := range out {
			if o.brand == f.brand && o.imitates == f.imitates && o.tech == f.tech {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f)
		}
		if len(out) == maxFindingsKept {
			break
		}
	}
	return out
}
