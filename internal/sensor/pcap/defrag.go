package pcap

import (
	"bytes"
	"sort"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// fragTimeout drops a datagram whose fragments stop arriving (Linux's
// ipfrag_time default).
const fragTimeout = 30 * time.Second

type fragKey struct {
	src, dst [4]byte
	id       uint16
	proto    uint8
}

type fragPiece struct {
	off  int
	data []byte
}

type fragDatagram struct {
	first  time.Time
	pieces []fragPiece
	total  int // payload length, known once the last fragment arrived
	size   int
}

// defragger reassembles IPv4 datagrams. It is bounded: at most max
// datagrams in progress (the oldest is dropped on overflow), each at most
// 64 KiB, and each dropped after fragTimeout of event time.
type defragger struct {
	max   int
	m     map[fragKey]*fragDatagram
	buf   []byte
	older time.Time // when the table was last swept
}

func newDefragger(max int) *defragger {
	return &defragger{max: max, m: map[fragKey]*fragDatagram{}}
}

// add stores one fragment; when the datagram is complete it returns the
// reassembled transport payload (valid until the next call) and true.
func (f *defragger) add(ts time.Time, ip *layers.IPv4) ([]byte, bool) {
	if ts.Sub(f.older) > fragTimeout {
		f.sweep(ts)
	}
	k := fragKey{src: [4]byte(ip.SrcIP.To4()), dst: [4]byte(ip.DstIP.To4()), id: ip.Id, proto: uint8(ip.Protocol)}
	dg := f.m[k]
	if dg == nil {
		if len(f.m) >= f.max {
			f.dropOldest()
		}
		dg = &fragDatagram{first: ts, total: -1}
		f.m[k] = dg
	}
	off := int(ip.FragOffset) * 8
	data := ip.Payload
	if off+len(data) > 65535 || dg.size+len(data) > 65535 {
		delete(f.m, k)
		return nil, false
	}
	dg.pieces = append(dg.pieces, fragPiece{off: off, data: append([]byte(nil), data...)})
	dg.size += len(data)
	if ip.Flags&layers.IPv4MoreFragments == 0 {
		dg.total = off + len(data)
	}
	if dg.total < 0 {
		return nil, false
	}
	sort.Slice(dg.pieces, func(i, j int) bool { return dg.pieces[i].off < dg.pieces[j].off })
	end := 0
	for _, p := range dg.pieces {
		if p.off > end {
			return nil, false // a hole remains
		}
		end = max(end, p.off+len(p.data))
	}
	if end < dg.total {
		return nil, false
	}
	if cap(f.buf) < dg.total {
		f.buf = make([]byte, dg.total)
	}
	f.buf = f.buf[:dg.total]
	for _, p := range dg.pieces {
		copy(f.buf[p.off:], p.data) // later pieces win overlaps
	}
	delete(f.m, k)
	return f.buf, true
}

func (f *defragger) sweep(now time.Time) {
	for k, dg := range f.m {
		if now.Sub(dg.first) > fragTimeout {
			delete(f.m, k)
		}
	}
	f.older = now
}

func (f *defragger) dropOldest() {
	var oldK fragKey
	var old *fragDatagram
	for k, dg := range f.m {
		if old == nil || dg.first.Before(old.first) || (dg.first.Equal(old.first) && keyLess(k, oldK)) {
			oldK, old = k, dg
		}
	}
	delete(f.m, oldK)
}

// keyLess orders fragment keys, so that eviction does not depend on map
// iteration order.
func keyLess(a, b fragKey) bool {
	if c := bytes.Compare(a.src[:], b.src[:]); c != 0 {
		return c < 0
	}
	if c := bytes.Compare(a.dst[:], b.dst[:]); c != 0 {
		return c < 0
	}
	if a.id != b.id {
		return a.id < b.id
	}
	return a.proto < b.proto
}
