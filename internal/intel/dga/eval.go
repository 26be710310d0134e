package dga

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// TargetFPR is the false-positive rate at which the evaluation reads the
// true-positive rate.
const TargetFPR = 0.001

// EvalRow is one DGA family's results.
type EvalRow struct {
	Family     string
	Dictionary bool
	N          int
	// Shipped model on the family's held-out names, against the held-out
	// benign names and against the hard benign (long-tail) set.
	AUC, TPR, HardAUC, HardTPR float64
	// A model trained without this family at all (the honest test).
	HeldOutAUC, HeldOutTPR float64
}

// Evaluate scores every family's held-out names with m, and (when
// leaveOut) with a model retrained without that family.
func Evaluate(d *Data, m *Model, leaveOut bool) ([]EvalRow, error) {
	benign := scoreAll(m, d.Benign.Test)
	hard := scoreAll(m, d.HardBenign)
	var rows []EvalRow
	for _, f := range Families {
		s := d.DGA[f.Name]
		if len(s.Test) == 0 {
			continue
		}
		pos := scoreAll(m, s.Test)
		r := EvalRow{Family: f.Name, Dictionary: f.Dictionary, N: len(s.Test)}
		r.AUC, r.TPR = AUC(pos, benign), TPRAt(pos, benign, TargetFPR)
		r.HardAUC, r.HardTPR = AUC(pos, hard), TPRAt(pos, hard, TargetFPR)
		if leaveOut {
			p, err := Train(d.TrainSet(f.Name))
			if err != nil {
				return nil, err
			}
			lm, err := p.Model()
			if err != nil {
				return nil, err
			}
			lb := scoreAll(lm, d.Benign.Test)
			lp := scoreAll(lm, s.Test)
			r.HeldOutAUC, r.HeldOutTPR = AUC(lp, lb), TPRAt(lp, lb, TargetFPR)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// PrintEval writes the evaluation table.
func PrintEval(w io.Writer, d *Data, rows []EvalRow) error {
	fmt.Fprintf(w, "DGA scorer evaluation: held-out names (hash split 7-9 of 10), benign %d held-out names, hard benign %d (rank > %d)\n",
		len(d.Benign.Test), len(d.HardBenign), HardRank)
	fmt.Fprintf(w, "TPR at %.1f%% FPR; 'family held out' = a model trained without any name of that family\n\n", TargetFPR*100)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "family\ttype\tnames\tAUC\tTPR\tAUC hard\tTPR hard\tAUC family held out\tTPR family held out\t")
	for _, r := range rows {
		typ := "character"
		if r.Dictionary {
			typ = "dictionary"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f\t%.3f\t%.4f\t%.3f\t%.4f\t%.3f\t\n", r.Family, typ, r.N,
			r.AUC, r.TPR, r.HardAUC, r.HardTPR, r.HeldOutAUC, r.HeldOutTPR)
	}
	return tw.Flush()
}

func scoreAll(m *Model, labels []string) []float64 {
	out := make([]float64, len(labels))
	for i, l := range labels {
		out[i] = m.ScoreLabel(l)
	}
	return out
}

// AUC is the area under the ROC curve: the probability that a positive
// scores above a negative (ties count half).
func AUC(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return 0
	}
	n := append([]float64{}, neg...)
	sort.Float64s(n)
	var s float64
	for _, p := range pos {
		lo := sort.SearchFloat64s(n, p)                                 // negatives < p
		hi := sort.Search(len(n), func(i int) bool { return n[i] > p }) // negatives <= p
		s += float64(lo) + float64(hi-lo)/2
	}
	return s / float64(len(pos)) / float64(len(n))
}

// TPRAt is the fraction of positives scoring above the threshold that at
// most fpr of the negatives exceed.
func TPRAt(pos, neg []float64, fpr float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return 0
	}
	n := append([]float64{}, neg...)
	sort.Sort(sort.Reverse(sort.Float64Slice(n)))
	k := int(fpr * float64(len(n))) // negatives allowed above the threshold
	thr := n[min(k, len(n)-1)]
	c := 0
	for _, p := range pos {
		if p > thr {
			c++
		}
	}
	return float64(c) / float64(len(pos))
}
