// Package eval measures detection quality on simulated scenarios: it runs
// the simulator's events through the detection engine and scores every
// breach against the scenario's ground truth (each behaviour lists the
// models that must raise it). The same code backs the quality test and
// `go run ./tools/evalsim`, which prints the README's table.
package eval

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sim"
)

// Result is one simulated run, judged.
type Result struct {
	Scenario string
	Truth    *sim.Truth
	Breaches []breach.Breach
	Events   int64
	Elapsed  time.Duration
	// Matched maps a breach ID to the behaviour it belongs to ("" = none:
	// a false positive).
	Matched map[string]string
	// Raised maps a behaviour ID to the models that raised it.
	Raised map[string]map[string]bool
	// DeviceScores are the devices' peak threat scores: the highest each
	// reached at any of its breaches.
	DeviceScores map[netip.Addr]float64
}

// Run simulates and analyses one scenario.
func Run(ctx context.Context, sc sim.Config, cfg config.Config) (*Result, error) {
	models, err := cfg.DetectModels()
	if err != nil {
		return nil, err
	}
	inv := device.NewInventory(cfg.InternalPrefixes())
	eng := detect.NewEngine(detect.Options{
		Baseline: cfg.Baseline, Internal: inv.Internal, Models: models, Allow: cfg.Allowlist, Scoring: cfg.Scoring,
	})
	r := &Result{Scenario: sc.Scenario, Matched: map[string]string{}, Raised: map[string]map[string]bool{},
		DeviceScores: map[netip.Addr]float64{}}
	start := time.Now()
	r.Truth, err = sim.GenerateEvents(ctx, sc, func(e event.Event) error {
		r.Events++
		inv.Observe(e)
		eng.Observe(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Elapsed = time.Since(start)
	eng.Flush()
	r.Breaches = eng.Breaches()
	peak := detect.NewThreat(cfg.Scoring)
	for _, b := range r.Breaches { // in time order
		peak.Add(b)
		r.DeviceScores[b.Device] = max(r.DeviceScores[b.Device], peak.Score(b.Device, b.Time))
	}
	for i := range r.Breaches {
		b := &r.Breaches[i]
		id := match(r.Truth, b)
		r.Matched[b.ID] = id
		if id != "" {
			if r.Raised[id] == nil {
				r.Raised[id] = map[string]bool{}
			}
			info, _ := detect.Find(b.Model)
			r.Raised[id][info.ID] = true
		}
	}
	return r, nil
}

// slack is how long after a behaviour's last session a breach may still
// belong to it (windowed models fire at the end of a window).
const slack = 2 * time.Hour

// match returns the behaviour a breach belongs to: same device, an
// endpoint of the behaviour (by address or name), within its time span.
// A behaviour that expects the breach's model wins over one that does not
// (one C2 address can serve several behaviours).
func match(t *sim.Truth, b *breach.Breach) string {
	info, _ := detect.Find(b.Model)
	found := ""
	for _, bh := range t.Behaviours {
		if b.Time.Before(bh.First.Add(-time.Minute)) || b.Time.After(bh.Last.Add(slack)) {
			continue
		}
		dev := false
		for _, d := range bh.Devices {
			dev = dev || d == b.Device
		}
		if !dev {
			continue
		}
		expects := false
		for _, m := range bh.Expect {
			expects = expects || m == info.ID
		}
		// A DGA's generated names are too many for the truth to list: a
		// breach of an expected model on the device within the span is it.
		if expects && bh.EndpointsTruncated > 0 {
			return bh.ID
		}
		for _, ep := range bh.Endpoints {
			if (ep.IP.IsValid() && ep.IP == b.Endpoint.IP) ||
				(ep.Hostname != "" && strings.EqualFold(ep.Hostname, b.Endpoint.Hostname)) {
				for _, m := range bh.Expect {
					if m == info.ID {
						return bh.ID
					}
				}
				if found == "" {
					found = bh.ID
				}
			}
		}
	}
	return found
}

// ModelScore is one model's quality over a set of runs.
type ModelScore struct {
	Model              string
	TP, FP             int // breaches matching an expected behaviour / matching nothing
	Expected, Detected int // behaviours expecting the model / raised by it
	MaxBenignScore     int
	// LateFP counts false positives after the first day of data, when
	// the network has a day of baseline.
	LateFP int
}

// Precision is TP/(TP+FP), or 1 with no breaches.
func (m ModelScore) Precision() float64 {
	if m.TP+m.FP == 0 {
		return 1
	}
	return float64(m.TP) / float64(m.TP+m.FP)
}

// Recall is Detected/Expected, or 1 with nothing expected.
func (m ModelScore) Recall() float64 {
	if m.Expected == 0 {
		return 1
	}
	return float64(m.Detected) / float64(m.Expected)
}

// Score tallies precision and recall per model over runs. A breach counts
// as a true positive when it matches a behaviour that expects its model,
// or any scenario behaviour at all (a second model catching injected
// activity is not a false alarm); as a false positive when it matches none.
func Score(runs ...*Result) []ModelScore {
	by := map[string]*ModelScore{}
	get := func(id string) *ModelScore {
		if by[id] == nil {
			by[id] = &ModelScore{Model: id}
		}
		return by[id]
	}
	for _, i := range detect.Catalogue() {
		get(i.ID)
	}
	for _, r := range runs {
		for _, b := range r.Breaches {
			info, _ := detect.Find(b.Model)
			s := get(info.ID)
			if r.Matched[b.ID] != "" {
				s.TP++
			} else {
				s.FP++
				s.MaxBenignScore = max(s.MaxBenignScore, b.Score)
				if b.Time.Sub(r.Truth.Start) >= 24*time.Hour {
					s.LateFP++
				}
			}
		}
		for _, bh := range r.Truth.Behaviours {
			for _, m := range bh.Expect {
				s := get(m)
				s.Expected++
				if r.Raised[bh.ID][m] {
					s.Detected++
				}
			}
		}
	}
	out := make([]ModelScore, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// Missed lists, for a run, each expected (behaviour, model) pair that no
// breach raised.
func Missed(r *Result) []string {
	var out []string
	for _, bh := range r.Truth.Behaviours {
		for _, m := range bh.Expect {
			if !r.Raised[bh.ID][m] {
				out = append(out, bh.ID+" -> "+m)
			}
		}
	}
	return out
}

// FalsePositives returns the breaches that match no behaviour.
func FalsePositives(r *Result) []breach.Breach {
	var out []breach.Breach
	for _, b := range r.Breaches {
		if r.Matched[b.ID] == "" {
			out = append(out, b)
		}
	}
	return out
}

// WriteTable writes the per-model table in Markdown.
func WriteTable(w io.Writer, scores []ModelScore) {
	fmt.Fprintln(w, "| model | breaches TP / FP (FP after day 1) | precision | behaviours raised / expected | recall | highest FP score |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, s := range scores {
		info, _ := detect.Find(s.Model)
		fmt.Fprintf(w, "| `%s` | %d / %d (%d) | %.2f | %d / %d | %.2f | %d |\n", info.Name, s.TP, s.FP, s.LateFP, s.Precision(),
			s.Detected, s.Expected, s.Recall(), s.MaxBenignScore)
	}
}
