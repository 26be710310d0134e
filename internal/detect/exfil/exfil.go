// Package exfil implements "Unusual Activity::Unusual External Data to New
// Endpoint": a device uploads, within one window (1h), far more than it
// normally sends in a connection to an external endpoint that is new to
// the network, one that no device had contacted before this episode.
//
// Exfiltration goes over the C2 channel or to a freshly prepared web or
// cloud storage endpoint (T1041, T1567.002). Large uploads by themselves
// are normal (backups, sync, attachments), and so are new endpoints; their
// conjunction — a one-way transfer many times the device's usual
// connection, to a place nobody on the network had used — is not. Uploads
// are summed per device and endpoint over the window, so a transfer
// chunked into many small connections counts whole. The endpoint is its
// host name when known (TLS SNI, HTTP Host, DNS answer), else its address.
// Zeek delivers a connection's summary before its ssl/http record, so a
// summary without a name waits in a small cache for the record that names
// it.
package exfil

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "data-to-new-endpoint"

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Unusual Activity::Unusual External Data to New Endpoint",
		MITRE: []string{"T1041", "T1567.002"},
		Reads: []event.Kind{event.KindConn, event.KindTLS, event.KindHTTP},
		Summary: "upload (summed per device and endpoint over an hour) to an external endpoint new to the " +
			"network, far above what the device normally sends in a connection",
		Learning: "While the device is in its learning period, or has fewer than 20 external connections to " +
			"compare with, an upload must reach learning_min_bytes (10 MiB), or ratio × its per-connection " +
			"p99 if that is higher, so that the first nights of backups and syncs do not fire; once learned, " +
			"ratio × p99 with a floor of min_bytes (1 MiB). The endpoint's newness counts half while the " +
			"network has no history (everything is new on day one) and in full after the learning period, " +
			"so first-day breaches score low. In a short capture with one device and no baseline the model " +
			"fires only for 10 MiB or more to one endpoint within an hour, scoring 18–35 (higher when the " +
			"device's other connections show it normally sends little).",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{
				Window:           units.Duration(time.Hour),
				Quantile:         0.99,
				Ratio:            10,
				MinBytes:         1 << 20,
				LearningMinBytes: 10 << 20,
				UpDownRatio:      2,
				NewWithin:        units.Duration(6 * time.Hour),
				MaxTracked:       4096,
			}
		},
	})
}

// Model holds the thresholds and the open upload episodes.
type Model struct {
	// Window is how long uploads to one endpoint are summed from the
	// first, so chunked transfers count whole.
	Window units.Duration `yaml:"window"`
	// Quantile of the device's upload per external connection (and per
	// active hour, for the score) that is its normal.
	Quantile float64 `yaml:"quantile"`
	// Ratio is how many times its normal connection a device must send.
	Ratio float64 `yaml:"ratio"`
	// MinBytes is the least a learned device must send to one endpoint.
	MinBytes units.Bytes `yaml:"min_bytes"`
	// LearningMinBytes is the least a device still learning (or with too
	// little history) must send: above a night's incremental backup or a
	// day's photo sync, below an archive of documents being taken out.
	LearningMinBytes units.Bytes `yaml:"learning_min_bytes"`
	// UpDownRatio is how many times the bytes received the bytes sent must
	// be: exfiltration is one-way, calls and remote sessions are not.
	UpDownRatio float64 `yaml:"up_down_ratio"`
	// UDP counts UDP flows too. Off by default: call media goes to relay
	// addresses handed out in signalling (never resolved, so always
	// "new") at megabytes an hour, while exfiltration over UDP to a new
	// endpoint is rare.
	UDP bool `yaml:"udp"`
	// NewWithin is how long after its first sighting an endpoint that only
	// this device used still counts as new (an endpoint first seen a day
	// earlier, like a nightly backup target, does not).
	NewWithin units.Duration `yaml:"new_within"`
	// MaxTracked bounds the open (device, endpoint) episodes.
	MaxTracked int `yaml:"max_tracked"`
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`

	eps     map[epKey]*episode
	pending *detect.Cache[string, pend]     // summaries waiting for the record that names them
	named   *detect.Cache[string, struct{}] // uids whose ssl/http record came already
}

// pend is a connection summary (waiting for its name).
type pend struct {
	up, down int64
	ts       time.Time
	// norm is the device's normal before the summary was learned, when
	// the summary had to wait (the baselines learn it meanwhile).
	norm *normal
}

// normal is the device's upload quantiles.
type normal struct {
	perConn, hourly float64
	okC, okH        bool
}

func normalOf(m *Model, c *detect.Context) *normal {
	n := &normal{}
	n.perConn, n.okC = c.Contact.Device.UpQuantile(m.Quantile)
	n.hourly, n.okH = c.Contact.Device.HourlyUpQuantile(m.Quantile)
	return n
}

type epKey struct {
	dev      uint32
	endpoint string
}

// episode is a device's uploads to one new endpoint within Window.
type episode struct {
	start    time.Time
	up, down int64
	conns    int
	neverBy  bool // no device had contacted the endpoint before the episode
	first    time.Time
	// norm is the device's normal as it was when the episode began, so
	// that the episode's own connections do not raise the bar.
	norm  *normal
	uids  []string
	fired int
}

// maxUIDs bounds the connections a breach cites.
const maxUIDs = 8

// uidCacheSize bounds each per-connection cache (two generations of it).
const uidCacheSize = 1 << 13

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.Window <= 0:
		return errors.New("window: must be positive")
	case m.Quantile <= 0 || m.Quantile >= 1:
		return fmt.Errorf("quantile: must be in (0, 1), got %g", m.Quantile)
	case m.Ratio < 1:
		return fmt.Errorf("ratio: must be at least 1, got %g", m.Ratio)
	case m.MinBytes <= 0:
		return fmt.Errorf("min_bytes: must be positive, got %d", m.MinBytes)
	case m.LearningMinBytes < m.MinBytes:
		return fmt.Errorf("learning_min_bytes: must be at least min_bytes (%s), got %s", m.MinBytes, m.LearningMinBytes)
	case m.UpDownRatio < 0:
		return fmt.Errorf("up_down_ratio: must not be negative, got %g", m.UpDownRatio)
	case m.NewWithin < 0:
		return errors.New("new_within: must not be negative")
	case m.MaxTracked < 1:
		return fmt.Errorf("max_tracked: must be at least 1, got %d", m.MaxTracked)
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

func (m *Model) init() {
	if m.eps == nil {
		m.eps = make(map[epKey]*episode)
		m.pending = detect.NewCache[string, pend](uidCacheSize)
		m.named = detect.NewCache[string, struct{}](uidCacheSize)
	}
}

// Observe sums uploads to new endpoints and judges each episode.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	if c.Contact == nil || !c.Contact.External {
		return nil
	}
	m.init()
	switch x := e.(type) {
	case *event.Conn:
		if !c.Contact.Established || x.OrigBytes <= 0 || (x.Proto != event.ProtoTCP && !(m.UDP && x.Proto == event.ProtoUDP)) {
			return nil
		}
		// Zeek order: the summary comes before the ssl/http record that
		// names the connection (a name from DNS may be another site on a
		// shared address), so keep its bytes until that record says.
		if x.UID != "" && (c.Contact.Host == "" || c.Contact.HostFromDNS) && namedService(x.Service) {
			if _, ok := m.named.Get(x.UID); !ok {
				m.pending.Put(x.UID, pend{x.OrigBytes, x.RespBytes, x.TS, normalOf(m, c)})
				return nil
			}
		}
		return m.upload(c, pend{up: x.OrigBytes, down: x.RespBytes, ts: x.TS}, x.UID)
	case *event.TLS, *event.HTTP:
		uid := e.Base().UID
		if uid == "" {
			return nil
		}
		if p, ok := m.pending.Get(uid); ok {
			m.pending.Del(uid)
			return m.upload(c, p, uid)
		}
		m.named.Put(uid, struct{}{})
	}
	return nil
}

// namedService reports whether a connection carries a protocol whose own
// record names the server.
func namedService(s string) bool {
	return strings.Contains(s, "ssl") || strings.Contains(s, "http")
}

// upload adds a connection's bytes to its episode.
func (m *Model) upload(c *detect.Context, x pend, uid string) []breach.Breach {
	now := x.ts
	peer := c.Peer()
	k := epKey{c.Contact.Device.ID, peer.Label}
	ep := m.eps[k]
	if ep != nil && now.Sub(ep.start) >= m.Window.D() {
		delete(m.eps, k)
		ep = nil
	}
	if ep == nil {
		// Only endpoints new at the start of the episode are followed.
		// A name first seen by this very connection (its summary, from
		// Zeek, was learned before its ssl record) was never seen before.
		p := peer.Prev
		if p.Seen && (p.Others > 0 || now.Sub(p.FirstSeen) > m.NewWithin.D()) {
			return nil
		}
		never := !p.Seen || p.FirstSeen.Unix() >= now.Unix()
		ep = &episode{start: now, neverBy: never, first: p.FirstSeen, norm: x.norm}
		if ep.norm == nil {
			ep.norm = normalOf(m, c)
		}
		m.track(k, ep, now)
	}
	ep.up += x.up
	ep.down += x.down
	ep.conns++
	if uid != "" && len(ep.uids) < maxUIDs {
		ep.uids = append(ep.uids, uid)
	}
	return m.judge(c, peer, ep)
}

// track adds an episode, first dropping finished ones, then the oldest,
// when MaxTracked are open.
func (m *Model) track(k epKey, ep *episode, now time.Time) {
	if len(m.eps) >= m.MaxTracked {
		var oldest epKey
		var at time.Time
		for key, e := range m.eps {
			if now.Sub(e.start) >= m.Window.D() {
				delete(m.eps, key)
				continue
			}
			if at.IsZero() || e.start.Before(at) || (e.start.Equal(at) && less(key, oldest)) {
				oldest, at = key, e.start
			}
		}
		if len(m.eps) >= m.MaxTracked {
			delete(m.eps, oldest)
		}
	}
	m.eps[k] = ep
}

func less(a, b epKey) bool {
	if a.dev != b.dev {
		return a.dev < b.dev
	}
	return a.endpoint < b.endpoint
}

func (m *Model) judge(c *detect.Context, peer detect.Endpoint, ep *episode) []breach.Breach {
	dev := c.Contact.Device
	now := c.Contact.TS
	if now.Before(ep.start) {
		now = ep.start
	}
	b := float64(ep.up)
	if b < float64(m.MinBytes) || b < m.UpDownRatio*float64(ep.down) {
		return nil
	}
	perConn, okC, hourly, okH := ep.norm.perConn, ep.norm.okC, ep.norm.hourly, ep.norm.okH
	learned := dev.Learned(now)
	pct := m.Quantile * 100
	var thr float64
	var thrWhy string
	if learned >= 1 && okC {
		thr = max(float64(m.MinBytes), m.Ratio*perConn)
		thrWhy = fmt.Sprintf("%g× the device's p%g upload per connection", m.Ratio, pct)
		if thr == float64(m.MinBytes) {
			thrWhy = "the minimum (" + units.Human(int64(m.MinBytes)) + ")"
		}
	} else {
		thr = max(float64(m.LearningMinBytes), m.Ratio*perConn)
		thrWhy = "the minimum for a device still learning (" + units.Human(int64(m.LearningMinBytes)) + ")"
		if thr > float64(m.LearningMinBytes) {
			thrWhy = fmt.Sprintf("%g× the device's p%g upload per connection (device still learning)", m.Ratio, pct)
		}
	}
	if b < thr {
		return nil
	}
	// How far past the threshold (16× counts in full); how far above the
	// device's normal hour, or failing that its normal connection (equal
	// counts nothing, 100× in full); both weighed by how new "new" is: on
	// the network's first day every endpoint is new.
	past := clamp(math.Log(b/thr) / math.Log(16))
	// Any real upload dwarfs a typical connection, so the per-connection
	// normal (all a short capture has) counts 40%.
	normal, basis, weight := 0.0, "", 0.0
	switch {
	case okH:
		normal, basis, weight = hourly, "per active hour", 1
	case okC:
		normal, basis, weight = perConn, "per connection", 0.4
	}
	ratio, above := 0.0, 0.0
	if normal > 0 {
		ratio = b / normal
		above = weight * clamp(math.Log10(ratio)/2)
	}
	nov := 0.5 + 0.5*c.Net.Learned()
	if !ep.neverBy {
		nov *= 0.8
	}
	score := nov * (0.35 + 0.65*detect.NoisyOr(0.5*past, 0.7*above))
	// A new host under a registrable domain other devices use (a new
	// bucket of a storage service the network already uses) is less
	// telling than a new domain.
	domOthers := 0
	if pop := c.Net.Population(); c.Contact.Domain != "" && c.Contact.Domain != c.Contact.Host && pop > 1 {
		if domOthers = c.DomainPrevalence().Others; domOthers > 0 {
			score *= 1 - 0.3*clamp(float64(domOthers)/float64(pop-1))
		}
	}
	s := detect.Scale(score)
	if s < m.MinScore || (ep.fired > 0 && s < ep.fired+10) {
		return nil
	}
	ep.fired = s

	ev := c.PrevalenceEvidence(peer)
	ev["endpoint"] = peer.Label
	ev["bytes_up"] = ep.up
	ev["bytes_down"] = ep.down
	ev["connections"] = ep.conns
	ev["episode_start"] = ep.start.UTC()
	ev["episode_window"] = m.Window.D().String()
	ev["threshold_bytes"] = int64(thr)
	ev["device_learned_pct"] = math.Round(learned * 100)
	ev["endpoint_new_to_network"] = ep.neverBy
	if okC {
		ev["device_p99_conn_up"] = int64(perConn)
	}
	if okH {
		ev["device_p99_hourly_up"] = int64(hourly)
	}
	if ratio > 0 {
		ev["ratio"] = math.Round(ratio*10) / 10
	}
	where := fmt.Sprintf("%s (%s:%d)", peer.Label, c.Contact.IP, c.Contact.Port)
	if c.Contact.Host == "" {
		where = fmt.Sprintf("%s:%d", c.Contact.IP, c.Contact.Port)
	}
	sent := fmt.Sprintf("sent %s (received %s) to %s in one connection", units.Human(ep.up), units.Human(ep.down), where)
	if ep.conns > 1 {
		sent = fmt.Sprintf("sent %s (received %s) to %s in %d connections within %s", units.Human(ep.up),
			units.Human(ep.down), where, ep.conns, units.Ago(now.Sub(ep.start)))
	}
	ev.Why(sent)
	if ratio > 0 {
		ev.Why(fmt.Sprintf("%.0f× the device's p%g upload %s (%s)", ratio, pct, basis, units.Human(int64(normal))))
	} else {
		ev.Why("the device has too little upload history to compare with")
	}
	ev.Why("threshold " + units.Human(int64(thr)) + ": " + thrWhy)
	if ep.neverBy {
		ev.Why(fmt.Sprintf("no device had contacted %s before this upload", peer.Label))
	} else {
		ev.Why(fmt.Sprintf("%s was first contacted %s before the upload, by this device only", peer.Label,
			units.Ago(ep.start.Sub(ep.first))))
	}
	if domOthers > 0 {
		ev.Why(fmt.Sprintf("its domain %s is used by %d other device(s)", c.Contact.Domain, domOthers))
	}
	ev.Why(c.Describe(peer))
	sum := fmt.Sprintf("%s uploaded %s to new endpoint %s", c.Addr(), units.Human(ep.up), peer.Label)
	if ratio >= 2 {
		sum += fmt.Sprintf(" (%.0f× its p%g %s)", ratio, pct, basis)
	}
	out := c.Breach(m.Info(), score, ev, sum, "")
	out.UIDs = append([]string(nil), ep.uids...)
	return []breach.Breach{out}
}

func clamp(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, 1)
}

var _ detect.Model = (*Model)(nil)
