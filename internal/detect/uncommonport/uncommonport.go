// Package uncommonport implements "Anomalous Connection::Application
// Protocol on Uncommon Port": cleartext HTTP or TLS to a rare external
// endpoint on a port that is not the protocol's own. Implants and C2 kits
// listen wherever their operator chose (8080, 4443, 8888, 9443, 1337...)
// and cleartext HTTP on 443 slips past port-based egress rules; ordinary
// software talks to its servers on 80 and 443 (MITRE T1571 Non-Standard
// Port).
//
// Standard ports, per protocol (configurable, standard_ports):
//
//   - http: 80 only. Cleartext HTTP anywhere else to an endpoint few
//     devices use is worth a look; see alternate_ports for 8080.
//   - tls: 443 and the ports where TLS is the protocol's registered
//     transport, because a mail, directory or messaging client using them
//     is doing exactly what the port is for: 465 (SMTP submission), 563
//     (NNTPS), 636 (LDAPS), 853 (DNS over TLS), 989/990 (FTPS), 992
//     (telnets), 993 (IMAPS), 994 (IRCS), 995 (POP3S), 3269 (LDAPS global
//     catalogue), 5061 (SIP-TLS), 5223 (Apple push, every Mac and iPhone),
//     5228 (Google/Firebase push, every Android and Chrome), 5349 (TURN over
//     TLS: Teams, Zoom, WebRTC), 6697 (IRC over TLS), 8883 (MQTT over TLS);
//     the STARTTLS ports, where Zeek logs the upgraded session as TLS: 21,
//     25, 110, 143, 389, 587, 5222, 5269; and 3389, where RDP runs TLS.
//
// Alternate ports (alternate_ports) are the de facto second homes of a
// protocol: 8080, 8000, 8008 and 8888 for HTTP; 8443 and 8080 for TLS
// (speed-test servers and appliances serve both on 8080). Benign software
// uses them often enough that the port alone is weak evidence,
// yet they are also the first choice of C2 kits (Metasploit's and many
// Python C2s' listeners default to 8080 and 8443). They fire, but score
// lower than an arbitrary port. So the lab's python-requests C2 to
// 203.0.113.77:8080 fires, moderately: the bare IP, the rarity and the
// newness carry it, not the port.
//
// Endpoints that many devices use (a SaaS on 8443, a vendor cloud on 8080)
// are not rare and never fire. A device that has used the same endpoint
// on the same port for longer than familiar_after (its pattern of life,
// e.g. an admin's console on 10443 since the learning period) scores low,
// under the default min_score.
// DTLS is left out: WebRTC media runs it on any port by design.
package uncommonport

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "uncommon-port"

// Protocol names, the keys of standard_ports and alternate_ports.
const (
	ProtoHTTP = "http"
	ProtoTLS  = "tls"
)

// maxPairs bounds how many (device, endpoint, port) uses the model
// remembers; when full, the least recently seen eighth is forgotten.
const maxPairs = 1 << 16

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Anomalous Connection::Application Protocol on Uncommon Port",
		MITRE: []string{"T1571"},
		Reads: []event.Kind{event.KindHTTP, event.KindTLS},
		Summary: "HTTP or TLS to a rare external endpoint on a port that is not the protocol's standard " +
			"one (HTTP off 80, TLS off 443 and the registered TLS service ports)",
		Learning: "Needs no baseline: fires from the first hour for rare endpoints. While the network is " +
			"learning (and in short captures) newness adds little, so scores are lower; a port a device " +
			"has used to the same endpoint for longer than familiar_after scores low.",
		// One finding a day per device and endpoint: a C2 polling every
		// minute on its odd port is the same finding all day.
		Cooldown: 24 * time.Hour,
		New: func() detect.Model {
			return &Model{
				StandardPorts: map[string][]uint16{
					ProtoHTTP: {80},
					ProtoTLS: {443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 3269, 5061, 5223, 5228,
						5349, 6697, 8883, 21, 25, 110, 143, 389, 587, 5222, 5269, 3389},
				},
				AlternatePorts: map[string][]uint16{
					ProtoHTTP: {8080, 8000, 8008, 8888},
					ProtoTLS:  {8443, 8080},
				},
				FamiliarAfter:  units.Duration(24 * time.Hour),
				MinScore:       30,
				NamedTLSWeight: 0.4,
			}
		},
	})
}

// Model holds the thresholds and the (device, endpoint, port) uses seen.
type Model struct {
	// StandardPorts maps a protocol ("http", "tls") to the ports where it
	// is expected; those never fire.
	StandardPorts map[string][]uint16 `yaml:"standard_ports"`
	// AlternatePorts maps a protocol to its common second ports: they
	// fire, with less weight on the port. A port in both lists is
	// standard.
	AlternatePorts map[string][]uint16 `yaml:"alternate_ports"`
	// FamiliarAfter is how long a device must have been using an endpoint
	// on a port before that use is its pattern of life and scores low.
	FamiliarAfter units.Duration `yaml:"familiar_after"`
	// MinScore drops breaches scoring below it (0–100). The default, 30,
	// is above what a familiar pair scores, so a device's own habit is
	// not reported; 0 shows it.
	MinScore int `yaml:"min_score"`
	// NamedTLSWeight scales the score of TLS with a server name and a
	// certificate that is not self-signed.
	NamedTLSWeight float64 `yaml:"named_tls_weight"`

	pairs     map[pairKey]pairSeen
	lastSweep int64
}

type pairKey struct {
	dev   uint32
	port  uint16
	proto string
	peer  string // host name, or the address when there is none
}

type pairSeen struct{ first, last int64 }

// Validate checks the thresholds.
func (m *Model) Validate() error {
	if m.NamedTLSWeight < 0 || m.NamedTLSWeight > 1 {
		return fmt.Errorf("named_tls_weight: must be 0–1, got %g", m.NamedTLSWeight)
	}
	if m.MinScore < 0 || m.MinScore > 100 {
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	if m.FamiliarAfter <= 0 {
		return fmt.Errorf("familiar_after: must be positive, got %s", m.FamiliarAfter)
	}
	for key, ports := range map[string]map[string][]uint16{"standard_ports": m.StandardPorts, "alternate_ports": m.AlternatePorts} {
		for proto, list := range ports {
			if proto != ProtoHTTP && proto != ProtoTLS {
				return fmt.Errorf("%s: unknown protocol %q (want %s or %s)", key, proto, ProtoHTTP, ProtoTLS)
			}
			if slices.Contains(list, 0) {
				return fmt.Errorf("%s.%s: port 0 is not a port", key, proto)
			}
		}
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// Observe flags HTTP or TLS off the protocol's ports to a rare endpoint.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	if c.Contact == nil || !c.Contact.External {
		return nil
	}
	var proto, uid string
	switch x := e.(type) {
	case *event.HTTP:
		proto, uid = ProtoHTTP, x.UID
	case *event.TLS:
		if strings.HasPrefix(x.Version, "DTLS") {
			return nil
		}
		proto, uid = ProtoTLS, x.UID
	default:
		return nil
	}
	port := c.Contact.Port
	if slices.Contains(m.StandardPorts[proto], port) {
		return nil
	}
	peer := c.Peer()
	key := pairKey{dev: c.Contact.Device.ID, port: port, proto: proto, peer: peer.Label}
	seen, known := m.remember(key, c.Contact.TS.Unix(), int64(c.Base.Set.Window.D()/time.Second))
	if !peer.Rare {
		return nil
	}
	alternate := slices.Contains(m.AlternatePorts[proto], port)
	name := strings.ToUpper(proto)

	ev := c.PrevalenceEvidence(peer)
	ev["protocol"], ev["port"], ev["alternate_port"] = proto, port, alternate
	ev["standard_ports"] = m.StandardPorts[proto]
	switch x := e.(type) {
	case *event.HTTP:
		ev["method"], ev["uri"], ev["host_header"] = x.Method, x.URI, x.Host
		if x.UserAgent != "" {
			ev["user_agent"] = x.UserAgent
		}
		if x.StatusCode > 0 {
			ev["status_code"] = x.StatusCode
		}
	case *event.TLS:
		ev["tls_version"] = x.Version
		if x.ServerName != "" {
			ev["server_name"] = x.ServerName
		}
		if x.JA3 != "" {
			ev["ja3"] = x.JA3
		}
		if x.JA4 != "" {
			ev["ja4"] = x.JA4
		}
	}
	std := portList(m.StandardPorts[proto])
	if alternate {
		ev.Why(fmt.Sprintf("%s on port %d, a common alternate port but not the standard one (%s)", name, port, std))
	} else {
		ev.Why(fmt.Sprintf("%s on port %d, not a port %s normally uses (%s)", name, port, name, std))
	}
	ev.Why(c.Describe(peer))

	// An application protocol off its port to a rare endpoint is the
	// finding (0.3); an arbitrary port weighs more than a well-known
	// alternate, and rarity, newness and a bare address add to it.
	parts := []float64{0.3, 0.2 * peer.Rarity, 0.3 * peer.Newness}
	if alternate {
		parts = append(parts, 0.05)
	} else {
		parts = append(parts, 0.25)
	}
	if c.Contact.Host == "" {
		parts = append(parts, 0.15)
		ev["hostname"] = false
		ev.Why(fmt.Sprintf("no host name: the device addressed %s directly", c.Contact.IP))
	}
	score := detect.NoisyOr(parts...)
	// A named TLS service whose certificate is not self-signed (or is
	// hidden by TLS 1.3) is, on its own port, far more often a real
	// service (speed tests, vendor APIs, conferencing relays) than C2:
	// alone it stays under min_score, and counts when rarity and
	// newness in a learned network add up.
	if t, ok := e.(*event.TLS); ok && c.Contact.Host != "" && !t.SelfSigned {
		score *= m.NamedTLSWeight
		ev["named_tls"] = true
		ev.Why(fmt.Sprintf("named TLS service (%s) with a certificate that is not self-signed: weighted %.0f%%",
			c.Contact.Host, m.NamedTLSWeight*100))
	}
	if known {
		ev["pair_first_seen"] = time.Unix(seen.first, 0).UTC()
	}
	if known && c.Contact.TS.Unix()-seen.first >= int64(m.FamiliarAfter.D()/time.Second) {
		score *= 0.3
		ev["familiar"] = true
		ev.Why(fmt.Sprintf("the device has used %s on port %d since %s ago: its pattern of life", peer.Label, port,
			units.Ago(c.Contact.TS.Sub(time.Unix(seen.first, 0)))))
	}
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	target := c.Contact.IP.String()
	if c.Contact.Host != "" {
		target = c.Contact.Host + " (" + target + ")"
	}
	sum := fmt.Sprintf("%s used %s on uncommon port %d to rare external %s", c.Addr(), name, port, target)
	return []breach.Breach{c.Breach(m.Info(), score, ev, sum, uid)}
}

// remember records a use of the pair at now and returns what was known
// of it before. Pairs unused for the prevalence window are forgotten.
func (m *Model) remember(k pairKey, now, window int64) (pairSeen, bool) {
	if m.pairs == nil {
		m.pairs = make(map[pairKey]pairSeen)
	}
	m.sweep(now, window)
	old, ok := m.pairs[k]
	if ok && now-old.last > window {
		old, ok = pairSeen{}, false // unused for the window: starts afresh
	}
	if !ok && len(m.pairs) >= maxPairs {
		evictOldest(m.pairs, maxPairs/8)
	}
	cur := old
	if !ok || now < cur.first {
		cur.first = now
	}
	if now > cur.last {
		cur.last = now
	}
	m.pairs[k] = cur
	return old, ok
}

// sweep forgets pairs unused for the window, once an hour of event time.
func (m *Model) sweep(now, window int64) {
	if now-m.lastSweep < 3600 {
		return
	}
	m.lastSweep = now
	before := now - window
	for k, s := range m.pairs {
		if s.last < before {
			delete(m.pairs, k)
		}
	}
}

// evictOldest drops at least n of the least recently seen pairs.
func evictOldest(m map[pairKey]pairSeen, n int) {
	lasts := make([]int64, 0, len(m))
	for _, s := range m {
		lasts = append(lasts, s.last)
	}
	sort.Slice(lasts, func(i, j int) bool { return lasts[i] < lasts[j] })
	cut := lasts[min(n, len(lasts))-1]
	for k, s := range m {
		if s.last <= cut {
			delete(m, k)
		}
	}
}

func portList(ps []uint16) string {
	if len(ps) > 6 {
		return fmt.Sprintf("%s, ...", portList(ps[:6]))
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

var _ detect.Model = (*Model)(nil)
