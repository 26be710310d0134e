// Package tlsx reads the TLS (and SSLv2-compatible) handshake of a
// reassembled TCP connection and emits Zeek-style ssl and x509 records:
// one event.X509 per certificate seen (server chain leaf first, then the
// client's), then one event.TLS with the negotiated parameters and the
// JA3, JA3S and JA4 fingerprints. Only JA4 (BSD-3) of the JA4+ family is
// implemented.
//
// Handshake messages are reassembled across records and TCP segments.
// "Established" follows Zeek: a direction turns encrypted at its
// ChangeCipherSpec (TLS 1.2 and older) or, in TLS 1.3, the server at its
// ServerHello and the client at its first encrypted record; the handshake
// is established at the first encrypted record seen once both are.
package tlsx

import (
	"bytes"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// Limits that bound what one connection can make the analyzer hold.
const (
	// maxRecord is the largest record body TLS allows (2^14 + 2048).
	maxRecord = 1<<14 + 2048
	// MaxHandshake bounds one handshake message (certificate chains are
	// the largest).
	MaxHandshake = 256 << 10
	// maxCerts bounds the certificates kept from one chain.
	maxCerts = 16
)

// Record content types.
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
)

// Handshake message types.
const (
	hsClientHello       = 1
	hsServerHello       = 2
	hsCertificate       = 11
	hsServerKeyExchange = 12
)

// side is one direction's record and handshake reassembly state.
type side struct {
	buf       []byte // partial record carried between Feed calls
	hs        []byte // partial handshake message(s)
	sawRecord bool
	ccs       bool
	encrypted bool
	certs     []certInfo
}

// Analyzer parses one connection's TLS handshake. It implements
// stream.Analyzer.
type Analyzer struct {
	conn      stream.Conn
	emit      func(event.Event)
	transport byte
	side      [2]side
	ts        time.Time
	ch        *ClientHello
	sh        *ServerHello // the final ServerHello (or the HRR if no other came)
	sslv2     bool         // the client spoke an SSLv2-compatible hello
	tls13     bool
	curve     uint16
	resumed   bool
	estab     bool
	confirmed bool
	done      bool
	emitted   bool
}

var _ stream.Analyzer = (*Analyzer)(nil)

// New returns an analyzer for TLS over TCP on connection c that hands its
// events to emit.
func New(c stream.Conn, emit func(event.Event)) *Analyzer {
	return &Analyzer{conn: c, emit: emit, transport: TransportTCP}
}

// Sniff reports whether first, a connection's first payload, starts a TLS
// handshake record (0x16 0x03 0x00-0x04) or an SSLv2-compatible
// ClientHello.
func Sniff(first []byte) bool {
	if len(first) >= 3 && first[0] == recHandshake && first[1] == 3 && first[2] <= 4 {
		return true
	}
	// SSLv2 record: 2-byte header with the high bit set, CLIENT-HELLO (1),
	// then version 0x0002 or 0x03xx.
	return len(first) >= 5 && first[0]&0x80 != 0 && first[2] == 1 &&
		(first[3] == 0 && first[4] == 2 || first[3] == 3 && first[4] <= 4)
}

// Service returns "ssl" (Zeek's name) once a hello was parsed.
func (a *Analyzer) Service() string {
	if a.confirmed {
		return "ssl"
	}
	return ""
}

// Done reports that the handshake is over (or could not be followed).
func (a *Analyzer) Done() bool { return a.done }

// Feed parses data travelling in direction dir.
func (a *Analyzer) Feed(dir stream.Dir, ts time.Time, data []byte) {
	if a.done || dir > stream.FromResp || len(data) == 0 {
		return
	}
	if a.ts.IsZero() {
		a.ts = ts
	}
	s := &a.side[dir]
	if len(s.buf) == 0 {
		rest := a.records(dir, data)
		if !a.done && len(rest) > 0 {
			s.buf = append(s.buf, rest...)
		}
		return
	}
	s.buf = append(s.buf, data...)
	rest := a.records(dir, s.buf)
	if a.done {
		s.buf = nil
		return
	}
	s.buf = s.buf[:copy(s.buf, rest)]
}

// Gap gives up: records cannot be found again reliably after lost bytes.
// What is known is emitted at Close.
func (a *Analyzer) Gap(dir stream.Dir, n int) {
	if n > 0 {
		a.stop()
	}
}

// Close emits what the handshake showed, if it was not emitted already.
func (a *Analyzer) Close(ts time.Time) {
	a.stop()
	if !a.emitted && (a.ch != nil || a.sh != nil) {
		a.finish()
	}
	a.emitted = true
}

func (a *Analyzer) stop() {
	a.done = true
	for i := range a.side {
		a.side[i].buf = nil
		a.side[i].hs = nil
	}
}

// records parses the complete records at the start of b and returns the
// incomplete remainder.
func (a *Analyzer) records(dir stream.Dir, b []byte) []byte {
	s := &a.side[dir]
	for !a.done {
		if len(b) >= 2 && !s.sawRecord && b[0]&0x80 != 0 {
			n := int(b[0]&0x7f)<<8 | int(b[1])
			if len(b) < 2+n {
				return b
			}
			s.sawRecord = true
			a.sslv2Record(dir, b[2:2+n])
			b = b[2+n:]
			continue
		}
		if len(b) < 5 {
			return b
		}
		typ := b[0]
		n := int(b[3])<<8 | int(b[4])
		if typ < recChangeCipherSpec || typ > 26 || b[1] != 3 || n > maxRecord {
			a.stop() // not (or no longer) TLS
			return nil
		}
		if len(b) < 5+n {
			return b
		}
		s.sawRecord = true
		a.record(dir, typ, b[5:5+n])
		b = b[5+n:]
	}
	return nil
}

// sslv2Record reads an SSLv2 CLIENT-HELLO (the compatible form old
// clients send); any other SSLv2 message ends the analysis.
func (a *Analyzer) sslv2Record(dir stream.Dir, body []byte) {
	r := &reader{b: body}
	if dir != stream.FromOrig || r.u8() != 1 {
		a.stop()
		return
	}
	ch := &ClientHello{Version: r.u16()}
	specLen, sidLen, chalLen := int(r.u16()), int(r.u16()), int(r.u16())
	specs := r.bytes(specLen)
	r.bytes(sidLen)
	r.bytes(chalLen)
	if r.err != nil {
		a.stop()
		return
	}
	for i := 0; i+3 <= len(specs); i += 3 {
		if specs[i] == 0 { // TLS suites; the SSLv2-only kinds have no 16-bit code
			ch.Ciphers = append(ch.Ciphers, uint16(specs[i+1])<<8|uint16(specs[i+2]))
		}
	}
	if a.ch == nil {
		a.ch = ch
		a.sslv2 = true
	}
	a.confirmed = true
}

// record handles one TLS record.
func (a *Analyzer) record(dir stream.Dir, typ byte, body []byte) {
	s := &a.side[dir]
	switch {
	case typ == recChangeCipherSpec:
		if a.tls13 {
			// TLS 1.3 middlebox-compatibility CCS: only the client's marks
			// its switch to encrypted records.
			if dir == stream.FromOrig && a.sh != nil && !a.sh.Retry {
				s.encrypted = true
			}
			return
		}
		if dir == stream.FromResp && !a.side[stream.FromOrig].ccs && a.sh != nil {
			a.resumed = true // abbreviated handshake: the server finishes first
		}
		s.ccs = true
		s.encrypted = true
	case s.encrypted || typ == recApplicationData:
		if typ == recApplicationData && a.tls13 && dir == stream.FromOrig && a.sh != nil && !a.sh.Retry {
			s.encrypted = true
		}
		if a.side[0].encrypted && a.side[1].encrypted && !a.estab {
			a.estab = true
			a.finish()
			a.stop()
		}
	case typ == recHandshake:
		a.handshakeRecord(dir, body)
	case typ == recAlert:
		// Alerts in the clear end handshakes that fail; the event is
		// emitted at Close with Established false.
	}
}

// handshakeRecord reassembles handshake messages across records.
func (a *Analyzer) handshakeRecord(dir stream.Dir, body []byte) {
	s := &a.side[dir]
	b := body
	if len(s.hs) > 0 {
		s.hs = append(s.hs, body...)
		b = s.hs
	}
	for len(b) >= 4 && !a.done {
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n > MaxHandshake {
			a.stop()
			return
		}
		if len(b) < 4+n {
			break
		}
		a.handshake(dir, b[0], b[4:4+n])
		b = b[4+n:]
	}
	if a.done {
		return
	}
	if len(s.hs) > 0 {
		s.hs = s.hs[:copy(s.hs, b)]
	} else if len(b) > 0 {
		s.hs = append(s.hs, b...)
	}
}

// handshake handles one complete handshake message.
func (a *Analyzer) handshake(dir stream.Dir, typ byte, body []byte) {
	switch {
	case typ == hsClientHello && dir == stream.FromOrig:
		ch, err := ParseClientHello(body)
		if err != nil {
			a.stop()
			return
		}
		a.confirmed = true
		if a.ch == nil || a.sslv2 {
			// The first hello is the fingerprint; a second one answers
			// a HelloRetryRequest.
			a.ch, a.sslv2 = ch, false
		}
	case typ == hsServerHello && dir == stream.FromResp:
		sh, err := ParseServerHello(body)
		if err != nil {
			a.stop()
			return
		}
		a.confirmed = true
		if sh.Retry {
			a.tls13 = true
			if a.sh == nil {
				a.sh = sh
			}
			a.curve = sh.KeyShareGroup
			return
		}
		a.sh = sh
		if sh.Negotiated() == 0x0304 {
			a.tls13 = true
			a.side[stream.FromResp].encrypted = true
			if sh.KeyShareGroup != 0 {
				a.curve = sh.KeyShareGroup
			}
			a.resumed = sh.PSK
		} else if a.ch != nil && len(sh.SessionID) > 0 && bytes.Equal(sh.SessionID, a.ch.SessionID) {
			a.resumed = true
		}
	case typ == hsCertificate && !a.tls13:
		s := &a.side[dir]
		list := &reader{b: (&reader{b: body}).vec24()}
		for len(list.b) > 0 && len(s.certs) < maxCerts {
			der := list.vec24()
			if list.err != nil {
				break
			}
			s.certs = append(s.certs, newCertInfo(bytes.Clone(der)))
		}
	case typ == hsServerKeyExchange && dir == stream.FromResp && a.sh != nil:
		// ECDHE parameters start with curve_type named_curve (3) and the
		// group; other key exchanges have no curve.
		if len(body) >= 3 && body[0] == 3 && strings.Contains(CipherName(a.sh.Cipher), "_ECDH") {
			a.curve = uint16(body[1])<<8 | uint16(body[2])
		}
	}
}

// finish emits the X509 events and then the TLS event.
func (a *Analyzer) finish() {
	if a.emitted {
		return
	}
	a.emitted = true
	meta := event.Meta{TS: a.ts, UID: a.conn.UID, ID: a.conn.ID}
	ev := &event.TLS{Meta: meta, Established: a.estab, Resumed: a.resumed}
	if ch := a.ch; ch != nil {
		ev.ServerName = ch.ServerName
		ev.ALPN = ch.ALPN
		if !a.sslv2 {
			ev.JA3 = ch.JA3()
			ev.JA4 = ch.JA4(a.transport)
		}
	}
	if sh := a.sh; sh != nil {
		ev.Version = VersionName(sh.Negotiated())
		ev.Cipher = CipherName(sh.Cipher)
		ev.NextProtocol = sh.ALPN
		ev.JA3S = sh.JA3S()
	} else if a.sslv2 {
		ev.Version = VersionName(0x0002)
	}
	if a.curve != 0 {
		ev.Curve = CurveName(a.curve)
	}
	ev.CertsEncrypted = a.tls13
	server, client := a.side[stream.FromResp].certs, a.side[stream.FromOrig].certs
	for _, c := range server {
		a.emit(x509Event(meta, c, true))
		ev.CertChainFps = append(ev.CertChainFps, c.fp)
	}
	for _, c := range client {
		a.emit(x509Event(meta, c, false))
		ev.ClientCertChainFps = append(ev.ClientCertChainFps, c.fp)
	}
	if len(server) > 0 && server[0].cert != nil {
		leaf := server[0].cert
		ev.Subject = dnString(leaf.RawSubject)
		ev.Issuer = dnString(leaf.RawIssuer)
		ev.NotBefore = leaf.NotBefore.UTC()
		ev.NotAfter = leaf.NotAfter.UTC()
		ev.SelfSigned = selfSigned(leaf)
		if ev.ServerName != "" {
			m := leaf.VerifyHostname(ev.ServerName) == nil
			ev.SNIMatchesCert = &m
		}
	}
	a.emit(ev)
}
