package sim

import (
	"bytes"
	"embed"
	"encoding/base32"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ndr/vigil/internal/event"
)

//go:embed scenarios/*.yaml
var scenarioFS embed.FS

// Scenarios lists the names of the embedded scenarios, sorted.
func Scenarios() []string {
	ents, err := scenarioFS.ReadDir("scenarios")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// scenario is a parsed scenario file.
type scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// SpanDays is how many days the scenario needs; shorter runs compress
	// its start days proportionally.
	SpanDays   int         `yaml:"span_days"`
	Behaviours []behaviour `yaml:"behaviours"`
}

// behaviour is one scheduled activity of a scenario.
type behaviour struct {
	ID          string   `yaml:"id"`
	Description string   `yaml:"description"`
	MITRE       []string `yaml:"mitre"`
	// Expect names the detection models (IDs) that must raise this
	// behaviour: the evaluation's ground truth.
	Expect []string  `yaml:"expect"`
	Device deviceRef `yaml:"device"`
	Start  struct {
		Day int    `yaml:"day"`
		At  string `yaml:"at"` // HH:MM in the device's local time
	} `yaml:"start"`
	Every  duration `yaml:"every"`
	Jitter float64  `yaml:"jitter"` // fraction of Every
	Count  int      `yaml:"count"`  // activities; 0 = unlimited
	For    duration `yaml:"for"`    // stop after; 0 = until the end
	// WorkHours acts only while the device's user works (else whenever
	// the device is on the network).
	WorkHours bool         `yaml:"work_hours"`
	Connect   *connectSpec `yaml:"connect"`
	DGA       *dgaSpec     `yaml:"dga"`
	DNSExfil  *exfilSpec   `yaml:"dns_exfil"`
}

// deviceRef picks a device: the index-th of a role (modulo their number).
type deviceRef struct {
	Role  Role `yaml:"role"`
	Index int  `yaml:"index"`
}

// connectSpec is one connection (or a burst of them) per activity.
type connectSpec struct {
	// Hosts are looked up first (one chosen per activity); IP fixes their
	// address (else one is derived from the name). Without Hosts, IP is
	// contacted bare; Server names an internal device instead.
	Hosts  []string   `yaml:"hosts"`
	IP     string     `yaml:"ip"`
	Server *deviceRef `yaml:"server"`
	Port   uint16     `yaml:"port"`
	Proto  string     `yaml:"proto"` // tcp (default) or udp
	State  string     `yaml:"state"` // SF (default), S0, REJ, RSTO, RSTR
	// Duration of each session.
	Duration    duration `yaml:"duration"`
	BytesUp     int64    `yaml:"bytes_up"`
	BytesDown   int64    `yaml:"bytes_down"`
	BytesJitter float64  `yaml:"bytes_jitter"`
	// Repeat sessions per activity, Gap apart (bursts).
	Repeat int        `yaml:"repeat"`
	Gap    duration   `yaml:"gap"`
	TLS    *tlsSpec   `yaml:"tls"`
	HTTP   []httpSpec `yaml:"http"`
}

type tlsSpec struct {
	Client     string   `yaml:"client"`
	SNI        *string  `yaml:"sni"` // default: the host; "" for none
	ALPN       []string `yaml:"alpn"`
	Version    string   `yaml:"version"` // "1.2" or "1.3" (default)
	SelfSigned bool     `yaml:"self_signed"`
	CertNames  []string `yaml:"cert_names"`
}

type httpSpec struct {
	Method          string `yaml:"method"`
	Host            string `yaml:"host"` // default: the host (or IP:port)
	URI             string `yaml:"uri"`  // {hex8}, {hex16} are replaced
	UserAgent       string `yaml:"user_agent"`
	ReqContentType  string `yaml:"req_content_type"`
	RespContentType string `yaml:"resp_content_type"`
	ReqBody         int64  `yaml:"req_body"`
	RespBody        int64  `yaml:"resp_body"`
	Status          int    `yaml:"status"`
	Chunked         bool   `yaml:"chunked"`
}

// dgaSpec makes domains from a day-seeded generator; one per day resolves.
type dgaSpec struct {
	Seed     string   `yaml:"seed"`
	PerBurst int      `yaml:"per_burst"` // names tried per activity
	Length   int      `yaml:"length"`
	TLDs     []string `yaml:"tlds"`
	IP       string   `yaml:"ip"` // where the day's live name points
}

// exfilSpec sends data in DNS query names under Domain.
type exfilSpec struct {
	Domain   string   `yaml:"domain"`
	QTypes   []string `yaml:"qtypes"` // A, TXT, NULL, CNAME, AAAA
	Labels   int      `yaml:"labels"`
	LabelLen int      `yaml:"label_len"`
	PerBurst int      `yaml:"per_burst"`
	Gap      duration `yaml:"gap"`
}

// duration is a time.Duration written as "90s", "1h30m".
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = duration(v)
	return nil
}

// loadScenario parses the embedded scenario name strictly.
func loadScenario(name string) (*scenario, error) {
	b, err := scenarioFS.ReadFile(path.Join("scenarios", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(Scenarios(), ", "))
	}
	return parseScenario(name, b)
}

func parseScenario(name string, b []byte) (*scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var sc scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	if sc.Name != name {
		return nil, fmt.Errorf("scenario %s: name is %q", name, sc.Name)
	}
	seen := map[string]bool{}
	for i, bh := range sc.Behaviours {
		where := fmt.Sprintf("scenario %s: behaviour %d (%s)", name, i+1, bh.ID)
		n := 0
		for _, x := range []bool{bh.Connect != nil, bh.DGA != nil, bh.DNSExfil != nil} {
			if x {
				n++
			}
		}
		switch {
		case bh.ID == "" || seen[bh.ID]:
			return nil, fmt.Errorf("%s: missing or repeated id", where)
		case n == 0 || (n > 1 && !(bh.DGA != nil && bh.Connect != nil && bh.DNSExfil == nil)):
			return nil, fmt.Errorf("%s: needs one of connect, dga (optionally with connect), dns_exfil", where)
		case bh.Device.Role == "":
			return nil, fmt.Errorf("%s: device.role missing", where)
		}
		if _, err := parseClock(bh.Start.At); err != nil {
			return nil, fmt.Errorf("%s: start.at: %w", where, err)
		}
		seen[bh.ID] = true
		if c := bh.Connect; c != nil {
			if len(c.Hosts) == 0 && c.IP == "" && c.Server == nil && bh.DGA == nil {
				return nil, fmt.Errorf("%s: connect needs hosts, ip or server", where)
			}
			if c.IP != "" {
				if _, err := netip.ParseAddr(c.IP); err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
			}
			if c.Port == 0 {
				return nil, fmt.Errorf("%s: connect.port missing", where)
			}
			if _, ok := parseState(c.State); !ok {
				return nil, fmt.Errorf("%s: unknown state %q", where, c.State)
			}
		}
		if x := bh.DNSExfil; x != nil {
			for _, q := range x.QTypes {
				if qtypeNum(q) == 0 {
					return nil, fmt.Errorf("%s: unknown qtype %q", where, q)
				}
			}
		}
	}
	return &sc, nil
}

func parseClock(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, errors.New("want HH:MM")
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func parseState(s string) (event.ConnState, bool) {
	switch s {
	case "", "SF":
		return event.StateSF, true
	case "S0", "REJ", "RSTO", "RSTR":
		return event.ConnState(s), true
	}
	return "", false
}

var qtypeNums = map[string]uint16{"A": 1, "NS": 2, "CNAME": 5, "NULL": 10, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}

func qtypeNum(s string) uint16 { return qtypeNums[s] }

// addScenario adds the scenario's behaviours as procs and reports each
// behaviour's truth record to add.
func (w *world) addScenario(sc *scenario, add func(*TruthBehaviour)) error {
	scale := 1.0
	if sc.SpanDays > w.cfg.Days {
		scale = float64(w.cfg.Days) / float64(sc.SpanDays)
	}
	for _, bh := range sc.Behaviours {
		d := w.pick(bh.Device)
		if d == nil {
			return fmt.Errorf("scenario %s: behaviour %s: no device of role %s", sc.Name, bh.ID, bh.Device.Role)
		}
		label := sc.Name + "/" + bh.ID
		add(&TruthBehaviour{ID: label, Description: bh.Description, MITRE: bh.MITRE, Expect: bh.Expect, Devices: []netip.Addr{}, Endpoints: []TruthEndpoint{}})
		if err := w.addBehaviour(d, label, bh, scale); err != nil {
			return fmt.Errorf("scenario %s: behaviour %s: %w", sc.Name, bh.ID, err)
		}
	}
	return nil
}

// pick returns the device ref names: the index-th (modulo) of its role's
// devices in the office (remote workers keep other hours), or of all when
// every one is remote.
func (w *world) pick(r deviceRef) *Device {
	var local []*Device
	for _, d := range w.org.ByRole(r.Role) {
		if !d.Remote {
			local = append(local, d)
		}
	}
	if len(local) == 0 {
		local = w.org.ByRole(r.Role)
	}
	if len(local) == 0 {
		return nil
	}
	return local[r.Index%len(local)]
}

func (w *world) addBehaviour(d *Device, label string, bh behaviour, scale float64) error {
	at, _ := parseClock(bh.Start.At)
	zone := OfficeZone
	if d.Person != nil {
		zone = d.Person.Zone
	}
	// Day numbers count calendar days of the start's UTC date, placed in
	// the device's zone (the start is midnight UTC, the evening before in
	// America).
	l := w.start.UTC()
	day := int(float64(bh.Start.Day) * scale)
	if scale < 1 {
		// Compressing must not move a weekday step onto a weekend, when
		// its user is away: shift it to the next Monday (or back to the
		// Friday at the end of the run). Both shifts keep the order.
		wd := func(d int) time.Weekday {
			return time.Date(l.Year(), l.Month(), l.Day()+d, 12, 0, 0, 0, time.UTC).Weekday()
		}
		if o := wd(bh.Start.Day); o != time.Saturday && o != time.Sunday {
			for n := 0; n < 3 && (wd(day) == time.Saturday || wd(day) == time.Sunday); n++ {
				if day+1 < w.cfg.Days {
					day++
				} else {
					day--
				}
			}
		}
	}
	first := time.Date(l.Year(), l.Month(), l.Day()+day, 0, 0, 0, 0, zone).Add(at)
	if first.Before(w.start) {
		first = w.start
	}
	stop := w.end
	if bh.For > 0 {
		stop = first.Add(time.Duration(bh.For))
	}
	c := bh.Connect
	var server *Device
	if c != nil {
		if c.Server != nil {
			if server = w.pick(*c.Server); server == nil {
				return fmt.Errorf("no server of role %s", c.Server.Role)
			}
		}
		for _, h := range c.Hosts {
			ip := extAddr(h, 0)
			if c.IP != "" {
				ip = netip.MustParseAddr(c.IP)
			}
			w.zone[h] = []netip.Addr{ip}
		}
	}
	p := w.newProc(d, "scenario/"+label)
	p.label = label
	done, deferred := 0, false
	p.first = func(*proc) time.Time { return first }
	p.next = func(p *proc, t time.Time) time.Time {
		if deferred {
			// The device was away: try again shortly, so that one-off
			// steps happen when it is back.
			deferred = false
			if n := t.Add(5 * time.Minute); n.Before(stop) {
				return n
			}
			return w.end
		}
		if bh.Every <= 0 || (bh.Count > 0 && done >= bh.Count) {
			return w.end
		}
		n := t.Add(max(time.Second, jitterDur(p.rng, time.Duration(bh.Every), bh.Jitter)))
		if !n.Before(stop) {
			return w.end
		}
		return n
	}
	p.fire = func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok || (bh.WorkHours && d.Person != nil && !p.st.sched.working(t)) {
			deferred = bh.Every <= 0 || bh.Count > 0
			return
		}
		done++
		host := ""
		if bh.DGA != nil {
			host = w.dgaBurst(p, t, src, bh.DGA)
			t = t.Add(2 * time.Second)
			if c == nil {
				return
			}
		}
		if bh.DNSExfil != nil {
			w.exfilBurst(p, t, src, bh.DNSExfil)
			return
		}
		w.connect(p, t, src, c, server, host)
	}
	return nil
}

// connect makes the sessions of one connectSpec activity.
func (w *world) connect(p *proc, t time.Time, src netip.Addr, c *connectSpec, server *Device, host string) {
	if host == "" && len(c.Hosts) > 0 {
		host = c.Hosts[p.rng.IntN(len(c.Hosts))]
	}
	var dst Endpoint
	switch {
	case server != nil:
		dst = devEndpoint(server, server.IP, c.Port)
	case host != "":
		ip, at, ok := p.resolve(t, src, host, 1)
		if !ok {
			return
		}
		t = at.Add(time.Millisecond)
		dst = extEndpoint(ip, c.Port)
	default:
		dst = extEndpoint(netip.MustParseAddr(c.IP), c.Port)
	}
	state, _ := parseState(c.State)
	proto := event.ProtoTCP
	if c.Proto == "udp" {
		proto = event.ProtoUDP
	}
	for i := range max(1, c.Repeat) {
		s := &Session{
			Start:  t.Add(time.Duration(i) * time.Duration(c.Gap)),
			Client: devEndpoint(p.st.d, src, p.st.ephemeral()),
			Server: dst, Proto: proto, State: state,
			Duration: jitterDur(p.rng, time.Duration(c.Duration), 0.2),
		}
		if state == event.StateSF || state == event.StateRSTO || state == event.StateRSTR {
			s.BytesUp = jitterBytes(p.rng, c.BytesUp, c.BytesJitter)
			s.BytesDown = jitterBytes(p.rng, c.BytesDown, c.BytesJitter)
			if c.TLS != nil {
				s.TLS = tlsFromSpec(c.TLS, host)
			}
			for _, h := range c.HTTP {
				req := HTTP{Method: h.Method, Host: h.Host, URI: fillTemplate(p.rng, h.URI), UserAgent: h.UserAgent,
					ReqContentType: h.ReqContentType, RespContentType: h.RespContentType,
					ReqBody: jitterBytes(p.rng, h.ReqBody, c.BytesJitter), RespBody: jitterBytes(p.rng, h.RespBody, c.BytesJitter),
					Status: h.Status, Chunked: h.Chunked}
				if req.Host == "" {
					req.Host = host
					if req.Host == "" {
						req.Host = dst.IP.String()
					}
					if dst.Port != 80 && dst.Port != 443 {
						req.Host += fmt.Sprintf(":%d", dst.Port)
					}
				}
				if req.Status == 0 {
					req.Status = 200
				}
				s.HTTP = append(s.HTTP, req)
			}
			if len(s.HTTP) > 0 && c.BytesUp == 0 && c.BytesDown == 0 {
				for _, r := range s.HTTP {
					s.BytesUp += 180 + int64(len(r.URI)+len(r.UserAgent)) + r.ReqBody
					s.BytesDown += 150 + r.RespBody
				}
			}
		} else {
			s.Duration = 0
			if state == event.StateS0 {
				s.Duration = 3 * time.Second // retransmitted SYNs
			}
		}
		p.push(s)
	}
}

func tlsFromSpec(ts *tlsSpec, host string) *TLS {
	t := &TLS{SNI: host, ALPN: ts.ALPN, Client: ts.Client, Version: 0x0304, SelfSigned: ts.SelfSigned}
	if ts.SNI != nil {
		t.SNI = *ts.SNI
	}
	if ts.Version == "1.2" {
		t.Version = 0x0303
		t.CertNames = ts.CertNames
		if len(t.CertNames) == 0 && host != "" {
			t.CertNames = certNames(host)
		}
		if len(t.CertNames) == 0 {
			t.CertNames = []string{"localhost"}
		}
	}
	return t
}

func jitterBytes(r *rand.Rand, n int64, f float64) int64 {
	if n <= 0 || f <= 0 {
		return n
	}
	return max(1, int64(float64(n)*(1+f*(2*r.Float64()-1))))
}

func fillTemplate(r *rand.Rand, s string) string {
	for _, k := range []struct {
		tag string
		n   int
	}{{"{hex8}", 4}, {"{hex16}", 8}, {"{hex32}", 16}} {
		for strings.Contains(s, k.tag) {
			b := make([]byte, k.n)
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			s = strings.Replace(s, k.tag, fmt.Sprintf("%x", b), 1)
		}
	}
	return s
}

// dga returns the i-th generated name of day (a small LCG over letters,
// keyed by seed: the shape of common malware families' generators).
func dga(seed string, day int64, i, length int, tlds []string) string {
	x := hash64("dga", seed, fmt.Sprint(day), fmt.Sprint(i))
	b := make([]byte, length)
	for j := range b {
		x = x*6364136223846793005 + 1442695040888963407
		b[j] = 'a' + byte((x>>33)%26)
	}
	return string(b) + "." + tlds[int(x>>59)%len(tlds)]
}

// dgaBurst tries the day's generated names; all but the day's live one
// are NXDOMAIN. It returns the live name.
func (w *world) dgaBurst(p *proc, t time.Time, src netip.Addr, g *dgaSpec) string {
	day := dayKey(t.UTC())
	length := max(8, g.Length)
	tlds := g.TLDs
	if len(tlds) == 0 {
		tlds = []string{"com", "net", "info"}
	}
	live := int(hash64(g.Seed, fmt.Sprint(day)) % uint64(max(1, g.PerBurst*4)))
	liveName := dga(g.Seed, day, live, length, tlds)
	ip := extAddr(liveName, 0)
	if g.IP != "" {
		ip = netip.MustParseAddr(g.IP)
	}
	w.zone[liveName] = []netip.Addr{ip}
	start := p.rng.IntN(max(1, g.PerBurst*4))
	for i := range max(1, g.PerBurst) {
		n := dga(g.Seed, day, (start+i)%max(1, g.PerBurst*4), length, tlds)
		if n == liveName {
			continue
		}
		if _, ok := w.zone[n]; !ok {
			w.zone[n] = nil
		}
		p.resolve(t.Add(time.Duration(i)*40*time.Millisecond), src, n, 1)
	}
	return liveName
}

// exfilBurst sends PerBurst queries carrying encoded data under Domain.
func (w *world) exfilBurst(p *proc, t time.Time, src netip.Addr, x *exfilSpec) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	qtypes := x.QTypes
	if len(qtypes) == 0 {
		qtypes = []string{"TXT"}
	}
	ll := max(8, min(63, x.LabelLen))
	buf := make([]byte, ll)
	for i := range max(1, x.PerBurst) {
		var sb strings.Builder
		for range max(1, x.Labels) {
			for j := range buf {
				buf[j] = byte(p.rng.IntN(256))
			}
			sb.WriteString(strings.ToLower(enc.EncodeToString(buf))[:ll])
			sb.WriteByte('.')
		}
		p.seq++
		fmt.Fprintf(&sb, "%x.%s", p.seq&0xffff, x.Domain)
		qt := qtypes[p.rng.IntN(len(qtypes))]
		q := &DNS{Name: sb.String(), QType: qtypeNum(qt), TTL: 0}
		switch qt {
		case "TXT":
			q.Answers = []string{fillTemplate(p.rng, "{hex16}")}
		case "CNAME":
			q.Answers = []string{fillTemplate(p.rng, "{hex8}") + "." + x.Domain}
		case "A":
			q.Answers = []string{extAddr(q.Name, 0).String()}
		}
		p.query(t.Add(time.Duration(i)*time.Duration(max(x.Gap, duration(20*time.Millisecond)))), src, q, false)
	}
}
