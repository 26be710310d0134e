package main

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// The suspicious story: Carol's Mac runs a script that posts to a bare IP
// every ~60 s and, now and then, talks TLS to another rare IP that presents
// a self-signed certificate.
const (
	c2IP        = "203.0.113.45"
	c2Port      = 8080
	tlsRareIP   = "203.0.113.77"
	beaconStart = 91*time.Minute + 7*time.Second // 09:31:07
)

func (o *office) run() {
	o.leases()
	o.ns1()
	o.nas()
	o.printer()
	o.alice()
	o.bob()
	o.carol()
	o.dan()
	o.frank()
	o.erin()
}

// leases writes each DHCP client's lease as it joins the network.
func (o *office) leases() {
	for i, d := range o.devs {
		if d.dhcpAt < 0 {
			continue
		}
		vendor := map[string]string{"windows": "MSFT 5.0", "printer": "Hewlett-Packard JetDirect"}[d.os]
		t := day.Add(d.dhcpAt)
		o.w.DHCPExchange(t, pcapgen.DHCP{ClientMAC: d.host.MAC, Hostname: d.name, VendorClass: vendor, Assigned: d.host.IP,
			Server: o.gateway, Xid: 0x5e1a0000 + uint32(i)*0x1111 + uint32(o.rng.IntN(0x1000)), Lease: 12 * time.Hour,
			Router: o.gateway.IP, DNS: []netip.Addr{o.dnsSrv.IP}, Domain: domain})
		o.note(t, d, "DHCP lease %s, host name `%s`", d.host.IP, d.name)
	}
}

func (o *office) ns1() {
	d := o.by["ns1"]
	o.ntp(day.Add(40*time.Second), d, "ntp.ubuntu.com")
	o.note(day.Add(40*time.Second), d, "NTP to ntp.ubuntu.com")
}

func (o *office) nas() {
	d := o.by["nas01"]
	for _, at := range []time.Duration{90 * time.Second, 64*time.Minute + 10*time.Second, 128*time.Minute + 40*time.Second} {
		o.ntp(day.Add(at), d, "time.apple.com")
	}
	o.note(day.Add(90*time.Second), d, "NTP to time.apple.com (again at 09:04 and 10:08)")
}

func (o *office) printer() {
	d := o.by["HPLJ-M404-2F"]
	o.ntp(day.Add(5*time.Second+900*time.Millisecond), d, "time.windows.com")
}

// printJob sends a raw (JetDirect, port 9100) PJL/PostScript job.
func (o *office) printJob(t time.Time, d *device, title string, pages int) {
	p := o.by["HPLJ-M404-2F"]
	job := fmt.Sprintf("\x1b%%-12345X@PJL JOB NAME=\"%s\"\r\n@PJL SET USERNAME=\"%s\"\r\n@PJL ENTER LANGUAGE=POSTSCRIPT\r\n%%!PS-Adobe-3.0\n%%%%Pages: %d\n", title, d.name, pages)
	body := []byte(job)
	for i := range pages {
		body = append(body, fmt.Sprintf("%%%%Page: %d %d\n", i+1, i+1)...)
		body = append(body, o.filler(6000)...)
		body = append(body, "\nshowpage\n"...)
	}
	body = append(body, "%%EOF\n\x1b%-12345X@PJL EOJ\r\n\x1b%-12345X"...)
	s := o.session(t, d, p.host.At(9100), 600*time.Microsecond)
	s.Handshake()
	s.Send(true, body)
	s.Wait(800 * time.Millisecond)
	s.Close()
	o.note(t, d, "print job \"%s\" (%d page(s)) to the printer, TCP 9100", title, pages)
}

func (o *office) windowsStart(t time.Time, d *device) time.Time {
	o.ntp(t.Add(2*time.Second), d, "time.windows.com")
	t = o.lookup(t.Add(3*time.Second), d, "wpad."+domain)
	t = o.http(t.Add(time.Second), d, "ctldl.windowsupdate.com",
		pcapgen.HTTPRequest{Target: "/msdownload/update/v3/static/trustedr/en/authrootstl.cab", Host: "ctldl.windowsupdate.com",
			UserAgent: "Microsoft-CryptoAPI/10.0", Header: map[string][]string{"Accept": {"*/*"}, "Cache-Control": {"max-age = 86400"},
				"If-Modified-Since": {"Tue, 04 Mar 2025 18:41:08 GMT"}, "Connection": {"Keep-Alive"}}},
		pcapgen.HTTPResponse{Status: 304, Header: map[string][]string{"Last-Modified": {"Tue, 04 Mar 2025 18:41:08 GMT"},
			"ETag": {"\"0a1f3c2e6a8ddb1:0\""}, "Date": {t.Format(time.RFC1123)}}})
	o.note(t, d, "Windows start-up: NTP, WPAD lookup, certificate trust list check (HTTP 304)")
	t = o.https(t.Add(2*time.Second), d, "login.microsoftonline.com", "/common/oauth2/v2.0/token", 6000)
	return t
}

// officeWork is a Windows user's morning: mail and chat every so often.
func (o *office) officeWork(d *device, from time.Time) {
	for t := from; t.Before(end.Add(-5 * time.Minute)); t = t.Add(o.jitter(17*time.Minute, 0.4)) {
		t2 := o.https(t, d, "outlook.office365.com", "/owa/service.svc?action=GetItem", 11000)
		if o.rng.IntN(2) == 0 {
			o.https(t2.Add(o.jitter(40*time.Second, 0.5)), d, "teams.microsoft.com", "/api/chatsvc/emea/v1/users/ME/conversations", 5000)
		}
	}
}

func (o *office) alice() {
	d := o.by["LT-ALICE"]
	t := o.windowsStart(day.Add(d.dhcpAt+time.Second), d)
	o.officeWork(d, t.Add(20*time.Second))
	o.note(t.Add(20*time.Second), d, "HTTPS to outlook.office365.com and teams.microsoft.com every ~17 min until 10:55")
	o.printJob(day.Add(72*time.Minute+18*time.Second), d, "Q1 budget.xlsx", 3)
	o.https(day.Add(101*time.Minute), d, "www.google.com", "/search?q=quarterly+forecast+template", 15000)
}

func (o *office) bob() {
	d := o.by["LT-BOB"]
	t := o.windowsStart(day.Add(d.dhcpAt+time.Second), d)
	o.officeWork(d, t.Add(45*time.Second))
	o.note(t.Add(45*time.Second), d, "HTTPS to outlook.office365.com and teams.microsoft.com every ~17 min until 10:55")
	// A status page whose server is down: DNS answers, SYNs go unanswered.
	at := day.Add(65*time.Minute + 12*time.Second)
	at = o.lookup(at, d, "status.example.net")
	s, h := o.siteHost("status.example.net")
	sess := o.session(at, d, h.At(443), s.rtt)
	sess.SynOnly(2)
	o.note(at, d, "unanswered SYN to status.example.net (198.51.100.99:443), two retries")
}

func (o *office) carol() {
	d := o.by["Carols-MacBook-Pro"]
	t := day.Add(d.dhcpAt + 2*time.Second)
	o.ntp(t, d, "time.apple.com")
	t = o.http(t.Add(3*time.Second), d, "ocsp.digicert.com",
		pcapgen.HTTPRequest{Target: "/MFEwTzBNMEswSTAJBgUrDgMCGgUABBTrjrydRyt%2BApF3GSPypfHBxR5XtQQUs9tIpPmhxdiuNkHMEWNpYim8S8YCEAI5PUjXAkJafLQcAAsO18o%3D",
			Host: "ocsp.digicert.com", UserAgent: "com.apple.trustd/3.0", Header: map[string][]string{"Accept": {"*/*"}, "Accept-Language": {"en-US,en;q=0.9"}}},
		// OCSPResponse{responseStatus: tryLater}: a real, minimal DER answer.
		pcapgen.HTTPResponse{Header: map[string][]string{"Content-Type": {"application/ocsp-response"}, "Cache-Control": {"no-cache"}},
			Body: []byte{0x30, 0x03, 0x0a, 0x01, 0x03}})
	o.note(t, d, "macOS start-up: NTP, OCSP GET to ocsp.digicert.com (answered tryLater)")
	for _, at := range []time.Duration{24 * time.Minute, 58 * time.Minute, 121 * time.Minute} {
		o.https(day.Add(at+time.Duration(o.rng.IntN(60))*time.Second), d, "gateway.icloud.com", "/ckdatabase/api/client/subscription/retrieve", 4000)
	}
	o.note(day.Add(24*time.Minute), d, "HTTPS to gateway.icloud.com (TLS 1.2) three times")
	for t := day.Add(26 * time.Minute); t.Before(end.Add(-10 * time.Minute)); t = t.Add(o.jitter(23*time.Minute, 0.4)) {
		o.https(t, d, "slack.com", "/api/client.counts", 7000)
		o.https(t.Add(o.jitter(3*time.Minute, 0.5)), d, "www.google.com", "/search?q=slack+huddle+audio", 14000)
	}
	o.note(day.Add(26*time.Minute), d, "HTTPS to slack.com and www.google.com every ~23 min")
	o.beacon(d)
	o.selfSigned(d)
}

// beacon writes the scripted check-ins: a fresh curl connection with one
// POST every 60 s ±10 %, the Host header being the bare IP.
func (o *office) beacon(d *device) {
	h := o.remote(c2IP, 49)
	n := 0
	first := day.Add(beaconStart)
	var last time.Time
	for t := first; t.Before(end); t = t.Add(o.jitter(60*time.Second, 0.1)) {
		n++
		body := fmt.Sprintf(`{"id":"c7b1f0e2","host":"%s","seq":%d,"status":"idle"}`, d.name, n)
		req := fmt.Sprintf("POST /api/daemon HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: curl/8.7.1\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			c2IP, c2Port, len(body), body)
		reply := `{"cmd":"sleep","interval":60}`
		if n%17 == 0 {
			reply = `{"cmd":"collect","path":"~/Documents","interval":60}`
		}
		resp := fmt.Sprintf("HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6 Python/3.12.2\r\nDate: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			t.Format(time.RFC1123), len(reply), reply)
		s := o.session(t, d, h.At(c2Port), 41*time.Millisecond)
		s.Handshake()
		s.Exchange([]byte(req), 2*time.Millisecond, []byte(resp))
		s.CloseBy(false)
		last = t
	}
	o.note(first, d, "first of %d HTTP POSTs to http://%s:%d/api/daemon, User-Agent curl/8.7.1, every 60 s ±10 %%, last at %s",
		n, c2IP, c2Port, last.Format("15:04:05"))
}

// selfSigned writes TLS 1.2 connections to a rare IP without SNI, whose
// server presents a self-signed certificate.
func (o *office) selfSigned(d *device) {
	cert, err := pcapgen.SelfSigned([]string{"localhost"}, day.AddDate(0, 0, -4))
	o.fail(err)
	h := o.remote(tlsRareIP, 47)
	for _, at := range []time.Duration{107*time.Minute + 13*time.Second, 139*time.Minute + 2*time.Second, 172*time.Minute + 40*time.Second} {
		t := day.Add(at)
		tr, err := pcapgen.RecordTLS(pcapgen.TLSOptions{Version: tls.VersionTLS12, Cert: cert, Time: t, Seed: fmt.Sprint("rare ", at),
			Request: o.filler(1800 + o.rng.IntN(600)), Response: o.filler(900 + o.rng.IntN(3000))})
		if err != nil {
			o.fail(err)
			return
		}
		s := o.session(t, d, h.At(443), 63*time.Millisecond)
		s.Handshake()
		s.Replay(tr, 30*time.Millisecond)
		s.Close()
		o.note(t, d, "TLS 1.2 to %s:443, no SNI, self-signed certificate CN=localhost", tlsRareIP)
	}
}

func (o *office) dan() {
	d := o.by["Dans-MacBook-Air"]
	t := day.Add(d.dhcpAt + 2*time.Second)
	o.ntp(t, d, "time.apple.com")
	o.note(t, d, "NTP to time.apple.com")
	for t := day.Add(38 * time.Minute); t.Before(end.Add(-10 * time.Minute)); t = t.Add(o.jitter(29*time.Minute, 0.4)) {
		o.https(t, d, "www.google.com", "/search?q=conference+room+booking", 14000)
		o.https(t.Add(o.jitter(4*time.Minute, 0.5)), d, "chatgpt.com", "/backend-api/conversation", 9000)
	}
	o.note(day.Add(38*time.Minute), d, "HTTPS to www.google.com and chatgpt.com every ~29 min")
	// The NAS's web interface: internal, self-signed, TLS 1.3 on port 5001.
	t = day.Add(88*time.Minute + 30*time.Second)
	t = o.lookup(t, d, "nas01."+domain)
	nasCert, err := pcapgen.SelfSigned([]string{"nas01." + domain}, day.AddDate(-1, 2, 0))
	o.fail(err)
	req := pcapgen.HTTPRequest{Target: "/webapi/entry.cgi?api=SYNO.Core.System&method=info", Host: "nas01." + domain + ":5001", UserAgent: d.ua}.Bytes()
	resp := pcapgen.HTTPResponse{Header: map[string][]string{"Content-Type": {"application/json"}}, Body: o.filler(2400)}.Bytes()
	tr, err := pcapgen.RecordTLS(pcapgen.TLSOptions{ServerName: "nas01." + domain, ALPN: []string{"h2", "http/1.1"}, ServerALPN: []string{"http/1.1"},
		Cert: nasCert, Time: t, Seed: "nas", Request: req, Response: resp})
	o.fail(err)
	s := o.session(t, d, o.by["nas01"].host.At(5001), 400*time.Microsecond)
	s.Handshake()
	s.Replay(tr, 8*time.Millisecond)
	s.Wait(5 * time.Second)
	s.Close()
	o.note(t, d, "HTTPS to nas01:5001 (internal, self-signed certificate)")
	// A service on the NAS that is not running: the connection is refused.
	s = o.session(t.Add(20*time.Second), d, o.by["nas01"].host.At(8080), 400*time.Microsecond)
	s.Rejected()
	o.note(t.Add(20*time.Second), d, "connection to nas01:8080 refused (RST)")
	o.printJob(day.Add(126*time.Minute+5*time.Second), d, "boarding-pass.pdf", 1)
}

func (o *office) frank() {
	d := o.by["LT-FRANK"]
	t := o.windowsStart(day.Add(d.dhcpAt+time.Second), d)
	o.officeWork(d, t.Add(30*time.Second))
	o.note(t.Add(30*time.Second), d, "HTTPS to outlook.office365.com and teams.microsoft.com every ~17 min until 10:55")
}

func (o *office) erin() {
	d := o.by["erin-dev"]
	t := day.Add(d.dhcpAt + 2*time.Second)
	o.ntp(t, d, "ntp.ubuntu.com")
	t = o.http(t.Add(4*time.Second), d, "archive.ubuntu.com",
		pcapgen.HTTPRequest{Target: "/ubuntu/dists/noble-updates/InRelease", Host: "archive.ubuntu.com", UserAgent: "Debian APT-HTTP/1.3 (2.7.14)",
			Header: map[string][]string{"Cache-Control": {"max-age=0"}, "If-Modified-Since": {"Tue, 11 Mar 2025 06:12:44 GMT"}}},
		pcapgen.HTTPResponse{Status: 304, Header: map[string][]string{"Date": {t.Format(time.RFC1123)}}})
	o.note(t, d, "NTP, apt update check to archive.ubuntu.com (HTTP 304)")
	for _, at := range []time.Duration{31 * time.Minute, 77 * time.Minute, 143 * time.Minute} {
		t = o.https(day.Add(at), d, "github.com", "/vigil-ndr/vigil/pulls", 22000)
		o.https(t.Add(time.Second), d, "objects.githubusercontent.com", "/github-production-release-asset/release.tar.gz", 40000)
	}
	o.note(day.Add(31*time.Minute), d, "HTTPS to github.com and objects.githubusercontent.com at 08:31, 09:17 and 10:23")
	o.lookup(day.Add(74*time.Minute+50*time.Second), d, "gihtub.com")
	// An SSH attempt to a build box that refuses it.
	s := o.session(day.Add(122*time.Minute+9*time.Second), d, o.remote("192.0.2.80", 55).At(22), 28*time.Millisecond)
	s.Rejected()
	o.note(day.Add(122*time.Minute+9*time.Second), d, "SSH to 192.0.2.80:22 refused (RST)")
}
