package tlsx

import (
	"errors"
	"fmt"
)

// TLS extension types the analyzer reads.
const (
	extServerName        = 0x0000
	extSupportedGroups   = 0x000a
	extECPointFormats    = 0x000b
	extSignatureAlgs     = 0x000d
	extALPN              = 0x0010
	extPreSharedKey      = 0x0029
	extSupportedVersions = 0x002b
	extKeyShare          = 0x0033
)

// errShort reports a message that ends before its fields do.
var errShort = errors.New("truncated")

// ClientHello is what the analyzer reads from a ClientHello message.
// Slices keep the wire order; GREASE values are kept (the fingerprints
// drop them).
type ClientHello struct {
	// Version is the legacy_version field.
	Version           uint16
	SessionID         []byte
	Ciphers           []uint16
	Extensions        []uint16
	ServerName        string
	ALPN              []string
	SupportedGroups   []uint16
	ECPointFormats    []uint8
	SignatureAlgs     []uint16
	SupportedVersions []uint16
}

// ServerHello is what the analyzer reads from a ServerHello message
// (HelloRetryRequest included: see Retry).
type ServerHello struct {
	// Version is the legacy_version field; SelectedVersion the
	// supported_versions extension (0 when absent).
	Version         uint16
	SelectedVersion uint16
	SessionID       []byte
	Cipher          uint16
	Extensions      []uint16
	ALPN            string
	// KeyShareGroup is the group of the key_share extension (TLS 1.3);
	// in a HelloRetryRequest, the group the server asks for.
	KeyShareGroup uint16
	// PSK is true when the server accepted a pre-shared key (TLS 1.3
	// resumption).
	PSK bool
	// Retry is true for a HelloRetryRequest.
	Retry bool
}

// Negotiated returns the version the server chose.
func (s *ServerHello) Negotiated() uint16 {
	if s.SelectedVersion != 0 {
		return s.SelectedVersion
	}
	return s.Version
}

// helloRetryRandom is the ServerHello.random that marks a
// HelloRetryRequest (RFC 8446, 4.1.3).
var helloRetryRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// reader walks a byte slice; every read checks bounds and sets err once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) u8() uint8 {
	if r.err != nil || len(r.b) < 1 {
		r.err = errShort
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if r.err != nil || len(r.b) < 2 {
		r.err = errShort
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) u24() int {
	if r.err != nil || len(r.b) < 3 {
		r.err = errShort
		return 0
	}
	v := int(r.b[0])<<16 | int(r.b[1])<<8 | int(r.b[2])
	r.b = r.b[3:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.err = errShort
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// vec8, vec16 and vec24 read a length-prefixed vector.
func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }
func (r *reader) vec24() []byte { return r.bytes(r.u24()) }

func u16s(b []byte) []uint16 {
	if len(b)%2 != 0 {
		b = b[:len(b)-1]
	}
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return out
}

// ParseClientHello parses the body of a ClientHello handshake message
// (without the 4-byte handshake header). Malformed extensions are
// skipped; a hello whose fixed fields are cut short is an error.
func ParseClientHello(body []byte) (*ClientHello, error) {
	r := &reader{b: body}
	ch := &ClientHello{Version: r.u16()}
	r.bytes(32) // random
	ch.SessionID = append([]byte(nil), r.vec8()...)
	ch.Ciphers = u16s(r.vec16())
	r.vec8() // compression methods
	if r.err != nil {
		return nil, fmt.Errorf("client hello: %w", r.err)
	}
	if len(r.b) < 2 {
		return ch, nil // no extensions (SSLv3-era clients)
	}
	exts := &reader{b: r.vec16()}
	for len(exts.b) >= 4 {
		typ := exts.u16()
		data := exts.vec16()
		if exts.err != nil {
			break
		}
		ch.Extensions = append(ch.Extensions, typ)
		ch.readExtension(typ, data)
	}
	return ch, nil
}

func (ch *ClientHello) readExtension(typ uint16, data []byte) {
	e := &reader{b: data}
	switch typ {
	case extServerName:
		list := &reader{b: e.vec16()}
		for len(list.b) > 0 && list.err == nil {
			kind := list.u8()
			name := list.vec16()
			if list.err == nil && kind == 0 && ch.ServerName == "" {
				ch.ServerName = string(name)
			}
		}
	case extALPN:
		list := &reader{b: e.vec16()}
		for len(list.b) > 0 && list.err == nil {
			p := list.vec8()
			if list.err == nil {
				ch.ALPN = append(ch.ALPN, string(p))
			}
		}
	case extSupportedGroups:
		ch.SupportedGroups = u16s(e.vec16())
	case extECPointFormats:
		ch.ECPointFormats = append([]uint8(nil), e.vec8()...)
	case extSignatureAlgs:
		ch.SignatureAlgs = u16s(e.vec16())
	case extSupportedVersions:
		ch.SupportedVersions = u16s(e.vec8())
	}
}

// ParseServerHello parses the body of a ServerHello handshake message.
func ParseServerHello(body []byte) (*ServerHello, error) {
	r := &reader{b: body}
	sh := &ServerHello{Version: r.u16()}
	random := r.bytes(32)
	sh.SessionID = append([]byte(nil), r.vec8()...)
	sh.Cipher = r.u16()
	r.u8() // compression method
	if r.err != nil {
		return nil, fmt.Errorf("server hello: %w", r.err)
	}
	sh.Retry = [32]byte(random) == helloRetryRandom
	if len(r.b) < 2 {
		return sh, nil
	}
	exts := &reader{b: r.vec16()}
	for len(exts.b) >= 4 {
		typ := exts.u16()
		data := exts.vec16()
		if exts.err != nil {
			break
		}
		sh.Extensions = append(sh.Extensions, typ)
		e := &reader{b: data}
		switch typ {
		case extSupportedVersions:
			sh.SelectedVersion = e.u16()
		case extALPN:
			list := &reader{b: e.vec16()}
			if p := list.vec8(); list.err == nil {
				sh.ALPN = string(p)
			}
		case extKeyShare:
			// A ServerHello carries one KeyShareEntry, a HelloRetryRequest
			// only the selected group: both start with the group.
			sh.KeyShareGroup = e.u16()
		case extPreSharedKey:
			sh.PSK = true
		}
	}
	return sh, nil
}

// isGREASE reports whether v is a GREASE value (RFC 8701): 0x?A?A with
// both bytes equal.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}
