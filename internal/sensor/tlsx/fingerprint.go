package tlsx

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Transport markers for the first character of JA4.
const (
	TransportTCP  byte = 't'
	TransportQUIC byte = 'q'
	TransportDTLS byte = 'd'
)

// JA3String returns the JA3 input string (salesforce/ja3: SSLVersion,
// Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats, decimal,
// '-'-joined, GREASE removed).
func (ch *ClientHello) JA3String() string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(strconv.Itoa(int(ch.Version)))
	b.WriteByte(',')
	joinDec(&b, ch.Ciphers, true)
	b.WriteByte(',')
	joinDec(&b, ch.Extensions, true)
	b.WriteByte(',')
	joinDec(&b, ch.SupportedGroups, true)
	b.WriteByte(',')
	for i, f := range ch.ECPointFormats {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(int(f)))
	}
	return b.String()
}

// JA3 returns the JA3 fingerprint: the MD5 of JA3String in hex.
func (ch *ClientHello) JA3() string { return md5hex(ch.JA3String()) }

// JA3SString returns the JA3S input string (SSLVersion,Cipher,Extensions).
func (s *ServerHello) JA3SString() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(s.Version)))
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(int(s.Cipher)))
	b.WriteByte(',')
	joinDec(&b, s.Extensions, false)
	return b.String()
}

// JA3S returns the JA3S fingerprint: the MD5 of JA3SString in hex.
func (s *ServerHello) JA3S() string { return md5hex(s.JA3SString()) }

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func joinDec(b *strings.Builder, vs []uint16, dropGREASE bool) {
	first := true
	for _, v := range vs {
		if dropGREASE && isGREASE(v) {
			continue
		}
		if !first {
			b.WriteByte('-')
		}
		first = false
		b.WriteString(strconv.Itoa(int(v)))
	}
}

// JA4 returns the JA4 fingerprint of the hello sent over transport
// (TransportTCP, TransportQUIC or TransportDTLS), following FoxIO's
// technical_details/JA4.md.
func (ch *ClientHello) JA4(transport byte) string {
	return ch.ja4(transport, true, true)
}

// JA4Raw returns JA4_r: the same fields before hashing.
func (ch *ClientHello) JA4Raw(transport byte) string {
	return ch.ja4(transport, true, false)
}

// JA4Original returns JA4_o: hashed, with ciphers and extensions in wire
// order (SNI and ALPN kept).
func (ch *ClientHello) JA4Original(transport byte) string {
	return ch.ja4(transport, false, true)
}

// JA4RawOriginal returns JA4_ro: JA4_o before hashing.
func (ch *ClientHello) JA4RawOriginal(transport byte) string {
	return ch.ja4(transport, false, false)
}

func (ch *ClientHello) ja4(transport byte, sorted, hashed bool) string {
	ciphers := withoutGREASE(ch.Ciphers)
	exts := withoutGREASE(ch.Extensions)
	sni := byte('i')
	if slices.Contains(exts, extServerName) {
		sni = 'd'
	}
	var b strings.Builder
	b.Grow(128)
	b.WriteByte(transport)
	b.WriteString(ja4Version(ch))
	b.WriteByte(sni)
	writeCount(&b, len(ciphers))
	writeCount(&b, len(exts))
	b.WriteString(ja4ALPN(ch.ALPN))
	if sorted {
		slices.Sort(ciphers)
		exts = slices.DeleteFunc(exts, func(v uint16) bool { return v == extServerName || v == extALPN })
		slices.Sort(exts)
	}
	cipherList := hexList(ciphers)
	extList := hexList(exts)
	if sigs := withoutGREASE(ch.SignatureAlgs); len(sigs) > 0 {
		extList += "_" + hexList(sigs)
	}
	b.WriteByte('_')
	if hashed {
		b.WriteString(hash12(cipherList))
		b.WriteByte('_')
		b.WriteString(hash12(extList))
	} else {
		b.WriteString(cipherList)
		b.WriteByte('_')
		b.WriteString(extList)
	}
	return b.String()
}

func withoutGREASE(vs []uint16) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !isGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

func writeCount(b *strings.Builder, n int) {
	n = min(n, 99)
	b.WriteByte(byte('0' + n/10))
	b.WriteByte(byte('0' + n%10))
}

// ja4Version is the highest non-GREASE supported_versions entry, or the
// legacy version when the extension is absent.
func ja4Version(ch *ClientHello) string {
	v := ch.Version
	if len(ch.SupportedVersions) > 0 {
		var best uint16
		for _, sv := range ch.SupportedVersions {
			if !isGREASE(sv) && sv > best {
				best = sv
			}
		}
		if best != 0 {
			v = best
		}
	}
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// ja4ALPN is the first and last character of the first ALPN value, or,
// when either is not ASCII alphanumeric, the first and last hex digit of
// the value; "00" when there is none.
func ja4ALPN(alpn []string) string {
	if len(alpn) == 0 || alpn[0] == "" {
		return "00"
	}
	v := alpn[0]
	first, last := v[0], v[len(v)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	const digits = "0123456789abcdef"
	return string([]byte{digits[first>>4], digits[last&0x0f]})
}

func hexList(vs []uint16) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, len(vs)*5)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
	}
	return string(b)
}

// hash12 is the first 12 hex digits of the SHA-256 of s, or twelve zeros
// when s is empty (JA4 marks an empty list that way).
func hash12(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
