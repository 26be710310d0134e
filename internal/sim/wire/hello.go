// Package wire renders simulated conversations as protocol bytes: TLS
// ClientHellos of real client software (so JA3/JA4 come out as they do for
// that software), TLS server flights and application data records, HTTP/1.1
// messages and DNS messages. It knows nothing of the simulator's Session
// type (package simpcap maps Sessions onto these functions), so the
// simulator itself can import it for fingerprints.
//
// Every function is deterministic: random-looking fields (randoms, key
// shares, GREASE values, Chrome's extension order, encrypted records) come
// from a ChaCha8 stream keyed by the caller's seed.
package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
)

// Profiles returns the names of the client profiles ClientHello knows, in
// sorted order.
func Profiles() []string {
	out := make([]string, 0, len(profiles))
	for n := range profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// KnownProfile reports whether name is one of Profiles.
func KnownProfile(name string) bool {
	_, ok := profiles[name]
	return ok
}

// lookup returns the recipe of name; an unknown name gets Chrome's, the
// most common client on any network.
func lookup(name string) (*profile, string) {
	if f, ok := profiles[name]; ok {
		return f(), name
	}
	return chrome(), "chrome-win"
}

// rng is the deterministic random source of one rendering.
type rng struct{ c *rand.ChaCha8 }

func newRNG(seed uint64, label string) *rng {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	copy(key[8:], label)
	return &rng{rand.NewChaCha8(key)}
}

func (r *rng) fill(b []byte) { _, _ = r.c.Read(b) }

func (r *rng) intn(n int) int { return int(r.c.Uint64() % uint64(n)) }

// greaseValue returns a GREASE code point (RFC 8701) drawn from r.
func (r *rng) greaseValue() uint16 {
	v := uint16(r.c.Uint64()&0xf0) | 0x0a
	return v<<8 | v
}

// builder appends TLS vectors.
type builder struct{ b []byte }

func (b *builder) u8(v uint8)   { b.b = append(b.b, v) }
func (b *builder) u16(v uint16) { b.b = binary.BigEndian.AppendUint16(b.b, v) }
func (b *builder) bytes(p []byte) {
	b.b = append(b.b, p...)
}

// open reserves an n-byte length prefix and returns its offset for close.
func (b *builder) open(n int) int {
	off := len(b.b)
	b.b = append(b.b, make([]byte, n)...)
	return off
}

// close fills the length prefix opened at off (n bytes wide).
func (b *builder) close(off, n int) {
	l := len(b.b) - off - n
	for i := n - 1; i >= 0; i-- {
		b.b[off+i] = byte(l)
		l >>= 8
	}
}

func (b *builder) u16s(vs []uint16) {
	for _, v := range vs {
		b.u16(v)
	}
}

// ClientHello returns a complete TLS record carrying the ClientHello that
// the client software profile sends to sni (no server_name extension when
// sni is empty or an IP address, as real clients do), offering alpn (nil
// means the profile's default list; a non-nil empty slice sends none).
// profile is one of Profiles; an unknown name gets Chrome's hello. The
// same arguments give the same bytes.
func ClientHello(profile, sni string, alpn []string, seed uint64) []byte {
	p, profile := lookup(profile)
	if alpn == nil {
		alpn = p.alpn
	}
	if _, err := netip.ParseAddr(sni); err == nil {
		sni = ""
	}
	r := newRNG(seed, "hello "+profile)
	return p.hello(r, sni, alpn)
}

func (p *profile) hello(r *rng, sni string, alpn []string) []byte {
	g := [4]uint16{r.greaseValue(), r.greaseValue(), r.greaseValue(), r.greaseValue()}
	// g[0] ciphers, g[1] groups and key share, g[2]/g[3] the two GREASE
	// extensions (distinct, as BoringSSL makes them), g[0] versions.
	if g[3] == g[2] {
		g[3] ^= 0x1010
	}
	sub := func(vs []uint16, gv uint16) []uint16 {
		out := slices.Clone(vs)
		for i, v := range out {
			if v == grease {
				out[i] = gv
			}
		}
		return out
	}
	exts := slices.Clone(p.exts)
	exts = slices.DeleteFunc(exts, func(e uint16) bool {
		return e == extServerName && sni == "" || e == extALPN && len(alpn) == 0 ||
			(e == extALPS || e == extALPSNew) && len(alpn) == 0
	})
	if p.shuffle {
		var idx []int
		for i, e := range exts {
			if e != grease && e != extPadding {
				idx = append(idx, i)
			}
		}
		for i := len(idx) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			exts[idx[i]], exts[idx[j]] = exts[idx[j]], exts[idx[i]]
		}
	}

	b := &builder{b: make([]byte, 0, 2048)}
	b.u8(22)
	b.u16(p.recordVersion)
	rec := b.open(2)
	b.u8(1)
	hs := b.open(3)
	b.u16(0x0303)
	rnd := make([]byte, 32)
	r.fill(rnd)
	b.bytes(rnd)
	if p.noSession {
		b.u8(0)
	} else {
		b.u8(32)
		sid := make([]byte, 32)
		r.fill(sid)
		b.bytes(sid)
	}
	b.u16(uint16(2 * len(p.ciphers)))
	b.u16s(sub(p.ciphers, g[0]))
	b.u8(1)
	b.u8(0) // null compression
	extOff := b.open(2)
	greaseSeen := 0
	padAt := -1
	for _, e := range exts {
		switch e {
		case grease:
			if greaseSeen == 0 {
				b.u16(g[2])
				b.u16(0)
			} else {
				b.u16(g[3])
				b.u16(1)
				b.u8(0)
			}
			greaseSeen++
			continue
		case extPadding:
			padAt = len(b.b)
			continue
		}
		b.u16(e)
		d := b.open(2)
		p.extData(b, r, e, sni, alpn, g)
		b.close(d, 2)
	}
	if padAt >= 0 {
		hsLen := len(b.b) - hs + 1 // handshake type byte included
		pad := -1
		if p.padTo > 0 && hsLen < p.padTo && hsLen > 0xff {
			pad = p.padTo - hsLen - 4
			if pad < 1 && !p.zeroPad {
				pad = 1
			}
			pad = max(pad, 0)
		} else if p.alwaysPad {
			pad = 0
		}
		if pad >= 0 {
			ext := make([]byte, 4+pad)
			binary.BigEndian.PutUint16(ext, extPadding)
			binary.BigEndian.PutUint16(ext[2:], uint16(pad))
			b.b = slices.Insert(b.b, padAt, ext...)
		}
	}
	b.close(extOff, 2)
	b.close(hs, 3)
	b.close(rec, 2)
	return b.b
}

// extData writes the body of extension e.
func (p *profile) extData(b *builder, r *rng, e uint16, sni string, alpn []string, g [4]uint16) {
	switch e {
	case extServerName:
		l := b.open(2)
		b.u8(0) // host_name
		b.u16(uint16(len(sni)))
		b.bytes([]byte(sni))
		b.close(l, 2)
	case extStatusRequest:
		b.bytes([]byte{1, 0, 0, 0, 0}) // OCSP, no responder IDs, no extensions
	case extSupportedGroups:
		b.u16(uint16(2 * len(p.groups)))
		for _, v := range p.groups {
			if v == grease {
				v = g[1]
			}
			b.u16(v)
		}
	case extECPointFormats:
		f := p.ecFormats
		if f == nil {
			f = []uint8{0} // uncompressed
		}
		b.u8(uint8(len(f)))
		b.bytes(f)
	case extSignatureAlgs:
		b.u16(uint16(2 * len(p.sigalgs)))
		b.u16s(p.sigalgs)
	case extSigAlgsCert:
		b.u16(uint16(2 * len(p.sigalgsCert)))
		b.u16s(p.sigalgsCert)
	case extALPN:
		l := b.open(2)
		for _, a := range alpn {
			b.u8(uint8(len(a)))
			b.bytes([]byte(a))
		}
		b.close(l, 2)
	case extRenegotiationInf:
		b.u8(0)
	case extKeyShare:
		l := b.open(2)
		for _, grp := range p.keyShares {
			n := keyShareLen[grp]
			if grp == grease {
				grp = g[1]
			}
			b.u16(grp)
			b.u16(uint16(n))
			k := make([]byte, n)
			r.fill(k)
			if n == 65 || n == 97 || n == 133 {
				k[0] = 4 // uncompressed point
			}
			b.bytes(k)
		}
		b.close(l, 2)
	case extPSKModes:
		b.bytes([]byte{1, 1}) // psk_dhe_ke
	case extSupportedVers:
		b.u8(uint8(2 * len(p.versions)))
		for _, v := range p.versions {
			if v == grease {
				v = g[0]
			}
			b.u16(v)
		}
	case extCompressCert:
		b.u8(uint8(2 * len(p.compress)))
		b.u16s(p.compress)
	case extALPS, extALPSNew:
		l := b.open(2)
		for _, a := range p.alpsProtos {
			b.u8(uint8(len(a)))
			b.bytes([]byte(a))
		}
		b.close(l, 2)
	case extECH:
		// A GREASE ECH: outer hello, HKDF-SHA256/AES-128-GCM, a random
		// config id, a 32-byte encapsulated key and a payload sized as if
		// it hid a hello for this name.
		b.bytes([]byte{0, 0, 1, 0, 1})
		id := make([]byte, 1+32)
		r.fill(id)
		b.u8(id[0])
		b.u16(32)
		b.bytes(id[1:])
		n := 144 + 32*(len(sni)/32)
		b.u16(uint16(n))
		pay := make([]byte, n)
		r.fill(pay)
		b.bytes(pay)
	case extRecordSizeLimit:
		b.u16(p.recordLimit)
	case extDelegatedCreds:
		b.u16(uint16(2 * len(p.delegated)))
		b.u16s(p.delegated)
	}
	// Empty: extended_master_secret, session_ticket, SCT, encrypt_then_mac,
	// post_handshake_auth.
}
