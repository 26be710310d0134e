package dga

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// TrainSet is what Train learns from: labels (see Label) of benign and
// algorithmic names, in two disjoint parts so the regression weighs the
// n-gram and dictionary features on names they were not counted from.
type TrainSet struct {
	TableBenign, TableDGA []string // count n-grams and dictionary segments
	FitBenign, FitDGA     []string // fit the logistic regression
}

// Smoothing of the 3-gram tables: interpolated with the 2-gram, itself
// with add-one over the alphabet.
const (
	ngramPrior = 4.0
	// wordMinUse is how many benign labels must use a segment in their
	// best segmentation for it to stay in the dictionary.
	wordMinUse = 3
	// wordMinDF is how many benign labels must contain a candidate segment.
	wordMinDF = 4
	// ridge is the L2 penalty of the regression (on standardised features).
	ridge = 1e-3
	// benignWeight weighs benign names in the regression: false positives
	// cost more than misses, and the goal is a low false-positive rate.
	benignWeight = 10.0
)

// Train builds model parameters. It is deterministic.
func Train(ts TrainSet) (*Params, error) {
	if len(ts.TableBenign) == 0 || len(ts.TableDGA) == 0 || len(ts.FitBenign) == 0 || len(ts.FitDGA) == 0 {
		return nil, fmt.Errorf("train: empty training set")
	}
	words := buildWords(ts.TableBenign)
	synTable, synFit := synthetic(words)
	p := &Params{
		Features: featureNames,
		Benign:   ngramTable(ts.TableBenign),
		DGA:      ngramTable(append(append([]string{}, ts.TableDGA...), synTable...)),
		Words:    words,
	}
	ts.FitDGA = append(append([]string{}, ts.FitDGA...), synFit...)
	nf := len(featureNames)
	p.Mean, p.Std, p.Weights = make([]float64, nf), make([]float64, nf), make([]float64, expandedLen)
	p.Cuts = make([][]float64, len(binned))
	for i := range p.Std {
		p.Std[i] = 1
	}
	m, err := p.Model()
	if err != nil {
		return nil, err
	}
	n := len(ts.FitBenign) + len(ts.FitDGA)
	X := make([][]float64, 0, n)
	y := make([]float64, 0, n)
	wt := make([]float64, 0, n)
	wb := benignWeight * float64(len(ts.FitDGA)) / float64(len(ts.FitBenign))
	for _, l := range ts.FitBenign {
		f := make([]float64, nf)
		m.features(l, f)
		X, y, wt = append(X, f), append(y, 0), append(wt, wb)
	}
	for _, l := range ts.FitDGA {
		f := make([]float64, nf)
		m.features(l, f)
		X, y, wt = append(X, f), append(y, 1), append(wt, 1)
	}
	for j := 0; j < nf; j++ {
		var s, ss float64
		for _, f := range X {
			s += f[j]
		}
		mu := s / float64(n)
		for _, f := range X {
			ss += (f[j] - mu) * (f[j] - mu)
		}
		sd := math.Sqrt(ss / float64(n))
		if sd < 1e-9 {
			sd = 1
		}
		p.Mean[j], p.Std[j] = mu, sd
	}
	for j, fi := range binned {
		col := make([]float64, 0, n)
		for _, f := range X {
			col = append(col, f[fi])
		}
		sort.Float64s(col)
		var cuts []float64
		for k := 1; k < nbins; k++ {
			c := col[k*n/nbins]
			if len(cuts) == 0 || c > cuts[len(cuts)-1] {
				cuts = append(cuts, c)
			}
		}
		p.Cuts[j] = cuts
	}
	m.mean, m.std, m.cuts = p.Mean, p.Std, p.Cuts
	for i, f := range X {
		x := make([]float64, expandedLen)
		m.expand(f, x)
		X[i] = x
	}
	w, b := irls(X, y, wt)
	p.Weights, p.Bias = w, b
	return p, nil
}

// Synthetic algorithmic names added to training, so the model knows
// generators beyond the few families in the lists: uniformly random
// letters, random letters and digits, pronounceable consonant-vowel
// strings (pushdo, simda, pykspa style), and concatenations of 3-6
// dictionary words (the shape of matsnu, rovnix and gozi names).
const (
	synRandom = 6000 // of each random kind, for the tables and the fit each
	synWords  = 6000 // dictionary concatenations, for the fit
)

// synthetic returns deterministic synthetic DGA labels for the n-gram
// table and for the regression fit.
func synthetic(words []string) (table, fit []string) {
	r := rand.New(rand.NewPCG(5, 0x6467612d73796e))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	const alnum = letters + "0123456789"
	random := func(alpha string) string {
		n := 6 + r.IntN(20)
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	const consonants, vowels = "bcdfghjklmnpqrstvwxz", "aeiouy"
	pronounceable := func() string {
		n := 6 + r.IntN(9)
		b := make([]byte, n)
		v := r.IntN(2)
		for i := range b {
			if (i+v)%2 == 0 {
				b[i] = consonants[r.IntN(len(consonants))]
			} else {
				b[i] = vowels[r.IntN(len(vowels))]
			}
		}
		return string(b)
	}
	for i := 0; i < 2*synRandom; i++ {
		table = append(table, random(letters), random(alnum), pronounceable())
	}
	table, fit = table[:3*synRandom], table[3*synRandom:]
	var long []string
	for _, w := range words {
		if len(w) >= 3 {
			long = append(long, w)
		}
	}
	for i := 0; i < synWords && len(long) > 0; i++ {
		var b strings.Builder
		for k := 3 + r.IntN(4); k > 0; k-- {
			b.WriteString(long[r.IntN(len(long))])
		}
		if b.Len() <= 63 {
			fit = append(fit, b.String())
		}
	}
	return table, fit
}

// ngramTable counts 3-grams (with label boundaries) and returns smoothed
// ln P(c | a b) in fixed point.
func ngramTable(labels []string) []int16 {
	tri := make([]float64, tableLen)
	bi := make([]float64, alphabet*alphabet)
	for _, l := range labels {
		a, b := 0, 0
		for i := 0; i <= len(l); i++ {
			c := 0
			if i < len(l) {
				c = charIndex(l[i])
			}
			tri[(a*alphabet+b)*alphabet+c]++
			bi[b*alphabet+c]++
			a, b = b, c
		}
	}
	out := make([]int16, tableLen)
	for a := 0; a < alphabet; a++ {
		for b := 0; b < alphabet; b++ {
			var ctxTri, ctxBi float64
			for c := 0; c < alphabet; c++ {
				ctxTri += tri[(a*alphabet+b)*alphabet+c]
				ctxBi += bi[b*alphabet+c]
			}
			for c := 0; c < alphabet; c++ {
				pb := (bi[b*alphabet+c] + 1) / (ctxBi + alphabet)
				pt := (tri[(a*alphabet+b)*alphabet+c] + ngramPrior*pb) / (ctxTri + ngramPrior)
				v := math.Round(math.Log(pt) * scale)
				if v < math.MinInt16 {
					v = math.MinInt16
				}
				out[(a*alphabet+b)*alphabet+c] = int16(v)
			}
		}
	}
	return out
}

// buildWords derives a dictionary of word segments from benign labels:
// letter substrings that many labels contain, kept only when the best
// segmentations of benign labels actually use them (which drops the
// fragments that merely overlap real words).
func buildWords(labels []string) []string {
	df := map[string]int{}
	seen := map[string]bool{}
	for _, l := range labels {
		clear(seen)
		for i := 0; i < len(l); i++ {
			for j := i + minWord; j <= len(l) && j-i <= maxWord; j++ {
				s := l[i:j]
				if !letters(s) {
					break
				}
				if !seen[s] {
					seen[s] = true
					df[s]++
				}
			}
		}
	}
	cand := map[string]struct{}{}
	for s, k := range df {
		// Short segments must be very common to count as words.
		if k >= wordMinDF*(1+max(0, 6-len(s))*4) {
			cand[s] = struct{}{}
		}
	}
	m := &Model{words: cand}
	use := map[string]int{}
	for _, l := range labels {
		for _, w := range m.segmentWords(l) {
			use[w]++
		}
	}
	var out []string
	for w, k := range use {
		if k >= wordMinUse {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

func letters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// segmentWords returns the words of the best segmentation of label,
// preferring fewer longer words among equal coverage.
func (m *Model) segmentWords(label string) []string {
	n := len(label)
	if n == 0 || n > 63 {
		return nil
	}
	var cost [64]int
	var back [64]int8
	for i := 1; i <= n; i++ {
		cost[i] = cost[i-1] + 100
		back[i] = 0
		for j := i - minWord; j >= 0 && i-j <= maxWord; j-- {
			if _, ok := m.words[label[j:i]]; ok {
				if c := cost[j] + 1; c < cost[i] {
					cost[i], back[i] = c, int8(i-j)
				}
			}
		}
	}
	var out []string
	for i := n; i > 0; {
		if w := int(back[i]); w > 0 {
			out = append(out, label[i-w:i])
			i -= w
		} else {
			i--
		}
	}
	return out
}

// irls fits a weighted, ridge-penalised logistic regression by Newton's
// method (iteratively reweighted least squares).
func irls(X [][]float64, y, wt []float64) ([]float64, float64) {
	d := len(X[0]) + 1 // last coefficient is the bias
	beta := make([]float64, d)
	for it := 0; it < 50; it++ {
		g := make([]float64, d)
		H := make([][]float64, d)
		for i := range H {
			H[i] = make([]float64, d)
		}
		row := make([]float64, d)
		for i, f := range X {
			copy(row, f)
			row[d-1] = 1
			z := 0.0
			for j, v := range row {
				z += beta[j] * v
			}
			p := 1 / (1 + math.Exp(-z))
			r := wt[i] * (y[i] - p)
			s := wt[i] * math.Max(p*(1-p), 1e-9)
			for j := 0; j < d; j++ {
				g[j] += r * row[j]
				sj := s * row[j]
				for k := j; k < d; k++ {
					H[j][k] += sj * row[k]
				}
			}
		}
		var tot float64
		for _, w := range wt {
			tot += w
		}
		for j := 0; j < d; j++ {
			for k := 0; k < j; k++ {
				H[j][k] = H[k][j]
			}
			if j < d-1 {
				H[j][j] += ridge * tot
				g[j] -= ridge * tot * beta[j]
			}
		}
		step := solve(H, g)
		var norm float64
		for j := range beta {
			beta[j] += step[j]
			norm += step[j] * step[j]
		}
		if norm < 1e-12 {
			break
		}
	}
	return beta[:d-1], beta[d-1]
}

// solve solves A x = b by Gaussian elimination with partial pivoting.
func solve(A [][]float64, b []float64) []float64 {
	n := len(b)
	M := make([][]float64, n)
	for i := range M {
		M[i] = append(append([]float64{}, A[i]...), b[i])
	}
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(M[r][c]) > math.Abs(M[p][c]) {
				p = r
			}
		}
		M[c], M[p] = M[p], M[c]
		if math.Abs(M[c][c]) < 1e-12 {
			continue
		}
		for r := c + 1; r < n; r++ {
			f := M[r][c] / M[c][c]
			for k := c; k <= n; k++ {
				M[r][k] -= f * M[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := M[r][n]
		for k := r + 1; k < n; k++ {
			s -= M[r][k] * x[k]
		}
		if math.Abs(M[r][r]) > 1e-12 {
			x[r] = s / M[r][r]
		}
	}
	return x
}
