package dnstunnel

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
)

// The fan-out check catches tunnels that spread a few names over many
// domains (RogueRobin rotates its session label over ten look-alike C2
// domains and cycles A, AAAA, CNAME, TXT, MX, SRV and SOA queries): no
// single domain gathers enough unique names, but one device asks the same
// label under several rare domains with several query types, data-carrying
// ones among them. Benign fan-outs ask one type (SPF's TXT for spf.<domain>,
// A/AAAA/HTTPS for www.<domain>) or use service labels (_dmarc, _domainkey,
// _ldap._tcp), which are skipped.

const (
	// maxFanLabels bounds the labels remembered per device window.
	maxFanLabels = 64
	// maxFanDomains bounds the domains remembered per label.
	maxFanDomains = 16
)

// fanWindow is one device's labels across rare domains.
type fanWindow struct {
	start  int64
	labels map[string]*fanLabel
	fired  bool
}

type fanLabel struct {
	doms    []string
	qtypes  uint64 // bit per qtype code below 64
	carrier uint64 // of those, the data-carrying ones
	queries int
	uid     string
}

// fanCarrier reports whether a qtype code carries data downstream in the
// tunnels that rotate types (TXT, NULL, CNAME, MX, SRV, SOA, ANY).
func fanCarrier(code uint16) bool {
	switch code {
	case 16, 10, 5, 15, 33, 6, 255:
		return true
	}
	return false
}

// fanout records the query and returns a breach when one label has
// spread over enough rare domains with enough query types.
func (m *Model) fanout(c *detect.Context, st *state, x *event.DNS, sub, reg string, ts int64) []breach.Breach {
	if m.FanoutDomains == 0 {
		return nil
	}
	label := sub
	if i := strings.LastIndexByte(sub, '.'); i >= 0 {
		label = sub[i+1:] // the label next to the domain: the session label
	}
	if len(label) < 3 || label[0] == '_' || strings.Contains(sub, "._") || strings.HasPrefix(sub, "_") {
		return nil
	}
	label = strings.ToLower(label)
	dev := c.Contact.Device.ID
	w, ok := st.fans.Get(dev)
	if !ok || ts-w.start > int64(m.Window.D()) {
		w = &fanWindow{start: ts, labels: map[string]*fanLabel{}}
		st.fans.Put(dev, w)
	}
	l := w.labels[label]
	if l == nil {
		if len(w.labels) >= maxFanLabels {
			return nil
		}
		l = &fanLabel{uid: x.UID}
		w.labels[label] = l
	}
	l.queries++
	if !contains(l.doms, reg) && len(l.doms) < maxFanDomains {
		l.doms = append(l.doms, reg)
	}
	if x.QType < 64 {
		l.qtypes |= 1 << x.QType
		if fanCarrier(x.QType) {
			l.carrier |= 1 << x.QType
		}
	}
	if w.fired || len(l.doms) < m.FanoutDomains || bits.OnesCount64(l.qtypes) < 3 || bits.OnesCount64(l.carrier) < 2 {
		return nil
	}
	// Every domain must be rare and new to the device (not a service it
	// uses): judge them now.
	for _, d := range l.doms {
		if p := c.Net.Name(baseline.KindDomain, d, dev); p.Devices >= m.PopularDevices {
			return nil
		}
		if _, connects := c.Contact.Device.Domains.Has(d); connects {
			return nil
		}
		if ds, ok := st.doms.Get(d); ok && ds.count(ts, int64(m.PrevalenceWindow.D())) >= m.PopularDevices {
			return nil
		}
	}
	w.fired = true
	n := len(l.doms)
	score := (0.45 + 0.25*ramp(float64(n), float64(m.FanoutDomains)-1, 12) +
		0.15*ramp(float64(bits.OnesCount64(l.carrier)), 1, 5) + 0.15*ramp(float64(l.queries), 5, 60))
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	doms := append([]string(nil), l.doms...)
	sort.Strings(doms)
	var types []string
	for q := uint16(0); q < 64; q++ {
		if l.qtypes&(1<<q) != 0 {
			types = append(types, qtypeName(q))
		}
	}
	ev := breach.Evidence{
		"domain":            l.doms[0],
		"domains":           doms,
		"label":             label,
		"queries":           l.queries,
		"unique_subdomains": n,
		"qtypes":            types,
		"window":            m.Window.String(),
		"mode":              "idle",
		"shape":             "one session label under many rare domains with rotating query types (RogueRobin-like)",
		"sample_names":      fanSamples(label, doms),
	}
	ev.Why(fmt.Sprintf("the label %q was queried under %d domains no other device uses (%s), %d queries of types %s",
		label, n, strings.Join(doms, ", "), l.queries, strings.Join(types, ", ")))
	ev.Why("mode idle: check-ins spread over fallback domains, little data upstream")
	summary := fmt.Sprintf("%s queried one label under %d rare domains with %d query types (DNS C2 fan-out, idle)",
		c.Addr(), n, len(types))
	b := c.Breach(m.Info(), score, ev, summary, l.uid)
	b.Endpoint.Hostname = l.doms[0]
	return []breach.Breach{b}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func fanSamples(label string, doms []string) []string {
	var out []string
	for _, d := range doms {
		if len(out) == maxSamples {
			break
		}
		out = append(out, label+"."+d)
	}
	return out
}

// qtypeName spells a qtype code as Zeek does for the common ones.
func qtypeName(q uint16) string {
	switch q {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 10:
		return "NULL"
	case 12:
		return "PTR"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	case 65:
		return "HTTPS"
	}
	return fmt.Sprintf("TYPE%d", q)
}
