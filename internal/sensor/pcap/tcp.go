package pcap

import (
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// TCP endpoint states, as Zeek's TCP_Endpoint names them.
const (
	tcpInactive = iota
	tcpSynSent
	tcpSynAckSent
	tcpPartial
	tcpEstablished
	tcpClosed
	tcpReset
)

// tooLargeDelta is Zeek's TOO_LARGE_SEQ_DELTA: sequence jumps beyond it
// in SYNs and RSTs are not trusted.
const tooLargeDelta = 1 << 20

// tcpEnd is one endpoint's view, in sequence space relative to its
// initial sequence number (ISN = 0, first data byte = 1).
type tcpEnd struct {
	state, prev uint8
	isn         uint32
	lastAbs     uint32 // the absolute sequence that lastRel maps
	lastRel     int64  // highest sequence number sent + 1
	ackRel      int64  // highest of our bytes the peer acknowledged
	fins        int
	finData     int64 // data offset of the FIN, -1 before one
	didClose    bool
	lastSYN     int64
	lastFIN     int64
	lastRST     int64
	rxmt, rxmtT uint32
	zw, zwT     uint32
	gaps, gapsT uint32
	r           half
}

// rel maps an absolute sequence number near the endpoint's last one to
// relative space, following 32-bit wraps.
func (e *tcpEnd) rel(seq uint32) int64 {
	return e.lastRel + int64(int32(seq-e.lastAbs))
}

func (e *tcpEnd) initSeq(isn uint32, last uint32) {
	e.isn = isn
	e.lastAbs, e.lastRel = isn, 0
	e.lastAbs, e.lastRel = last, e.rel(last)
	e.ackRel = 0
	e.finData = -1
	e.r = half{}
}

func (e *tcpEnd) setState(s uint8) { e.prev, e.state = e.state, s }

// size is Zeek's TCP_Endpoint::Size: payload bytes from sequence space.
func (e *tcpEnd) size(peer *tcpEnd) int64 {
	if e.prev == tcpSynSent && e.state == tcpReset && peer.state == tcpInactive {
		return 0
	}
	s := max(e.lastRel, e.ackRel)
	if s > 0 {
		s--
	}
	if e.fins > 0 && s > 0 {
		s--
	}
	return max(s, 0)
}

// tcpConn is a TCP flow's protocol state.
type tcpConn struct {
	ep [2]tcpEnd
}

func newTCPConn() *tcpConn {
	return &tcpConn{ep: [2]tcpEnd{{finData: -1}, {finData: -1}}}
}

// tcpPacket updates f with one segment travelling in direction dir: TCP
// state, history, sequence space, and reassembly of its payload.
func (en *Engine) tcpPacket(f *flow, dir stream.Dir, p *packet) {
	tc := f.tcp
	e, peer := &tc.ep[dir], &tc.ep[1-dir]
	fl := p.flags
	syn, fin, rst, ack := fl&tcpSYN != 0, fl&tcpFIN != 0, fl&tcpRST != 0, fl&tcpACK != 0
	n := len(p.payload)
	segLen := n
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= n
	}
	end := p.seq + uint32(segLen)

	// Initialise the sequence space (Zeek's init_endpoint).
	switch e.state {
	case tcpInactive:
		if syn {
			e.initSeq(p.seq, end)
		} else {
			e.initSeq(p.seq-1, p.seq)
		}
	case tcpSynSent, tcpSynAckSent, tcpEstablished, tcpPartial:
		if syn && p.seq != e.isn {
			e.initSeq(p.seq, end)
		}
	case tcpReset:
		if syn && e.prev == tcpInactive {
			e.initSeq(p.seq, end)
		}
	}
	relSeq := e.rel(p.seq)
	underflow := relSeq < 0

	// History (Zeek's update_history).
	switch nb := b2i(syn) + b2i(fin) + b2i(rst); {
	case nb > 1:
		if fin && rst {
			f.once(dir, histI, 'I')
		} else {
			f.once(dir, histQ, 'Q')
		}
	case nb == 1:
		if syn {
			c, bit := byte('S'), uint16(histS)
			if ack {
				c, bit = 'H', histH
			}
			if f.once(dir, bit, c) && relSeq != e.lastSYN {
				f.addHist(dir, c)
			}
			e.lastSYN = relSeq
		}
		if fin {
			if f.once(dir, histF, 'F') && relSeq+int64(n) != e.lastFIN {
				f.addHist(dir, 'F')
			}
			e.lastFIN = relSeq + int64(n)
		}
		if rst {
			if f.once(dir, histR, 'R') && relSeq != e.lastRST {
				f.addHist(dir, 'R')
			}
			e.lastRST = relSeq
		}
	default:
		if n > 0 {
			f.once(dir, histD, 'D')
		} else if ack {
			f.once(dir, histA, 'A')
		}
	}
	if p.win == 0 && !rst && !syn && peer.state != tcpClosed && e.state != tcpReset {
		f.scaled(dir, 'W', &e.zw, &e.zwT)
	}
	if fin {
		e.fins++
		e.finData = relSeq + int64(segLen) - 2 // data offset just past the data
	}

	// Acknowledgements move the peer's acked edge.
	var relAck int64
	if ack {
		if peer.state == tcpInactive {
			peer.initSeq(p.ack-1, p.ack-1)
			relAck = 1
		} else {
			relAck = peer.rel(p.ack)
			if relAck < 0 {
				relAck = 0
			} else if !rst && relAck > peer.ackRel && !(p.ack == 0 && relAck-peer.ackRel > tooLargeDelta) {
				peer.ackRel = relAck
			}
		}
	}

	// Highest sequence sent (Zeek's update_last_seq).
	relEnd := e.rel(end)
	delta := relEnd - e.lastRel
	switch {
	case (syn || rst) && (delta > tooLargeDelta || delta < -tooLargeDelta):
	case fin && e.lastRel == 1:
		e.lastAbs, e.lastRel = end, relEnd
	case e.state == tcpReset:
	case delta > 0:
		e.lastAbs, e.lastRel = end, relEnd
	case n > 0:
		f.scaled(dir, 'T', &e.rxmt, &e.rxmtT)
	}

	origH, origP := f.id.OrigH, f.id.OrigP
	doClose := en.tcpStateMachine(f, dir, e, peer, syn, fin, rst, ack, n, p.seq)
	if f.id.OrigH != origH || f.id.OrigP != origP { // roles flipped: the endpoints swapped places
		dir = 1 - dir
		e, peer = &tc.ep[dir], &tc.ep[1-dir]
	}

	if ack && !rst && relAck > 1 {
		// Bytes acknowledged but never seen are lost from the capture.
		target := relAck - 1
		if peer.finData >= 0 && target > peer.finData {
			target = peer.finData
		}
		if target > peer.r.next {
			en.skipTo(f, 1-dir, target)
		}
	}
	if n > 0 && !rst && !underflow {
		off := relSeq - 1
		if syn {
			off++
		}
		en.deliver(f, dir, p, off)
	}
	if doClose && !e.didClose {
		e.didClose = true
		if e.state == tcpReset || peer.didClose || peer.state == tcpInactive {
			en.moveList(f, listClosed)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tcpStateMachine follows Zeek's TCPSessionAdapter::UpdateStateMachine and
// reports whether the packet closes the endpoint.
func (en *Engine) tcpStateMachine(f *flow, dir stream.Dir, e, peer *tcpEnd, syn, fin, rst, ack bool, n int, seq uint32) bool {
	isOrig := dir == stream.FromOrig
	doClose := false
	switch e.state {
	case tcpInactive:
		if syn {
			if isOrig {
				if ack {
					e.setState(tcpSynAckSent)
				} else {
					e.setState(tcpSynSent)
				}
			} else {
				if !ack && peer.state == tcpSynAckSent && seq == e.isn {
					// SYN/SYN-ACK reversal: the "originator" answered.
					en.flip(f)
					peer.setState(tcpEstablished)
				}
				if peer.state == tcpSynSent {
					peer.setState(tcpEstablished)
				}
				e.setState(tcpEstablished)
			}
		}
		if fin {
			e.setState(tcpClosed)
			doClose = true
		}
		if rst {
			e.setState(tcpReset)
			doClose = true
		}
		if e.state == tcpInactive {
			switch {
			case !isOrig && n == 0 && f.tcp.ep[stream.FromOrig].state == tcpSynSent:
				// An ACK of the SYN before the SYN-ACK: not partial.
			case ack && peer.state == tcpEstablished:
				e.setState(tcpEstablished)
			default:
				e.setState(tcpPartial)
			}
		}
	case tcpSynSent, tcpSynAckSent:
		if fin {
			e.setState(tcpClosed)
			doClose = true
		}
		if rst {
			e.setState(tcpReset)
			doClose = true
		}
	case tcpEstablished, tcpPartial:
		if syn && e.state == tcpPartial && peer.state == tcpInactive && !ack {
			e.setState(tcpSynSent)
		}
		if fin && !rst {
			e.setState(tcpClosed)
			if peer.state == tcpReset && peer.prev == tcpClosed {
				peer.setState(tcpClosed)
			}
			doClose = true
		}
		if rst {
			e.setState(tcpReset)
			doClose = true
		}
	case tcpClosed:
		if rst && peer.state != tcpClosed {
			e.setState(tcpReset)
			doClose = !e.didClose
		}
	}
	return doClose
}

// connState is Zeek's conn_state function (base/protocols/conn/main.zeek).
func connState(f *flow) event.ConnState {
	switch f.proto {
	case event.ProtoTCP:
	case event.ProtoUDP:
		o, r := f.d[0].pkts > 0, f.d[1].pkts > 0
		switch {
		case o && r:
			return event.StateSF
		case o:
			return event.StateS0
		case r:
			return event.StateSHR
		}
		return event.StateOTH
	default:
		return event.StateOTH
	}
	o, r := &f.tcp.ep[0], &f.tcp.ep[1]
	os, rs := o.state, r.state
	oInactive := os == tcpInactive || os == tcpPartial
	rInactive := rs == tcpInactive || rs == tcpPartial
	switch {
	case rs == tcpReset:
		if os == tcpSynSent || os == tcpSynAckSent || (os == tcpReset && o.size(r) == 0 && r.size(o) == 0) {
			return event.StateREJ
		}
		if oInactive {
			return event.StateRSTRH
		}
		return event.StateRSTR
	case os == tcpReset:
		if rInactive {
			if rstos0(f.hist) {
				return event.StateRSTOS0
			}
			return event.StateOTH
		}
		return event.StateRSTO
	case rs == tcpClosed && os == tcpClosed:
		return event.StateSF
	case os == tcpClosed:
		if rInactive {
			return event.StateSH
		}
		return event.StateS2
	case rs == tcpClosed:
		if oInactive {
			return event.StateSHR
		}
		return event.StateS3
	case os == tcpSynSent && rs == tcpInactive:
		return event.StateS0
	case os == tcpEstablished && rs == tcpEstablished:
		return event.StateS1
	}
	return event.StateOTH
}

// rstos0 matches Zeek's /\^?S[^HAFGIQ]*R.*/ against the history.
func rstos0(h []byte) bool {
	i := 0
	if i < len(h) && h[i] == '^' {
		i++
	}
	if i >= len(h) || h[i] != 'S' {
		return false
	}
	for i++; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
