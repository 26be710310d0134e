// Package baseline learns what is normal: each device's pattern of life
// (Profile) and the network-wide prevalence of every external endpoint
// (Network). It is pure and driven by event time: the caller passes each
// event's timestamp, and nothing here reads the wall clock.
//
// Definitions that the models and the documentation share:
//
//   - Population: internal devices seen in the prevalence window.
//   - Prevalence of an endpoint (IP, host name or registrable domain): how
//     many distinct internal devices made a connection to it that the far
//     side answered, within the window (default 28 days).
//   - Rare: no more than RareFraction of the population (default 2 %),
//     rounded down, other than the device at hand contacted it in the window.
//     With fewer than 50 devices that means no other device at all.
//   - New: first seen (network-wide or by one device) within NewAge
//     (default 7 days) — or never seen before this event.
//   - Learning: a device is learning until LearningPeriod (default 7 days)
//     after its first event; the network, until LearningPeriod after the
//     first event of the data. Models down-weight evidence that depends on a
//     long baseline while learning; Learned returns the weight.
package baseline

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ndr/vigil/internal/units"
)

// Settings are the baseline's thresholds (configuration key "baseline").
type Settings struct {
	// LearningPeriod is how long a device (and the network) is watched
	// before baseline-dependent evidence counts in full.
	LearningPeriod units.Duration `yaml:"learning_period"`
	// Window is the prevalence window: contacts older than this are
	// forgotten, and an endpoint unseen for this long is new again.
	Window units.Duration `yaml:"prevalence_window"`
	// RareFraction is the share of the population under which (counting
	// other devices) an endpoint is rare.
	RareFraction float64 `yaml:"rare_fraction"`
	// NewAge is how long after its first sighting an endpoint is still new.
	NewAge units.Duration `yaml:"new_age"`
	// MaxPeers bounds each device's per-kind sets of peers, user agents and
	// fingerprints; the least recently used entry goes first.
	MaxPeers int `yaml:"max_peers_per_device"`
	// Timezone is the IANA zone for hour-of-week activity (default UTC).
	Timezone string `yaml:"timezone"`
}

// DefaultSettings returns the defaults documented on the package.
func DefaultSettings() Settings {
	return Settings{
		LearningPeriod: units.Duration(7 * 24 * time.Hour),
		Window:         units.Duration(28 * 24 * time.Hour),
		RareFraction:   0.02,
		NewAge:         units.Duration(7 * 24 * time.Hour),
		MaxPeers:       4096,
		Timezone:       "UTC",
	}
}

// Validate checks the settings without doing any I/O.
func (s *Settings) Validate() error {
	switch {
	case s.LearningPeriod < 0:
		return errors.New("baseline.learning_period: must not be negative")
	case s.Window < units.Duration(time.Hour):
		return fmt.Errorf("baseline.prevalence_window: must be at least 1h, got %s", s.Window)
	case s.RareFraction < 0 || s.RareFraction >= 1:
		return fmt.Errorf("baseline.rare_fraction: must be in [0, 1), got %g", s.RareFraction)
	case s.NewAge <= 0:
		return errors.New("baseline.new_age: must be positive")
	case s.MaxPeers < 16:
		return fmt.Errorf("baseline.max_peers_per_device: must be at least 16, got %d", s.MaxPeers)
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return fmt.Errorf("baseline.timezone: %w", err)
	}
	return nil
}
