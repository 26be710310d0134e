// Package github implements "Device::Anomalous Github Download": a device
// downloads from GitHub's content hosts (raw.githubusercontent.com,
// codeload.github.com, release assets, gists, github.com itself) in a way
// that is unusual for it, either in novelty (the device never used GitHub,
// or never used that GitHub host, within the prevalence window) or in
// volume (far more bytes in one episode than it ever fetched from GitHub).
//
// Attackers stage scripts and tools on GitHub because its hosts are trusted
// and rarely blocked (T1105 Ingress Tool Transfer, T1213.003 Code
// Repositories). Developers use the same hosts every day, so reputation
// says nothing: the model judges each device against its own GitHub
// history. Bytes come from connection summaries (RespBytes) whose host is
// known from the same connection's TLS SNI or HTTP Host, or from a DNS
// answer, and from HTTP response bodies. Zeek delivers a connection's
// summary before its ssl/http records, so a summary without a name waits
// in a small cache for the record that names it.
package github

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
	"github.com/vigil-ndr/vigil/internal/units"
)

// ID is the model's configuration name.
const ID = "github-download"

func init() {
	detect.Register(detect.Info{
		ID:    ID,
		Name:  "Device::Anomalous Github Download",
		MITRE: []string{"T1105", "T1213.003"},
		Reads: []event.Kind{event.KindConn, event.KindTLS, event.KindHTTP},
		Summary: "download from GitHub content hosts that is unusual for the device: its first GitHub use " +
			"(or first use of that host) in the window, or far more bytes than it normally fetches from GitHub",
		Learning: "Judges each device against its own GitHub history, kept by the model for the prevalence " +
			"window. A device's first GitHub use counts for nothing when the device has just been seen " +
			"(everything is new to it), rising linearly to full weight once it has been watched for " +
			"min_history (48h); the volume test needs earlier GitHub episodes of the device and counts in " +
			"full after a week of them. Downloads below min_bytes (64 KiB) never fire. In a short capture " +
			"with no baseline the model does not fire: a first download says nothing about a device seen " +
			"for minutes.",
		Cooldown: detect.DefaultCooldown,
		New: func() detect.Model {
			return &Model{
				Hosts: []string{
					"github.com", "codeload.github.com", "raw.githubusercontent.com",
					"objects.githubusercontent.com", "gist.githubusercontent.com",
					"github-releases.githubusercontent.com", "release-assets.githubusercontent.com",
					"*.githubusercontent.com",
				},
				PageHosts:   []string{"github.com"},
				PageWeight:  0.5,
				MinBytes:    64 << 10,
				LargeBytes:  8 << 20,
				Window:      units.Duration(time.Hour),
				VolumeRatio: 10,
				MinHistory:  units.Duration(48 * time.Hour),
				MinScore:    30,
			}
		},
	})
}

// Model holds the thresholds and the per-device GitHub history.
type Model struct {
	// Hosts are GitHub's content hosts: exact names, or "*.name" for any
	// subdomain of name.
	Hosts []string `yaml:"hosts"`
	// PageHosts are the Hosts that mostly serve web pages (and git over
	// HTTPS) rather than files: a first visit to github.com is usually
	// someone reading a repository, while staged files are fetched from
	// the content hosts (release downloads redirect there too).
	PageHosts []string `yaml:"page_hosts"`
	// PageWeight is how much a byte from a page host counts (0–1).
	PageWeight float64 `yaml:"page_weight"`
	// MinBytes is the least an episode must download (from hosts new to
	// the device, or in all for the volume test) to be judged. It is an
	// order of magnitude above a "few KB" fetch of a README, an API answer
	// or a page fragment; a staged tool, archive or binary exceeds it.
	MinBytes units.Bytes `yaml:"min_bytes"`
	// LargeBytes is the download size at which size counts in full.
	LargeBytes units.Bytes `yaml:"large_bytes"`
	// Window is the length of an episode: a device's GitHub downloads
	// within Window of the first one are summed, so a tool fetched in
	// several pieces counts as one download.
	Window units.Duration `yaml:"window"`
	// VolumeRatio is how many times the device's largest GitHub episode of
	// the prevalence window an episode must reach to be unusual in volume.
	VolumeRatio float64 `yaml:"volume_ratio"`
	// MinHistory is how long a device must have been watched before its
	// first use of GitHub counts in full as new.
	MinHistory units.Duration `yaml:"min_history"`
	// MinScore drops breaches scoring below it (0–100).
	MinScore int `yaml:"min_score"`

	exact, pages map[string]bool
	suffixes     []string // ".name" for "*.name"
	devs         map[uint32]*device
	pending      *detect.Cache[string, int64] // uid -> bytes down of a summary waiting for its name
	counted      *detect.Cache[string, flow]
	swept        int64
}

// flow says what of one connection was counted already: HTTP bodies come
// before the summary from pcap, after it from Zeek.
type flow struct {
	http int64
	conn bool
}

// Validate checks the thresholds.
func (m *Model) Validate() error {
	switch {
	case len(m.Hosts) == 0:
		return errors.New("hosts: need at least one host")
	case m.PageWeight < 0 || m.PageWeight > 1:
		return fmt.Errorf("page_weight: must be 0–1, got %g", m.PageWeight)
	case m.MinBytes <= 0:
		return fmt.Errorf("min_bytes: must be positive, got %d", m.MinBytes)
	case m.LargeBytes <= m.MinBytes:
		return fmt.Errorf("large_bytes: must exceed min_bytes (%s), got %s", m.MinBytes, m.LargeBytes)
	case m.Window <= 0:
		return errors.New("window: must be positive")
	case m.VolumeRatio <= 1:
		return fmt.Errorf("volume_ratio: must be above 1, got %g", m.VolumeRatio)
	case m.MinHistory < 0:
		return errors.New("min_history: must not be negative")
	case m.MinScore < 0 || m.MinScore > 100:
		return fmt.Errorf("min_score: must be 0–100, got %d", m.MinScore)
	}
	for _, h := range m.Hosts {
		n := domain.Normalize(strings.TrimPrefix(h, "*."))
		if n == "" || strings.Contains(n, "*") {
			return fmt.Errorf("hosts: bad host %q (want a name or *.name)", h)
		}
	}
	return nil
}

// Info returns the registered description.
func (m *Model) Info() detect.Info { return detect.MustFind(ID) }

func (m *Model) init() {
	if m.devs != nil {
		return
	}
	m.exact = make(map[string]bool)
	for _, h := range m.Hosts {
		if s, ok := strings.CutPrefix(h, "*."); ok {
			m.suffixes = append(m.suffixes, "."+domain.Normalize(s))
		} else {
			m.exact[domain.Normalize(h)] = true
		}
	}
	m.pages = make(map[string]bool)
	for _, h := range m.PageHosts {
		m.pages[domain.Normalize(h)] = true
	}
	m.devs = make(map[uint32]*device)
	m.pending = detect.NewCache[string, int64](uidCacheSize)
	m.counted = detect.NewCache[string, flow](uidCacheSize)
}

// uidCacheSize bounds each per-connection cache (two generations of it).
const uidCacheSize = 1 << 13

func (m *Model) isGitHub(h string) bool {
	if h == "" {
		return false
	}
	if m.exact[h] {
		return true
	}
	for _, s := range m.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

// Observe counts GitHub downloads and judges the device's episode.
func (m *Model) Observe(c *detect.Context, e event.Event) []breach.Breach {
	if c.Contact == nil || !c.Contact.External {
		return nil
	}
	m.init()
	switch x := e.(type) {
	case *event.Conn:
		return m.conn(c, x)
	case *event.TLS:
		return m.named(c, x.UID, 0, false)
	case *event.HTTP:
		return m.named(c, x.UID, x.ResponseBodyLen, true)
	}
	return nil
}

func (m *Model) conn(c *detect.Context, x *event.Conn) []breach.Breach {
	h := c.Contact.Host
	if m.isGitHub(h) {
		var fl flow
		if x.UID != "" {
			fl, _ = m.counted.Get(x.UID)
			m.counted.Put(x.UID, flow{conn: true})
		}
		if fl.conn {
			return nil
		}
		return m.download(c, h, x.RespBytes-fl.http, x.UID)
	}
	// Zeek order: the summary comes before the ssl/http record that names
	// the connection (a name from DNS may be another site on a shared CDN
	// address), so keep its bytes until that record says.
	if x.RespBytes > 0 && x.UID != "" && (h == "" || c.Contact.HostFromDNS) && namedService(x.Service) {
		m.pending.Put(x.UID, x.RespBytes)
	}
	return nil
}

// namedService reports whether a connection carries a protocol whose own
// record names the server.
func namedService(s string) bool {
	return strings.Contains(s, "ssl") || strings.Contains(s, "http")
}

func (m *Model) named(c *detect.Context, uid string, body int64, isHTTP bool) []breach.Breach {
	h := c.Contact.Host
	if !m.isGitHub(h) {
		return nil
	}
	var add int64
	if uid != "" {
		if down, ok := m.pending.Get(uid); ok {
			m.pending.Del(uid)
			m.counted.Put(uid, flow{conn: true})
			add = down
		} else if isHTTP {
			fl, _ := m.counted.Get(uid)
			if !fl.conn {
				add = body
				fl.http += body
				m.counted.Put(uid, fl)
			}
		}
	} else if isHTTP {
		add = body
	}
	return m.download(c, h, add, uid)
}

// download records the device's use of a GitHub host and adds bytes to its
// episode, then judges the episode.
func (m *Model) download(c *detect.Context, host string, add int64, uid string) []breach.Breach {
	if !c.Contact.Established {
		return nil // an attempt the server did not answer is no use of it
	}
	now := c.Contact.TS.Unix()
	win := int64(c.Base.Set.Window.D() / time.Second)
	m.sweep(now, win)
	d := m.devs[c.Contact.Device.ID]
	if d == nil {
		d = &device{hosts: make(map[string]int64)}
		m.devs[c.Contact.Device.ID] = d
	}
	ep := d.episodeAt(now, int64(m.Window.D()/time.Second), win)
	eh := ep.host(host, d, now, win)
	d.use(host, now)
	if add <= 0 {
		return nil
	}
	w := int64(float64(add) * m.weight(host))
	ep.total += add
	ep.weighted += w
	ep.conns++
	if eh != nil {
		eh.bytes += add
	}
	if ep.firstUse || (eh != nil && eh.novel) {
		ep.novel += add
		ep.wNovel += w
	}
	if uid != "" && len(ep.uids) < maxUIDs {
		ep.uids = append(ep.uids, uid)
	}
	return m.judge(c, d, ep, host, now, win)
}

// maxUIDs bounds the connections a breach cites.
const maxUIDs = 8

func (m *Model) judge(c *detect.Context, d *device, ep *episode, host string, now, win int64) []breach.Breach {
	minB := int64(m.MinBytes)
	normal, days := d.normal(now, win)
	dev := c.Contact.Device
	age := c.Contact.TS.Sub(dev.First)
	// Everything is new to a device just seen, so its first GitHub use
	// says nothing at first; it counts more as the device is watched, in
	// full after MinHistory.
	conf := clamp(float64(age) / float64(max(m.MinHistory.D(), time.Second)))
	var sNew, sVol, ratio float64
	if ep.wNovel >= minB {
		// A GitHub host new to a device that uses GitHub is weak news
		// (developers move from pages to codeload to release assets).
		n := 0.35
		if ep.firstUse {
			n = 1
		}
		sNew = n * conf * (0.3 + 0.7*m.size(ep.wNovel))
	}
	if normal > 0 && ep.weighted >= minB {
		ratio = float64(ep.weighted) / float64(normal)
		if ratio >= m.VolumeRatio {
			// A normal from a few days of use is a weak one (developers'
			// downloads are heavy-tailed): full weight from a week.
			sVol = (0.4 + 0.5*clamp(math.Log(ratio/m.VolumeRatio)/math.Ln10)) * (0.3 + 0.7*m.size(ep.weighted)) *
				clamp(float64(days)/7)
		}
	}
	if sNew == 0 && sVol == 0 {
		return nil
	}
	// A host most devices of the network use is less telling for one more.
	peer := c.Peer()
	share := 0.0
	if pop := c.Net.Population(); pop > 1 {
		share = clamp(float64(peer.Prev.Others) / float64(pop-1))
	}
	score := detect.NoisyOr(sNew, sVol) * (1 - 0.5*share)
	s := detect.Scale(score)
	// One breach per episode, and per device per cooldown, unless the
	// score rises by 10 or more (the engine's own suppression is per
	// endpoint, and GitHub's hosts and addresses are many).
	if s < m.MinScore || (ep.fired > 0 && s < ep.fired+10) ||
		(d.fired > 0 && now-d.firedAt < int64(detect.DefaultCooldown/time.Second) && s < d.fired+10) {
		return nil
	}
	ep.fired, d.fired, d.firedAt = s, s, now

	ev := c.PrevalenceEvidence(peer)
	ev["bytes_down"] = ep.total
	ev["bytes_from_new_hosts"] = ep.novel
	ev["connections"] = ep.conns
	ev["episode_start"] = time.Unix(ep.start, 0).UTC()
	ev["episode_window"] = m.Window.D().String()
	ev["github_hosts"] = ep.hostNames()
	ev["first_github_use"] = ep.firstUse
	ev["device_github_days"] = days
	ev["device_largest_github_episode"] = normal
	ev["device_watched"] = units.Ago(age)
	if ratio > 0 {
		ev["ratio"] = math.Round(ratio*10) / 10
	}
	what := fmt.Sprintf("downloaded %s from GitHub (%s) in one connection", units.Human(ep.total),
		strings.Join(ep.hostNames(), ", "))
	if ep.conns > 1 {
		what = fmt.Sprintf("downloaded %s from GitHub (%s) in %d connections within %s", units.Human(ep.total),
			strings.Join(ep.hostNames(), ", "), ep.conns, units.Ago(time.Duration(now-ep.start)*time.Second))
	}
	ev.Why(what)
	if ep.weighted < ep.total {
		ev.Why(fmt.Sprintf("bytes from page hosts (%s) count %.0f%%", strings.Join(m.PageHosts, ", "), m.PageWeight*100))
	}
	var sum string
	switch {
	case ep.firstUse:
		if age < c.Base.Set.Window.D() {
			ev.Why(fmt.Sprintf("the device had not used any GitHub host since it was first seen %s ago", units.Ago(age)))
		} else {
			ev.Why(fmt.Sprintf("the device had not used any GitHub host in the last %s", c.Base.Set.Window))
		}
		sum = fmt.Sprintf("%s downloaded %s from %s, its first use of GitHub", c.Addr(), units.Human(ep.total), host)
	case sNew > 0:
		ev.Why(fmt.Sprintf("%s of it came from GitHub hosts the device had not used in the last %s (%s)",
			units.Human(ep.novel), c.Base.Set.Window, strings.Join(ep.newHostNames(), ", ")))
		sum = fmt.Sprintf("%s downloaded %s from GitHub host %s, new for the device", c.Addr(), units.Human(ep.novel), host)
	}
	if ratio > 0 {
		ev.Why(fmt.Sprintf("%.0f× the device's largest GitHub download episode in %s (%s, GitHub used on %d day(s))",
			ratio, c.Base.Set.Window, units.Human(normal), days))
		if sum == "" {
			sum = fmt.Sprintf("%s downloaded %s from GitHub (%s), %.0f× its usual", c.Addr(), units.Human(ep.total), host, ratio)
		}
	}
	if conf < 1 {
		ev.Why(fmt.Sprintf("device seen for only %s: novelty counts %.0f%%", units.Ago(age), conf*100))
	}
	ev.Why(c.Describe(peer))
	return []breach.Breach{c.Breach(m.Info(), score, ev, sum, ep.firstUID())}
}

// weight is how much a byte from host counts.
func (m *Model) weight(host string) float64 {
	if m.pages[host] {
		return m.PageWeight
	}
	return 1
}

// size grades a download from 0 at MinBytes to 1 at LargeBytes, on a log
// scale.
func (m *Model) size(b int64) float64 {
	lo, hi := float64(m.MinBytes), float64(m.LargeBytes)
	if b <= 0 {
		return 0
	}
	return clamp(math.Log(float64(b)/lo) / math.Log(hi/lo))
}

func clamp(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, 1)
}

// sweep forgets devices without GitHub activity in the window, once an
// hour of event time.
func (m *Model) sweep(now, win int64) {
	if now-m.swept < 3600 {
		return
	}
	m.swept = now
	for id, d := range m.devs {
		if now-d.last > win {
			delete(m.devs, id)
		}
	}
}

var _ detect.Model = (*Model)(nil)
