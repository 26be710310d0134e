// Package selfsigned implements "Anomalous Connection::Rare External SSL
// Self-Signed": a TLS handshake with an external endpoint that few or no
// other devices use, in which the server presents a self-signed
// certificate. Public services buy or automate CA-signed certificates;
// attacker infrastructure (C2 listeners, stagers, phishing kits stood up
// in minutes) very often runs on a certificate generated with OpenSSL's
// defaults the night before (MITRE T1608.003 Install Digital Certificate,
// T1573 Encrypted Channel).
//
// The leaf certificate is only visible up to TLS 1.2: TLS 1.3 encrypts it
// (event.TLS.CertsEncrypted), and a resumed session sends none. Neither
// counts as "not self-signed" or as "self-signed": the model simply has
// nothing to judge and stays silent. DTLS is left out: WebRTC calls
// present a freshly generated self-signed certificate by design, to
// whichever rare peer or relay carries the media. Internal servers (printers, NAS
// boxes, iLO/iDRAC consoles) are self-signed all the time and are never
// judged: only external peers are. A self-signed endpoint that many
// devices use (a vendor appliance, a partner's portal) is not rare and
// does not fire.
//
// The score grows with how rare and new the endpoint is, and with the
// marks of throw-away infrastructure: no SNI (the client dialled a bare
// address), a port outside the usual TLS ones, a certificate issued in the
// last days, and a subject left at a tool's defaults ("O=Default Company
// Ltd", "O=Internet Widgits Pty Ltd", Cobalt Strike's "Major Cobalt
// Strike") or with no common name at all.
package selfsigned

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "rare-self-signed"

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Anomalous Connection::Rare External SSL Self-Signed",
		MITRE: []string{"T1608.003", "T1573"},
		Reads: []event.Kind{event.KindTLS},
		Summary: "TLS to a rare external endpoint that presents a self-signed certificate (TLS 1.2 and " +
			"earlier, where the certificate is visible)",
		Learning: "Needs no baseline: fires from the first hour for any self-signed external endpoint that " +
			"no more than the rare share of devices used. While the network is learning (and in short " +
			"captures) every endpoint looks new, so newness adds little and the score rests on the " +
			"certificate itself (fresh, default subject, no CN), the missing SNI and the port.",
		// The same certificate on the same endpoint is one finding a day,
		// however often the device goes back (stagers fetch config hourly).
		Cooldown: 24 * time.Hour,
		New: func() detect.Model {
			return &Model{
				StandardPorts: []uint16{443, 465, 636, 853, 993, 995, 8443},
				FreshCertAge:  units.Duration(7 * 24 * time.Hour),
				DefaultSubjects: []string{
					"O=Internet Widgits Pty Ltd", // OpenSSL's openssl.cnf default
					"ST=Some-State",              // OpenSSL's openssl.cnf default
					"O=Default Company Ltd",      // Red Hat / Fedora / CentOS openssl.cnf
					"L=Default City",             // Red Hat / Fedora / CentOS openssl.cnf
					"C=XX",                       // Red Hat default country (not an ISO code)
					"O=Acme Co",                  // Go's crypto/tls generate_cert.go
					"O=My Company",
					"O=Company Name",
					"CN=Major Cobalt Strike", // Cobalt Strike's default teamserver keystore
					"O=cobaltstrike",
					"OU=AdvancedPenTesting",
					"CN=localhost",
					"CN=localhost.localdomain",
				},
			}
		},
	})
}

// Model holds the thresholds.
type Model struct {
	// StandardPorts are the TLS ports where a certificate is expected; a
	// self-signed server on another port scores higher.
	StandardPorts []uint16 `yaml:"standard_ports"`
	// FreshCertAge is how recently a certificate must have been issued
	// (its notBefore) to count as freshly minted; the evidence fades
	// linearly from 1 at issue to 0 at this age.
	FreshCertAge units.Duration `yaml:"fresh_cert_age"`
	// DefaultSubjects are subject attributes ("TYPE=value", compared
	// without regard to case) that tools write when nobody fills the
	// subject in.
	DefaultSubjects []string `yaml:"default_subjects"`
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	if m.MinScore < 0 || m.MinScore > 100 {
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	if m.FreshCertAge <= 0 {
		return fmt.Errorf("fresh_cert_age: must be positive, got %s", m.FreshCertAge)
	}
	for _, s := range m.DefaultSubjects {
		if k, v, ok := strings.Cut(s, "="); !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return fmt.Errorf("default_subjects: %q is not TYPE=value", s)
		}
	}
	for _, p := range m.StandardPorts {
		if p == 0 {
			return fmt.Errorf("standard_ports: port 0 is not a port")
		}
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// Observe flags a self-signed leaf certificate from a rare external server.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	t, ok := e.(*event.TLS)
	if !ok || c.Contact == nil || !c.Contact.External || !t.SelfSigned || t.CertsEncrypted {
		return nil
	}
	if strings.HasPrefix(t.Version, "DTLS") {
		return nil // WebRTC media: every peer presents a throw-away self-signed certificate by design
	}
	peer := c.Peer()
	if !peer.Rare {
		return nil // many devices use it: a known appliance or partner, whatever its certificate
	}
	ev := c.PrevalenceEvidence(peer)
	ev["tls_version"], ev["subject"], ev["issuer"], ev["self_signed"] = t.Version, t.Subject, t.Issuer, true
	if t.ServerName != "" {
		ev["server_name"] = t.ServerName
	}
	if len(t.CertChainFps) > 0 {
		ev["cert_fingerprint"] = t.CertChainFps[0]
	}
	if t.JA3 != "" {
		ev["ja3"] = t.JA3
	}
	if t.JA4 != "" {
		ev["ja4"] = t.JA4
	}
	subj := t.Subject
	if subj == "" {
		subj = "an empty subject"
	}
	ev.Why(fmt.Sprintf("%s:%d presented a self-signed certificate (%s, %s)", c.Contact.IP, c.Contact.Port, subj, t.Version))
	ev.Why(c.Describe(peer))

	// Self-signed on a rare external server is the finding (0.3); rarity
	// and newness of the endpoint add to it, and so does each mark of a
	// certificate made in a hurry.
	parts := []float64{0.3, 0.2 * peer.Rarity, 0.3 * peer.Newness}
	if t.ServerName == "" {
		parts = append(parts, 0.15)
		ev["sni"] = false
		ev.Why("the client sent no SNI: it dialled the address, not a name")
	}
	if !slices.Contains(m.StandardPorts, c.Contact.Port) {
		parts = append(parts, 0.2)
		ev["standard_port"] = false
		ev.Why(fmt.Sprintf("port %d is not a usual TLS port", c.Contact.Port))
	}
	if !t.NotBefore.IsZero() {
		ev["not_before"] = t.NotBefore.UTC()
		age := c.Contact.TS.Sub(t.NotBefore)
		if f := fresh(age, m.FreshCertAge.D()); f > 0 {
			parts = append(parts, 0.25*f)
			ev["cert_age_hours"] = math.Round(age.Hours()*10) / 10
			if age < 0 {
				ev.Why(fmt.Sprintf("the certificate is not valid until %s, after the handshake", t.NotBefore.UTC().Format(time.RFC3339)))
			} else {
				ev.Why(fmt.Sprintf("the certificate was issued %s before the handshake", units.Ago(age)))
			}
		}
	}
	attrs := parseDN(t.Subject)
	if hits := m.defaults(attrs); len(hits) > 0 {
		parts = append(parts, 0.4)
		ev["default_subject"] = hits
		ev.Why(fmt.Sprintf("the subject keeps a tool's default values (%s)", strings.Join(hits, ", ")))
	}
	if !hasType(attrs, "CN") {
		parts = append(parts, 0.15)
		ev["subject_cn"] = false
		ev.Why("the certificate has no common name (CN)")
	}
	score := detect.NoisyOr(parts...)
	if !peer.New {
		// Only this device uses it, but it has for longer than the new
		// age: a personal server more likely than fresh infrastructure.
		score *= 0.5
	}
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	target := c.Contact.IP.String()
	if t.ServerName != "" {
		target = t.ServerName + " (" + target + ")"
	}
	sum := fmt.Sprintf("%s connected to rare external %s:%d, which presented a self-signed certificate",
		c.Addr(), target, c.Contact.Port)
	return []breach.Breach{c.Breach(m.Info(), score, ev, sum, t.UID)}
}

// fresh grades a certificate's age: 1 when issued at the handshake (or
// dated after it), falling linearly to 0 at limit.
func fresh(age, limit time.Duration) float64 {
	if age <= 0 {
		return 1
	}
	if age >= limit {
		return 0
	}
	return 1 - float64(age)/float64(limit)
}

// defaults returns the subject's attributes that are a tool's defaults.
func (m *Model) defaults(attrs []attr) []string {
	var hits []string
	for _, d := range m.DefaultSubjects {
		k, v, _ := strings.Cut(d, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		for _, a := range attrs {
			if strings.EqualFold(a.typ, k) && strings.EqualFold(a.val, v) {
				hits = append(hits, a.typ+"="+a.val)
				break
			}
		}
	}
	return hits
}

type attr struct{ typ, val string }

func hasType(attrs []attr, typ string) bool {
	for _, a := range attrs {
		if strings.EqualFold(a.typ, typ) && a.val != "" {
			return true
		}
	}
	return false
}

// parseDN splits a distinguished name into its attributes. It reads the
// RFC 2253 form that Zeek and Vigil's sensor write ("CN=x,O=y+OU=z", with
// backslash escapes) and OpenSSL's old one-line form ("/C=XX/O=y").
func parseDN(s string) []attr {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var parts []string
	if strings.HasPrefix(s, "/") {
		parts = strings.Split(s[1:], "/")
	} else {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case c == ',' || c == '+':
				parts = append(parts, b.String())
				b.Reset()
			default:
				b.WriteByte(c)
			}
		}
		parts = append(parts, b.String())
	}
	out := make([]attr, 0, len(parts))
	for _, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		out = append(out, attr{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out
}

var _ detect.Model = (*Model)(nil)
