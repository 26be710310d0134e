package detect

import (
	"errors"
	"math"
	"net/netip"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/units"
)

// Scoring configures the device threat score (configuration key
// "scoring").
type Scoring struct {
	// HalfLife is how long a breach takes to count half as much.
	HalfLife units.Duration `yaml:"half_life"`
}

// DefaultScoring returns the defaults.
func DefaultScoring() Scoring { return Scoring{HalfLife: units.Duration(24 * time.Hour)} }

// Validate checks the settings.
func (s *Scoring) Validate() error {
	if s.HalfLife <= 0 {
		return errors.New("scoring.half_life: must be positive")
	}
	return nil
}

// Threat keeps each device's threat score: the weak signals of all its
// breaches combined over time.
//
// The formula: a breach with score s (0–100) at time t contributes
// p = s/100 × 2^(−(now−t)/half_life). Contributions are grouped by (model,
// endpoint), and each group counts once, with its strongest decayed
// contribution, so a repeated breach does not inflate the score. Groups
// combine by noisy-OR: score = 100 × (1 − Π (1 − p_g)). Several weak,
// different breaches on one device therefore outrank one loud breach:
// three breaches of 45 give 83, more than a single breach of 80.
type Threat struct {
	halfLife float64 // seconds
	devices  map[netip.Addr]map[string]contribution
}

type contribution struct {
	p  float64
	at time.Time
}

// NewThreat returns empty scores.
func NewThreat(s Scoring) *Threat {
	hl := s.HalfLife.D().Seconds()
	if hl <= 0 {
		hl = DefaultScoring().HalfLife.D().Seconds()
	}
	return &Threat{halfLife: hl, devices: make(map[netip.Addr]map[string]contribution)}
}

func (t *Threat) decay(c contribution, at time.Time) float64 {
	dt := at.Sub(c.at).Seconds()
	if dt <= 0 {
		return c.p
	}
	return c.p * math.Exp2(-dt/t.halfLife)
}

// Add counts a breach.
func (t *Threat) Add(b breach.Breach) {
	g := t.devices[b.Device]
	if g == nil {
		g = make(map[string]contribution)
		t.devices[b.Device] = g
	}
	k := b.Model + "|" + b.Endpoint.Key()
	nc := contribution{p: float64(b.Score) / 100, at: b.Time}
	if old, ok := g[k]; ok && t.decay(old, b.Time) >= nc.p {
		return
	}
	g[k] = nc
	// Forget what has decayed to nothing (after ~10 half-lives).
	if len(g) > 64 {
		for k, c := range g {
			if t.decay(c, b.Time) < 0.001 {
				delete(g, k)
			}
		}
	}
}

// Score returns the device's threat score (0–100, one decimal) at a time.
func (t *Threat) Score(dev netip.Addr, at time.Time) float64 {
	q := 1.0
	for _, c := range t.devices[dev] {
		q *= 1 - t.decay(c, at)
	}
	return math.Round((1-q)*1000) / 10
}
