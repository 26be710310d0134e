// Package powershell implements "Anomalous Connection::Powershell to Rare
// External": an HTTP request whose user agent is PowerShell's (its web
// cmdlets Invoke-WebRequest and Invoke-RestMethod, see
// useragent.IsPowerShell) to an external endpoint, host name or bare
// address, that few or no other devices use. Download cradles and
// PowerShell-based C2 fetch their next stage this way; administrators'
// scripts mostly talk to services the whole network knows.
//
// Only cleartext HTTP shows the user agent: PowerShell over TLS is
// invisible here, and .NET's WebClient sends no user agent at all (see
// new-ua-to-ip for agent-less requests to addresses).
package powershell

import (
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/useragent"
)

// ID is the model's configuration name.
const ID = "powershell-rare"

func init() {
	detect.Register(detect.Info{
		ID:      ID,
		Name:    "Anomalous Connection::Powershell to Rare External",
		MITRE:   []string{"T1059.001", "T1071.001"},
		Reads:   []event.Kind{event.KindHTTP},
		Summary: "HTTP request with a PowerShell user agent to an external host or address that is rare on the network",
		Learning: "Needs no baseline: a PowerShell request to an endpoint no other device uses fires from the first hour. " +
			"Newness of the endpoint and a first-ever PowerShell agent from the device add to the score as far as the " +
			"network and device have learned.",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{MinScore: 0, MaxOtherDevices: 2, PayloadExtensions: []string{
				".ps1", ".psm1", ".psd1", ".exe", ".dll", ".zip", ".7z", ".rar", ".hta", ".bat", ".cmd",
				".vbs", ".jse", ".msi", ".scr", ".bin", ".dat", ".b64",
			}}
		},
	})
}

// Model holds the thresholds.
type Model struct {
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
	// MaxOtherDevices lets an endpoint count as rare for PowerShell when
	// no more than this many other devices used it, even where the
	// network's rare limit is lower (under 50 devices it is 0): a second
	// victim of the same campaign still fires, an endpoint many devices use
	// does not.
	MaxOtherDevices int `yaml:"max_other_devices"`
	// PayloadExtensions are URI path endings of scripts, executables and
	// archives: PowerShell fetching one is a stager's behaviour.
	PayloadExtensions []string `yaml:"payload_extensions"`
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	if m.MinScore < 0 || m.MinScore > 100 {
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	if m.MaxOtherDevices < 0 {
		return fmt.Errorf("max_other_devices: must not be negative, got %d", m.MaxOtherDevices)
	}
	for _, x := range m.PayloadExtensions {
		if !strings.HasPrefix(x, ".") {
			return fmt.Errorf("payload_extensions: %q must start with a dot", x)
		}
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// Observe flags a PowerShell request to a rare external endpoint.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	h, ok := e.(*event.HTTP)
	if !ok || c.Contact == nil || !c.Contact.External || !useragent.IsPowerShell(h.UserAgent) {
		return nil
	}
	peer := c.Peer()
	limit := max(c.Net.RareLimit(), m.MaxOtherDevices)
	if peer.Prev.Others > limit {
		return nil
	}
	// Rarity graded against the wider limit: 1 when no other device.
	rarity := 1 - float64(peer.Prev.Others)/float64(limit+1)
	d := c.Device()
	dl := d.Learned(h.TS)
	bare := c.Contact.Host == ""
	_, uaSeen := d.UserAgents.Has(h.UserAgent)
	payload := m.payload(h.URI)
	upload := h.RequestBodyLen > 0 && !strings.EqualFold(h.Method, "GET")

	ev := c.PrevalenceEvidence(peer)
	ev["method"], ev["uri"], ev["host_header"] = h.Method, h.URI, h.Host
	ev["user_agent"], ev["request_body_len"], ev["response_body_len"] = h.UserAgent, h.RequestBodyLen, h.ResponseBodyLen
	ev["device_learned_pct"] = math.Round(dl * 100)
	if h.StatusCode > 0 {
		ev["status_code"] = h.StatusCode
	}
	if h.RespContentType != "" {
		ev["response_content_type"] = h.RespContentType
	}
	target := c.Contact.Host
	if bare {
		target = c.Contact.IP.String()
	}
	ev.Why(fmt.Sprintf("PowerShell (user agent %q) sent HTTP %s %s to %s:%d", h.UserAgent, h.Method, h.URI, target, c.Contact.Port))
	ev.Why(c.Describe(peer))

	// A PowerShell web request to an endpoint nobody else uses is
	// notable on its own (0.45); rarity and newness of the endpoint, a
	// bare address, a payload-like download, an upload and an agent the
	// device never sent add to it.
	parts := []float64{0.45, 0.3 * rarity, 0.3 * peer.Newness}
	if bare {
		parts = append(parts, 0.2)
		ev.Why("the server was addressed by IP, with no host name")
	}
	if payload != "" {
		parts = append(parts, 0.15)
		ev.Why(fmt.Sprintf("the request fetched a %s file", payload))
	}
	if upload {
		parts = append(parts, 0.1)
		ev.Why(fmt.Sprintf("the request sent %d bytes", h.RequestBodyLen))
	}
	if !uaSeen {
		parts = append(parts, 0.15*dl)
		ev.Why(fmt.Sprintf("this PowerShell user agent was never seen from this device before (device baseline %.0f%% learned)", dl*100))
	}
	score := detect.NoisyOr(parts...)
	if dp := c.DomainPrevalence(); !bare && c.Contact.Domain != c.Contact.Host && dp.Seen && !c.Net.Rare(dp) {
		score *= 0.6
		ev.Why(fmt.Sprintf("its domain %s is used by %d devices", c.Contact.Domain, dp.Devices))
	}
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	sum := fmt.Sprintf("%s made a PowerShell HTTP %s to rare %s:%d", c.Addr(), h.Method, target, c.Contact.Port)
	return []breach.Breach{c.Breach(m.Info(), score, ev, sum, h.UID)}
}

// payload returns the URI path's extension when it is a payload's.
func (m *Model) payload(uri string) string {
	p := uri
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	ext := strings.ToLower(path.Ext(p))
	if ext == "" {
		return ""
	}
	for _, x := range m.PayloadExtensions {
		if strings.EqualFold(ext, x) {
			return ext
		}
	}
	return ""
}

var _ detect.Model = (*Model)(nil)
