package zeek

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"time"
	"unsafe"
)

// Hand-written parsers for the scalar types of Zeek logs. They work on byte
// slices without allocating, because the TSV path must keep up with
// millions of records per second, and they parse decimal text exactly (to
// the nanosecond) rather than through float64, so that "0.000252" becomes
// 252µs and not 251.999µs.

var (
	errEmptyNumber = errors.New("empty number")
	errSyntax      = errors.New("invalid syntax")
	errRange       = errors.New("out of range")
)

// parseUint parses a decimal unsigned integer.
func parseUint(b []byte, max uint64) (uint64, error) {
	if len(b) == 0 {
		return 0, errEmptyNumber
	}
	var n uint64
	if len(b) <= 19 { // cannot overflow: 19 digits < 2^64
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, errSyntax
			}
			n = n*10 + uint64(d)
		}
	} else {
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, errSyntax
			}
			if n > (math.MaxUint64-uint64(d))/10 {
				return 0, errRange
			}
			n = n*10 + uint64(d)
		}
	}
	if n > max {
		return 0, errRange
	}
	return n, nil
}

// parseInt parses a decimal signed integer.
func parseInt(b []byte) (int64, error) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	u, err := parseUint(b, math.MaxInt64)
	if err != nil {
		return 0, err
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// parseDecimal parses "[-]SEC[.FRAC]" into whole seconds and nanoseconds,
// rounding digits past the ninth to the nearest nanosecond. The results
// carry the same sign. Exponent forms (which JSON writers may produce) go
// through strconv.ParseFloat, the only place precision can be lost.
func parseDecimal(b []byte) (sec, nsec int64, err error) {
	if len(b) == 0 {
		return 0, 0, errEmptyNumber
	}
	neg := false
	i := 0
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i++
	}
	start := i
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		// Eighteen digits cannot overflow: skip the division until then.
		if i-start >= 18 && sec > (math.MaxInt64-int64(d))/10 {
			return 0, 0, errRange
		}
		sec = sec*10 + int64(d)
	}
	intDigits := i - start
	fracDigits := 0
	if i < len(b) && b[i] == '.' {
		i++
		// The first nine digits as an integer, scaled once at the end
		// (a division per digit costs more than the digit).
		var round int64
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			switch {
			case fracDigits < 9:
				nsec = nsec*10 + int64(d)
			case fracDigits == 9 && d >= 5:
				round = 1 // round half up on the tenth digit
			}
			fracDigits++
		}
		nsec = nsec*nanoScale[min(fracDigits, 9)] + round
	}
	if intDigits+fracDigits == 0 {
		return 0, 0, errSyntax
	}
	if i < len(b) {
		if b[i] == 'e' || b[i] == 'E' {
			return parseFloatDecimal(b)
		}
		return 0, 0, errSyntax
	}
	if nsec >= 1e9 {
		sec++
		nsec -= 1e9
	}
	if neg {
		return -sec, -nsec, nil
	}
	return sec, nsec, nil
}

// nanoScale[n] turns n digits of a fraction into nanoseconds.
var nanoScale = [10]int64{1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1}

func parseFloatDecimal(b []byte) (sec, nsec int64, err error) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 9e18/1e9 {
		return 0, 0, errSyntax
	}
	whole, frac := math.Modf(f)
	return int64(whole), int64(math.Round(frac * 1e9)), nil
}

// parseTime parses a Zeek time: epoch seconds with a fraction, or (Zeek's
// JSON ISO 8601 mode) an RFC 3339 string. The result is in UTC.
func parseTime(b []byte) (time.Time, error) {
	if len(b) >= 10 && b[4] == '-' && b[0] != '-' {
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return time.Time{}, errSyntax
		}
		return t.UTC(), nil
	}
	sec, nsec, err := parseDecimal(b)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// parseInterval parses a Zeek interval (seconds with a fraction).
func parseInterval(b []byte) (time.Duration, error) {
	sec, nsec, err := parseDecimal(b)
	if err != nil {
		return 0, err
	}
	if sec > math.MaxInt64/int64(time.Second)-1 || sec < math.MinInt64/int64(time.Second)+1 {
		return 0, errRange
	}
	return time.Duration(sec*1e9 + nsec), nil
}

// parseBool accepts Zeek's T/F and JSON's true/false.
func parseBool(b []byte) (bool, error) {
	switch string(b) {
	case "T", "true", "1":
		return true, nil
	case "F", "false", "0":
		return false, nil
	}
	return false, errSyntax
}

// parseAddr parses an IPv4 or IPv6 address without copying b. netip keeps
// no reference to its input on success (zones are interned by copy); its
// error does, so the error is rebuilt from a copy.
func parseAddr(b []byte) (netip.Addr, error) {
	if len(b) == 0 {
		return netip.Addr{}, errEmptyNumber
	}
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(b), len(b)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid address %q", string(b))
	}
	return a, nil
}

// unescape undoes Zeek's ASCII escapes: \xNN becomes the byte NN and \\
// a single backslash. Anything else after a backslash is kept as is. It
// appends to dst and returns it.
func unescape(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) {
			if b[i+1] == '\\' {
				dst = append(dst, '\\')
				i++
				continue
			}
			if b[i+1] == 'x' && i+3 < len(b) {
				hi, ok1 := unhex(b[i+2])
				lo, ok2 := unhex(b[i+3])
				if ok1 && ok2 {
					dst = append(dst, hi<<4|lo)
					i += 3
					continue
				}
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// unescapeHigh undoes only the \xNN escapes of bytes >= 0x80, which is how
// Zeek's JSON writer keeps bytes that are not UTF-8.
func unescapeHigh(s string) string {
	j := -1
	for i := 0; i+3 < len(s); i++ {
		if s[i] == '\\' && s[i+1] == 'x' {
			if hi, ok := unhex(s[i+2]); ok && hi >= 8 {
				if _, ok := unhex(s[i+3]); ok {
					j = i
					break
				}
			}
		}
	}
	if j < 0 {
		return s
	}
	out := []byte(s[:j])
	for i := j; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			hi, ok1 := unhex(s[i+2])
			lo, ok2 := unhex(s[i+3])
			if ok1 && ok2 && hi >= 8 {
				out = append(out, hi<<4|lo)
				i += 3
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// interner returns one shared string per distinct value for fields that
// repeat (service, history, methods, MIME types...), so that a log of a
// million connections does not hold a million copies of "SF". It stops
// adding once full, which bounds its memory.
type interner struct {
	m map[string]string
	// cache is a direct-mapped front for the map: most lookups hit a
	// recent value without hashing.
	cache [256]string
}

const internMax = 1 << 14

func internSlot(b []byte) uint8 {
	var slot uint8
	if n := len(b); n > 0 {
		slot = uint8(n) ^ b[0]*31 ^ b[n-1]*7 ^ b[n/2]*131
	}
	return slot
}

func (in *interner) get(b []byte) string {
	slot := internSlot(b)
	if c := in.cache[slot]; c == string(b) {
		return c
	}
	if s, ok := in.m[string(b)]; ok {
		in.cache[slot] = s
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string, 256)
	}
	if len(in.m) < internMax && len(b) <= 128 {
		in.m[s] = s
		in.cache[slot] = s
	}
	return s
}

// indexSep returns the index of the first c in b, or -1. It tests eight
// bytes at a time, which beats bytes.IndexByte's call overhead on fields
// of a few bytes (most of a conn.log line).
func indexSep(b []byte, c byte) int {
	i := 0
	pat := uint64(c) * 0x0101010101010101
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:]) ^ pat
		// The lowest byte of w that is zero is the first match; borrows
		// can only mark bytes above it.
		if t := (w - 0x0101010101010101) &^ w & 0x8080808080808080; t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}
