package doppelganger

import (
	"slices"
	"strings"
)

// entry is a name the token scan looks for.
type entry struct {
	brand  int32 // -1 for a combosquatting or filler term
	word   bool  // a word-like brand name
	filler bool  // a filler term ("www", "app")
	name   string
}

// trie finds every known name (brand tokens, words, combosquatting terms,
// by skeleton) that starts at a position of a label, in one walk per
// position.
type trie struct {
	next [][36]int32
	out  [][]entry
}

func trieIndex(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= '0' && c <= '9':
		return 26 + int(c-'0')
	}
	return -1
}

func (t *trie) add(skel string, e entry) {
	if len(t.next) == 0 {
		t.next, t.out = make([][36]int32, 1), make([][]entry, 1)
	}
	n := int32(0)
	for i := 0; i < len(skel); i++ {
		c := trieIndex(skel[i])
		if c < 0 {
			return
		}
		if t.next[n][c] == 0 {
			t.next = append(t.next, [36]int32{})
			t.out = append(t.out, nil)
			t.next[n][c] = int32(len(t.next) - 1)
		}
		n = t.next[n][c]
	}
	for _, o := range t.out[n] {
		if o == e {
			return
		}
	}
	t.out[n] = append(t.out[n], e)
}

// occurrence is a known name found in a label segment, by skeleton
// positions [i, j).
type occurrence struct {
	i, j int
	e    *entry
}

// tokenFinding turns a brand name found inside a label part into a
// finding, if its boundaries allow: the name must be the whole part or
// sit between combosquatting terms (both ends), or, for long distinctive
// names, start or end the part (one end). Word-like names need both ends
// and a combosquatting term in the label.
func (ix *index) tokenFinding(s *segScan, o occurrence, terms bool, add func(finding)) {
	left, right := s.left[o.i], s.right[o.j]
	written := s.g.span(o.i, o.j)
	f := finding{brand: o.e.brand, imitates: o.e.name, part: s.g.ascii}
	idn := spanForeign(s.foreign, s.off+int(s.g.from[o.i]), s.off+int(s.g.from[o.j]))
	lookalike := idn || written != strings.ReplaceAll(o.e.name, "-", "")
	// A digit read as a letter at the edge of a run of digits is a
	// number, not a look-alike: "1001cloud" is not "icloud".
	if lookalike && (o.i > 0 && s.g.digit(o.i) && s.g.digit(o.i-1) || o.j < s.g.n && s.g.digit(o.j-1) && s.g.digit(o.j)) {
		return
	}
	switch {
	case o.e.word:
		if !left || !right || !terms {
			return
		}
		f.tech, f.sim = techWord, simWord
	case left && right:
		f.tech, f.sim = techToken, simTokenAlone
		if terms {
			f.sim = simToken
		}
	case (left || right) && len(o.e.name) >= minTokenEndLen && !lookalike:
		// Look-alikes inside longer words are too loose: "reklama"
		// holds the skeleton of "klarna".
		f.tech, f.sim = techTokenEnd, simTokenEnd
	default:
		return
	}
	if lookalike {
		f.sim += bonusLookalike
		f.how = "'" + written + "' for '" + o.e.name + "'"
		if idn {
			f.how = "with characters of other scripts"
		}
	}
	add(f)
}

// segScan is the token scan of one hyphen-separated part of a label.
type segScan struct {
	g       glyphs
	off     int    // where the part starts in the label's ASCII form
	foreign uint64 // the label's non-ASCII characters (see asciiLabel)
	// left[p]: the part's first p skeleton bytes are made of known names
	// and digits; right[p]: its bytes from p on are.
	left, right    [maxLabel + 1]bool
	occFrom, occTo int  // its occurrences in the scratch space
	onlyTerms      bool // the part is made of combosquatting and filler terms and digits only
}

// scan finds the known names in s.g (appending them to the scratch
// space) and which of them have clean boundaries; combosquatting terms
// that fit a full reading of the part go to the scratch terms.
func (ix *index) scan(s *segScan) {
	n := s.g.n
	sk := s.g.skel[:n]
	scr := &ix.scr
	s.occFrom = len(scr.occ)
	for i := 0; i < n; i++ { // by start, so occurrences come sorted by i
		node := int32(0)
		for j := i; j < n; j++ {
			c := trieIndex(sk[j])
			if c < 0 {
				break
			}
			node = ix.trie.next[node][c]
			if node == 0 {
				break
			}
			for k := range ix.trie.out[node] {
				scr.occ = append(scr.occ, occurrence{i, j + 1, &ix.trie.out[node][k]})
			}
		}
	}
	s.occTo = len(scr.occ)
	occs := scr.occ[s.occFrom:s.occTo]
	// left: forward reachability; right: backward. termsOnly is the same
	// forward pass using combosquatting and filler terms and digits alone.
	var termsOnly [maxLabel + 1]bool
	s.left[0], termsOnly[0] = true, true
	k := 0
	for p := 0; p <= n; p++ {
		for ; k < len(occs) && occs[k].i == p; k++ {
			o := occs[k]
			if s.left[p] {
				s.left[o.j] = true
			}
			if termsOnly[p] && o.e.brand < 0 {
				termsOnly[o.j] = true
			}
		}
		if p < n && s.g.digit(p) {
			if s.left[p] {
				s.left[p+1] = true
			}
			if termsOnly[p] {
				termsOnly[p+1] = true
			}
		}
	}
	s.right[n] = true
	k = len(occs) - 1
	for p := n - 1; p >= 0; p-- {
		if s.g.digit(p) && s.right[p+1] {
			s.right[p] = true
		}
		for ; k >= 0 && occs[k].i == p; k-- {
			if s.right[occs[k].j] {
				s.right[p] = true
			}
		}
	}
	s.onlyTerms = termsOnly[n]
	for _, o := range occs {
		if o.e.brand < 0 && !o.e.filler && s.left[o.i] && s.right[o.j] && !slices.Contains(scr.combos, o.e.name) {
			scr.combos = append(scr.combos, o.e.name)
		}
	}
}
