package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// day is the capture's start: Tuesday 11 March 2025, 08:00 UTC.
var day = time.Date(2025, 3, 11, 8, 0, 0, 0, time.UTC)

// end is when the capture stops.
var end = day.Add(3 * time.Hour)

const domain = "office.example"

// device is one internal host.
type device struct {
	name   string // DHCP host name (or the static host's name)
	role   string
	host   pcapgen.Host
	os     string // windows, macos, linux, printer, appliance
	dhcpAt time.Duration
	ua     string // browser user agent
	port   uint16
	dns    map[string]cached
}

type cached struct {
	ip      netip.Addr
	expires time.Time
}

// site is one external service.
type site struct {
	name    string
	ip      string
	alpn    []string // what the server supports
	version uint16
	rtt     time.Duration
	ttl     uint8
	cname   string
}

type office struct {
	w       *pcapgen.Writer
	rng     *rand.Rand
	ca      *pcapgen.CA
	certs   map[string]tls.Certificate
	devs    []*device
	by      map[string]*device
	sites   map[string]site
	gwMAC   net.HardwareAddr
	gateway pcapgen.Host
	dnsSrv  pcapgen.Host
	err     error
	events  []event
	conns   int
}

type event struct {
	t    time.Time
	dev  string
	what string
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func newOffice(out io.Writer) (*office, error) {
	o := &office{
		w:     pcapgen.New(out, pcapgen.Options{Sort: true}),
		rng:   rand.New(rand.NewPCG(20250311, 8)),
		certs: map[string]tls.Certificate{},
		by:    map[string]*device{},
		sites: map[string]site{},
		gwMAC: mac("00:0d:b9:5e:1a:01"),
	}
	ca, err := pcapgen.NewCA("Example Test Trust Services", "Example Test TLS CA 2024", day.AddDate(-1, 0, 0))
	if err != nil {
		return nil, err
	}
	o.ca = ca
	o.gateway = pcapgen.Host{MAC: o.gwMAC, IP: netip.MustParseAddr("10.20.0.1"), TTL: 64}
	const (
		win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36 Edg/133.0.0.0"
		mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15"
		lin = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:136.0) Gecko/20100101 Firefox/136.0"
	)
	for _, d := range []*device{
		{name: "ns1", role: "DNS resolver (static)", host: host("52:54:00:1f:3a:02", "10.20.0.2", 64), os: "linux", dhcpAt: -1},
		{name: "nas01", role: "file server (static)", host: host("00:11:32:8c:41:0a", "10.20.0.10", 64), os: "appliance", dhcpAt: -1},
		{name: "HPLJ-M404-2F", role: "printer", host: host("3c:52:82:6e:10:14", "10.20.0.20", 64), os: "printer", dhcpAt: 5 * time.Second},
		{name: "LT-ALICE", role: "Windows 11 laptop", host: host("8c:16:45:d2:7a:65", "10.20.0.101", 128), os: "windows", dhcpAt: 14*time.Minute + 37*time.Second, ua: win},
		{name: "LT-BOB", role: "Windows 11 laptop", host: host("8c:16:45:91:0c:66", "10.20.0.102", 128), os: "windows", dhcpAt: 47*time.Minute + 3*time.Second, ua: win},
		{name: "Carols-MacBook-Pro", role: "macOS laptop", host: host("a4:83:e7:2b:5c:67", "10.20.0.103", 64), os: "macos", dhcpAt: 21*time.Minute + 50*time.Second, ua: mac},
		{name: "Dans-MacBook-Air", role: "macOS laptop", host: host("f0:18:98:44:e1:68", "10.20.0.104", 64), os: "macos", dhcpAt: 33*time.Minute + 12*time.Second, ua: mac},
		{name: "LT-FRANK", role: "Windows 11 laptop", host: host("8c:16:45:07:b3:69", "10.20.0.105", 128), os: "windows", dhcpAt: 52*time.Minute + 41*time.Second, ua: win},
		{name: "erin-dev", role: "Linux developer workstation", host: host("d8:bb:c1:5a:90:6e", "10.20.0.110", 64), os: "linux", dhcpAt: 2*time.Minute + 11*time.Second, ua: lin},
	} {
		d.port = uint16(49152 + o.rng.IntN(8000))
		if d.os == "linux" {
			d.port = uint16(32768 + o.rng.IntN(20000))
		}
		d.dns = map[string]cached{}
		o.devs = append(o.devs, d)
		o.by[d.name] = d
	}
	o.dnsSrv = o.by["ns1"].host
	for _, s := range []site{
		{name: "www.google.com", ip: "198.51.100.14", alpn: []string{"h2", "http/1.1"}, rtt: 14 * time.Millisecond, ttl: 57},
		{name: "outlook.office365.com", ip: "198.51.100.40", alpn: []string{"h2", "http/1.1"}, rtt: 22 * time.Millisecond, ttl: 54, cname: "outlook.ms-acdc.office.com"},
		{name: "login.microsoftonline.com", ip: "198.51.100.41", alpn: []string{"h2", "http/1.1"}, rtt: 23 * time.Millisecond, ttl: 54},
		{name: "teams.microsoft.com", ip: "198.51.100.42", alpn: []string{"h2", "http/1.1"}, rtt: 21 * time.Millisecond, ttl: 54},
		{name: "github.com", ip: "198.51.100.60", alpn: []string{"h2", "http/1.1"}, rtt: 31 * time.Millisecond, ttl: 52},
		{name: "objects.githubusercontent.com", ip: "198.51.100.61", alpn: []string{"http/1.1"}, rtt: 18 * time.Millisecond, ttl: 56},
		{name: "slack.com", ip: "198.51.100.70", alpn: []string{"h2", "http/1.1"}, rtt: 27 * time.Millisecond, ttl: 53},
		{name: "gateway.icloud.com", ip: "198.51.100.80", alpn: []string{"h2", "http/1.1"}, rtt: 25 * time.Millisecond, ttl: 53, version: tls.VersionTLS12},
		{name: "chatgpt.com", ip: "198.51.100.90", alpn: []string{"h2", "http/1.1"}, rtt: 19 * time.Millisecond, ttl: 56},
		{name: "status.example.net", ip: "198.51.100.99", rtt: 30 * time.Millisecond, ttl: 50},
		{name: "archive.ubuntu.com", ip: "203.0.113.20", rtt: 35 * time.Millisecond, ttl: 51},
		{name: "ctldl.windowsupdate.com", ip: "203.0.113.30", rtt: 16 * time.Millisecond, ttl: 57, cname: "ctldl.windowsupdate.com.delivery.microsoft.com"},
		{name: "ocsp.digicert.com", ip: "203.0.113.40", rtt: 12 * time.Millisecond, ttl: 58, cname: "ocsp.edge.digicert.com"},
		{name: "time.windows.com", ip: "192.0.2.11", rtt: 24 * time.Millisecond, ttl: 53},
		{name: "time.apple.com", ip: "192.0.2.12", rtt: 15 * time.Millisecond, ttl: 57},
		{name: "ntp.ubuntu.com", ip: "192.0.2.13", rtt: 33 * time.Millisecond, ttl: 51},
		{name: "nas01." + domain, ip: "10.20.0.10", alpn: []string{"http/1.1"}, rtt: 400 * time.Microsecond},
	} {
		o.sites[s.name] = s
	}
	return o, nil
}

func host(m, ip string, ttl uint8) pcapgen.Host {
	return pcapgen.Host{MAC: mac(m), IP: netip.MustParseAddr(ip), TTL: ttl}
}

func (o *office) fail(err error) {
	if o.err == nil && err != nil {
		o.err = err
	}
}

func (o *office) note(t time.Time, d *device, format string, args ...any) {
	o.events = append(o.events, event{t, d.name, fmt.Sprintf(format, args...)})
}

// jitter returns d scaled by a uniform factor in [1-f, 1+f].
func (o *office) jitter(d time.Duration, f float64) time.Duration {
	return time.Duration(float64(d) * (1 - f + 2*f*o.rng.Float64()))
}

func (o *office) ephemeral(d *device) uint16 {
	d.port++
	if d.port < 1024 {
		d.port = 49152
	}
	return d.port
}

// remote returns the Host of an IP as the capture sees it: behind the
// gateway when external.
func (o *office) remote(ip string, ttl uint8) pcapgen.Host {
	a := netip.MustParseAddr(ip)
	for _, d := range o.devs {
		if d.host.IP == a {
			return d.host
		}
	}
	return pcapgen.Host{MAC: o.gwMAC, IP: a, TTL: ttl}
}

func (o *office) siteHost(name string) (site, pcapgen.Host) {
	s, ok := o.sites[name]
	if !ok {
		panic("unknown site " + name)
	}
	return s, o.remote(s.ip, s.ttl)
}

// lookup resolves name through ns1 unless d has it cached; macOS and
// Windows also ask for AAAA, which the office network answers empty.
func (o *office) lookup(t time.Time, d *device, name string) time.Time {
	if c, ok := d.dns[name]; ok && t.Before(c.expires) {
		return t
	}
	s, ok := o.sites[name]
	q := pcapgen.DNS{ID: uint16(o.rng.Uint32()), Name: name, Delay: time.Duration(2+o.rng.IntN(30)) * time.Millisecond}
	ttl := uint32(300)
	if ok {
		if s.cname != "" {
			q.Answers = append(q.Answers, pcapgen.DNSAnswer{Type: dnsmessage.TypeCNAME, Data: s.cname, TTL: 3600})
		}
		q.Answers = append(q.Answers, pcapgen.DNSAnswer{Data: s.ip, TTL: ttl})
	} else {
		q.RCode = dnsmessage.RCodeNameError
	}
	t = o.w.DNSExchange(t, d.host.At(o.ephemeral(d)), o.dnsSrv, q)
	if d.os == "windows" || d.os == "macos" {
		aaaa := q
		aaaa.ID, aaaa.Type, aaaa.Answers = uint16(o.rng.Uint32()), dnsmessage.TypeAAAA, nil
		o.w.DNSExchange(t.Add(-q.Delay+300*time.Microsecond), d.host.At(o.ephemeral(d)), o.dnsSrv, aaaa)
	}
	if ok {
		d.dns[name] = cached{netip.MustParseAddr(s.ip), t.Add(time.Duration(ttl) * time.Second)}
	} else {
		o.note(t, d, "DNS `%s` → NXDOMAIN", name)
	}
	return t.Add(time.Millisecond)
}

func (o *office) session(t time.Time, d *device, dst pcapgen.Endpoint, rtt time.Duration) *pcapgen.Session {
	o.conns++
	return o.w.TCPSession(t, d.host.At(o.ephemeral(d)), dst, pcapgen.SessionOptions{RTT: rtt})
}

func (o *office) cert(name string) tls.Certificate {
	c, ok := o.certs[name]
	if !ok {
		var err error
		c, err = o.ca.Issue([]string{name}, day.AddDate(0, 0, -20-len(o.certs)))
		o.fail(err)
		o.certs[name] = c
	}
	return c
}

// filler returns n bytes of seeded noise: compressed content's stand-in.
func (o *office) filler(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(o.rng.Uint32())
	}
	return b
}

// https opens a TLS connection from d to the named site, sends one request
// and gets a response of about size bytes, and closes. It returns the time
// of the last packet.
func (o *office) https(t time.Time, d *device, name, path string, size int) time.Time {
	t = o.lookup(t, d, name)
	s, h := o.siteHost(name)
	req := pcapgen.HTTPRequest{Target: path, Host: name, UserAgent: d.ua,
		Header: map[string][]string{"Accept": {"*/*"}, "Accept-Encoding": {"gzip, deflate, br"}, "Accept-Language": {"en-US,en;q=0.9"}}}.Bytes()
	resp := pcapgen.HTTPResponse{Header: map[string][]string{"Content-Type": {"text/html; charset=utf-8"}, "Content-Encoding": {"br"}},
		Body: o.filler(int(o.jitter(time.Duration(size), 0.3)))}.Bytes()
	tr, err := pcapgen.RecordTLS(pcapgen.TLSOptions{ServerName: name, ALPN: []string{"h2", "http/1.1"}, ServerALPN: s.alpn,
		Version: s.version, Cert: o.cert(name), Roots: o.ca.Pool(), Time: t, Seed: fmt.Sprintf("%s %s %d", d.name, name, t.UnixNano()),
		Request: req, Response: resp})
	if err != nil {
		o.fail(err)
		return t
	}
	sess := o.session(t, d, h.At(443), s.rtt)
	sess.Handshake()
	sess.Replay(tr, time.Duration(5+o.rng.IntN(40))*time.Millisecond)
	sess.Wait(o.jitter(2*time.Second, 0.5))
	sess.Close()
	return sess.Now()
}

// http sends one plain HTTP request from d to the named site.
func (o *office) http(t time.Time, d *device, name string, req pcapgen.HTTPRequest, resp pcapgen.HTTPResponse) time.Time {
	t = o.lookup(t, d, name)
	s, h := o.siteHost(name)
	sess := o.session(t, d, h.At(80), s.rtt)
	sess.Handshake()
	sess.Exchange(req.Bytes(), time.Duration(3+o.rng.IntN(20))*time.Millisecond, resp.Bytes())
	sess.Close()
	return sess.Now()
}

func (o *office) ntp(t time.Time, d *device, server string) {
	t = o.lookup(t, d, server)
	s, h := o.siteHost(server)
	port := uint16(123)
	if d.os == "windows" || d.os == "macos" {
		port = o.ephemeral(d)
	}
	o.w.NTPExchange(t, d.host.At(port), h, s.rtt)
}

// summary renders the inventory and timeline as Markdown.
func (o *office) summary() string {
	var b strings.Builder
	b.WriteString("| device | IP | MAC | role | DHCP lease |\n| --- | --- | --- | --- | --- |\n")
	for _, d := range o.devs {
		lease := "static"
		if d.dhcpAt >= 0 {
			lease = day.Add(d.dhcpAt).Format("15:04:05")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", d.name, d.host.IP, d.host.MAC, d.role, lease)
	}
	var names []string
	for n := range o.sites {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("\n| external or LAN name | address |\n| --- | --- |\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| %s | %s |\n", n, o.sites[n].ip)
	}
	sort.SliceStable(o.events, func(i, j int) bool { return o.events[i].t.Before(o.events[j].t) })
	b.WriteString("\n| time (UTC) | device | what |\n| --- | --- | --- |\n")
	for _, e := range o.events {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", e.t.Format("15:04:05.000"), e.dev, e.what)
	}
	fmt.Fprintf(&b, "\n%d packets, %d TCP connections, all between %s and %s.\n", o.w.Packets(), o.conns,
		day.Format(time.RFC3339), end.Format(time.RFC3339))
	return b.String()
}
