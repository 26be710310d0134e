package zeek

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"unsafe"

	"github.com/vigil-ndr/vigil/internal/event"
)

// The TSV data-line path. It is the hot path of a sensor reading Zeek's
// conn.log (a busy network writes millions of records per hour), so it is
// written for speed: each line's separators are found in one pass, eight
// bytes at a time, before any field is looked at; a line with the wrong
// number of fields is then rejected without parsing anything; and conn
// records, by far the most numerous, have their own field switch.

const (
	lo7  = 0x7f7f7f7f7f7f7f7f
	ones = 0x0101010101010101
)

// splitTSV returns, in ends (reused), the index of the end of each field
// of line: the index of its separator, or len(line) for the last field.
func splitTSV(ends []int, line []byte, sep byte) []int {
	// A line has at most len(line)+1 fields; with room for them all, the
	// loop stores without append's checks. Long lines (rare) append.
	if need := len(line) + 1; cap(ends) < need {
		if need > 4096 {
			return splitTSVAppend(ends[:0], line, sep)
		}
		ends = make([]int, need)
	}
	ends = ends[:cap(ends)]
	n := 0
	pat := uint64(sep) * ones
	off := 0
	for ; off+8 <= len(line); off += 8 {
		w := binary.LittleEndian.Uint64(line[off:]) ^ pat
		// Exact zero-byte mask: 0x80 in each byte of w that is zero, with
		// no borrow between bytes (so no false matches, unlike the
		// shorter haszero formula).
		m := ^(((w & lo7) + lo7) | w | lo7)
		for m != 0 {
			ends[n] = off + bits.TrailingZeros64(m)>>3
			n++
			m &= m - 1
		}
	}
	for ; off < len(line); off++ {
		if line[off] == sep {
			ends[n] = off
			n++
		}
	}
	ends[n] = len(line)
	return ends[:n+1]
}

func splitTSVAppend(ends []int, line []byte, sep byte) []int {
	for off, c := range line {
		if c == sep {
			ends = append(ends, off)
		}
	}
	return append(ends, len(line))
}

func (p *Parser) tsvLine(line []byte) (event.Event, error) {
	if p.dirty || p.colsFor != p.typ {
		p.columns()
	}
	if p.typ == logOther {
		return nil, nil
	}
	// A line with the wrong number of fields is rejected whole: its values
	// would be in the wrong fields.
	p.ends = splitTSV(p.ends[:0], line, p.sep)
	if len(p.ends) != len(p.cols) {
		return nil, fmt.Errorf("%d fields, the #fields header has %d", len(p.ends), len(p.cols))
	}
	if p.typ == logConn {
		return p.tsvConn(line)
	}
	var r rec
	p.begin(&r)
	unset := p.unset
	start := 0
	for i, c := range p.cols {
		end := p.ends[i]
		raw := line[start:end]
		start = end + 1
		id := int(c)
		if id == fNone || string(raw) == string(unset) {
			continue
		}
		if err := p.set(&r, id, &value{raw: raw}); err != nil {
			return nil, p.fieldErr(id, raw, err)
		}
	}
	return p.finish(&r), nil
}

// connBox is an event.Conn with room for its uid, so that a conn record
// costs one allocation, not two: Zeek's uids (a letter and up to 21 base62
// digits) fit, and the Conn and its uid live and die together anyway.
type connBox struct {
	c   event.Conn
	uid [24]byte
}

// tsvConn parses a conn.log data line whose field ends are in p.ends.
// It does what begin, set and finish do for conn records, minus the
// indirection.
func (p *Parser) tsvConn(line []byte) (event.Event, error) {
	p.leafKey, p.validation, p.origMime, p.respMime, p.certKey = "", "", "", "", ""
	box := &connBox{}
	c := &box.c
	unset := p.unset
	// The unset mark is "-" but for odd logs: one byte compare, not a
	// string compare, per field.
	unset1 := len(unset) == 1
	var u0 byte
	if unset1 {
		u0 = unset[0]
	}
	start := 0
	ends := p.ends[:len(p.cols)]
	for i, col := range p.cols {
		end := ends[i]
		raw := line[start:end]
		start = end + 1
		id := int(col)
		if id == fNone {
			continue
		}
		if unset1 {
			if len(raw) == 1 && raw[0] == u0 {
				continue
			}
		} else if string(raw) == string(unset) {
			continue
		}
		var err error
		switch id {
		case fTS:
			c.TS, err = parseTime(raw)
		case fUID:
			if len(raw) <= len(box.uid) && string(raw) != string(p.empty) && !hasBackslash(raw) {
				n := copy(box.uid[:], raw)
				c.UID = unsafe.String(&box.uid[0], n)
			} else {
				c.UID = p.str(value{raw: raw})
			}
		case fOrigH:
			c.ID.OrigH, err = parseAddrFast(raw)
		case fOrigP:
			c.ID.OrigP, err = port(raw)
		case fRespH:
			c.ID.RespH, err = parseAddrFast(raw)
		case fRespP:
			c.ID.RespP, err = port(raw)
		case fProto:
			c.Proto = event.ParseProto(string(raw))
		case fService:
			c.Service = p.istrTSV(raw)
		case fDuration:
			c.Duration, err = parseInterval(raw)
		case fOrigBytes:
			c.OrigBytes, err = count(raw)
		case fRespBytes:
			c.RespBytes, err = count(raw)
		case fConnState:
			c.ConnState = connState(p, &value{raw: raw})
		case fMissedBytes:
			c.MissedBytes, err = count(raw)
		case fHistory:
			c.History = p.istrTSV(raw)
		case fOrigPkts:
			c.OrigPkts, err = count(raw)
		case fOrigIPBytes:
			c.OrigIPBytes, err = count(raw)
		case fRespPkts:
			c.RespPkts, err = count(raw)
		case fRespIPBytes:
			c.RespIPBytes, err = count(raw)
		case fOrigL2:
			c.OrigL2Addr = p.istrTSV(raw)
		case fRespL2:
			c.RespL2Addr = p.istrTSV(raw)
		case fVLAN:
			var n uint64
			n, err = parseUint(raw, 65535)
			c.VLAN = uint16(n)
		}
		if err != nil {
			return nil, p.fieldErr(id, raw, err)
		}
	}
	return c, nil
}

// istrTSV is istr for TSV text, with a short path for a value in the
// interner's cache: only text without escapes is ever interned, so a hit
// is istr's answer unless the text is the empty-field mark.
func (p *Parser) istrTSV(raw []byte) string {
	if c := p.in.cache[internSlot(raw)]; c == string(raw) && string(raw) != string(p.empty) {
		return c
	}
	return p.istr(value{raw: raw})
}

func hasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// parseAddrFast is parseAddr with a short path for the common case, a
// dotted-quad IPv4 address in canonical form. Anything else, including
// every error, goes through parseAddr, so the two agree on all input.
func parseAddrFast(b []byte) (netip.Addr, error) {
	if a, ok := parseIPv4(b); ok {
		return a, nil
	}
	return parseAddr(b)
}

// parseIPv4 parses exactly what netip.ParseAddr accepts as IPv4: four
// decimal fields of 0..255, without leading zeros.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip uint32
	dots, v, n := 0, uint32(0), 0 // dots seen; the field's value and digits
	for _, c := range b {
		if c == '.' {
			if n == 0 || dots == 3 {
				return netip.Addr{}, false
			}
			ip = ip<<8 | v
			dots++
			v, n = 0, 0
			continue
		}
		d := c - '0'
		if d > 9 || (n == 1 && v == 0) { // not a digit, or a leading zero
			return netip.Addr{}, false
		}
		v = v*10 + uint32(d)
		n++
		if v > 255 {
			return netip.Addr{}, false
		}
	}
	if dots != 3 || n == 0 {
		return netip.Addr{}, false
	}
	ip = ip<<8 | v
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}
