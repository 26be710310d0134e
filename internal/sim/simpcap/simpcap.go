// Package simpcap renders simulated Sessions as packets in a pcap file:
// TCP handshakes, data at MSS with ACKs, FIN or RST endings, unanswered
// and refused SYNs, UDP exchanges, with real protocol bytes from package
// wire (TLS, HTTP/1.1, DNS) and pcapgen (DHCP, NTP), and payload byte
// counts equal to the Sessions' BytesUp and BytesDown.
//
// Sessions arrive in start order but overlap in time, so packets wait in
// a min-heap and are written once no later session can come before them:
// memory holds the packets of the sessions still in flight, never the
// whole capture.
package simpcap

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"iter"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sim"
	"github.com/vigil-ndr/vigil/internal/sim/wire"
	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// Options configure a Writer.
type Options struct {
	// Nanosecond writes nanosecond timestamps; otherwise microseconds.
	Nanosecond bool
	// SnapLen is the snapshot length; 0 means 65535.
	SnapLen int
	// Seed varies the random-looking bytes (keys, randoms, bodies) of
	// every session; the same Sessions and Seed give the same file.
	Seed uint64
}

// Writer writes Sessions as a pcap stream. It is not safe for concurrent
// use.
type Writer struct {
	opt      Options
	bw       *bufio.Writer
	pw       *pcapgo.Writer
	q        pktHeap
	seq      uint64
	last     time.Time
	err      error
	sessions int
	packets  int
	cur      []pkt // the session being rendered
	gen      *pcapgen.Writer
	// active are the large sessions rendering step by step, earliest
	// clock first; lateErrs their errors.
	active   []*stepwise
	lateErrs []error
	// small and large are free frame buffers (ACK-sized and MTU-sized),
	// reused once written.
	small, large [][]byte
}

// Frame buffer classes and how many free buffers are kept.
const (
	smallFrame = 128
	largeFrame = 1600
	maxFree    = 4096
)

// frame returns a copy of b in a reused buffer when one fits.
func (w *Writer) frame(b []byte) []byte {
	var free *[][]byte
	switch {
	case len(b) <= smallFrame:
		free = &w.small
	case len(b) <= largeFrame:
		free = &w.large
	default:
		return append([]byte(nil), b...)
	}
	if n := len(*free); n > 0 {
		buf := (*free)[n-1]
		*free = (*free)[:n-1]
		return append(buf[:0], b...)
	}
	size := smallFrame
	if free == &w.large {
		size = largeFrame
	}
	return append(make([]byte, 0, size), b...)
}

// release gives a written frame's buffer back.
func (w *Writer) release(b []byte) {
	switch cap(b) {
	case smallFrame:
		if len(w.small) < maxFree {
			w.small = append(w.small, b)
		}
	case largeFrame:
		if len(w.large) < maxFree {
			w.large = append(w.large, b)
		}
	}
}

type pkt struct {
	ts   int64 // Unix nanoseconds
	seq  uint64
	data []byte
}

type pktHeap []pkt

func (h pktHeap) Len() int { return len(h) }
func (h pktHeap) Less(i, j int) bool {
	return h[i].ts < h[j].ts || h[i].ts == h[j].ts && h[i].seq < h[j].seq
}
func (h pktHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)   { *h = append(*h, x.(pkt)) }
func (h *pktHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = pkt{}
	*h = old[:len(old)-1]
	return p
}

// NewWriter writes the pcap file header to out and returns a Writer.
func NewWriter(out io.Writer, opt Options) *Writer {
	if opt.SnapLen <= 0 {
		opt.SnapLen = pcapgen.DefaultSnapLen
	}
	w := &Writer{opt: opt, bw: bufio.NewWriterSize(out, 256<<10)}
	if opt.Nanosecond {
		w.pw = pcapgo.NewWriterNanos(w.bw)
	} else {
		w.pw = pcapgo.NewWriter(w.bw)
	}
	if err := w.pw.WriteFileHeader(uint32(opt.SnapLen), layers.LinkTypeEthernet); err != nil {
		w.err = fmt.Errorf("write pcap header: %w", err)
	}
	return w
}

// Stats returns how many sessions and packets have been written or
// queued so far.
func (w *Writer) Stats() (sessions, packets int) { return w.sessions, w.packets }

// Write renders s. Sessions must come in non-decreasing Start order. A
// session that cannot be rendered (say, mixed address families) is
// reported and left out; a write error is sticky.
func (w *Writer) Write(s *sim.Session) error {
	if w.err != nil {
		return w.err
	}
	if s.Start.Before(w.last) {
		return fmt.Errorf("session %s -> %s at %s starts before the previous one (%s)",
			s.Client.IP, s.Server.IP, s.Start.Format(time.RFC3339Nano), w.last.Format(time.RFC3339Nano))
	}
	w.last = s.Start
	w.advance(s.Start)
	w.flush(s.Start.UnixNano())
	if w.err != nil {
		return w.err
	}
	w.cur = w.cur[:0]
	if w.gen == nil {
		// One packet generator for all sessions (its IP ID counter runs
		// on); replaced after a session fails, as its errors are sticky.
		w.gen = pcapgen.NewSink(func(ts time.Time, frame []byte) {
			w.cur = append(w.cur, pkt{ts: ts.UnixNano(), data: w.frame(frame)})
		})
	}
	if s.Proto == event.ProtoTCP && s.DHCP == nil && s.BytesUp+s.BytesDown > stepwiseAbove {
		w.startStepwise(s)
		return nil
	}
	err := render(w.gen, s, w.opt.Seed, nil)
	if err == nil {
		err = w.gen.Err()
	}
	if err != nil {
		w.gen = nil
		for _, p := range w.cur {
			w.release(p.data)
		}
		clear(w.cur)
		return fmt.Errorf("session %s:%d -> %s:%d at %s: %w", s.Client.IP, s.Client.Port, s.Server.IP, s.Server.Port,
			s.Start.Format(time.RFC3339Nano), err)
	}
	for _, p := range w.cur {
		w.seq++
		p.seq = w.seq
		heap.Push(&w.q, p)
	}
	w.sessions++
	w.packets += len(w.cur)
	clear(w.cur)
	return nil
}

// stepwiseAbove is the payload size from which a TCP session is rendered
// step by step (one burst at a time, interleaved with later sessions)
// rather than at once: a backup of gigabytes must not sit in memory.
const stepwiseAbove = 4 << 20

// stepwise is a large session being rendered as a coroutine.
type stepwise struct {
	next func() (time.Time, bool)
	stop func()
	now  time.Time // the session's clock at its last step
	seq  uint64
	gen  *pcapgen.Writer
	cur  []pkt
	s    *sim.Session
	err  error
}

func (w *Writer) startStepwise(s *sim.Session) {
	st := &stepwise{s: s, now: s.Start}
	w.seq++
	st.seq = w.seq
	st.gen = pcapgen.NewSink(func(ts time.Time, frame []byte) {
		st.cur = append(st.cur, pkt{ts: ts.UnixNano(), data: w.frame(frame)})
	})
	seed := w.opt.Seed
	st.next, st.stop = iter.Pull(func(yield func(time.Time) bool) {
		err := render(st.gen, s, seed, func(now time.Time) {
			if !yield(now) {
				panic(errStopped)
			}
		})
		if err == nil {
			err = st.gen.Err()
		}
		st.err = err
	})
	w.sessions++
	w.step(st)
}

// errStopped unwinds a stepwise session stopped before its end.
var errStopped = errors.New("simpcap: session stopped")

// step runs st to its next burst and queues what it wrote; a finished
// session leaves the active list.
func (w *Writer) step(st *stepwise) {
	now, ok := st.next()
	for _, p := range st.cur {
		w.seq++
		p.seq = w.seq
		heap.Push(&w.q, p)
	}
	w.packets += len(st.cur)
	clear(st.cur)
	st.cur = st.cur[:0]
	if !ok {
		if st.err != nil {
			w.lateErrs = append(w.lateErrs, fmt.Errorf("session %s:%d -> %s:%d at %s: %w", st.s.Client.IP, st.s.Client.Port,
				st.s.Server.IP, st.s.Server.Port, st.s.Start.Format(time.RFC3339Nano), st.err))
		}
		return
	}
	st.now = now
	i, _ := slices.BinarySearchFunc(w.active, st, func(a, b *stepwise) int {
		if c := a.now.Compare(b.now); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	w.active = slices.Insert(w.active, i, st)
}

// advance steps the large sessions until every one's clock is past t, so
// that none can still write a packet at or before t.
func (w *Writer) advance(t time.Time) {
	for len(w.active) > 0 && !w.active[0].now.After(t) {
		st := w.active[0]
		w.active = slices.Delete(w.active, 0, 1)
		w.step(st)
	}
}

// flush writes every queued packet at or before until (Unix ns).
func (w *Writer) flush(until int64) {
	for len(w.q) > 0 && w.q[0].ts <= until && w.err == nil {
		p := heap.Pop(&w.q).(pkt)
		ts := time.Unix(0, p.ts).UTC()
		if !w.opt.Nanosecond {
			ts = ts.Truncate(time.Microsecond)
		}
		ci := gopacket.CaptureInfo{Timestamp: ts, Length: len(p.data), CaptureLength: min(len(p.data), w.opt.SnapLen)}
		if err := w.pw.WritePacket(ci, p.data[:ci.CaptureLength]); err != nil {
			w.err = fmt.Errorf("write packet: %w", err)
		}
		w.release(p.data)
	}
}

// Close finishes the sessions still rendering, writes the packets still
// queued and flushes the output; it does not close the underlying
// io.Writer. Errors of large sessions (rendered step by step) are
// reported here.
func (w *Writer) Close() error {
	w.advance(time.Unix(0, 1<<63-1))
	w.flush(1<<63 - 1)
	if w.err != nil {
		return w.err
	}
	if err := errors.Join(w.lateErrs...); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("flush pcap: %w", err)
	}
	return nil
}

// sessionSeed derives one session's seed from its identity.
func sessionSeed(s *sim.Session, seed uint64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(s.Start.UnixNano()))
	h.Write(b[:])
	h.Write(s.Client.IP.AsSlice())
	h.Write(s.Server.IP.AsSlice())
	binary.LittleEndian.PutUint16(b[:], s.Client.Port)
	binary.LittleEndian.PutUint16(b[2:], s.Server.Port)
	h.Write(b[:4])
	return h.Sum64()
}

// host turns an Endpoint into a pcapgen Host; a missing MAC is derived
// from the address (locally administered).
func host(e sim.Endpoint) pcapgen.Host {
	mac, err := net.ParseMAC(e.MAC)
	if err != nil || len(mac) != 6 {
		a := e.IP.As16()
		mac = net.HardwareAddr{0x02, 0x42, a[12], a[13], a[14], a[15]}
	}
	ttl := e.TTL
	if ttl == 0 {
		ttl = 64
	}
	return pcapgen.Host{MAC: mac, IP: e.IP, TTL: ttl}
}

// rtt is the round trip from the capture point to the server: short on
// the LAN, tens of milliseconds on the internet, stable per server.
func rtt(s *sim.Session) time.Duration {
	h := fnv.New32a()
	h.Write(s.Server.IP.AsSlice())
	v := time.Duration(h.Sum32() % 1000)
	if s.Server.IP.IsPrivate() || s.Server.IP.IsLoopback() || s.Server.IP.IsLinkLocalUnicast() {
		return 300*time.Microsecond + v*time.Microsecond
	}
	return 8*time.Millisecond + v*110*time.Microsecond
}

func render(pw *pcapgen.Writer, s *sim.Session, seed uint64, yield func(time.Time)) error {
	seed = sessionSeed(s, seed)
	switch {
	case s.DHCP != nil:
		return renderDHCP(pw, s)
	case s.Proto == event.ProtoUDP:
		return renderUDP(pw, s, seed)
	case s.Proto == event.ProtoICMP:
		return renderICMP(pw, s, seed)
	}
	return renderTCP(pw, s, seed, yield)
}

func renderDHCP(pw *pcapgen.Writer, s *sim.Session) error {
	d := s.DHCP
	mac, err := net.ParseMAC(d.MAC)
	if err != nil {
		mac = host(s.Client).MAC
	}
	srv := host(s.Server)
	if !srv.IP.Is4() || srv.IP == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || srv.IP.IsUnspecified() {
		// The session names the broadcast address; the server answering
		// is the subnet's first address.
		if !d.Assigned.Is4() {
			return fmt.Errorf("dhcp without an IPv4 assignment")
		}
		a := d.Assigned.As4()
		srv.IP = netip.AddrFrom4([4]byte{a[0], a[1], a[2], 1})
	}
	pw.DHCPExchange(s.Start, pcapgen.DHCP{ClientMAC: mac, Hostname: d.Hostname, Assigned: d.Assigned, Server: srv,
		Xid: uint32(sessionSeed(s, 0)), Lease: d.Lease, Router: srv.IP, DNS: []netip.Addr{srv.IP}})
	return pw.Err()
}

// span returns the session's duration, or d when it has none.
func span(s *sim.Session, d time.Duration) time.Duration {
	if s.Duration > 0 {
		return s.Duration
	}
	return d
}

func renderUDP(pw *pcapgen.Writer, s *sim.Session, seed uint64) error {
	c, srv := host(s.Client).At(s.Client.Port), host(s.Server).At(s.Server.Port)
	replies := s.State != event.StateS0
	if s.DNS != nil {
		q, r, err := wire.DNSMessages(wire.DNS{Name: s.DNS.Name, QType: s.DNS.QType, Answers: s.DNS.Answers,
			TTL: s.DNS.TTL, RCode: s.DNS.RCode, ID: uint16(seed)})
		if err != nil {
			return fmt.Errorf("dns %q: %w", s.DNS.Name, err)
		}
		pw.UDP(s.Start, c, srv, q)
		if replies && !s.DNS.NoReply {
			pw.UDP(s.Start.Add(span(s, 12*time.Millisecond)), srv, c, r)
		}
		return pw.Err()
	}
	if s.Server.Port == 123 && s.BytesUp == 48 {
		pw.UDP(s.Start, c, srv, pcapgen.NTP(false, s.Start, s.Start))
		if replies {
			at := s.Start.Add(span(s, 20*time.Millisecond))
			pw.UDP(at, srv, c, pcapgen.NTP(true, s.Start, at))
		}
		return pw.Err()
	}
	// Anything else: datagrams of up to 1200 bytes, the client's first,
	// each answered by the server's, spread over the duration.
	const dgram = 1200
	up, down := s.BytesUp, s.BytesDown
	if !replies {
		down = 0
	}
	n := max((up+dgram-1)/dgram, (down+dgram-1)/dgram, 1)
	step := span(s, 30*time.Millisecond) / time.Duration(n)
	buf := make([]byte, dgram)
	fill := newFiller(seed)
	t := s.Start
	for i := int64(0); i < n; i++ {
		if k := min(up, dgram); k > 0 {
			fill.read(buf[:k])
			pw.UDP(t, c, srv, buf[:k])
			up -= k
		}
		if k := min(down, dgram); k > 0 {
			fill.read(buf[:k])
			pw.UDP(t.Add(step/2), srv, c, buf[:k])
			down -= k
		}
		t = t.Add(step)
	}
	return pw.Err()
}

func renderICMP(pw *pcapgen.Writer, s *sim.Session, seed uint64) error {
	c, srv := host(s.Client), host(s.Server)
	id := uint16(seed)
	fill := newFiller(seed)
	req := make([]byte, s.BytesUp)
	fill.read(req)
	echo, reply := uint8(pcapgen.ICMPEcho), uint8(pcapgen.ICMPEchoReply)
	if c.IP.Is6() {
		echo, reply = pcapgen.ICMPv6Echo, pcapgen.ICMPv6EchoReply
	}
	pw.ICMP(s.Start, c, srv, pcapgen.ICMP{Type: echo, ID: id, Seq: 1, Payload: req})
	if s.State != event.StateS0 {
		resp := make([]byte, s.BytesDown)
		fill.read(resp)
		pw.ICMP(s.Start.Add(span(s, rtt(s))), srv, c, pcapgen.ICMP{Type: reply, ID: id, Seq: 1, Payload: resp})
	}
	return pw.Err()
}
