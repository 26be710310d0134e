package dga

import (
	"math"
	"strings"

	"github.com/vigil-ndr/vigil/internal/intel/domain"
)

// Characters of a label map to alphabet indexes: 0 is the label boundary,
// 1-26 letters, 27-36 digits, 37 the hyphen, 38 anything else.
const (
	alphabet = 39
	order    = 3 // n-gram order
	tableLen = alphabet * alphabet * alphabet
)

func charIndex(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 1
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 1
	case c >= '0' && c <= '9':
		return int(c-'0') + 27
	case c == '-':
		return 37
	}
	return 38
}

// featureNames names the logistic regression inputs, in order. The model
// file records them, so a model trained on other features fails to load.
var featureNames = []string{
	"len", "loglen",
	"ll_benign", "ll_dga", "ll_ratio", "ll_ratio_x_len",
	"min_ll_benign",
	"entropy", "entropy_norm",
	"max_consonant_run", "consonant_ratio", "vowel_ratio",
	"digit_ratio", "digit_letter_switches", "hyphens",
	"seg_coverage", "seg_words", "seg_mean_word", "seg_long_words",
	"seg_wordy_long", "seg_three_plus", "cv_alternation",
}

// Label returns the part of a name the scorer judges: the registrable
// label (the label left of the public suffix: "example" for
// "cdn.example.co.uk", "khmfxcglt" for "khmfxcglt.dyndns.org", a private
// suffix), or the name itself when it is a single label. It returns "" for
// addresses and bare public suffixes.
func Label(name string) string {
	h := domain.Normalize(name)
	if h == "" || domain.IsAddr(h) {
		return ""
	}
	if !strings.Contains(h, ".") {
		return h
	}
	r := domain.Registrable(h)
	if r == h && domain.Suffix(h) == h {
		return ""
	}
	if i := strings.IndexByte(r, '.'); i > 0 {
		return r[:i]
	}
	return r
}

// features fills f (len(featureNames)) for one label.
func (m *Model) features(label string, f []float64) {
	n := len(label)
	fl := float64(n)
	f[0], f[1] = fl, math.Log1p(fl)

	// Character 3-gram log-likelihoods per character, boundaries included.
	var llb, lld float64
	minB := 0.0
	a, b := 0, 0
	for i := 0; i <= n; i++ {
		c := 0
		if i < n {
			c = charIndex(label[i])
		}
		k := (a*alphabet+b)*alphabet + c
		pb, pd := float64(m.benign[k])/scale, float64(m.dga[k])/scale
		llb += pb
		lld += pd
		if pb < minB {
			minB = pb
		}
		a, b = b, c
	}
	steps := fl + 1
	llb /= steps
	lld /= steps
	f[2], f[3], f[4], f[5] = llb, lld, llb-lld, (llb-lld)*math.Log1p(fl)
	f[6] = minB

	// Entropy, character classes, runs.
	var counts [alphabet]int
	run, maxRun, cons, vow, dig, sw, hy := 0, 0, 0, 0, 0, 0, 0
	prev := 0                     // 1 letter, 2 digit
	alt, pairs, lastV := 0, 0, -1 // consonant/vowel alternation between adjacent letters
	for i := 0; i < n; i++ {
		c := label[i]
		counts[charIndex(c)]++
		cls := 0
		switch {
		case c >= '0' && c <= '9':
			dig++
			cls = 2
		case c >= 'a' && c <= 'z':
			cls = 1
			if strings.IndexByte("aeiouy", c) >= 0 {
				vow++
			} else {
				cons++
			}
		case c == '-':
			hy++
		}
		if cls == 1 {
			v := 0
			if strings.IndexByte("aeiouy", c) >= 0 {
				v = 1
			}
			if lastV >= 0 {
				pairs++
				if v != lastV {
					alt++
				}
			}
			lastV = v
		} else {
			lastV = -1
		}
		if cls == 1 && strings.IndexByte("aeiouy", c) < 0 {
			run++
			if run > maxRun {
				maxRun = run
			}
		} else {
			run = 0
		}
		if cls != 0 && prev != 0 && cls != prev {
			sw++
		}
		if cls != 0 {
			prev = cls
		}
	}
	var ent float64
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / fl
			ent -= p * math.Log2(p)
		}
	}
	f[7] = ent
	f[8] = 0
	if n > 1 {
		f[8] = ent / math.Log2(math.Min(fl, alphabet-1))
	}
	div := math.Max(fl, 1)
	f[9], f[10], f[11] = float64(maxRun), float64(cons)/div, float64(vow)/div
	f[12], f[13], f[14] = float64(dig)/div, float64(sw)/div, float64(hy)

	cov, words, long := m.segment(label)
	f[15], f[16] = cov, float64(words)
	f[17] = 0
	if words > 0 {
		f[17] = cov * fl / float64(words)
	}
	f[18] = float64(long)
	f[19] = cov * math.Log1p(fl)
	f[20] = 0
	if words >= 3 && cov >= 0.9 {
		f[20] = 1
	}
	f[21] = 0
	if pairs > 0 {
		f[21] = float64(alt) / float64(pairs)
	}
}

// segment splits a label into dictionary words, minimising the characters
// left uncovered and then the number of words. It returns the fraction of
// letters covered by words, the number of words, and how many are at least
// five letters long.
func (m *Model) segment(label string) (coverage float64, words, long int) {
	n := len(label)
	if n == 0 || n > 63 {
		return 0, 0, 0
	}
	// cost[i] = best (uncovered*100 + words) for label[:i].
	var cost [64]int
	var back [64]int8 // length of the word ending at i, 0 = uncovered char
	for i := 1; i <= n; i++ {
		cost[i] = cost[i-1] + 100
		back[i] = 0
		lo := i - maxWord
		if lo < 0 {
			lo = 0
		}
		for j := i - minWord; j >= lo; j-- {
			if _, ok := m.words[label[j:i]]; ok {
				if c := cost[j] + 1; c < cost[i] {
					cost[i], back[i] = c, int8(i-j)
				}
			}
		}
	}
	covered := 0
	for i := n; i > 0; {
		if w := int(back[i]); w > 0 {
			covered += w
			words++
			if w >= 5 {
				long++
			}
			i -= w
		} else {
			i--
		}
	}
	return float64(covered) / float64(n), words, long
}

// Word lengths the segmenter considers.
const (
	minWord = 3
	maxWord = 12
)
