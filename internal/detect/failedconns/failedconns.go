// Package failedconns implements "Compromise::Large Number of Suspicious
// Failed Connections": a device makes many TCP connection attempts that
// never establish (no answer, or refused) to rare external endpoints
// within a short window. Malware whose C2 has been taken down keeps
// retrying it, implants walk a fallback list of dead servers, and bots
// scan the internet for their next victims; ordinary software reaches
// servers that answer, and the few that do not are retried a handful of
// times (MITRE T1571 Non-Standard Port, T1071 Application Layer Protocol).
//
// What counts as one failure: a TCP connection from an internal device to
// an external address whose state is S0 (SYN, no answer), REJ (refused
// with a RST), RSTOS0 or SH (the device gave up before any answer), and in
// which the device sent no acknowledgement or data: a capture that sees
// only one direction (asymmetric routing) makes every connection look
// unanswered, but then the device acknowledges and sends data. UDP and
// ICMP are left out: they have no handshake, so an unanswered DNS or NTP
// query, a QUIC probe or a one-way syslog stream is not a failed
// connection. Internal peers are left out too: scanning the LAN is
// another model's business.
//
// Only failures to rare endpoints count: endpoints that many devices
// reached (established connections, by host name when the device resolved
// one, else by address) are popular services having a bad minute. An
// endpoint to which several other devices are failing at the same time
// (shared_failure_devices within shared_window) is down for everyone, and
// its failures do not count either.
//
// The model fires once when a device's failures in window reach
// min_failures, then starts counting afresh and waits at least
// repeat_after before firing again. State is bounded: at most
// maxRecords failures per device, devices with no failure in the window
// are forgotten, and at most maxEndpoints endpoints are remembered for
// the shared-outage check.
package failedconns

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "failed-connections"

const (
	// maxRecords bounds the failures a device's window holds; beyond it
	// the oldest go first (the count then saturates, the model has long
	// fired).
	maxRecords = 1024
	// maxEndpoints bounds the endpoints remembered for the shared-outage
	// check; beyond it the least recently failed eighth is forgotten.
	maxEndpoints = 1 << 16
	// maxShown bounds the endpoints, ports and uids listed in evidence.
	maxShown = 10
	// maxPriorBursts bounds the remembered earlier firings per device.
	maxPriorBursts = 8
)

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Compromise::Large Number of Suspicious Failed Connections",
		MITRE: []string{"T1571", "T1071"},
		Reads: []event.Kind{event.KindConn},
		Summary: "many TCP connection attempts from one device that never establish (S0, REJ, RSTOS0, SH) to " +
			"rare external endpoints within a short window",
		Learning: "Needs no baseline: counts failures from the first event, so a short capture with a " +
			"burst fires. While the network is learning every endpoint is rare and new, and newness adds " +
			"little to the score; endpoints that answered many devices or that many devices fail to at " +
			"once never count.",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{
				MinFailures:          20,
				Window:               units.Duration(10 * time.Minute),
				SharedFailureDevices: 3,
				SharedWindow:         units.Duration(time.Hour),
				RepeatAfter:          units.Duration(time.Hour),
			}
		},
	})
}

// Model holds the thresholds and the per-device failure windows.
type Model struct {
	// MinFailures is how many failed attempts to rare external endpoints
	// within Window make a breach.
	MinFailures int `yaml:"min_failures"`
	// Window is the span the failures are counted over.
	Window units.Duration `yaml:"window"`
	// SharedFailureDevices: an endpoint that this many other devices also
	// failed to within SharedWindow is an outage, and its failures do
	// not count.
	SharedFailureDevices int            `yaml:"shared_failure_devices"`
	SharedWindow         units.Duration `yaml:"shared_window"`
	// RepeatAfter is the least time between two breaches for one device
	// (each needs a fresh MinFailures failures).
	RepeatAfter units.Duration `yaml:"repeat_after"`
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`

	devices   map[uint32]*devState
	endpoints map[netip.Addr]*failing
	lastSweep int64 // unix nanoseconds
}

// failure is one counted failed attempt.
type failure struct {
	ts       int64 // unix nanoseconds
	ip       netip.Addr
	port     uint16
	state    event.ConnState
	host     string
	uid      string
	answered bool // the endpoint answered some device in the prevalence window
	newness  float64
}

type devState struct {
	recs   []failure
	latest int64   // newest failure seen, unix nanoseconds
	fired  []int64 // earlier breaches, unix nanoseconds, newest last
}

// failing is who failed to one endpoint lately.
type failing struct {
	last    int64
	members []member
}

type member struct {
	dev  uint32
	last int64
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.MinFailures < 2 || m.MinFailures > maxRecords:
		return fmt.Errorf("min_failures: must be 2–%d, got %d", maxRecords, m.MinFailures)
	case m.Window <= 0:
		return fmt.Errorf("window: must be positive, got %s", m.Window)
	case m.SharedFailureDevices < 1:
		return fmt.Errorf("shared_failure_devices: must be at least 1, got %d", m.SharedFailureDevices)
	case m.SharedWindow <= 0:
		return fmt.Errorf("shared_window: must be positive, got %s", m.SharedWindow)
	case m.RepeatAfter < 0:
		return fmt.Errorf("repeat_after: must not be negative, got %s", m.RepeatAfter)
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// attempt reports whether a connection is a failed attempt by its
// originator: it never established, and the originator sent neither an
// acknowledgement nor data (which a one-sided capture would show).
func attempt(x *event.Conn) bool {
	switch x.ConnState {
	case event.StateS0, event.StateREJ, event.StateRSTOS0, event.StateSH:
	default:
		return false
	}
	if x.OrigBytes > 0 {
		return false
	}
	return !strings.ContainsAny(x.History, "AD")
}

// Observe counts a failed attempt and fires when the window is full.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	x, ok := e.(*event.Conn)
	if !ok || c.Contact == nil || !c.Contact.External || x.Proto != event.ProtoTCP || !attempt(x) {
		return nil
	}
	if m.devices == nil {
		m.devices = make(map[uint32]*devState)
		m.endpoints = make(map[netip.Addr]*failing)
	}
	now := x.TS.UnixNano()
	dev := c.Contact.Device.ID
	m.sweep(now, int64(c.Base.Set.Window.D()))
	m.noteFailing(c.Contact.IP, dev, now)

	peer := c.Peer()
	if !peer.Rare || m.sharedOutage(c.Contact.IP, dev, now) {
		return nil
	}
	d := m.devices[dev]
	if d == nil {
		d = &devState{}
		m.devices[dev] = d
	}
	if now > d.latest {
		d.latest = now
	}
	if len(d.recs) >= maxRecords {
		d.recs = d.recs[:copy(d.recs, d.recs[1:])]
	}
	d.recs = append(d.recs, failure{
		ts: now, ip: c.Contact.IP, port: c.Contact.Port, state: x.ConnState, host: c.Contact.Host, uid: x.UID,
		answered: peer.Prev.Seen, newness: peer.Newness,
	})
	d.trim(d.latest - int64(m.Window.D()))
	if len(d.recs) < m.MinFailures {
		return nil
	}
	if n := len(d.fired); n > 0 && now-d.fired[n-1] < int64(m.RepeatAfter.D()) {
		return nil
	}
	// Endpoints may have become a shared outage since their failures
	// were counted: judge the window as it stands now.
	recs := d.recs[:0:0]
	for _, r := range d.recs {
		if !m.sharedOutage(r.ip, dev, now) {
			recs = append(recs, r)
		}
	}
	if len(recs) < m.MinFailures {
		return nil
	}
	b, ok := m.breach(c, d, recs)
	d.recs = d.recs[:0]
	if len(d.fired) >= maxPriorBursts {
		d.fired = d.fired[1:]
	}
	d.fired = append(d.fired, now)
	if !ok {
		return nil
	}
	return []breach.Breach{b}
}

// trim drops failures older than before.
func (d *devState) trim(before int64) {
	out := d.recs[:0]
	for _, r := range d.recs {
		if r.ts >= before {
			out = append(out, r)
		}
	}
	d.recs = out
}

type endpointCount struct {
	ip    netip.Addr
	port  uint16
	host  string
	count int
}

// breach describes the window's failures.
func (m *Model) breach(c *detect.Context, d *devState, recs []failure) (breach.Breach, bool) {
	first, last := recs[0].ts, recs[0].ts
	byEndpoint := map[netip.AddrPort]*endpointCount{}
	ips := map[netip.Addr]bool{}
	ports := map[uint16]int{}
	states := map[string]int{}
	var neverAnswered, bare, offWeb int
	var newness float64
	for _, r := range recs {
		first, last = min(first, r.ts), max(last, r.ts)
		k := netip.AddrPortFrom(r.ip, r.port)
		ec := byEndpoint[k]
		if ec == nil {
			ec = &endpointCount{ip: r.ip, port: r.port}
			byEndpoint[k] = ec
		}
		ec.count++
		if r.host != "" {
			ec.host = r.host
		}
		ips[r.ip] = true
		ports[r.port]++
		states[string(r.state)]++
		if !r.answered {
			neverAnswered++
		}
		if r.host == "" {
			bare++
		}
		if r.port != 80 && r.port != 443 {
			offWeb++
		}
		newness += r.newness
	}
	n := float64(len(recs))
	eps := make([]*endpointCount, 0, len(byEndpoint))
	for _, ec := range byEndpoint {
		eps = append(eps, ec)
	}
	sort.Slice(eps, func(i, j int) bool {
		if eps[i].count != eps[j].count {
			return eps[i].count > eps[j].count
		}
		if eps[i].ip != eps[j].ip {
			return eps[i].ip.Less(eps[j].ip)
		}
		return eps[i].port < eps[j].port
	})
	top := eps[0]
	span := time.Duration(last - first)
	win := m.Window.D()

	// Many failed attempts to rare endpoints is the finding (0.4). It is
	// worse when the endpoints never answered anyone (dead or blocked
	// infrastructure), when the device dialled bare addresses (hard-coded
	// C2, scanning), when the ports are not web ports, the faster it
	// came, and the newer the endpoints. A device that has done it
	// before in the window's memory is following a habit: less.
	speed := 1 - float64(span)/float64(win)
	score := detect.NoisyOr(0.4,
		0.2*float64(neverAnswered)/n,
		0.15*float64(bare)/n,
		0.1*float64(offWeb)/n,
		0.15*max(speed, 0),
		0.2*newness/n,
	)
	prior := 0
	horizon := c.Now.UnixNano() - int64(c.Base.Set.Window.D())
	for _, f := range d.fired {
		if f >= horizon {
			prior++
		}
	}
	score /= float64(1 + prior)
	if detect.Scale(score) < m.MinScore {
		return breach.Breach{}, false
	}

	shown := make([]string, 0, min(len(eps), maxShown))
	for _, ec := range eps[:min(len(eps), maxShown)] {
		s := netip.AddrPortFrom(ec.ip, ec.port).String()
		if ec.host != "" {
			s = ec.host + " " + s
		}
		shown = append(shown, fmt.Sprintf("%s ×%d", s, ec.count))
	}
	portList := make([]int, 0, len(ports))
	for p := range ports {
		portList = append(portList, int(p))
	}
	sort.Ints(portList)
	if len(portList) > maxShown {
		portList = portList[:maxShown]
	}
	rate := n / math.Max(span.Minutes(), 1.0/60)
	ev := breach.Evidence{
		"failures":            len(recs),
		"window":              m.Window.String(),
		"span":                units.Ago(span),
		"first_failure":       time.Unix(0, first).UTC(),
		"last_failure":        time.Unix(0, last).UTC(),
		"failures_per_minute": math.Round(rate*10) / 10,
		"endpoints":           len(byEndpoint),
		"addresses":           len(ips),
		"top_endpoints":       shown,
		"ports":               portList,
		"states":              states,
		"never_answered":      neverAnswered,
		"without_hostname":    bare,
		"population":          c.Net.Population(),
		"network_learned_pct": math.Round(c.Net.Learned() * 100),
		"prevalence_window":   c.Base.Set.Window.String(),
		"earlier_bursts":      prior,
		"min_failures":        m.MinFailures,
	}
	ev.Why(fmt.Sprintf("%d failed TCP connection attempts (%s) to %d rare external endpoint(s) on %d address(es) in %s",
		len(recs), stateText(states), len(byEndpoint), len(ips), units.Ago(span)))
	ev.Why(fmt.Sprintf("most to %s", strings.Join(shown[:min(len(shown), 3)], ", ")))
	if neverAnswered > 0 {
		ev.Why(fmt.Sprintf("%d of them to endpoints that never answered any device in %s", neverAnswered, c.Base.Set.Window))
	}
	if bare > 0 {
		ev.Why(fmt.Sprintf("%d to bare addresses the device resolved no name for", bare))
	}
	if prior > 0 {
		ev.Why(fmt.Sprintf("the device had %d earlier burst(s) in %s: a habit lowers the score", prior, c.Base.Set.Window))
	}
	uids := make([]string, 0, maxShown)
	for _, r := range recs {
		if r.uid != "" && len(uids) < maxShown {
			uids = append(uids, r.uid)
		}
	}
	b := c.Breach(m.Info(), score, ev, "", "")
	b.Endpoint = breach.Endpoint{IP: top.ip, Hostname: top.host, Port: top.port}
	b.UIDs = uids
	target := netip.AddrPortFrom(top.ip, top.port).String()
	if len(byEndpoint) > 1 {
		target += fmt.Sprintf(" and %d other endpoint(s)", len(byEndpoint)-1)
	}
	b.Summary = fmt.Sprintf("%s made %d failed connection attempts to rare external %s in %s",
		c.Addr(), len(recs), target, units.Ago(span))
	return b, true
}

func stateText(states map[string]int) string {
	keys := make([]string, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", states[k], k)
	}
	return strings.Join(parts, ", ")
}

// noteFailing records that dev failed to ip at now.
func (m *Model) noteFailing(ip netip.Addr, dev uint32, now int64) {
	f := m.endpoints[ip]
	if f == nil {
		if len(m.endpoints) >= maxEndpoints {
			m.evictEndpoints(maxEndpoints / 8)
		}
		f = &failing{}
		m.endpoints[ip] = f
	}
	f.last = max(f.last, now)
	stale := now - int64(m.SharedWindow.D())
	for i := range f.members {
		if f.members[i].dev == dev {
			f.members[i].last = max(f.members[i].last, now)
			return
		}
	}
	for i := range f.members {
		if f.members[i].last < stale {
			f.members[i] = member{dev, now}
			return
		}
	}
	// Only "at least SharedFailureDevices others" matters, so one more
	// member than that is enough.
	if len(f.members) <= m.SharedFailureDevices {
		f.members = append(f.members, member{dev, now})
	}
}

// sharedOutage reports whether enough other devices failed to ip lately.
func (m *Model) sharedOutage(ip netip.Addr, dev uint32, now int64) bool {
	f := m.endpoints[ip]
	if f == nil {
		return false
	}
	stale := now - int64(m.SharedWindow.D())
	others := 0
	for _, mb := range f.members {
		if mb.dev != dev && mb.last >= stale {
			others++
		}
	}
	return others >= m.SharedFailureDevices
}

// sweep forgets, once per window of event time, devices with no failure
// in the window whose last breach is older than the prevalence window
// (memory), and endpoints nobody failed to within the shared window.
func (m *Model) sweep(now, memory int64) {
	every := int64(max(m.Window.D(), m.SharedWindow.D()))
	if now-m.lastSweep < every {
		return
	}
	m.lastSweep = now
	win := int64(m.Window.D())
	for id, d := range m.devices {
		d.trim(now - win)
		if len(d.recs) == 0 && (len(d.fired) == 0 || now-d.fired[len(d.fired)-1] > memory) {
			delete(m.devices, id)
		}
	}
	stale := now - int64(m.SharedWindow.D())
	for ip, f := range m.endpoints {
		if f.last < stale {
			delete(m.endpoints, ip)
		}
	}
}

// evictEndpoints drops at least n of the endpoints failed to least
// recently.
func (m *Model) evictEndpoints(n int) {
	lasts := make([]int64, 0, len(m.endpoints))
	for _, f := range m.endpoints {
		lasts = append(lasts, f.last)
	}
	sort.Slice(lasts, func(i, j int) bool { return lasts[i] < lasts[j] })
	cut := lasts[min(n, len(lasts))-1]
	for ip, f := range m.endpoints {
		if f.last <= cut {
			delete(m.endpoints, ip)
		}
	}
}

var _ detect.Model = (*Model)(nil)
