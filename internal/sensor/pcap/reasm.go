package pcap

// Reassembly. A small reassembler of our own rather than
// gopacket/reassembly: it needs no per-packet allocation for in-order data
// (the common case: bytes go straight from the frame to the analyzer),
// tracks only ranges when no analyzer wants the bytes (so missed_bytes is
// still known), and follows Zeek's rule of declaring a gap when the peer
// acknowledges bytes the capture never showed. See DESIGN.md.

// seg is one out-of-order segment, by data offset; data is nil when the
// bytes are not kept.
type seg struct {
	start, end int64
	data       []byte
}

// half reassembles one direction of a TCP connection in data-offset
// space (0 = the first byte after the SYN).
type half struct {
	next     int64 // offset of the next byte expected
	segs     []seg // out of order, sorted by start
	buffered int
	missed   int64
}

// sink receives in-order bytes and gaps.
type sink interface {
	data(b []byte)
	gap(n int64)
}

// add takes a segment at offset off. keep says whether bytes are wanted;
// limit bounds the bytes buffered out of order.
func (h *half) add(off int64, b []byte, keep bool, limit int, s sink) {
	end := off + int64(len(b))
	if end <= h.next {
		return // retransmission of delivered bytes
	}
	if off <= h.next {
		b = b[h.next-off:]
		h.next = end
		if keep {
			s.data(b)
		}
		h.drain(keep, s)
		return
	}
	var kept []byte
	if keep {
		kept = append([]byte(nil), b...)
		h.buffered += len(b)
	}
	i := len(h.segs)
	for i > 0 && h.segs[i-1].start > off {
		i--
	}
	h.segs = append(h.segs, seg{})
	copy(h.segs[i+1:], h.segs[i:])
	h.segs[i] = seg{start: off, end: end, data: kept}
	if h.buffered > limit || len(h.segs) > 1024 {
		h.skipTo(h.segs[0].start, keep, s)
	}
}

// drain delivers buffered segments that have become contiguous.
func (h *half) drain(keep bool, s sink) {
	n := 0
	for n < len(h.segs) && h.segs[n].start <= h.next {
		sg := h.segs[n]
		h.buffered -= len(sg.data)
		if sg.end > h.next {
			if keep && sg.data != nil {
				s.data(sg.data[h.next-sg.start:])
			}
			h.next = sg.end
		}
		n++
	}
	if n > 0 {
		h.segs = append(h.segs[:0], h.segs[n:]...)
	}
}

// skipTo declares the bytes up to off lost (a gap) and delivers what
// follows.
func (h *half) skipTo(off int64, keep bool, s sink) {
	for h.next < off {
		target := off
		if len(h.segs) > 0 && h.segs[0].start < target {
			target = h.segs[0].start
		}
		if target > h.next {
			n := target - h.next
			h.missed += n
			if keep {
				s.gap(n)
			}
			h.next = target
		}
		h.drain(keep, s)
	}
}

// finish flushes everything buffered, with gaps for the holes.
func (h *half) finish(keep bool, s sink) {
	if len(h.segs) > 0 {
		h.skipTo(h.segs[len(h.segs)-1].end, keep, s)
	}
}

// drop forgets buffered bytes (the analyzer no longer wants them) while
// keeping the ranges for gap accounting.
func (h *half) drop() {
	for i := range h.segs {
		h.segs[i].data = nil
	}
	h.buffered = 0
}
