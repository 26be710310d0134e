package wire

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// TLSConfig describes one simulated TLS connection.
type TLSConfig struct {
	// Profile, SNI and ALPN are ClientHello's arguments.
	Profile, SNI string
	ALPN         []string
	// Version is the negotiated version: 0x0303 (TLS 1.2) or 0x0304
	// (1.3; also for 0). A TLS 1.2-only profile always gets 1.2.
	Version uint16
	// CertNames and SelfSigned describe the server certificate, which is
	// only visible on the wire in TLS 1.2. With no names, the SNI (or
	// "localhost") is used.
	CertNames  []string
	SelfSigned bool
	// Time is when the connection starts (certificate validity).
	Time time.Time
	Seed uint64
}

// NegotiatedVersion returns the version a connection of profile ends up
// with when the session asks for want: TLS 1.2-only clients (SChannel as
// .NET Framework uses it) never negotiate 1.3. Renderers that skip the
// bytes (events, Zeek logs) use it to agree with the pcap.
func NegotiatedVersion(profile string, want uint16) uint16 {
	p, _ := lookup(profile)
	if p.tls12Only || want == 0x0303 {
		return 0x0303
	}
	return 0x0304
}

// TLSFlights are a full handshake's bytes in the order they are sent:
// the client's hello, the server's first flight, the client's second
// flight (key exchange or CCS, Finished) and the server's last (tickets;
// CCS and Finished in TLS 1.2). Each is whole TLS records.
type TLSFlights struct {
	ClientHello, Server1, Client2, Server2 []byte
	// Version, Cipher and ALPN are what the server chose.
	Version, Cipher uint16
	ALPN            string
}

// Client returns how many bytes the client sends in the handshake.
func (f TLSFlights) Client() int { return len(f.ClientHello) + len(f.Client2) }

// Server returns how many bytes the server sends in the handshake.
func (f TLSFlights) Server() int { return len(f.Server1) + len(f.Server2) }

// TLSHandshake renders the handshake of c. Records after the ServerHello
// in TLS 1.3 (and the Finished messages in 1.2) are encrypted on the real
// wire, so here they are opaque random bytes of the real messages' sizes.
func TLSHandshake(c TLSConfig) (TLSFlights, error) {
	p, name := lookup(c.Profile)
	r := newRNG(c.Seed, "tls "+name)
	alpn := c.ALPN
	if alpn == nil {
		alpn = p.alpn
	}
	f := TLSFlights{ClientHello: ClientHello(c.Profile, c.SNI, c.ALPN, c.Seed), Version: NegotiatedVersion(c.Profile, c.Version)}
	if len(alpn) > 0 {
		f.ALPN = alpn[0]
	}
	sid := sessionID(f.ClientHello)
	if f.Version == 0x0304 {
		f.Cipher = pick(p.ciphers, 0x1301, 0x1302, 0x1303)
		group := groupX25519
		if slices.Contains(p.keyShares, groupX25519MLKEM768) {
			group = groupX25519MLKEM768
		} else if !slices.Contains(p.keyShares, groupX25519) && len(p.keyShares) > 0 {
			group = int(p.keyShares[len(p.keyShares)-1])
		}
		f.Server1 = serverHello13(r, sid, f.Cipher, uint16(group))
		f.Server1 = append(f.Server1, ccs...)
		// EncryptedExtensions, Certificate, CertificateVerify, Finished.
		ee := 6 + 17
		if f.ALPN != "" {
			ee += 7 + len(f.ALPN)
		}
		f.Server1 = appendOpaque(f.Server1, r, ee)
		f.Server1 = appendOpaque(f.Server1, r, 2400+r.intn(2200))
		f.Server1 = appendOpaque(f.Server1, r, 4+2+2+71+r.intn(2)+17)
		f.Server1 = appendOpaque(f.Server1, r, 4+32+17)
		f.Client2 = append(slices.Clone(ccs), appendOpaque(nil, r, 4+32+17)...)
		// Two NewSessionTickets, as most servers send.
		f.Server2 = appendOpaque(nil, r, 230+r.intn(40))
		f.Server2 = appendOpaque(f.Server2, r, 230+r.intn(40))
		return f, nil
	}
	f.Cipher = pick(p.ciphers, 0xc02b, 0xc02c, 0xcca9, 0xc009, 0xc00a, 0xc02f, 0xc030)
	cert, err := certificate(c)
	if err != nil {
		return TLSFlights{}, err
	}
	group := uint16(groupX25519)
	if !slices.Contains(p.groups, groupX25519) {
		group = groupSecp256r1
	}
	ticket := slices.Contains(p.exts, extSessionTicket)
	f.Server1 = serverHello12(r, f.Cipher, f.ALPN, slices.Contains(p.exts, extEMS), ticket)
	f.Server1 = appendHandshake(f.Server1, 11, certificateMsg(cert.Certificate))
	f.Server1 = appendHandshake(f.Server1, 12, serverKeyExchange(r, group))
	f.Server1 = appendHandshake(f.Server1, 14, nil)
	keyLen := 32
	if group == groupSecp256r1 {
		keyLen = 65
	}
	cke := make([]byte, 1+keyLen)
	cke[0] = byte(keyLen)
	r.fill(cke[1:])
	if keyLen == 65 {
		cke[1] = 4
	}
	f.Client2 = appendHandshake(nil, 16, cke)
	f.Client2 = append(f.Client2, ccs...)
	f.Client2 = appendOpaqueHS(f.Client2, r, 40) // Finished: nonce, 16 bytes, tag
	if ticket {
		t := make([]byte, 4+2+192)
		binary.BigEndian.PutUint32(t, 7200)
		binary.BigEndian.PutUint16(t[4:], 192)
		r.fill(t[6:])
		f.Server2 = appendHandshake(f.Server2, 4, t)
	}
	f.Server2 = append(f.Server2, ccs...)
	f.Server2 = appendOpaqueHS(f.Server2, r, 40)
	return f, nil
}

// ccs is a ChangeCipherSpec record.
var ccs = []byte{20, 3, 3, 0, 1, 1}

// pick returns the first of prefs the client offers, else the client's
// first non-GREASE suite.
func pick(offered []uint16, prefs ...uint16) uint16 {
	for _, p := range prefs {
		if slices.Contains(offered, p) {
			return p
		}
	}
	for _, c := range offered {
		if c != grease {
			return c
		}
	}
	return prefs[0]
}

// sessionID returns the legacy_session_id of a ClientHello record, which
// a TLS 1.3 server echoes.
func sessionID(hello []byte) []byte {
	const off = 5 + 4 + 2 + 32
	if len(hello) <= off || len(hello) < off+1+int(hello[off]) {
		return nil
	}
	return hello[off+1 : off+1+int(hello[off])]
}

func serverHello13(r *rng, sid []byte, cipher, group uint16) []byte {
	b := &builder{}
	b.u16(0x0303)
	rnd := make([]byte, 32)
	r.fill(rnd)
	b.bytes(rnd)
	b.u8(uint8(len(sid)))
	b.bytes(sid)
	b.u16(cipher)
	b.u8(0)
	exts := b.open(2)
	b.u16(extSupportedVers)
	b.u16(2)
	b.u16(0x0304)
	b.u16(extKeyShare)
	n := 32
	switch group {
	case groupX25519MLKEM768:
		n = 1088 + 32
	case groupSecp256r1:
		n = 65
	case groupSecp384r1:
		n = 97
	}
	b.u16(uint16(4 + n))
	b.u16(group)
	b.u16(uint16(n))
	k := make([]byte, n)
	r.fill(k)
	b.bytes(k)
	b.close(exts, 2)
	return appendHandshake(nil, 2, b.b)
}

func serverHello12(r *rng, cipher uint16, alpn string, ems, ticket bool) []byte {
	b := &builder{}
	b.u16(0x0303)
	rnd := make([]byte, 64)
	r.fill(rnd)
	b.bytes(rnd[:32])
	b.u8(32)
	b.bytes(rnd[32:])
	b.u16(cipher)
	b.u8(0)
	exts := b.open(2)
	b.bytes([]byte{0xff, 0x01, 0, 1, 0}) // renegotiation_info
	if ems {
		b.bytes([]byte{0, 23, 0, 0})
	}
	b.bytes([]byte{0, 11, 0, 2, 1, 0}) // ec_point_formats: uncompressed
	if ticket {
		b.bytes([]byte{0, 35, 0, 0})
	}
	if alpn != "" {
		b.u16(extALPN)
		b.u16(uint16(3 + len(alpn)))
		b.u16(uint16(1 + len(alpn)))
		b.u8(uint8(len(alpn)))
		b.bytes([]byte(alpn))
	}
	b.close(exts, 2)
	return appendHandshake(nil, 2, b.b)
}

func certificateMsg(chain [][]byte) []byte {
	n := 0
	for _, c := range chain {
		n += 3 + len(c)
	}
	b := make([]byte, 0, 3+n)
	b = append(b, byte(n>>16), byte(n>>8), byte(n))
	for _, c := range chain {
		b = append(b, byte(len(c)>>16), byte(len(c)>>8), byte(len(c)))
		b = append(b, c...)
	}
	return b
}

// serverKeyExchange is an ECDHE key exchange signed with ECDSA-SHA256;
// the signature is a well-formed DER (r, s) pair of random integers.
func serverKeyExchange(r *rng, group uint16) []byte {
	b := &builder{}
	b.u8(3) // named_curve
	b.u16(group)
	n := 32
	if group == groupSecp256r1 {
		n = 65
	}
	b.u8(uint8(n))
	k := make([]byte, n)
	r.fill(k)
	if n == 65 {
		k[0] = 4
	}
	b.bytes(k)
	b.u16(0x0403)
	ints := make([]byte, 64)
	r.fill(ints)
	sig := []byte{0x30, 0}
	for i := range 2 {
		v := ints[32*i : 32*i+32]
		v[0] &= 0x7f // positive without a leading zero byte
		sig = append(sig, 2, 32)
		sig = append(sig, v...)
	}
	sig[1] = byte(len(sig) - 2)
	b.u16(uint16(len(sig)))
	b.bytes(sig)
	return b.b
}

// appendHandshake appends one handshake message in its own record.
func appendHandshake(dst []byte, typ uint8, body []byte) []byte {
	dst = append(dst, 22, 3, 3, byte((len(body)+4)>>8), byte(len(body)+4), typ,
		byte(len(body)>>16), byte(len(body)>>8), byte(len(body)))
	return append(dst, body...)
}

// appendOpaque appends an application_data record of n random bytes (a
// TLS 1.3 encrypted record).
func appendOpaque(dst []byte, r *rng, n int) []byte {
	dst = append(dst, 23, 3, 3, byte(n>>8), byte(n))
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	r.fill(dst[start:])
	return dst
}

// appendOpaqueHS appends an encrypted handshake record (a TLS 1.2
// Finished) of n random bytes.
func appendOpaqueHS(dst []byte, r *rng, n int) []byte {
	dst = appendOpaque(dst, r, n)
	dst[len(dst)-n-5] = 22
	return dst
}

// maxRecord is the largest encrypted record payload (2^14 plus AEAD
// overhead).
const maxRecord = 16384 + 17

// FullRecord is the size of a full application data record, header
// included: AppData of a multiple of it is that many full records, so a
// long stream can be rendered piecewise.
const FullRecord = 5 + maxRecord

// AppData appends application_data records of random bytes totalling
// exactly n bytes, headers included, in full-size records. n of 1 to 5
// cannot hold a record header, and 6 to 21 not a plausible one (an AEAD
// tag alone is 16 bytes): the caller should fold such small amounts into
// a handshake flight (see Grow). Below 6 the bytes are appended as they
// are, which a decoder sees as a truncated record.
func AppData(dst []byte, n int, seed uint64) []byte {
	r := newRNG(seed, "appdata")
	for n > 0 {
		if n < 6 {
			start := len(dst)
			dst = append(dst, make([]byte, n)...)
			r.fill(dst[start:])
			return dst
		}
		l := min(n-5, maxRecord)
		if rest := n - 5 - l; rest > 0 && rest < 22 {
			l -= 22 - rest // leave the last record room for a tag
		}
		dst = appendOpaque(dst, r, l)
		n -= 5 + l
	}
	return dst
}

// Grow lengthens the last record of a handshake flight by n bytes when
// it is encrypted (TLS 1.3 records, the TLS 1.2 Finished after a CCS),
// for byte totals that leave too little for an application data record
// of their own. Other flights get n filler bytes appended.
func Grow(flight []byte, n int) []byte {
	var offs []int
	for off := 0; off+5 <= len(flight); off += 5 + (int(flight[off+3])<<8 | int(flight[off+4])) {
		offs = append(offs, off)
	}
	if len(offs) == 0 {
		return append(flight, make([]byte, n)...)
	}
	last := offs[len(offs)-1]
	prevCCS := len(offs) > 1 && flight[offs[len(offs)-2]] == 20
	if !(flight[last] == 23 || flight[last] == 22 && prevCCS) {
		return append(flight, make([]byte, n)...)
	}
	l := int(flight[last+3])<<8 | int(flight[last+4]) + n
	out := append(slices.Clone(flight), make([]byte, n)...)
	for i := range n {
		out[len(flight)+i] = byte(l*31 + i*17) // filler: opaque anyway
	}
	out[last+3], out[last+4] = byte(l>>8), byte(l)
	return out
}

// certCache keeps certificates and CAs, which cost an ECDSA signature
// each, across connections to the same names.
var certCache = struct {
	sync.Mutex
	cas   map[string]*pcapgen.CA
	certs map[string]tls.Certificate
}{cas: map[string]*pcapgen.CA{}, certs: map[string]tls.Certificate{}}

// publicCAs are the issuers CA-signed certificates are drawn from.
var publicCAs = [][2]string{
	{"Let's Encrypt", "R11"},
	{"Google Trust Services", "WR2"},
	{"DigiCert Inc", "DigiCert Global G2 TLS RSA SHA256 2020 CA1"},
	{"Amazon", "Amazon RSA 2048 M02"},
	{"Microsoft Corporation", "Microsoft Azure RSA TLS Issuing CA 04"},
	{"Sectigo Limited", "Sectigo RSA Domain Validation Secure Server CA"},
}

// certificate returns the deterministic server certificate of c: the
// same names in the same validity window give the same certificate.
func certificate(c TLSConfig) (tls.Certificate, error) {
	names := c.CertNames
	if len(names) == 0 {
		names = []string{c.SNI}
		if c.SNI == "" {
			names = []string{"localhost"}
		}
	}
	h := fnv.New64a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	sum := h.Sum64()
	// CA-signed certificates renew every 60 days, self-signed ones yearly;
	// each name set has its own phase.
	period := 60 * 24 * time.Hour
	if c.SelfSigned {
		period = 365 * 24 * time.Hour
	}
	phase := time.Duration(sum%uint64(period/time.Hour)) * time.Hour
	t := c.Time
	if t.IsZero() {
		t = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	notBefore := t.Add(-phase).Truncate(period).Add(phase).UTC()
	key := fmt.Sprint(names, c.SelfSigned, notBefore.Unix())
	certCache.Lock()
	defer certCache.Unlock()
	if cert, ok := certCache.certs[key]; ok {
		return cert, nil
	}
	var cert tls.Certificate
	var err error
	if c.SelfSigned {
		cert, err = pcapgen.SelfSigned(names, notBefore)
	} else {
		org := publicCAs[sum%uint64(len(publicCAs))]
		ca, ok := certCache.cas[org[1]]
		if !ok {
			ca, err = pcapgen.NewCA(org[0], org[1], time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC))
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("ca %s: %w", org[1], err)
			}
			certCache.cas[org[1]] = ca
		}
		cert, err = ca.Issue(names, notBefore)
	}
	if err != nil {
		return tls.Certificate{}, err
	}
	if len(certCache.certs) >= 1024 { // bounded: a long simulation meets many names
		clear(certCache.certs)
	}
	certCache.certs[key] = cert
	return cert, nil
}
