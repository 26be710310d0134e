package pcapgen

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// SessionOptions shape a TCPSession. The capture point is assumed to sit
// near the client (a sensor on the office LAN or at its gateway): a reply
// from the server is seen RTT after the packet it answers, a reply from the
// client ClientDelay after.
type SessionOptions struct {
	// RTT is the round trip from the capture point to the server and back;
	// 0 means 20ms.
	RTT time.Duration
	// ClientDelay is how long the client takes to answer what the server
	// sent, as seen at the capture point; 0 means 150µs.
	ClientDelay time.Duration
	// MSS is the largest payload of one segment; 0 means 1460 (1440 over
	// IPv6).
	MSS int
	// Gap separates back-to-back segments of one burst; 0 means 40µs.
	Gap time.Duration
	// RetransmitAfter is how long after a burst a Retransmit fault resends
	// its segment; 0 means 200ms (Linux's minimum RTO).
	RetransmitAfter time.Duration
	// ClientISN and ServerISN are the initial sequence numbers; 0 derives
	// them from the endpoints and start time, so sessions differ yet stay
	// deterministic.
	ClientISN, ServerISN uint32
	// Window is the receive window advertised in SYNs; 0 means 64240.
	// Later segments advertise it scaled by the window-scale option (7)
	// that the SYNs carry.
	Window uint16
}

// Session writes one TCP connection, tracking sequence and acknowledgement
// numbers and the time of the last packet. Its methods are meant to be
// called in protocol order: Handshake, then any Send and Wait, then Close
// or Reset; or just SynOnly or Rejected.
type Session struct {
	w            *Writer
	c, s         Endpoint
	opt          SessionOptions
	now          time.Time
	cISN, sISN   uint32
	cNext, sNext uint32
	open, ended  bool
	win          uint16 // scaled window of non-SYN segments
}

// TCPSession starts a TCP session between client and server at start. No
// packet is written until a method is called.
func (w *Writer) TCPSession(start time.Time, client, server Endpoint, opt SessionOptions) *Session {
	if opt.RTT <= 0 {
		opt.RTT = 20 * time.Millisecond
	}
	if opt.ClientDelay <= 0 {
		opt.ClientDelay = 150 * time.Microsecond
	}
	if opt.MSS <= 0 {
		opt.MSS = 1460
		if client.IP.Is6() {
			opt.MSS = 1440
		}
	}
	if opt.Gap <= 0 {
		opt.Gap = 40 * time.Microsecond
	}
	if opt.RetransmitAfter <= 0 {
		opt.RetransmitAfter = 200 * time.Millisecond
	}
	if opt.Window == 0 {
		opt.Window = 64240
	}
	s := &Session{w: w, c: client, s: server, opt: opt, now: start, win: max(uint16(uint32(opt.Window)>>7), 1)}
	s.cISN, s.sISN = opt.ClientISN, opt.ServerISN
	if s.cISN == 0 {
		s.cISN = isn(client, server, start, 'c')
	}
	if s.sISN == 0 {
		s.sISN = isn(client, server, start, 's')
	}
	s.cNext, s.sNext = s.cISN, s.sISN
	return s
}

// isn derives an initial sequence number from the connection's identity.
func isn(c, s Endpoint, start time.Time, side byte) uint32 {
	h := fnv.New32a()
	h.Write(c.IP.AsSlice())
	h.Write(s.IP.AsSlice())
	var b [13]byte
	binary.BigEndian.PutUint16(b[0:], c.Port)
	binary.BigEndian.PutUint16(b[2:], s.Port)
	binary.BigEndian.PutUint64(b[4:], uint64(start.UnixNano()))
	b[12] = side
	h.Write(b[:])
	return h.Sum32() | 1
}

// Now returns the time of the last packet written (or the start time).
func (s *Session) Now() time.Time { return s.now }

// Wait advances the session's clock by d (think time, idle periods).
func (s *Session) Wait(d time.Duration) { s.now = s.now.Add(d) }

// Client and Server return the session's endpoints.
func (s *Session) Client() Endpoint { return s.c }

// Server returns the server's endpoint.
func (s *Session) Server() Endpoint { return s.s }

// NextSeq returns the next sequence number the client (or the server)
// would send: with Writer.TCP, it lets a test append hand-made segments.
func (s *Session) NextSeq(fromClient bool) uint32 {
	if fromClient {
		return s.cNext
	}
	return s.sNext
}

type pkt struct {
	ts         time.Time
	fromClient bool
	seg        Segment
}

func (s *Session) emit(ps []pkt) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].ts.Before(ps[j].ts) })
	for _, p := range ps {
		if p.fromClient {
			s.w.TCP(p.ts, s.c, s.s, p.seg)
		} else {
			s.w.TCP(p.ts, s.s, s.c, p.seg)
		}
		if p.ts.After(s.now) {
			s.now = p.ts
		}
	}
}

func (s *Session) synOptions() []layers.TCPOption {
	mss := make([]byte, 2)
	binary.BigEndian.PutUint16(mss, uint16(s.opt.MSS))
	return []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: mss},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
	}
}

func (s *Session) check(wantOpen bool) bool {
	switch {
	case s.ended:
		s.w.fail(fmt.Errorf("%w: %v -> %v", errClosed, s.c, s.s))
		return false
	case s.open != wantOpen:
		if wantOpen {
			s.w.fail(fmt.Errorf("pcapgen: session %v -> %v used before Handshake", s.c, s.s))
		} else {
			s.w.fail(fmt.Errorf("pcapgen: session %v -> %v already open", s.c, s.s))
		}
		return false
	}
	return true
}

// Handshake writes SYN, SYN-ACK and ACK (Zeek history "ShA").
func (s *Session) Handshake() {
	if !s.check(false) {
		return
	}
	t := s.now
	syn := pkt{t, true, Segment{Flags: SYN, Seq: s.cISN, Window: s.opt.Window, Options: s.synOptions()}}
	t = t.Add(s.opt.RTT)
	synack := pkt{t, false, Segment{Flags: SYN | ACK, Seq: s.sISN, Ack: s.cISN + 1, Window: s.opt.Window, Options: s.synOptions()}}
	t = t.Add(s.opt.ClientDelay)
	ack := pkt{t, true, Segment{Flags: ACK, Seq: s.cISN + 1, Ack: s.sISN + 1, Window: s.win}}
	s.emit([]pkt{syn, synack, ack})
	s.cNext, s.sNext = s.cISN+1, s.sISN+1
	s.open = true
}

// SynOnly writes an unanswered SYN and retries more copies of it, 1s, 2s,
// 4s ... apart (Zeek conn_state S0, history "S").
func (s *Session) SynOnly(retries int) {
	if !s.check(false) {
		return
	}
	t := s.now
	var ps []pkt
	for i := 0; i <= retries; i++ {
		ps = append(ps, pkt{t, true, Segment{Flags: SYN, Seq: s.cISN, Window: s.opt.Window, Options: s.synOptions()}})
		t = t.Add(time.Second << i)
	}
	s.emit(ps)
	s.ended = true
}

// Rejected writes a SYN answered by RST-ACK from the server (Zeek
// conn_state REJ, history "Sr").
func (s *Session) Rejected() {
	if !s.check(false) {
		return
	}
	syn := pkt{s.now, true, Segment{Flags: SYN, Seq: s.cISN, Window: s.opt.Window, Options: s.synOptions()}}
	rst := pkt{s.now.Add(s.opt.RTT), false, Segment{Flags: RST | ACK, Seq: 0, Ack: s.cISN + 1, Window: 0xffff}}
	s.emit([]pkt{syn, rst})
	s.ended = true
}

// Fault alters how one segment of a Send appears in the capture. Segments
// are numbered from 0 within that Send.
type Fault struct {
	kind faultKind
	seg  int
}

type faultKind int

const (
	faultDrop faultKind = iota + 1
	faultRetransmit
	faultReorder
)

// Drop leaves segment i out of the capture although the peer received and
// acknowledged it: a capture gap (Zeek missed_bytes, an ACK above seen data).
func Drop(i int) Fault { return Fault{faultDrop, i} }

// Retransmit writes segment i again after the burst, as a retransmission
// timeout would (Zeek history "T" or "t"); the peer answers with a
// duplicate ACK.
func Retransmit(i int) Fault { return Fault{faultRetransmit, i} }

// Reorder swaps the capture times of segments i and i+1, so i+1 is seen
// first.
func Reorder(i int) Fault { return Fault{faultReorder, i} }

// Send writes data from the client (or the server) as segments of at most
// MSS bytes, PSH on the last, each pair acknowledged by the peer (delayed
// ACK) and the last acknowledged at once. Empty data writes nothing.
func (s *Session) Send(fromClient bool, data []byte, faults ...Fault) {
	if !s.check(true) || len(data) == 0 {
		return
	}
	next, peerNext := &s.cNext, &s.sNext
	ackDelay := s.opt.RTT
	if !fromClient {
		next, peerNext = &s.sNext, &s.cNext
		ackDelay = s.opt.ClientDelay
	}
	var segs []pkt
	var acks []pkt
	t := s.now
	for off := 0; off < len(data); off += s.opt.MSS {
		end := min(off+s.opt.MSS, len(data))
		t = t.Add(s.opt.Gap)
		f := ACK
		if end == len(data) {
			f |= PSH
		}
		seq := *next + uint32(off)
		segs = append(segs, pkt{t, fromClient, Segment{Flags: f, Seq: seq, Ack: *peerNext, Window: s.win, Payload: data[off:end]}})
		if i := len(segs) - 1; i%2 == 1 || end == len(data) {
			acks = append(acks, pkt{t.Add(ackDelay), !fromClient, Segment{Flags: ACK, Seq: *peerNext, Ack: seq + uint32(end-off), Window: s.win}})
		}
	}
	last := acks[len(acks)-1].ts
	drop := map[int]bool{}
	for _, f := range faults {
		if f.seg < 0 || f.seg >= len(segs) {
			s.w.fail(fmt.Errorf("pcapgen: fault on segment %d of a %d-segment send", f.seg, len(segs)))
			return
		}
		switch f.kind {
		case faultDrop:
			drop[f.seg] = true
		case faultRetransmit:
			re := segs[f.seg]
			re.ts = last.Add(s.opt.RetransmitAfter)
			dup := acks[len(acks)-1]
			dup.ts = re.ts.Add(ackDelay)
			acks = append(acks, re, dup)
		case faultReorder:
			if f.seg+1 < len(segs) {
				segs[f.seg].ts, segs[f.seg+1].ts = segs[f.seg+1].ts, segs[f.seg].ts
			}
		}
	}
	var ps []pkt
	for i, p := range segs {
		if !drop[i] {
			ps = append(ps, p)
		}
	}
	s.emit(append(ps, acks...))
	*next += uint32(len(data))
}

// Close ends the session with a FIN exchange started by the client.
func (s *Session) Close() { s.CloseBy(true) }

// CloseBy ends the session with a FIN exchange started by the client (or
// the server): FIN-ACK, the peer's FIN-ACK, the last ACK (Zeek SF).
func (s *Session) CloseBy(fromClient bool) {
	if !s.check(true) {
		return
	}
	next, peerNext := &s.cNext, &s.sNext
	peerDelay, ownDelay := s.opt.RTT, s.opt.ClientDelay
	if !fromClient {
		next, peerNext = &s.sNext, &s.cNext
		peerDelay, ownDelay = ownDelay, peerDelay
	}
	t := s.now.Add(s.opt.Gap)
	fin := pkt{t, fromClient, Segment{Flags: FIN | ACK, Seq: *next, Ack: *peerNext, Window: s.win}}
	t = t.Add(peerDelay)
	peerFin := pkt{t, !fromClient, Segment{Flags: FIN | ACK, Seq: *peerNext, Ack: *next + 1, Window: s.win}}
	t = t.Add(ownDelay)
	last := pkt{t, fromClient, Segment{Flags: ACK, Seq: *next + 1, Ack: *peerNext + 1, Window: s.win}}
	s.emit([]pkt{fin, peerFin, last})
	*next++
	*peerNext++
	s.ended = true
}

// Reset ends the session with an RST-ACK from the client (or the server)
// (Zeek RSTO or RSTR).
func (s *Session) Reset(fromClient bool) {
	if !s.check(true) {
		return
	}
	seq, ack := s.cNext, s.sNext
	if !fromClient {
		seq, ack = ack, seq
	}
	s.emit([]pkt{{s.now.Add(s.opt.Gap), fromClient, Segment{Flags: RST | ACK, Seq: seq, Ack: ack, Window: s.win}}})
	s.ended = true
}

// Exchange sends req from the client, waits think, and sends resp from the
// server: one HTTP-style request and response.
func (s *Session) Exchange(req []byte, think time.Duration, resp []byte) {
	s.Send(true, req)
	s.Wait(think)
	s.Send(false, resp)
}
