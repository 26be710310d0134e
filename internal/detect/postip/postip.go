// Package postip implements "Anomalous Connection::Posting HTTP to IP
// Without Hostname": an HTTP POST to an external server addressed by a bare
// IP (the Host header is the address, or absent, and the device resolved no
// name for it). Legitimate software almost always names its servers;
// implants and quick C2 kits often do not.
package postip

import (
	"fmt"
	"strings"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
)

func init() {
	detect.Register(detect.Info{
		ID:    "post-to-ip",
		Name:  "Anomalous Connection::Posting HTTP to IP Without Hostname",
		MITRE: []string{"T1071.001"},
		Reads: []event.Kind{event.KindHTTP},
		Summary: "HTTP POST to an external IP given as a bare address (Host header is the IP or missing, " +
			"no DNS name resolved for it)",
		Learning: "Needs no baseline: fires from the first hour. Rarity of the address so far raises the " +
			"score; an address many devices post to lowers it.",
		Cooldown: detect.DefaultCooldown,
		New:      func() detect.Model { return &Model{MinScore: 0} },
	})
}

// Model holds the thresholds.
type Model struct {
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	if m.MinScore < 0 || m.MinScore > 100 {
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind("post-to-ip") }

// Observe flags a POST whose Host is an address.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	h, ok := e.(*event.HTTP)
	if !ok || c.Contact == nil || !c.Contact.External || !strings.EqualFold(h.Method, "POST") {
		return nil
	}
	host := domain.Normalize(h.Host)
	if host != "" && !domain.IsAddr(host) {
		return nil
	}
	peer := c.Peer()
	ev := c.PrevalenceEvidence(peer)
	ev["method"], ev["uri"], ev["host_header"] = h.Method, h.URI, h.Host
	ev["user_agent"], ev["request_body_len"] = h.UserAgent, h.RequestBodyLen
	ev.Why(fmt.Sprintf("HTTP POST %s to %s with no host name (Host header %q)", h.URI, c.Contact.IP, h.Host))
	ev.Why(c.Describe(peer))
	// A bare-IP POST is suspicious on its own (0.45); rarity of the
	// address and a first-ever user agent from the device add to it.
	score := detect.NoisyOr(0.45, 0.4*peer.Rarity)
	if d := c.Device(); h.UserAgent != "" {
		if _, seen := d.UserAgents.Has(h.UserAgent); !seen {
			score = detect.NoisyOr(score, 0.15)
			ev.Why(fmt.Sprintf("user agent %q first seen from this device", h.UserAgent))
		}
	}
	if !peer.Rare {
		score *= 0.6
	}
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	sum := fmt.Sprintf("%s POSTed %s to bare IP %s:%d", c.Addr(), h.URI, c.Contact.IP, c.Contact.Port)
	return []breach.Breach{c.Breach(m.Info(), score, ev, sum, h.UID)}
}

var _ detect.Model = (*Model)(nil)
