// Package newpsua implements "Device::New PowerShell User Agent": the first
// HTTP request with a PowerShell user agent (useragent.IsPowerShell) from a
// device that sent none within the prevalence window. Most workstations
// never make web requests from PowerShell; the first time one does is
// often a user running a pasted command ("ClickFix") or an intruder's
// download cradle, and worth a look even when the server is well known.
//
// The model remembers, per device, when it last sent a PowerShell agent
// (one timestamp per device, forgotten after the prevalence window), so it
// fires once per device until the device stops using PowerShell for a
// whole window. When PowerShell web requests are common on the network
// (admin tooling everywhere), a device joining them counts less.
package newpsua

import (
	"fmt"
	"math"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/useragent"
)

// ID is the model's configuration name.
const ID = "new-powershell-ua"

func init() {
	detect.Register(detect.Info{
		ID:      ID,
		Name:    "Device::New PowerShell User Agent",
		MITRE:   []string{"T1059.001"},
		Reads:   []event.Kind{event.KindHTTP},
		Summary: "first HTTP request with a PowerShell user agent from a device within the prevalence window",
		Learning: "Fires from the first hour, since most devices never use PowerShell for web requests; while the " +
			"device is learning the score is lower (its first PowerShell request in the data may be a habit not " +
			"yet seen), rising with Profile.Learned. With an empty baseline every device's first PowerShell " +
			"request fires once, at a low-to-moderate score raised by a rare external destination.",
		Cooldown: detect.DefaultCooldown,
		New:      func() detect.Model { return &Model{MinScore: 0, CommonFraction: 0.1, MinCommonDevices: 3} },
	})
}

// Model holds the thresholds and, per device, when it last sent a
// PowerShell user agent.
type Model struct {
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
	// CommonFraction is the share of the population above which
	// PowerShell web requests count as common on the network (halving the
	// score), once at least MinCommonDevices other devices make them.
	CommonFraction   float64 `yaml:"common_fraction"`
	MinCommonDevices int     `yaml:"min_common_devices"`

	users map[uint32]int64 // device -> last PowerShell request (unix s)
	swept int64
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	case m.CommonFraction <= 0 || m.CommonFraction > 1:
		return fmt.Errorf("common_fraction: must be in (0, 1], got %g", m.CommonFraction)
	case m.MinCommonDevices < 1:
		return fmt.Errorf("min_common_devices: must be at least 1, got %d", m.MinCommonDevices)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// Observe flags a device's first PowerShell user agent.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	h, ok := e.(*event.HTTP)
	if !ok || c.Contact == nil || !useragent.IsPowerShell(h.UserAgent) {
		return nil
	}
	d := c.Device()
	now := h.TS.Unix()
	window := int64(c.Base.Set.Window.D() / time.Second)
	m.sweep(now, window)
	last, used := m.users[d.ID]
	if now > last {
		m.users[d.ID] = now
	}
	if used && now-last <= window {
		return nil
	}
	if at, seen := d.UserAgents.Has(h.UserAgent); seen && now-at.Unix() <= window {
		return nil // sent before this model's memory began
	}
	dl := d.Learned(h.TS)
	others := len(m.users) - 1

	ev := breach.Evidence{
		"method": h.Method, "uri": h.URI, "host_header": h.Host, "user_agent": h.UserAgent,
		"external":           c.Contact.External,
		"device_learned_pct": math.Round(dl * 100),
		"powershell_devices": others,
		"population":         c.Net.Population(),
	}
	target := c.Contact.Host
	if target == "" {
		target = c.Contact.IP.String()
	}
	ev.Why(fmt.Sprintf("first PowerShell web request from this device in %s: HTTP %s %s to %s:%d (user agent %q)",
		c.Base.Set.Window, h.Method, h.URI, target, c.Contact.Port, h.UserAgent))

	// Novelty counts more the longer the device has been watched without
	// PowerShell; an external destination, the more so a rare or bare
	// one, adds to it.
	parts := []float64{0.35 + 0.4*dl}
	if dl < 1 {
		ev.Why(fmt.Sprintf("device baseline %.0f%% learned", dl*100))
	}
	if c.Contact.External {
		peer := c.Peer()
		for k, v := range c.PrevalenceEvidence(peer) {
			ev[k] = v
		}
		parts = append(parts, 0.2, 0.25*peer.Rarity, 0.1*peer.Newness)
		if c.Contact.Host == "" {
			parts = append(parts, 0.15)
			ev.Why("the server was addressed by IP, with no host name")
		}
		ev.Why(c.Describe(peer))
	}
	score := detect.NoisyOr(parts...)
	pop := c.Net.Population()
	if others >= m.MinCommonDevices && float64(others) > m.CommonFraction*float64(pop) {
		score *= 0.5
		ev.Why(fmt.Sprintf("PowerShell web requests are common here: %d other devices of %d made them in %s",
			others, pop, c.Base.Set.Window))
	}
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	sum := fmt.Sprintf("%s sent its first PowerShell user agent, to %s:%d", c.Addr(), target, c.Contact.Port)
	return []breach.Breach{c.Breach(m.Info(), score, ev, sum, h.UID)}
}

// sweep forgets, every few hours of event time, devices whose last
// PowerShell request left the window.
func (m *Model) sweep(now, window int64) {
	if m.users == nil {
		m.users = make(map[uint32]int64)
	}
	if now-m.swept < int64(sweepEvery/time.Second) {
		return
	}
	m.swept = now
	for d, t := range m.users {
		if now-t > window {
			delete(m.users, d)
		}
	}
}

// sweepEvery is how often (event time) old entries are forgotten.
const sweepEvery = 6 * time.Hour

var _ detect.Model = (*Model)(nil)
