package pcap

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// attemptDelay is Zeek's tcp_attempt_delay: a SYN unanswered this long
// ends as an attempt (S0), and a later SYN retry starts a new connection.
const attemptDelay = 5 * time.Second

// ErrMalformed marks a frame that could not be decoded. Packet returns it
// wrapped; the frame is skipped and counted, and the engine goes on.
var ErrMalformed = errors.New("malformed packet")

// Engine turns decoded packets into flows and events. It is driven by
// event time only: Packet, Expire and Flush take the time from the
// capture. An Engine is not safe for concurrent use.
type Engine struct {
	cfg     Config
	emit    sensor.Emit
	err     error
	dec     *decoder
	pkt     packet
	flows   map[flowKey]*flow
	lists   [numLists]struct{ head, tail *flow }
	stats   Stats
	dhcp    *dhcpTracker
	dnsPort *[65536 / 64]uint64
	feed    feeder
	now     time.Time
}

// NewEngine returns an engine that sends events to emit.
func NewEngine(cfg Config, emit sensor.Emit) *Engine {
	cfg = cfg.withDefaults()
	en := &Engine{
		cfg:     cfg,
		emit:    emit,
		dec:     newDecoder(cfg.MaxFragments),
		flows:   map[flowKey]*flow{},
		dnsPort: portSet(cfg.DNSPorts...),
	}
	en.dhcp = newDHCPTracker(en)
	en.feed.en = en
	return en
}

// Stats returns the engine's counters so far.
func (en *Engine) Stats() Stats {
	s := en.stats
	return s
}

// Packet takes one captured frame of the given link type. It returns an
// error wrapping ErrMalformed for a frame it cannot decode (the caller
// reports it and goes on), or the error an emit returned (the caller
// stops).
func (en *Engine) Packet(ts time.Time, lt layers.LinkType, data []byte) error {
	en.stats.Packets++
	en.stats.Bytes += int64(len(data))
	if ts.After(en.now) {
		en.now = ts
	}
	p := &en.pkt
	if err := en.dec.decode(ts, lt, data, p); err != nil {
		switch {
		case errors.Is(err, errFragment):
			en.stats.Fragments++
			return nil
		case errors.Is(err, errSkip):
			en.stats.Skipped++
			return nil
		}
		en.stats.Malformed++
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	en.handle(p)
	return en.err
}

// keyPorts returns the ports a packet contributes to its flow key: for
// ICMP, Zeek's (type, counterpart type) or (type, code).
func keyPorts(p *packet) (sp, dp uint16, reply bool) {
	if p.proto != ipICMP && p.proto != ipICMPv6 {
		return p.sport, p.dport, false
	}
	other, isReply, ok := icmpCounterpart(p.proto == ipICMPv6, p.icmpType)
	if !ok {
		return uint16(p.icmpType), uint16(p.icmpCode), false
	}
	return uint16(p.icmpType), uint16(other), isReply
}

func (en *Engine) handle(p *packet) {
	sp, dp, reply := keyPorts(p)
	key := makeKey(p.proto, p.src, sp, p.dst, dp)
	f := en.flows[key]
	if f != nil && en.stale(f, p.ts) {
		// Its timeout passed before this packet: it ended, and this
		// packet starts a new flow, whenever Expire was last called.
		en.finish(f)
		f = nil
	}
	if f == nil {
		f = en.newFlow(key, p, sp, dp, reply)
	}
	dir := f.dir(p.src, sp)
	// Zeek stops the clock once both TCP endpoints have closed, so a
	// last ACK does not lengthen the connection.
	if p.ts.After(f.last) && (f.tcp == nil || !f.tcp.ep[0].didClose || !f.tcp.ep[1].didClose) {
		f.last = p.ts
	}
	d := &f.d[dir]
	d.pkts++
	d.ipBytes += int64(p.ipLen)
	if p.hasMAC && !f.hasMAC {
		f.hasMAC = true
		if dir == stream.FromOrig {
			f.origMAC, f.respMAC = p.srcMAC, p.dstMAC
		} else {
			f.origMAC, f.respMAC = p.dstMAC, p.srcMAC
		}
	}
	switch p.proto {
	case ipTCP:
		en.tcpPacket(f, dir, p)
		switch f.list {
		case listAttempt:
			if f.tcp.ep[stream.FromResp].state != tcpInactive {
				en.moveList(f, listTCP)
			}
		case listTCP, listClosed:
			en.moveList(f, f.list)
		}
	case ipUDP:
		d.bytes += int64(len(p.payload))
		f.once(dir, histD, 'D')
		en.moveList(f, listUDP)
		if likelyServer(en.dnsPort, p.sport) || likelyServer(en.dnsPort, p.dport) {
			en.dnsMessage(f, p, event.ProtoUDP, p.payload)
		} else if (p.sport == 67 || p.sport == 68) && (p.dport == 67 || p.dport == 68) {
			en.dhcp.message(f, p)
		}
	default:
		d.bytes += int64(len(p.payload))
		en.moveList(f, listICMP)
	}
}

func (en *Engine) newFlow(key flowKey, p *packet, sp, dp uint16, reply bool) *flow {
	if len(en.flows) >= en.cfg.MaxFlows {
		en.evict()
	}
	f := &flow{key: key, start: p.ts, last: p.ts, vlan: p.vlan, list: -1}
	f.id = event.ConnID{OrigH: p.src, OrigP: sp, RespH: p.dst, RespP: dp}
	flip := false
	switch p.proto {
	case ipTCP:
		f.proto = event.ProtoTCP
		f.tcp = newTCPConn()
		syn, ack := p.flags&tcpSYN != 0, p.flags&tcpACK != 0
		switch {
		case syn && !ack:
		case syn && ack:
			flip = true
		case likelyServer(tcpServerPorts, sp):
			flip = !likelyServer(tcpServerPorts, dp) || sp < dp
		}
	case ipUDP:
		f.proto = event.ProtoUDP
		flip = likelyServer(udpServerPorts, sp) && !likelyServer(udpServerPorts, dp)
	default:
		f.proto = event.ProtoICMP
		flip = reply
	}
	if flip {
		f.id = event.ConnID{OrigH: p.dst, OrigP: dp, RespH: p.src, RespP: sp}
		f.hist = append(f.hist, '^')
	}
	f.uid = event.ConnUID(p.ts, p.proto, f.id)
	en.flows[key] = f
	en.stats.Flows++
	switch f.proto {
	case event.ProtoTCP:
		if p.flags&(tcpSYN|tcpACK) == tcpSYN {
			en.moveList(f, listAttempt)
		} else {
			en.moveList(f, listTCP)
		}
	case event.ProtoUDP:
		en.moveList(f, listUDP)
	default:
		en.moveList(f, listICMP)
	}
	return f
}

// flip swaps a flow's originator and responder (Zeek's FlipRoles).
func (en *Engine) flip(f *flow) {
	id := f.id
	f.id = event.ConnID{OrigH: id.RespH, OrigP: id.RespP, RespH: id.OrigH, RespP: id.OrigP}
	f.d[0], f.d[1] = f.d[1], f.d[0]
	f.origMAC, f.respMAC = f.respMAC, f.origMAC
	f.seen[0], f.seen[1] = f.seen[1], f.seen[0]
	f.anTried[0], f.anTried[1] = f.anTried[1], f.anTried[0]
	if f.tcp != nil {
		f.tcp.ep[0], f.tcp.ep[1] = f.tcp.ep[1], f.tcp.ep[0]
	}
	f.hist = append(f.hist, '^')
}

// moveList puts f at the head (most recent end) of list li.
func (en *Engine) moveList(f *flow, li int) {
	if f.list == li && en.lists[li].head == f {
		return
	}
	en.unlink(f)
	l := &en.lists[li]
	f.list, f.prev, f.next = li, nil, l.head
	if l.head != nil {
		l.head.prev = f
	} else {
		l.tail = f
	}
	l.head = f
}

func (en *Engine) unlink(f *flow) {
	if f.list < 0 {
		return
	}
	l := &en.lists[f.list]
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next, f.list = nil, nil, -1
}

// deadline is when f ends if nothing more arrives.
func (en *Engine) deadline(f *flow) time.Time {
	switch f.list {
	case listAttempt:
		return f.start.Add(attemptDelay)
	case listClosed:
		return f.last.Add(en.cfg.CloseLinger)
	case listUDP:
		return f.last.Add(en.cfg.UDPTimeout)
	case listICMP:
		return f.last.Add(en.cfg.ICMPTimeout)
	}
	return f.last.Add(en.cfg.TCPTimeout)
}

// stale reports whether f has ended by event time now.
func (en *Engine) stale(f *flow, now time.Time) bool {
	if now.Before(en.deadline(f)) {
		return false
	}
	if f.list == listAttempt {
		o, r := f.tcp.ep[0].state, f.tcp.ep[1].state
		if !((o == tcpSynSent || o == tcpSynAckSent) && r == tcpInactive) {
			return !now.Before(f.last.Add(en.cfg.TCPTimeout))
		}
	}
	return true
}

// Expire ends the flows whose timeout has passed at event time now. A
// live source calls it about once a second of packet time (and when idle);
// ReadFiles calls it as the capture's clock advances.
func (en *Engine) Expire(now time.Time) {
	for li := range en.lists {
		for {
			f := en.lists[li].tail
			if f == nil || now.Before(en.deadline(f)) {
				break
			}
			if li == listAttempt {
				o, r := f.tcp.ep[0].state, f.tcp.ep[1].state
				if !((o == tcpSynSent || o == tcpSynAckSent) && r == tcpInactive) {
					en.moveList(f, listTCP)
					continue
				}
			}
			en.finish(f)
		}
	}
	en.dhcp.expire(now)
}

// evict ends the least recently used flow to make room.
func (en *Engine) evict() {
	var oldest *flow
	for li := range en.lists {
		if t := en.lists[li].tail; t != nil && (oldest == nil || t.last.Before(oldest.last)) {
			oldest = t
		}
	}
	if oldest != nil {
		en.stats.Evictions++
		en.finish(oldest)
	}
}

// Flush ends every flow, in order of first packet, and returns the first
// error an emit returned.
func (en *Engine) Flush() error {
	all := make([]*flow, 0, len(en.flows))
	for _, f := range en.flows {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].start.Equal(all[j].start) {
			return all[i].start.Before(all[j].start)
		}
		return all[i].uid < all[j].uid
	})
	for _, f := range all {
		en.finish(f)
	}
	en.dhcp.flush()
	return en.err
}

// finish ends f: closes its analyzers, emits what they hold, then its
// conn event.
func (en *Engine) finish(f *flow) {
	en.unlink(f)
	delete(en.flows, f.key)
	var missed int64
	if f.tcp != nil {
		for dir := stream.FromOrig; dir <= stream.FromResp; dir++ {
			e := &f.tcp.ep[dir]
			en.feed.set(f, dir, f.last)
			e.r.finish(f.wantBytes(en), &en.feed)
			missed += e.r.missed
		}
		if f.an != nil && !f.anClosed {
			f.anClosed = true
			f.an.Close(f.last)
		}
		if f.an != nil {
			f.addService(f.an.Service())
		}
	}
	if f.dns != nil {
		en.dnsFlush(f)
	}
	c := &event.Conn{
		Meta:        event.Meta{TS: f.start, UID: f.uid, ID: f.id},
		Proto:       f.proto,
		Service:     strings.Join(f.services, ","),
		Duration:    f.last.Sub(f.start),
		ConnState:   connState(f),
		MissedBytes: missed,
		History:     string(f.hist),
		OrigPkts:    f.d[0].pkts,
		OrigIPBytes: f.d[0].ipBytes,
		RespPkts:    f.d[1].pkts,
		RespIPBytes: f.d[1].ipBytes,
		VLAN:        f.vlan,
	}
	if f.tcp != nil {
		c.OrigBytes = f.tcp.ep[0].size(&f.tcp.ep[1])
		c.RespBytes = f.tcp.ep[1].size(&f.tcp.ep[0])
	} else {
		c.OrigBytes, c.RespBytes = f.d[0].bytes, f.d[1].bytes
	}
	if f.hasMAC {
		c.OrigL2Addr = net.HardwareAddr(f.origMAC[:]).String()
		c.RespL2Addr = net.HardwareAddr(f.respMAC[:]).String()
	}
	en.emitEvent(c)
}

// emitEvent passes ev on, keeping the first error.
func (en *Engine) emitEvent(ev event.Event) {
	if en.err != nil {
		return
	}
	en.err = en.emit(ev)
}
