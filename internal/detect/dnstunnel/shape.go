package dnstunnel

import (
	"math"
	"strings"
)

// qtype classes: the record types a tunnel uses to carry data down, and the
// ordinary lookups.
const (
	qA = iota
	qAAAA
	qTXT
	qNULL
	qCNAME
	qMX
	qANY
	qSRV
	qOther
	numQ
)

var qNames = [numQ]string{"A", "AAAA", "TXT", "NULL", "CNAME", "MX", "ANY", "SRV", "other"}

// qclass maps a Zeek qtype name to its class. PTR, HTTPS/SVCB and SOA are
// "other": ordinary, but neither A nor a data-carrying type.
func qclass(name string, code uint16) int {
	switch name {
	case "A":
		return qA
	case "AAAA":
		return qAAAA
	case "TXT":
		return qTXT
	case "NULL":
		return qNULL
	case "CNAME":
		return qCNAME
	case "MX":
		return qMX
	case "ANY", "*":
		return qANY
	case "SRV":
		return qSRV
	}
	switch code {
	case 16:
		return qTXT
	case 10:
		return qNULL
	case 5:
		return qCNAME
	case 15:
		return qMX
	case 255:
		return qANY
	case 33:
		return qSRV
	case 1:
		return qA
	case 28:
		return qAAAA
	}
	return qOther
}

// carrier reports whether the class can carry tunnel data downstream.
func carrier(q int) bool { return q >= qTXT && q <= qSRV }

// Encodings a subdomain can look like (by its alphabet alone).
const (
	encNone   = iota // too short or words: not judged as encoded
	encHex           // [0-9a-f]: dnscat2 and many home-made tunnels
	encBase32        // [a-z0-9], one case, digits and letters: base32/base36 (iodine's default upstream, lumenpath-style)
	encBase64        // both cases (+, -, _ allowed): base64 / iodine's base64 and base128 upstream codecs
	encBinary        // bytes outside printable ASCII: iodine's base128 / raw upstream
	numEnc
)

var encNames = [numEnc]string{"none", "hex", "base32/base36", "base64 (mixed case)", "base128/raw bytes"}

// encoding classifies the subdomain's characters (dots removed). minLen is
// the shortest data label worth judging.
func encoding(sub string, minLen int) int {
	var lower, upper, digit, other, high, n int
	hexOnly := true
	for i := 0; i < len(sub); i++ {
		b := sub[i]
		switch {
		case b == '.':
			continue
		case b >= 'a' && b <= 'z':
			lower++
			if b > 'f' {
				hexOnly = false
			}
		case b >= 'A' && b <= 'Z':
			upper++
			hexOnly = false
		case b >= '0' && b <= '9':
			digit++
		case b >= 0x80:
			high++
			hexOnly = false
		default:
			other++
			hexOnly = false
		}
		n++
	}
	switch {
	case n < minLen:
		return encNone
	case high > 0:
		return encBinary
	case hexOnly && digit > 0 && lower > 0:
		return encHex
	case upper > 0 && lower > 0 && (digit > 0 || other > 0) && upper*8 >= n && lower*8 >= n:
		return encBase64
	case upper == 0 && digit*12 >= n && lower > 0 && other*8 < n:
		return encBase32
	}
	return encNone
}

// charClass maps a byte to one of 64 histogram cells for the entropy of the
// subdomains' alphabet: case is kept (base64 has 64 symbols, base32 32,
// hex 16), bytes outside [a-zA-Z0-9-] share two cells.
func charClass(b byte) int {
	switch {
	case b >= 'a' && b <= 'z':
		return int(b - 'a')
	case b >= 'A' && b <= 'Z':
		return 26 + int(b-'A')
	case b >= '0' && b <= '9':
		return 52 + int(b-'0')
	case b == '-':
		return 62
	}
	return 63
}

// entropy returns the Shannon entropy in bits per character of a histogram.
func entropy(h *[64]uint32) float64 {
	var n float64
	for _, c := range h {
		n += float64(c)
	}
	if n == 0 {
		return 0
	}
	var e float64
	for _, c := range h {
		if c > 0 {
			p := float64(c) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}

// hash64 is FNV-1a: unique subdomains are remembered by hash, not text.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// local reports names no public tunnel can use (multicast DNS, reverse
// lookups, single labels, home and corporate pseudo-suffixes).
func local(name string) bool {
	if !strings.Contains(name, ".") {
		return true
	}
	for _, s := range []string{".local", ".arpa", ".lan", ".home", ".internal", ".localdomain", ".corp", ".intranet", ".home.arpa"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// ramp grades x from 0 at lo to 1 at hi.
func ramp(x, lo, hi float64) float64 {
	switch {
	case x <= lo:
		return 0
	case x >= hi:
		return 1
	}
	return (x - lo) / (hi - lo)
}
