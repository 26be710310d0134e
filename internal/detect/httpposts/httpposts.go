// Package httpposts implements "Anomalous Connection::Multiple HTTP POSTs
// to Rare Hostname": a device sends repeated cleartext HTTP POSTs to an
// external host name that few or no other devices use. Implants that
// report over HTTP, and data staged out in chunks, post again and again to
// a server of their own; ordinary software posts to services the whole
// network uses. (A POST to a bare address is post-to-ip's case.)
//
// Benign lookalikes and how they are set apart, by behaviour:
//   - Certificate status and time-stamping (OCSP, RFC 3161) are small
//     POSTs of a PKI message type; requests or responses with a content
//     type in ignore_content_types are not counted.
//   - Telemetry and update services are posted to by many devices, so the
//     host is not rare; a rare host under a registrable domain that many
//     devices use (per-tenant telemetry names) counts 40 %.
//   - A browser POST that carries the page it came from (Origin or
//     Referer) is a web page's analytics or form: it counts half.
//   - A device that has posted to the host since before the network
//     finished learning scores low: newness of the host and how far the
//     device has learned scale the score.
package httpposts

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/intel/useragent"
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "http-posts-rare-host"

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Anomalous Connection::Multiple HTTP POSTs to Rare Hostname",
		MITRE: []string{"T1071.001"},
		Reads: []event.Kind{event.KindHTTP},
		Summary: "a device sends at least min_posts cleartext HTTP POSTs within window to an external host " +
			"name that is rare on the network",
		Learning: "Needs no baseline to fire: the number of POSTs and the host's rarity so far score it from the " +
			"first hour, at a moderate score. Newness of the host, the host and user agent being new to the " +
			"device count as far as the network and device have learned; once learned, a device that has " +
			"posted to the host since the learning period scores low.",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{
				MinPosts: 5, Window: units.Duration(2 * time.Hour), MinScore: 30, MaxTracked: 4096,
				IgnoreContentTypes: []string{
					"application/ocsp-request", "application/ocsp-response",
					"application/timestamp-query", "application/timestamp-reply",
					"application/pkix-crl", "application/pkix-cert", "application/x-pki-message",
				},
			}
		},
	})
}

// Model holds the thresholds and the POST counts per (device, host), at
// most MaxTracked of them, each a fixed ring of time buckets.
type Model struct {
	// MinPosts is how many POSTs within Window make a breach.
	MinPosts int `yaml:"min_posts"`
	// Window is the span the POSTs are counted over.
	Window units.Duration `yaml:"window"`
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`
	// IgnoreContentTypes are request or response content types of
	// protocols that POST small messages by design (certificate status,
	// time-stamping); such POSTs are not counted.
	IgnoreContentTypes []string `yaml:"ignore_content_types"`
	// MaxTracked bounds the (device, host) pairs counted at once; the one
	// posted to least recently goes first.
	MaxTracked int `yaml:"max_tracked"`

	tracks map[trackKey]*track
}

// buckets is the resolution of the sliding window: POSTs are counted in
// Window/buckets slices (5 minutes by default), so the window's edge is
// exact to one slice.
const buckets = 24

// maxUIDs bounds the connection uids a breach cites (the latest POSTs).
const maxUIDs = 8

type trackKey struct {
	dev  uint32
	host string
}

// track counts one device's POSTs to one host.
type track struct {
	slot   [buckets]int64 // bucket number each slot holds
	posts  [buckets]uint32
	bytes  [buckets]int64
	first  [buckets]int64 // earliest POST in the slot (unix ns)
	newest int64          // newest bucket number
	// devNew and uaNew say, weighted by how far the device had learned,
	// whether the host and the user agent were new to it when the current
	// burst began (the count was zero before it).
	devNew, uaNew float64
	uids          []string
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case m.MinPosts < 2:
		return fmt.Errorf("min_posts: must be at least 2, got %d", m.MinPosts)
	case m.Window.D() < time.Minute:
		return fmt.Errorf("window: must be at least 1m, got %s", m.Window)
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	case m.MaxTracked < 1:
		return errors.New("max_tracked: must be at least 1")
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

// Observe counts a POST to an external host name and judges the count.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	h, ok := e.(*event.HTTP)
	if !ok || c.Contact == nil || !c.Contact.External || c.Contact.Host == "" || !strings.EqualFold(h.Method, "POST") {
		return nil
	}
	if m.ignored(h.ReqContentType) || m.ignored(h.RespContentType) {
		return nil
	}
	d := c.Device()
	ts := h.TS
	span := int64(m.Window.D() / buckets)
	if span < 1 {
		span = 1
	}
	bn := ts.UnixNano() / span
	k := trackKey{d.ID, c.Contact.Host}
	t := m.track(k, bn)
	if t.newest-bn >= buckets {
		return nil // older than the window
	}
	if posts, _, _ := t.count(max(bn, t.newest)); posts == 0 { // a new burst: judge the host and agent as they were before it
		dl := d.Learned(ts)
		t.devNew, t.uaNew, t.uids = 0, 0, t.uids[:0]
		if _, known := d.Hosts.Has(c.Contact.Host); !known {
			t.devNew = dl
		}
		if _, known := d.UserAgents.Has(h.UserAgent); !known && h.UserAgent != "" {
			t.uaNew = dl
		}
	}
	t.add(bn, ts.UnixNano(), h.RequestBodyLen)
	if h.UID != "" { // the most recent maxUIDs
		if len(t.uids) == maxUIDs {
			t.uids = append(t.uids[:0], t.uids[1:]...)
		}
		t.uids = append(t.uids, h.UID)
	}
	posts, bytes, first := t.count(t.newest)
	if posts < m.MinPosts {
		return nil
	}
	peer := c.Peer()
	if !peer.Rare {
		return nil // telemetry, APIs and updates many devices post to
	}
	return m.judge(c, h, t, peer, burst{posts, bytes, first})
}

// burst is what the window holds: POSTs, request bytes, the first POST.
type burst struct {
	posts int
	bytes int64
	first time.Time
}

func (m *Model) judge(c *detect.Context, h *event.HTTP, t *track, peer detect.Endpoint, b burst) []breach.Breach {
	posts := b.posts
	d := c.Device()
	dl := d.Learned(h.TS)
	class := useragent.Classify(h.UserAgent)
	// The rate over the POSTs' own span (at least a minute), not the
	// whole window: 5 POSTs in 2 minutes is a burst.
	span := max(h.TS.Sub(b.first), time.Minute)
	rate := float64(posts) / span.Minutes()
	// Volume grows from 0.5 at min_posts with the count (full at four
	// times it) and the rate (full at one a minute).
	volume := 0.5 + 0.25*math.Min(1, float64(posts)/float64(4*m.MinPosts)) + 0.25*math.Min(1, rate)
	tool := 0.0
	if class.Programmatic() {
		tool = 1
	}
	score := detect.NoisyOr(0.3*volume, 0.3*peer.Rarity, 0.35*peer.Newness, 0.25*t.devNew, 0.15*t.uaNew, 0.15*tool)

	ev := c.PrevalenceEvidence(peer)
	win := units.Ago(m.Window.D())
	ev["posts"], ev["window"], ev["posts_per_min"] = posts, win, math.Round(rate*100)/100
	ev["request_bytes"], ev["first_post"] = b.bytes, b.first
	ev["method"], ev["uri"], ev["user_agent"] = h.Method, h.URI, h.UserAgent
	ev["user_agent_class"] = class.String()
	if h.ReqContentType != "" {
		ev["request_content_type"] = h.ReqContentType
	}
	ev["device_learned_pct"] = math.Round(dl * 100)
	ev.Why(fmt.Sprintf("%d HTTP POSTs to %s in %s (%s; window %s), %s of request bodies",
		posts, c.Contact.Host, units.Ago(span), perTime(rate), win, units.Human(b.bytes)))
	ev.Why(c.Describe(peer))
	learning := ""
	if dl < 1 {
		learning = fmt.Sprintf(" (device baseline %.0f%% learned)", dl*100)
	}
	if t.devNew > 0 {
		ev.Why(fmt.Sprintf("%s was new to this device when the burst began%s", c.Contact.Host, learning))
	}
	if t.uaNew > 0 {
		ev.Why(fmt.Sprintf("user agent %q was first seen from this device in this burst%s", h.UserAgent, learning))
	}
	if tool > 0 {
		ev.Why(fmt.Sprintf("the client is %s, not a browser", classWords(class)))
	}

	// A host the network has known since it was learning, that this
	// device already used, is the device's habit, the more so the longer
	// the device has been watched.
	if _, known := d.Hosts.Has(c.Contact.Host); known {
		if habit := dl * (1 - peer.Newness); habit > 0 {
			score *= 1 - 0.8*habit
			if habit >= 0.5 {
				ev.Why(fmt.Sprintf("this device has used %s since before the baseline was learned", c.Contact.Host))
			}
		}
	}
	// A browser POST that names the page it came from (Origin or
	// Referer) is a web page's own traffic, forms and analytics; implants
	// rarely forge one.
	if class == useragent.Browser && (h.Origin != "" || h.Referrer != "") {
		score *= 0.5
		from := h.Origin
		if from == "" {
			from = h.Referrer
		}
		ev["page"] = from
		ev.Why(fmt.Sprintf("the POSTs come from a web page in a browser (%s)", from))
	}
	// A rare host under a domain many devices use (per-device or
	// per-tenant names of a popular service) tells much less. Hosting
	// platforms whose customers get subdomains are public suffixes, so
	// their customers' names are registrable domains of their own.
	if dp := c.DomainPrevalence(); c.Contact.Domain != c.Contact.Host && dp.Seen && !c.Net.Rare(dp) {
		score *= 0.4
		ev.Why(fmt.Sprintf("its domain %s is used by %d devices", c.Contact.Domain, dp.Devices))
	}
	if detect.Scale(score) < m.MinScore {
		return nil
	}
	sum := fmt.Sprintf("%s sent %d HTTP POSTs in %s to rare host %s", c.Addr(), posts, units.Ago(span), c.Contact.Host)
	br := c.Breach(m.Info(), score, ev, sum, "")
	br.UIDs = append([]string(nil), t.uids...)
	return []breach.Breach{br}
}

// perTime writes a per-minute rate per minute or, when slow, per hour.
func perTime(perMin float64) string {
	if perMin >= 1 {
		return fmt.Sprintf("%.1f/min", perMin)
	}
	return fmt.Sprintf("%.1f/h", perMin*60)
}

func classWords(c useragent.Class) string {
	switch c {
	case useragent.PowerShell:
		return "PowerShell"
	case useragent.Empty:
		return "a client sending no user agent"
	}
	return "a script, command-line tool or HTTP library"
}

func (m *Model) ignored(ct string) bool {
	if ct == "" {
		return false
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for _, x := range m.IgnoreContentTypes {
		if strings.EqualFold(ct, x) {
			return true
		}
	}
	return false
}

// track returns the (device, host) pair's counter, making room when
// MaxTracked pairs are held: first by dropping pairs whose window has
// passed, else the pair posted to least recently.
func (m *Model) track(k trackKey, bn int64) *track {
	if t := m.tracks[k]; t != nil {
		return t
	}
	if m.tracks == nil {
		m.tracks = make(map[trackKey]*track)
	}
	if len(m.tracks) >= m.MaxTracked {
		var oldK trackKey
		oldN := int64(math.MaxInt64)
		for tk, t := range m.tracks {
			if bn-t.newest >= buckets {
				delete(m.tracks, tk)
				continue
			}
			if t.newest < oldN || t.newest == oldN && (tk.dev < oldK.dev || tk.dev == oldK.dev && tk.host < oldK.host) {
				oldK, oldN = tk, t.newest
			}
		}
		if len(m.tracks) >= m.MaxTracked {
			delete(m.tracks, oldK)
		}
	}
	t := &track{}
	m.tracks[k] = t
	return t
}

// add counts a POST made at ns (unix nanoseconds) in bucket bn, which
// must be within the window.
func (t *track) add(bn, ns, bytes int64) {
	if bn > t.newest {
		t.newest = bn
	}
	i := bn % buckets
	if t.slot[i] != bn || t.posts[i] == 0 {
		t.slot[i], t.posts[i], t.bytes[i], t.first[i] = bn, 0, 0, ns
	}
	t.posts[i]++
	t.bytes[i] += bytes
	t.first[i] = min(t.first[i], ns)
}

// count returns the POSTs and request bytes within the window that ends
// at bucket ref, and the time of the first of them.
func (t *track) count(ref int64) (int, int64, time.Time) {
	var n int
	var b int64
	first := int64(math.MaxInt64)
	for i := range t.slot {
		if t.posts[i] > 0 && ref-t.slot[i] < buckets {
			n += int(t.posts[i])
			b += t.bytes[i]
			first = min(first, t.first[i])
		}
	}
	if n == 0 {
		return 0, 0, time.Time{}
	}
	return n, b, time.Unix(0, first).UTC()
}

var _ detect.Model = (*Model)(nil)
