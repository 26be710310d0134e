package sim

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/tlsx"
	"github.com/vigil-ndr/vigil/internal/sim/wire"
)

// Events renders s as the events Vigil's pcap sensor would produce for it:
// the application events (DNS, HTTP requests, TLS with its certificates,
// DHCP) and then the connection summary, all sharing one uid derived as
// the sensor derives it (first packet time and 5-tuple), so that a pcap
// rendering of the same session gets the same uid.
func Events(s *Session, emit func(event.Event) error) error {
	id := event.ConnID{OrigH: s.Client.IP, OrigP: s.Client.Port, RespH: s.Server.IP, RespP: s.Server.Port}
	uid := event.ConnUID(s.Start, ipProto(s.Proto), id)
	meta := event.Meta{TS: s.Start, UID: uid, ID: id}
	established := s.State == event.StateSF || s.State == event.StateRSTO || s.State == event.StateRSTR
	service := ""
	if established || s.Proto == event.ProtoUDP {
		switch {
		case s.DNS != nil:
			service = "dns"
			if err := emit(dnsEvent(meta, s, uid)); err != nil {
				return err
			}
		case s.DHCP != nil:
			service = "dhcp"
			if err := emit(dhcpEvent(meta, s)); err != nil {
				return err
			}
		case s.TLS != nil && established:
			service = "ssl"
			if err := tlsEvents(meta, s, emit); err != nil {
				return err
			}
		case len(s.HTTP) > 0 && established:
			service = "http"
			for i := range s.HTTP {
				if err := emit(httpEvent(meta, s, i)); err != nil {
					return err
				}
			}
		}
	}
	return emit(connEvent(meta, s, service))
}

// ipProto is the IP protocol number of p.
func ipProto(p event.Proto) uint8 {
	switch p {
	case event.ProtoTCP:
		return 6
	case event.ProtoUDP:
		return 17
	case event.ProtoICMP:
		return 1
	}
	return 0
}

// TCP/IP overheads for the packet estimates: 20 bytes of IPv4, 32 of TCP
// with timestamps (40 on SYNs, with MSS, SACK and window scale).
const (
	mss      = 1460
	tcpHdr   = 20 + 32
	synHdr   = 20 + 40
	udpHdr   = 20 + 8
	udpChunk = 1200 // media and bulk UDP payload per datagram
)

func segs(n int64) int64 { return (n + mss - 1) / mss }

// connEvent summarises s as Zeek's conn.log would.
func connEvent(meta event.Meta, s *Session, service string) *event.Conn {
	c := &event.Conn{Meta: meta, Proto: s.Proto, Service: service, Duration: s.Duration, ConnState: s.State,
		OrigL2Addr: s.Client.MAC, RespL2Addr: s.Server.MAC}
	up, down := s.BytesUp, s.BytesDown
	switch s.Proto {
	case event.ProtoTCP:
		switch s.State {
		case event.StateS0:
			n := int64(1)
			if s.Duration >= time.Second {
				n = 2 // one retransmission within the duration
			}
			if s.Duration >= 3*time.Second {
				n = 3
			}
			c.History, c.OrigPkts, c.OrigIPBytes = "S", n, n*synHdr
		case event.StateREJ:
			c.History = "Sr"
			c.OrigPkts, c.OrigIPBytes = 1, synHdr
			c.RespPkts, c.RespIPBytes = 1, 40
		default:
			c.OrigBytes, c.RespBytes = up, down
			od, rd := segs(up), segs(down)
			var h strings.Builder
			h.WriteString("ShA")
			if up > 0 {
				h.WriteByte('D')
			}
			if up > 0 && down > 0 {
				h.WriteString("ad")
			} else if down > 0 {
				h.WriteByte('d')
			}
			// Pure ACKs: delayed ACK, one per two segments of the other side.
			oAck, rAck := (rd+1)/2, (od+1)/2
			switch s.State {
			case event.StateRSTO:
				h.WriteByte('R')
				c.OrigPkts = 2 + od + oAck + 1
				c.RespPkts = 1 + rd + rAck
			case event.StateRSTR:
				h.WriteByte('r')
				c.OrigPkts = 2 + od + oAck
				c.RespPkts = 1 + rd + rAck + 1
			default:
				h.WriteString("Ff")
				c.OrigPkts = 2 + od + oAck + 1 + 1 // SYN, ACK, data, ACKs, FIN, last ACK
				c.RespPkts = 1 + rd + rAck + 1     // SYN-ACK, data, ACKs, FIN
			}
			c.History = h.String()
			c.OrigIPBytes = synHdr + (c.OrigPkts-1)*tcpHdr + up
			c.RespIPBytes = synHdr + (c.RespPkts-1)*tcpHdr + down
		}
	case event.ProtoUDP:
		c.OrigBytes = up
		c.OrigPkts = max(1, (up+udpChunk-1)/udpChunk)
		if s.DHCP != nil {
			c.OrigPkts = 2 // DISCOVER, REQUEST
		}
		c.OrigIPBytes = c.OrigPkts*udpHdr + up
		c.History = "D"
		if s.State != event.StateS0 && !(s.DNS != nil && s.DNS.NoReply) {
			c.RespBytes = down
			c.RespPkts = max(1, (down+udpChunk-1)/udpChunk)
			if s.DHCP != nil {
				c.RespPkts = 2 // OFFER, ACK
			}
			c.RespIPBytes = c.RespPkts*udpHdr + down
			c.History = "Dd"
		}
	}
	return c
}

var qtypeNames = map[uint16]string{1: "A", 2: "NS", 5: "CNAME", 10: "NULL", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV"}

var rcodeNames = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}

func dnsEvent(meta event.Meta, s *Session, uid string) *event.DNS {
	d := s.DNS
	ev := &event.DNS{Meta: meta, Proto: s.Proto, TransID: uint16(uid[1])<<8 | uint16(uid[17]), Query: d.Name,
		QClass: 1, QType: d.QType, QTypeName: qtypeNames[d.QType], RD: true}
	if ev.QTypeName == "" {
		ev.QTypeName = fmt.Sprintf("TYPE%d", d.QType)
	}
	if d.NoReply || s.State == event.StateS0 {
		return ev
	}
	ev.HasReply, ev.RA, ev.RTT, ev.RCode = true, true, s.Duration, d.RCode
	if int(d.RCode) < len(rcodeNames) {
		ev.RCodeName = rcodeNames[d.RCode]
	}
	if len(d.Answers) > 0 {
		ev.Answers = slices.Clone(d.Answers)
		ev.TTLs = make([]time.Duration, len(d.Answers))
		for i := range ev.TTLs {
			ev.TTLs[i] = d.TTL
		}
	}
	return ev
}

func dhcpEvent(meta event.Meta, s *Session) *event.DHCP {
	d := s.DHCP
	return &event.DHCP{Meta: meta, UIDs: []string{meta.UID}, ServerAddr: dhcpServerAddr(s), MAC: d.MAC, HostName: d.Hostname,
		Domain: Domain, RequestedAddr: d.Assigned, AssignedAddr: d.Assigned, LeaseTime: d.Lease,
		MsgTypes: []string{"DISCOVER", "OFFER", "REQUEST", "ACK"}, Duration: s.Duration}
}

// dhcpServerAddr is the server identifier: the DHCP server's own address
// is not in the broadcast session, so it is carried by convention in the
// organisation's plan (the first domain controller).
func dhcpServerAddr(s *Session) netip.Addr {
	if s.Server.IP.IsPrivate() {
		return s.Server.IP
	}
	return addrIn(SubnetServers, roleBase[RoleDC])
}

func httpEvent(meta event.Meta, s *Session, i int) *event.HTTP {
	r := s.HTTP[i]
	ev := &event.HTTP{Meta: meta, TransDepth: i + 1, Method: r.Method, Host: r.Host, URI: r.URI, Version: "1.1",
		UserAgent: r.UserAgent, RequestBodyLen: r.ReqBody, ResponseBodyLen: r.RespBody, StatusCode: r.Status,
		StatusMsg: strings.ToUpper(http.StatusText(r.Status)), ReqContentType: r.ReqContentType, RespContentType: r.RespContentType}
	return ev
}

// tlsFacts are what the handshake of one (profile, SNI present, ALPN,
// version) shows: computed once from the wire package's real bytes.
type tlsFacts struct {
	ja3, ja4, ja3s   string
	version, cipher  string
	curve, nextProto string
}

// certFacts are one certificate chain as the sensor reports it.
type certFacts struct {
	x509s   []*event.X509 // templates: Meta is filled per session
	fps     []string
	leaf    *x509.Certificate
	subject string
	issuer  string
}

type tlsKey struct {
	client                 string
	sni                    bool
	version                uint16
	nALPN                  int
	alpn0, alpn1, alpnRest string
}

type certKey struct {
	self        bool
	notBefore   int64
	n           int
	name0, rest string
}

var (
	factsMu   sync.Mutex
	tlsCache  = map[tlsKey]*tlsFacts{}
	certCache = map[certKey]*certFacts{}
)

// isAddr reports whether s is an IP address (cheaply: no error values).
func isAddr(s string) bool {
	if s == "" {
		return false
	}
	if strings.IndexByte(s, ':') >= 0 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func tlsEvents(meta event.Meta, s *Session, emit func(event.Event) error) error {
	t := s.TLS
	f := handshakeFacts(t)
	ev := &event.TLS{Meta: meta, Version: f.version, Cipher: f.cipher, Curve: f.curve, ServerName: t.SNI,
		Established: s.State == event.StateSF, ALPN: t.ALPN, NextProtocol: f.nextProto, JA3: f.ja3, JA3S: f.ja3s, JA4: f.ja4}
	if isAddr(t.SNI) {
		ev.ServerName = "" // clients send no SNI for an address
	}
	if len(ev.ALPN) == 0 {
		ev.NextProtocol = ""
	}
	if f.version != "TLSv12" {
		ev.CertsEncrypted = true
		return emit(ev)
	}
	c := chainFacts(t, s.Start)
	if c == nil {
		return emit(ev)
	}
	for _, x := range c.x509s {
		cp := *x
		cp.Meta = meta
		cp.SANDNS, cp.SANIP = slices.Clone(x.SANDNS), slices.Clone(x.SANIP)
		if err := emit(&cp); err != nil {
			return err
		}
	}
	ev.CertChainFps = slices.Clone(c.fps)
	ev.Subject, ev.Issuer = c.subject, c.issuer
	ev.NotBefore, ev.NotAfter = c.leaf.NotBefore.UTC(), c.leaf.NotAfter.UTC()
	ev.SelfSigned = t.SelfSigned
	if ev.ServerName != "" {
		m := c.leaf.VerifyHostname(ev.ServerName) == nil
		ev.SNIMatchesCert = &m
	}
	return emit(ev)
}

// handshakeFacts renders the handshake's first flights with package wire
// and reads them back with the sensor's own parser, once per key.
func handshakeFacts(t *TLS) *tlsFacts {
	key := tlsKey{client: t.Client, sni: t.SNI != "" && !isAddr(t.SNI), version: t.Version, nALPN: len(t.ALPN)}
	hasSNI := key.sni
	if len(t.ALPN) > 0 {
		key.alpn0 = t.ALPN[0]
	}
	if len(t.ALPN) > 1 {
		key.alpn1 = t.ALPN[1]
	}
	if len(t.ALPN) > 2 {
		key.alpnRest = strings.Join(t.ALPN[2:], ",")
	}
	factsMu.Lock()
	defer factsMu.Unlock()
	if f := tlsCache[key]; f != nil {
		return f
	}
	sni := ""
	if hasSNI {
		sni = "example.com"
	}
	alpn := t.ALPN
	if alpn == nil {
		alpn = []string{} // Session.TLS.ALPN nil means none offered
	}
	f := &tlsFacts{version: tlsx.VersionName(t.Version)}
	fl, err := wire.TLSHandshake(wire.TLSConfig{Profile: t.Client, SNI: sni, ALPN: alpn, Version: t.Version, CertNames: []string{"example.com"}, Time: DefaultStart})
	if err == nil {
		if body := firstHandshake(fl.ClientHello, 1); body != nil {
			if ch, err := tlsx.ParseClientHello(body); err == nil {
				f.ja3, f.ja4 = ch.JA3(), ch.JA4(tlsx.TransportTCP)
			}
		}
		if body := firstHandshake(fl.Server1, 2); body != nil {
			if sh, err := tlsx.ParseServerHello(body); err == nil {
				f.version = tlsx.VersionName(sh.Negotiated())
				f.cipher = tlsx.CipherName(sh.Cipher)
				f.ja3s = sh.JA3S()
				f.nextProto = sh.ALPN
				if sh.KeyShareGroup != 0 {
					f.curve = tlsx.CurveName(sh.KeyShareGroup)
				}
			}
		}
		if f.curve == "" {
			if body := firstHandshake(fl.Server1, 12); len(body) >= 3 && body[0] == 3 {
				f.curve = tlsx.CurveName(uint16(body[1])<<8 | uint16(body[2]))
			}
		}
	}
	tlsCache[key] = f
	return f
}

// firstHandshake returns the body of the first handshake message of type
// typ in a run of plaintext TLS records (nil when absent).
func firstHandshake(recs []byte, typ byte) []byte {
	var hs []byte
	for len(recs) >= 5 {
		n := int(recs[3])<<8 | int(recs[4])
		if len(recs) < 5+n {
			break
		}
		if recs[0] == 22 {
			hs = append(hs, recs[5:5+n]...)
		}
		recs = recs[5+n:]
	}
	for len(hs) >= 4 {
		n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
		if len(hs) < 4+n {
			break
		}
		if hs[0] == typ {
			return hs[4 : 4+n]
		}
		hs = hs[4+n:]
	}
	return nil
}

// certNotBefore is package wire's certificate validity window start for
// names at t (CA-issued ones renew every 60 days, self-signed yearly, each
// name set with its own phase): the cache key under which the chain, and
// so its fingerprints, stays the same.
func certNotBefore(names []string, selfSigned bool, t time.Time) time.Time {
	h := fnv.New64a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	period := 60 * 24 * time.Hour
	if selfSigned {
		period = 365 * 24 * time.Hour
	}
	phase := time.Duration(h.Sum64()%uint64(period/time.Hour)) * time.Hour
	return t.Add(-phase).Truncate(period).Add(phase).UTC()
}

// chainFacts returns the certificate chain package wire puts on the wire
// for t's names at start, with the X509 events the sensor would log.
func chainFacts(t *TLS, start time.Time) *certFacts {
	names := t.CertNames
	if len(names) == 0 {
		names = []string{t.SNI}
		if t.SNI == "" {
			names = []string{"localhost"}
		}
	}
	nb := certNotBefore(names, t.SelfSigned, start)
	key := certKey{self: t.SelfSigned, notBefore: nb.Unix(), n: len(names), name0: names[0]}
	if len(names) > 1 {
		key.rest = strings.Join(names[1:], "\x00")
	}
	factsMu.Lock()
	defer factsMu.Unlock()
	if c, ok := certCache[key]; ok {
		return c
	}
	fl, err := wire.TLSHandshake(wire.TLSConfig{Profile: "curl", SNI: t.SNI, Version: 0x0303, CertNames: names, SelfSigned: t.SelfSigned, Time: start})
	var c *certFacts
	if body := firstHandshake(fl.Server1, 11); err == nil && len(body) >= 3 {
		c = &certFacts{}
		list := body[3:]
		for len(list) >= 3 {
			n := int(list[0])<<16 | int(list[1])<<8 | int(list[2])
			if len(list) < 3+n {
				break
			}
			der := list[3 : 3+n]
			list = list[3+n:]
			sum := sha256.Sum256(der)
			fp := hex.EncodeToString(sum[:])
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				continue
			}
			c.fps = append(c.fps, fp)
			c.x509s = append(c.x509s, x509Event(fp, cert))
			if c.leaf == nil {
				c.leaf = cert
				c.subject, c.issuer = cert.Subject.String(), cert.Issuer.String()
			}
		}
		if c.leaf == nil {
			c = nil
		}
	}
	if len(certCache) > 4096 {
		clear(certCache)
	}
	certCache[key] = c
	return c
}

// x509Event describes cert as the sensor's x509 record does.
func x509Event(fp string, c *x509.Certificate) *event.X509 {
	ev := &event.X509{Fingerprint: fp, Version: c.Version, Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), HostCert: true,
		SANDNS: c.DNSNames, BasicCA: c.BasicConstraintsValid && c.IsCA}
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	ev.Serial = s
	for _, ip := range c.IPAddresses {
		ev.SANIP = append(ev.SANIP, ip.String())
	}
	switch c.PublicKeyAlgorithm {
	case x509.ECDSA:
		ev.KeyAlg, ev.KeyType, ev.KeyLength = "id-ecPublicKey", "ecdsa", 256
	case x509.RSA:
		ev.KeyAlg, ev.KeyType, ev.KeyLength = "rsaEncryption", "rsa", 2048
	}
	if c.SignatureAlgorithm == x509.ECDSAWithSHA256 {
		ev.SigAlg = "ecdsa-with-SHA256"
	}
	ev.SelfSigned = string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
	return ev
}
