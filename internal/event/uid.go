package event

import (
	"encoding/binary"
	"hash/fnv"
	"math/bits"
	"time"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ConnUID derives a Zeek-shaped connection uid ('C' and 17 base62
// characters) from FNV-128a of the first packet's time, the IP protocol
// number and the 5-tuple. Deriving it, rather than drawing it at random as
// Zeek does, makes re-runs agree, and lets the simulator's events and its
// pcap (read back by the sensor) carry the same uid.
func ConnUID(ts time.Time, proto uint8, id ConnID) string {
	h := fnv.New128a()
	var b [8 + 1 + 2*16 + 4]byte
	binary.BigEndian.PutUint64(b[0:], uint64(ts.UnixNano()))
	b[8] = proto
	o, r := id.OrigH.As16(), id.RespH.As16()
	copy(b[9:], o[:])
	copy(b[25:], r[:])
	binary.BigEndian.PutUint16(b[41:], id.OrigP)
	binary.BigEndian.PutUint16(b[43:], id.RespP)
	h.Write(b[:])
	var sum [16]byte
	h.Sum(sum[:0])
	hi, lo := binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])
	var out [18]byte
	out[0] = 'C'
	for i := 17; i >= 1; i-- {
		var rem uint64
		hi, rem = bits.Div64(0, hi, 62)
		lo, rem = bits.Div64(rem, lo, 62)
		out[i] = base62[rem]
	}
	return string(out[:])
}
