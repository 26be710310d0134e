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

// splitTSV appends to ends the index of the end of each field of line
// (the index of its separator, or len(line) for the last field).
func splitTSV(ends []int, line []byte, sep byte) []int {
	pat := uint64(sep) * ones
	off := 0
	for ; off+8 <= len(line); off += 8 {
		w := binary.LittleEndian.Uint64(line[off:]) ^ pat
		// Exact zero-byte mask: 0x80 in each byte of w that is zero, with
		// no borrow between bytes (so no false matches, unlike the
		// shorter haszero formula).
		m := ^(((w & lo7) + lo7) | w | lo7)
		for m != 0 {
			ends = append(ends, (off + bits.TrailingZeros64(m)>>3))
			m &= m - 1
		}
	}
	for ; off < len(line); off++ {
		if line[off] == sep {
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
	start := 0
	for i, col := range p.cols {
		end := p.ends[i]
		raw := line[start:end]
		start = end + 1
		id := int(col)
		if id == fNone || string(raw) == string(unset) {
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
			c.Service = p.istr(value{raw: raw})
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
			c.History = p.istr(value{raw: raw})
		case fOrigPkts:
			c.OrigPkts, err = count(raw)
		case fOrigIPBytes:
			c.OrigIPBytes, err = count(raw)
		case fRespPkts:
			c.RespPkts, err = count(raw)
		case fRespIPBytes:
			c.RespIPBytes, err = count(raw)
		case fOrigL2:
			c.OrigL2Addr = p.istr(value{raw: raw})
		case fRespL2:
			c.RespL2Addr = p.istr(value{raw: raw})
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
	if len(b) < 7 || len(b) > 15 {
		return netip.Addr{}, false
	}
	var ip [4]byte
	f := 0
	i := 0
	for {
		// One field: 1 to 3 digits.
		s := i
		v := 0
		for i < len(b) && i-s < 3 {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			v = v*10 + int(d)
			i++
		}
		n := i - s
		if n == 0 || v > 255 || (n > 1 && b[s] == '0') {
			return netip.Addr{}, false
		}
		ip[f] = byte(v)
		f++
		if f == 4 {
			if i != len(b) {
				return netip.Addr{}, false
			}
			return netip.AddrFrom4(ip), true
		}
		if i >= len(b) || b[i] != '.' {
			return netip.Addr{}, false
		}
		i++
	}
}
