package doppelganger

import (
	"math"
	"sort"
	"strings"
)

// popular is the bounded set of the organisation's popular registrable
// domains: those that many internal devices use. They are never flagged,
// and their labels are targets that look-alikes are compared with
// ("acme-c0rp.com" for "acme-corp.com").
type popular struct {
	max     int
	last    map[string]int64 // domain -> last time it was seen popular (unix)
	targets *targetSet       // rebuilt lazily after a change, at most hourly
	gen     uint64           // counts rebuilds, so cached judgements know they are stale
	lim     limits
	dirty   bool  // the set changed since targets were built
	now     int64 // latest event time seen (unix)
	builtAt int64
}

// rebuildEvery bounds how often the comparison targets are rebuilt (in
// event time) while the popular set churns: a domain that became popular
// in the last hour may wait that long to become a target, and cached
// judgements stay valid meanwhile.
const rebuildEvery = 3600

func newPopular(max int, lim limits) *popular {
	return &popular{max: max, last: make(map[string]int64), lim: lim}
}

func (p *popular) has(d string) bool { _, ok := p.last[d]; return ok }

// touch records that d is popular now, evicting the domain seen popular
// least recently when the set is full.
func (p *popular) touch(d string, now int64) {
	p.now = max(p.now, now)
	if _, ok := p.last[d]; ok {
		p.last[d] = now
		return
	}
	if len(p.last) >= p.max {
		oldest, at := "", int64(0)
		for k, t := range p.last {
			if oldest == "" || t < at || t == at && k < oldest {
				oldest, at = k, t
			}
		}
		delete(p.last, oldest)
	}
	p.last[d] = now
	p.changed()
}

// expire forgets domains not seen popular since before.
func (p *popular) expire(before int64) {
	p.now = max(p.now, before)
	for k, t := range p.last {
		if t < before {
			delete(p.last, k)
			p.changed()
		}
	}
}

func (p *popular) changed() { p.dirty = true }

// set returns the popular domains' labels as comparison targets.
func (p *popular) set() *targetSet {
	if p.targets != nil && (!p.dirty || p.now-p.builtAt < rebuildEvery) {
		return p.targets
	}
	p.dirty, p.builtAt, p.gen = false, p.now, p.gen+1
	ds := make([]string, 0, len(p.last))
	for d := range p.last {
		ds = append(ds, d)
	}
	sort.Strings(ds) // deterministic order of findings
	ts := newTargetSet()
	for _, d := range ds {
		// Popular domains are learned, not curated: many are short words
		// with legitimate neighbours, so only long ones are compared by
		// edit distance; all are compared by look-alikes.
		l, _ := splitRegistrable(d)
		if n := len(strings.ReplaceAll(l, "-", "")); n >= p.lim.minToken {
			ts.add(target{name: l, imitates: d, brand: -1, typo: n >= p.lim.typoLong})
		}
	}
	p.targets = ts
	return ts
}

// judgement is the cached outcome of checking one host name.
type judgement struct {
	reg     string
	verdict *verdict // nil: nothing imitated, or a legitimate domain
	gen     uint64   // popular.gen it was computed with
}

// fired remembers, per device and registrable domain, the last breach
// raised: a DNS tunnel or a phishing kit under one look-alike domain uses
// many names, and each would otherwise be a new endpoint for the engine's
// cooldown.
type fired struct {
	max  int
	last map[firedKey]firedAt
}

type firedKey struct {
	dev uint32
	reg string
}

type firedAt struct {
	at    int64
	score int
}

func newFired(max int) *fired { return &fired{max: max, last: make(map[firedKey]firedAt)} }

// suppress reports whether a breach scoring score for (dev, reg) at now
// repeats one raised within cooldown seconds that scored at most 9 less;
// otherwise it records the breach.
func (f *fired) suppress(dev uint32, reg string, now, cooldown int64, score int) bool {
	k := firedKey{dev, reg}
	// Events can arrive a little out of order (a DNS record is written
	// when its answer or timeout comes), so the gap counts either way.
	if p, ok := f.last[k]; ok && max(now-p.at, p.at-now) < cooldown && score < p.score+10 {
		return true
	}
	if _, ok := f.last[k]; !ok && len(f.last) >= f.max {
		for k2, p := range f.last { // drop what has cooled down, then the oldest
			if now-p.at >= cooldown {
				delete(f.last, k2)
			}
		}
		if len(f.last) >= f.max {
			var oldest firedKey
			at := int64(math.MaxInt64)
			for k2, p := range f.last {
				if p.at < at || p.at == at && (k2.dev < oldest.dev || k2.dev == oldest.dev && k2.reg < oldest.reg) {
					oldest, at = k2, p.at
				}
			}
			delete(f.last, oldest)
		}
	}
	f.last[k] = firedAt{now, score}
	return false
}
