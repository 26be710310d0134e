package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// Proc constructors: when a behaviour acts.

// poisson acts at the times of a Poisson process of perHour events an hour
// at full activity, modulated by the device's schedule.
func (w *world) poisson(d *Device, name string, perHour float64, fire func(p *proc, t time.Time)) *proc {
	p := w.newProc(d, name)
	rate := p.st.sched.activity
	p.first = func(p *proc) time.Time { return nextPoisson(p.rng, w.start, w.end, perHour, rate) }
	p.next = func(p *proc, t time.Time) time.Time {
		return nextPoisson(p.rng, t.Add(time.Millisecond), w.end, perHour, rate)
	}
	p.fire = fire
	return p
}

// periodic acts every period (± jitter, a fraction of it) while the
// device is on the network: the benign check-ins that look like beacons.
func (w *world) periodic(d *Device, name string, period time.Duration, jitter float64, fire func(p *proc, t time.Time, src netip.Addr)) *proc {
	p := w.newProc(d, name)
	away := false
	p.first = func(p *proc) time.Time { return w.start.Add(time.Duration(p.rng.Int64N(int64(period)))) }
	p.next = func(p *proc, t time.Time) time.Time {
		n := t.Add(max(time.Second, jitterDur(p.rng, period, jitter)))
		if away {
			// Sleep until the device is back, then resume (with a random
			// phase: a waking device checks in soon after it joins).
			if back := p.st.sched.nextPresence(n, w.end); back.After(n) {
				n = back.Add(time.Duration(p.rng.Int64N(int64(min(period, 5*time.Minute)))))
			}
		}
		return n
	}
	p.fire = func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		away = !ok
		if ok {
			fire(p, t, src)
		}
	}
	return p
}

// daily acts once a day at local minute min (± jitter minutes).
func (w *world) daily(d *Device, name string, min, jitter int, fire func(p *proc, t time.Time, src netip.Addr)) *proc {
	p := w.newProc(d, name)
	at := func(p *proc, after time.Time) time.Time {
		l := after.In(OfficeZone)
		day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, OfficeZone)
		for {
			t := day.Add(time.Duration(min+p.rng.IntN(2*jitter+1)-jitter) * time.Minute)
			if t.After(after) {
				return t
			}
			day = day.AddDate(0, 0, 1)
		}
	}
	p.first = func(p *proc) time.Time { return at(p, w.start) }
	p.next = at
	p.fire = func(p *proc, t time.Time) {
		if ok, src := p.st.sched.present(t); ok {
			fire(p, t, src)
		}
	}
	return p
}

// arrivals acts when a person's device joins the network each day.
func (w *world) arrivals(d *Device, name string, fire func(p *proc, t time.Time, src netip.Addr)) *proc {
	p := w.newProc(d, name)
	sc := p.st.sched
	at := func(p *proc, after time.Time) time.Time {
		// Step in minutes would be slow; step by schedule day instead.
		l := after.In(d.Person.Zone)
		day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, d.Person.Zone)
		for day.Before(w.end) {
			sc.load(day)
			if sc.arrive < sc.leave {
				t := day.Add(time.Duration(sc.arrive)*time.Minute + time.Duration(p.rng.IntN(60))*time.Second)
				if t.After(after) {
					return t
				}
			}
			day = day.AddDate(0, 0, 1)
		}
		return w.end
	}
	p.first = func(p *proc) time.Time { return at(p, w.start) }
	p.next = at
	p.fire = func(p *proc, t time.Time) {
		if ok, src := sc.present(t); ok {
			fire(p, t, src)
		}
	}
	return p
}

// Session makers.

// tlsTo looks host up and opens a TLS session to it.
func (p *proc) tlsTo(t time.Time, src netip.Addr, host string, port uint16, client string, up, down int64, dur time.Duration) *Session {
	ip, at, ok := p.resolve(t, src, host, 1)
	if !ok {
		return nil
	}
	s := &Session{
		Start:  at.Add(time.Duration(p.rng.IntN(3000)) * time.Microsecond),
		Client: devEndpoint(p.st.d, src, p.st.ephemeral()),
		Server: extEndpoint(ip, port),
		Proto:  event.ProtoTCP, State: event.StateSF, Duration: dur,
		BytesUp: up, BytesDown: down,
		TLS: p.w.tlsFor(host, client),
	}
	p.push(s)
	return s
}

// tlsFor returns the handshake of profile client with host, shared by
// every such session (renderers never change a Session).
func (w *world) tlsFor(host, client string) *TLS {
	k := [2]string{host, client}
	if t := w.tlsCache[k]; t != nil {
		return t
	}
	t := newTLS(host, client)
	if len(w.tlsCache) > 100000 {
		clear(w.tlsCache)
	}
	w.tlsCache[k] = t
	return t
}

// newTLS describes the handshake of profile client with host.
func newTLS(host, client string) *TLS {
	t := &TLS{SNI: host, Client: client, Version: 0x0304}
	switch client {
	case "chrome-win", "edge-win", "chrome-mac", "safari-mac", "firefox-linux", "apple-ios", "okhttp":
		t.ALPN = []string{"h2", "http/1.1"}
	case "curl", "python-requests", "go-http":
		t.ALPN = []string{"http/1.1"}
	}
	// Some servers still negotiate TLS 1.2, and so show their certificate.
	if hash64("tls12", host)%5 == 0 || client == "powershell" || client == "curl" {
		t.Version = 0x0303
		t.CertNames = certNames(host)
	}
	return t
}

// certNames are the DNS names of host's CA-issued certificate.
func certNames(host string) []string {
	reg := registrable(host)
	if reg == host {
		return []string{host, "www." + host}
	}
	return []string{host, "*." + reg}
}

// httpTo looks host up and makes one plain HTTP request to it.
func (p *proc) httpTo(t time.Time, src netip.Addr, host string, port uint16, req HTTP, up, down int64) *Session {
	ip, at, ok := p.resolve(t, src, host, 1)
	if !ok {
		return nil
	}
	if req.Host == "" {
		req.Host = host
	}
	s := &Session{
		Start:  at.Add(time.Duration(p.rng.IntN(3000)) * time.Microsecond),
		Client: devEndpoint(p.st.d, src, p.st.ephemeral()),
		Server: extEndpoint(ip, port),
		Proto:  event.ProtoTCP, State: event.StateSF,
		Duration: time.Duration(20+p.rng.IntN(200)) * time.Millisecond,
		BytesUp:  up, BytesDown: down,
		HTTP: []HTTP{req},
	}
	p.push(s)
	return s
}

// ntp makes one NTP exchange with host.
func (p *proc) ntp(t time.Time, src netip.Addr, host string) {
	ip, at, ok := p.resolve(t, src, host, 1)
	if !ok {
		return
	}
	p.push(&Session{
		Start:  at.Add(time.Millisecond),
		Client: devEndpoint(p.st.d, src, 123),
		Server: extEndpoint(ip, 123),
		Proto:  event.ProtoUDP, State: event.StateSF,
		Duration: time.Duration(10+p.rng.IntN(40)) * time.Millisecond,
		BytesUp:  48, BytesDown: 48,
	})
}

// internal makes a session from the proc's device to device dst.
func (p *proc) internal(t time.Time, src netip.Addr, dst *Device, port uint16, proto event.Proto, up, down int64, dur time.Duration) *Session {
	s := &Session{
		Start:  t,
		Client: devEndpoint(p.st.d, src, p.st.ephemeral()),
		Server: devEndpoint(dst, dst.IP, port),
		Proto:  proto, State: event.StateSF, Duration: dur,
		BytesUp: up, BytesDown: down,
	}
	p.push(s)
	return s
}

// Favourites: each device's stable peers, drawn once from its seed.

type favourites struct {
	sites, cdns []string
}

func newFavourites(r *rand.Rand) favourites {
	var f favourites
	seen := map[string]bool{}
	for len(f.sites) < 12 {
		// A few of the most popular sites for everyone, the rest spread
		// over the catalogue: people share the giants, not their habits.
		u := r.Float64()
		if len(f.sites) < 4 {
			u *= r.Float64()
		}
		i := int(float64(len(popularSites)) * u)
		if h := popularSites[i]; !seen[h] {
			seen[h] = true
			f.sites = append(f.sites, h)
		}
	}
	for range 6 {
		f.sites = append(f.sites, longTailSites[r.IntN(len(longTailSites))])
	}
	for range 6 {
		f.cdns = append(f.cdns, cdnSites[r.IntN(len(cdnSites))])
	}
	return f
}

// addBenign adds every device's ordinary behaviour.
func (w *world) addBenign() {
	o := w.org
	for _, d := range o.Devices {
		switch d.Role {
		case RoleWinLaptop, RoleMacLaptop, RoleDeveloper, RolePhone:
			w.addUser(d)
		}
		w.addCheckins(d)
	}
	w.addServers()
}

// addUser adds what a person does with their device.
func (w *world) addUser(d *Device) {
	fav := newFavourites(rngFor(w.cfg.Seed, "favourites/"+d.ID))
	browse := 14.0
	switch d.Role {
	case RolePhone:
		browse = 4
	case RoleDeveloper:
		browse = 12
	}
	w.poisson(d, "browse", browse, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		var host string
		switch x := p.rng.IntN(10); {
		case x < 7:
			host = fav.sites[p.rng.IntN(len(fav.sites))]
		case x < 9:
			host = popularSites[p.rng.IntN(len(popularSites))]
		default:
			host = longTailSites[p.rng.IntN(len(longTailSites))]
		}
		up := logNormal(p.rng, 2500, 0.6)
		down := logNormal(p.rng, 250e3, 1.2)
		s := p.tlsTo(t, src, host, 443, d.Browser, up, down, time.Duration(logNormal(p.rng, 8e9, 1.0)))
		if s == nil {
			return
		}
		for range p.rng.IntN(3) / 2 {
			c := fav.cdns[p.rng.IntN(len(fav.cdns))]
			p.tlsTo(s.Start.Add(50*time.Millisecond), src, c, 443, d.Browser, logNormal(p.rng, 1500, 0.5), logNormal(p.rng, 80e3, 1.0), time.Duration(logNormal(p.rng, 3e9, 1.0)))
		}
	})
	if d.Role == RolePhone {
		w.arrivals(d, "dhcp", w.dhcpFire)
		return
	}
	saas := []string{"outlook.office365.com", "teams.microsoft.com", "corpexample.sharepoint.com", "login.microsoftonline.com", "graph.microsoft.com", "app.slack.com", "edgeapi.slack.com", "zoom.us"}
	if d.OS == "macos" && hash64(d.ID)%2 == 0 {
		saas = append(saas, "mail.google.com", "docs.google.com", "drive.google.com", "calendar.google.com")
	}
	w.poisson(d, "saas", 8, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		host := saas[p.rng.IntN(len(saas))]
		p.tlsTo(t, src, host, 443, d.Browser, logNormal(p.rng, 6e3, 1.0), logNormal(p.rng, 60e3, 1.2), time.Duration(logNormal(p.rng, 30e9, 1.2)))
	})
	w.poisson(d, "meeting", 0.25, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		s := p.tlsTo(t, src, "us05web.zoom.us", 443, d.Browser, 8e3, 40e3, 2*time.Second)
		if s == nil {
			return
		}
		ip, _, _ := p.resolve(t, src, "us05st1.zoom.us", 1)
		dur := time.Duration(20+p.rng.IntN(40)) * time.Minute
		rate := int64(dur / time.Second)
		p.push(&Session{
			Start: s.Start.Add(3 * time.Second), Client: devEndpoint(d, src, p.st.ephemeral()),
			Server: extEndpoint(ip, 8801), Proto: event.ProtoUDP, State: event.StateSF, Duration: dur,
			// Audio-level media rates (24/64 kbit/s): video rates would make
			// a day of meetings gigabytes of packets for no detection value.
			BytesUp: rate * 24e3 / 8, BytesDown: rate * 64e3 / 8,
		})
	})
	w.poisson(d, "cloud-upload", 0.15, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		host := "corpexample-my.sharepoint.com"
		if d.OS == "macos" && hash64(d.ID)%2 == 0 {
			host = "www.googleapis.com"
		}
		up := logNormal(p.rng, 8e6, 1.3)
		p.tlsTo(t, src, host, 443, d.Browser, up, 20e3+up/200, time.Duration(up/2e6+2)*time.Second)
	})
	if d.OS == "windows" || d.Role == RoleDeveloper {
		w.poisson(d, "file-share", 3, func(p *proc, t time.Time) {
			ok, src := p.st.sched.present(t)
			if !ok {
				return
			}
			fs := w.org.ByRole(RoleFileServer)
			p.internal(t, src, fs[p.rng.IntN(len(fs))], 445, event.ProtoTCP, logNormal(p.rng, 20e3, 1.5), logNormal(p.rng, 400e3, 1.5), time.Duration(logNormal(p.rng, 20e9, 1)))
		})
		w.poisson(d, "directory", 2, func(p *proc, t time.Time) {
			ok, src := p.st.sched.present(t)
			if !ok {
				return
			}
			dcs := w.org.ByRole(RoleDC)
			dc := dcs[int(hash64(d.ID)%uint64(len(dcs)))]
			port := []uint16{88, 389, 445, 135}[p.rng.IntN(4)]
			p.internal(t, src, dc, port, event.ProtoTCP, logNormal(p.rng, 1500, 0.5), logNormal(p.rng, 3000, 0.5), time.Duration(logNormal(p.rng, 5e7, 1)))
		})
	}
	w.poisson(d, "print", 0.15, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		pr := w.org.ByRole(RolePrinter)
		p.internal(t, src, pr[int(hash64(d.ID)%uint64(len(pr)))], 9100, event.ProtoTCP, logNormal(p.rng, 300e3, 1), 0, time.Duration(2+p.rng.IntN(10))*time.Second)
	})
	if d.Role == RoleDeveloper {
		w.addDeveloper(d)
	}
	if !d.Remote {
		w.arrivals(d, "dhcp", w.dhcpFire)
	}
}

// dhcpFire is a device's lease exchange as it joins the network.
func (w *world) dhcpFire(p *proc, t time.Time, src netip.Addr) {
	d := p.st.d
	if SubnetVPN.Contains(src) {
		return
	}
	p.push(&Session{
		Start:  t,
		Client: Endpoint{IP: netip.IPv4Unspecified(), Port: 68, MAC: d.MAC, TTL: 64},
		Server: Endpoint{IP: netip.AddrFrom4([4]byte{255, 255, 255, 255}), Port: 67, MAC: "ff:ff:ff:ff:ff:ff", TTL: 128},
		Proto:  event.ProtoUDP, State: event.StateSF,
		Duration: time.Duration(5+p.rng.IntN(400)) * time.Millisecond,
		BytesUp:  2 * 300, BytesDown: 2 * 300,
		DHCP: &DHCP{MAC: d.MAC, Hostname: d.Hostname, Assigned: src, Lease: 24 * time.Hour},
	})
}

// addDeveloper adds code hosting, registries and sanctioned AI use.
func (w *world) addDeveloper(d *Device) {
	regs := [][]string{{"pypi.org", "files.pythonhosted.org"}, {"registry.npmjs.org"}, {"proxy.golang.org", "sum.golang.org"}}
	mine := regs[int(hash64(d.ID, "lang")%3)]
	w.poisson(d, "github", 4, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		host := []string{"github.com", "api.github.com", "codeload.github.com", "objects.githubusercontent.com"}[p.rng.IntN(4)]
		client := "curl"
		if host == "api.github.com" {
			client = d.Browser
		}
		p.tlsTo(t, src, host, 443, client, logNormal(p.rng, 5e3, 1), logNormal(p.rng, 200e3, 1.5), time.Duration(logNormal(p.rng, 2e9, 1)))
	})
	w.poisson(d, "registry", 2, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		for i := range 1 + p.rng.IntN(4) {
			host := mine[i%len(mine)]
			p.tlsTo(t.Add(time.Duration(i)*300*time.Millisecond), src, host, 443, "go-http", logNormal(p.rng, 1e3, 0.5), logNormal(p.rng, 500e3, 1.5), time.Second)
		}
	})
	w.poisson(d, "copilot", 12, func(p *proc, t time.Time) {
		ok, src := p.st.sched.present(t)
		if !ok {
			return
		}
		p.tlsTo(t, src, "api.githubcopilot.com", 443, "python-requests", logNormal(p.rng, 6e3, 0.8), logNormal(p.rng, 3e3, 0.8), time.Duration(logNormal(p.rng, 1.5e9, 0.5)))
	})
}

// checkin describes one periodic benign service.
type checkin struct {
	name   string
	host   string
	port   uint16
	period time.Duration
	jitter float64
	client string // TLS profile; "ntp" for NTP, "http:UA" for plain HTTP
	up     int64
	down   int64
	dur    time.Duration
}

var checkinsByOS = map[string][]checkin{
	"windows": {
		{"ntp", "time.windows.com", 123, 1024 * time.Second, 0.01, "ntp", 48, 48, 0},
		{"av", "ts01-b.cloudsink.net", 443, 10 * time.Minute, 0.03, "powershell", 1200, 900, 500 * time.Millisecond},
		{"telemetry", "v10.events.data.microsoft.com", 443, 30 * time.Minute, 0.2, "powershell", 9e3, 1e3, time.Second},
		{"defender", "wdcp.microsoft.com", 443, 30 * time.Minute, 0.1, "powershell", 3e3, 2e3, time.Second},
		{"push", "client.wns.windows.com", 443, 30 * time.Minute, 0.05, "powershell", 2e3, 2e3, 29 * time.Minute},
		{"update", "fe2cr.update.microsoft.com", 443, 6 * time.Hour, 0.3, "powershell", 6e3, 40e3, 3 * time.Second},
		{"edge-keepalive", "edge.microsoft.com", 443, 15 * time.Minute, 0.1, "edge-win", 800, 600, 200 * time.Millisecond},
		{"crl", "ctldl.windowsupdate.com", 80, 3 * time.Hour, 0.4, "http:Microsoft-CryptoAPI/10.0", 300, 6e3, 0},
	},
	"macos": {
		{"ntp", "time.apple.com", 123, 900 * time.Second, 0.02, "ntp", 48, 48, 0},
		{"push", "courier.push.apple.com", 5223, 30 * time.Minute, 0.05, "safari-mac", 1500, 1500, 29 * time.Minute},
		{"telemetry", "xp.apple.com", 443, 20 * time.Minute, 0.3, "safari-mac", 5e3, 800, time.Second},
		{"update", "swscan.apple.com", 443, 24 * time.Hour, 0.1, "safari-mac", 2e3, 90e3, 2 * time.Second},
		{"ocsp", "ocsp.apple.com", 80, time.Hour, 0.5, "http:com.apple.trustd/3.0", 120, 1500, 0},
		{"icloud", "gateway.icloud.com", 443, time.Hour, 0.3, "safari-mac", 4e3, 6e3, time.Second},
	},
	"linux": {
		{"ntp", "ntp.ubuntu.com", 123, 1024 * time.Second, 0.005, "ntp", 48, 48, 0},
		{"snap", "api.snapcraft.io", 443, 6 * time.Hour, 0.2, "go-http", 2e3, 8e3, time.Second},
		{"apt", "security.ubuntu.com", 80, 12 * time.Hour, 0.3, "http:Debian APT-HTTP/1.3 (2.4.13)", 400, 90e3, 0},
	},
	"ios": {
		{"push", "courier.push.apple.com", 5223, 20 * time.Minute, 0.1, "safari-mac", 800, 800, 19 * time.Minute},
		{"ntp", "time.apple.com", 123, time.Hour, 0.05, "ntp", 48, 48, 0},
	},
	"android": {
		{"push", "mtalk.google.com", 5228, 28 * time.Minute, 0.05, "okhttp", 800, 800, 27 * time.Minute},
		{"connectivity", "connectivitycheck.gstatic.com", 80, 30 * time.Minute, 0.5, "http:Dalvik/2.1.0 (Linux; U; Android 14)", 150, 200, 0},
	},
	"printer": {
		{"eprint", "xmpp01.hpeprint.com", 443, 10 * time.Minute, 0.02, "curl", 500, 500, time.Second},
		{"ntp", "time.windows.com", 123, time.Hour, 0.01, "ntp", 48, 48, 0},
	},
}

// addCheckins adds the device's periodic services.
func (w *world) addCheckins(d *Device) {
	for _, c := range checkinsByOS[d.OS] {
		if d.Role == RoleResolver && c.name == "ntp" {
			c.period = 64 * time.Second // the resolver keeps tight time
		}
		w.periodic(d, c.name, c.period, c.jitter, func(p *proc, t time.Time, src netip.Addr) {
			switch {
			case c.client == "ntp":
				p.ntp(t, src, c.host)
			case len(c.client) > 5 && c.client[:5] == "http:":
				p.httpTo(t, src, c.host, c.port, HTTP{Method: "GET", URI: checkinURI(c.name), UserAgent: c.client[5:], Status: 200, RespBody: c.down - 200, RespContentType: "application/octet-stream"}, c.up, c.down)
			default:
				dur := c.dur
				if dur == 0 {
					dur = time.Second
				}
				p.tlsTo(t, src, c.host, c.port, c.client, logNormal(p.rng, float64(c.up), 0.2), logNormal(p.rng, float64(c.down), 0.3), jitterDur(p.rng, dur, 0.1))
			}
		})
	}
}

func checkinURI(name string) string {
	switch name {
	case "ocsp":
		return "/ocsp-devid01/ME4wTKADAgEAMEUwQzBBMAkGBSsOAwIaBQAEFDOB0e%2FbaLCFIU0u76%2BMSmlkPCpsBBRXF%2B2iz9x8mKEQ4Py%2Bhy0s8uMXVAIIZ"
	case "apt":
		return "/ubuntu/dists/noble-security/InRelease"
	case "crl":
		return "/msdownload/update/v3/static/trustedr/en/authrootstl.cab"
	case "connectivity":
		return "/generate_204"
	}
	return "/"
}

// addServers adds server-to-server traffic, backups and updates.
func (w *world) addServers() {
	o := w.org
	servers := o.ByRole(RoleServer)
	var apps, dbs, cis []*Device
	for _, s := range servers {
		switch s.Hostname[:2] {
		case "ap", "we":
			apps = append(apps, s)
		case "db":
			dbs = append(dbs, s)
		case "ci":
			cis = append(cis, s)
		}
	}
	if len(dbs) == 0 {
		dbs = servers[len(servers)-1:]
	}
	for i, a := range apps {
		db := dbs[i%len(dbs)]
		w.periodic(a, "db-pool", 2*time.Minute, 0.5, func(p *proc, t time.Time, src netip.Addr) {
			p.internal(t, src, db, 5432, event.ProtoTCP, logNormal(p.rng, 40e3, 1), logNormal(p.rng, 400e3, 1.2), time.Duration(logNormal(p.rng, 60e9, 0.8)))
		})
	}
	for _, s := range servers {
		w.daily(s, "apt-via-proxy", 3*60, 60, func(p *proc, t time.Time, src netip.Addr) {
			px := w.org.Proxy
			c := p.internal(t, src, px, 3128, event.ProtoTCP, 2e3, 2e6, 20*time.Second)
			c.HTTP = []HTTP{{Method: "CONNECT", Host: "archive.ubuntu.com:443", URI: "archive.ubuntu.com:443", UserAgent: "Debian APT-HTTP/1.3 (2.4.13)", Status: 200}}
			pp := &proc{w: w, st: w.state[px], rng: p.rng}
			up := pp.tlsTo(t.Add(5*time.Millisecond), px.IP, "archive.ubuntu.com", 443, "curl", 1900, 2e6, 19*time.Second)
			for pp.q.Len() > 0 {
				p.push(pp.q[0].s)
				pp.q = pp.q[1:]
			}
			_ = up
		})
	}
	for _, ci := range cis {
		w.periodic(ci, "ci-github", 20*time.Minute, 0.6, func(p *proc, t time.Time, src netip.Addr) {
			p.tlsTo(t, src, "github.com", 443, "curl", 5e3, logNormal(p.rng, 2e6, 1), 5*time.Second)
			p.tlsTo(t.Add(8*time.Second), src, "proxy.golang.org", 443, "go-http", 2e3, logNormal(p.rng, 5e6, 1), 4*time.Second)
		})
		mcp := o.ByRole(RoleMCPServer)[0]
		w.periodic(ci, "ci-mcp", time.Hour, 0.3, func(p *proc, t time.Time, src netip.Addr) {
			s := p.internal(t, src, mcp, 8080, event.ProtoTCP, 1800, 4000, 2*time.Second)
			s.HTTP = []HTTP{{Method: "POST", Host: mcp.Hostname + ":8080", URI: "/mcp", UserAgent: "python-httpx/0.27.0", ReqContentType: "application/json", RespContentType: "text/event-stream", ReqBody: 1500, RespBody: 3600, Status: 200}}
		})
	}
	dcs := o.ByRole(RoleDC)
	for i, a := range dcs {
		if len(dcs) < 2 {
			break
		}
		b := dcs[(i+1)%len(dcs)]
		w.periodic(a, "dc-replication", 15*time.Minute, 0.02, func(p *proc, t time.Time, src netip.Addr) {
			p.internal(t, src, b, 135, event.ProtoTCP, 400, 300, 20*time.Millisecond)
			p.internal(t.Add(30*time.Millisecond), src, b, 49668, event.ProtoTCP, logNormal(p.rng, 20e3, 1), logNormal(p.rng, 60e3, 1), time.Duration(logNormal(p.rng, 2e9, 0.5)))
		})
	}
	for _, fs := range o.ByRole(RoleFileServer) {
		w.daily(fs, "backup", 60, 20, func(p *proc, t time.Time, src netip.Addr) {
			// Real nightly backups run to gigabytes; 400 MB keeps them the
			// largest benign upload (well above a 30 MiB exfiltration) while
			// a month of pcap output stays writable.
			up := logNormal(p.rng, 400e6, 0.3)
			p.tlsTo(t, src, "s3.us-east-1.amazonaws.com", 443, "powershell", up, up/500, time.Duration(up/40e6)*time.Second)
		})
		for _, pr := range o.ByRole(RolePrinter) {
			w.periodic(fs, "snmp-"+pr.ID, 5*time.Minute, 0.01, func(p *proc, t time.Time, src netip.Addr) {
				s := p.internal(t, src, pr, 161, event.ProtoUDP, 90, 300, 15*time.Millisecond)
				s.Client.Port = 161 + 40000
			})
		}
	}
	_ = fmt.Sprint
}
