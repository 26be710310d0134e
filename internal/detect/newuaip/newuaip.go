// Package newuaip implements "Anomalous Connection::New User Agent to IP
// Without Hostname": an HTTP request (any method) to an external server
// addressed by a bare IP (the Host header is the address, or absent) with a
// user agent the device has never sent before. Software a person installs
// names its servers and keeps its user agent; a freshly dropped implant or
// a script run by an intruder shows up as a client the device never used,
// talking straight to an address.
//
// "Never sent before" is exact for the string (the device profile's user
// agents within the prevalence window), but a version change of a client
// the device already runs (a browser update) counts only in part: the
// model remembers, per device, the user agent families it used (the
// string with version numbers blanked, see useragent.Family).
package newuaip

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/domain"
	"github.com/vigil-ndr/vigil/internal/intel/useragent"
)

// ID is the model's configuration name.
const ID = "new-ua-to-ip"

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Anomalous Connection::New User Agent to IP Without Hostname",
		MITRE: []string{"T1071.001"},
		Reads: []event.Kind{event.KindHTTP},
		Summary: "HTTP request to an external IP given as a bare address (Host header is the IP or missing) " +
			"with a user agent never seen from the device before",
		Learning: "While a device is learning every user agent is new, so novelty counts only as far as the " +
			"device has learned (Profile.Learned); script, PowerShell and agent-less clients to a rare address " +
			"still fire from the first hour (tool_novelty). With an empty baseline (a short capture) it therefore " +
			"fires only for such tools to addresses no other device uses, once per user agent and device.",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{MinScore: 30, ToolNovelty: 0.7, VersionWeight: 0.3, MaxFamilies: 64}
		},
	})
}

// Model holds the thresholds and, per device, the user agent families it
// used (bounded by MaxFamilies per device, forgotten after the prevalence
// window).
type Model struct {
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
	// ToolNovelty is how new a script, PowerShell or empty user agent
	// counts, at least, when the address is rare and the device is still
	// learning (0–1; 0 = only as far as the device has learned).
	ToolNovelty float64 `yaml:"tool_novelty"`
	// VersionWeight is the share of novelty kept when only the version of
	// a client the device already uses changed (0–1).
	VersionWeight float64 `yaml:"version_change_weight"`
	// MaxFamilies bounds the user agent families remembered per device;
	// the least recently used goes first.
	MaxFamilies int `yaml:"max_families_per_device"`

	families map[uint32]map[uint64]int64 // device -> family hash -> last used (unix s)
	swept    int64
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	case m.ToolNovelty < 0 || m.ToolNovelty > 1:
		return fmt.Errorf("tool_novelty: must be 0–1, got %g", m.ToolNovelty)
	case m.VersionWeight < 0 || m.VersionWeight > 1:
		return fmt.Errorf("version_change_weight: must be 0–1, got %g", m.VersionWeight)
	case m.MaxFamilies < 1:
		return errors.New("max_families_per_device: must be at least 1")
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// Observe judges a request to a bare external address, and remembers the
// family of every request's user agent.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	h, ok := e.(*event.HTTP)
	if !ok || c.Contact == nil || h.Method == "PRI" {
		return nil // PRI * is HTTP/2's preface: its headers are not visible
	}
	d := c.Device()
	ua := strings.TrimSpace(h.UserAgent)
	if ua == "-" {
		ua = "" // Zeek's unset field
	}
	fam := useragent.FamilyHash(ua)
	famSeen := m.seen(d.ID, fam)
	m.learn(c, d.ID, fam)
	if !c.Contact.External {
		return nil
	}
	host := domain.Normalize(h.Host)
	if host != "" && !domain.IsAddr(host) {
		return nil
	}
	if ua == "" {
		if famSeen { // the profile keeps no empty agent; the families do
			return nil
		}
	} else if at, seen := d.UserAgents.Has(h.UserAgent); seen && c.Contact.TS.Sub(at) <= c.Base.Set.Window.D() {
		return nil
	}
	class := useragent.Classify(ua)
	peer := c.Peer()
	learned := d.Learned(c.Contact.TS)

	// How new the agent is: while the device learns, everything is new,
	// so novelty grows with what it has learned; a tool to a rare address
	// is suspicious regardless. A new version of a known client is mostly
	// an update.
	novelty := learned
	if class.Programmatic() && peer.Rare {
		novelty = math.Max(novelty, m.ToolNovelty)
	}
	if famSeen {
		novelty *= m.VersionWeight
	}
	ua01 := novelty * classWeight[class]
	where := detect.NoisyOr(0.6*peer.Rarity, 0.4*peer.Newness)
	score := ua01 * (0.5 + 0.5*where)
	if detect.Scale(score) < m.MinScore || score <= 0 {
		return nil
	}

	ev := c.PrevalenceEvidence(peer)
	ev["method"], ev["uri"], ev["host_header"] = h.Method, h.URI, h.Host
	ev["user_agent"], ev["user_agent_class"] = ua, class.String()
	ev["user_agent_family_seen"] = famSeen
	ev["device_learned_pct"] = math.Round(learned * 100)
	if h.StatusCode > 0 {
		ev["status_code"] = h.StatusCode
	}
	ev["request_body_len"], ev["response_body_len"] = h.RequestBodyLen, h.ResponseBodyLen
	hostHeader := "no Host header"
	if h.Host != "" {
		hostHeader = fmt.Sprintf("Host header %q", h.Host)
	}
	ev.Why(fmt.Sprintf("HTTP %s %s to %s:%d with no host name (%s)", h.Method, h.URI, c.Contact.IP, c.Contact.Port, hostHeader))
	ev.Why(describeAgent(ua, class, famSeen, learned))
	ev.Why(c.Describe(peer))
	sum := fmt.Sprintf("%s used new user agent %s to bare IP %s:%d", c.Addr(), quoteAgent(ua), c.Contact.IP, c.Contact.Port)
	return []breach.Breach{c.Breach(m.Info(), score, ev, sum, h.UID)}
}

// classWeight says how much a new agent of each class means: a tool or
// PowerShell acting on its own most, an OS agent least (updates bring new
// ones).
var classWeight = [...]float64{
	useragent.Unknown:    0.7,
	useragent.Empty:      0.8,
	useragent.Browser:    0.4,
	useragent.Script:     1,
	useragent.PowerShell: 1,
	useragent.System:     0.25,
}

var classWords = [...]string{
	useragent.Unknown:    "an unrecognised client",
	useragent.Empty:      "no user agent at all",
	useragent.Browser:    "a browser",
	useragent.Script:     "a script, command-line tool or HTTP library",
	useragent.PowerShell: "PowerShell",
	useragent.System:     "an operating-system or updater agent",
}

func describeAgent(ua string, class useragent.Class, famSeen bool, learned float64) string {
	var s string
	switch {
	case ua == "":
		s = "the request carried no user agent, which this device never did before"
	case famSeen:
		s = fmt.Sprintf("user agent %q (%s) is new to this device, but only as a new version of a client it already uses",
			ua, classWords[class])
	default:
		s = fmt.Sprintf("user agent %q (%s) was never seen from this device before", ua, classWords[class])
	}
	if learned < 1 {
		s += fmt.Sprintf(" (device baseline %.0f%% learned)", learned*100)
	}
	return s
}

func quoteAgent(ua string) string {
	if ua == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", ua)
}

func (m *Model) seen(dev uint32, fam uint64) bool {
	_, ok := m.families[dev][fam]
	return ok
}

// learn records that dev used the family now, dropping the least recently
// used family when the device is at MaxFamilies, and, every few hours of
// event time, families unused for the prevalence window.
func (m *Model) learn(c *detect.Context, dev uint32, fam uint64) {
	now := c.Contact.TS.Unix()
	if m.families == nil {
		m.families = make(map[uint32]map[uint64]int64)
	}
	f := m.families[dev]
	if f == nil {
		f = make(map[uint64]int64, 4)
		m.families[dev] = f
	}
	if _, ok := f[fam]; !ok && len(f) >= m.MaxFamilies {
		var oldK uint64
		oldT := int64(math.MaxInt64)
		for k, t := range f {
			if t < oldT || t == oldT && k < oldK {
				oldK, oldT = k, t
			}
		}
		delete(f, oldK)
	}
	if now > f[fam] {
		f[fam] = now
	}
	if now-m.swept >= int64(sweepEvery/time.Second) {
		m.swept = now
		before := now - int64(c.Base.Set.Window.D()/time.Second)
		for d, f := range m.families {
			for k, t := range f {
				if t < before {
					delete(f, k)
				}
			}
			if len(f) == 0 {
				delete(m.families, d)
			}
		}
	}
}

// sweepEvery is how often (event time) old families are forgotten.
const sweepEvery = 6 * time.Hour

var _ detect.Model = (*Model)(nil)
