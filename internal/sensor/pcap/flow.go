package pcap

import (
	"net/netip"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// flowKey identifies a flow whichever way its packets travel: the
// (address, port) pairs are stored in a canonical order.
type flowKey struct {
	a, b   netip.Addr
	pa, pb uint16
	proto  uint8
}

func makeKey(proto uint8, src netip.Addr, sp uint16, dst netip.Addr, dp uint16) flowKey {
	if c := src.Compare(dst); c > 0 || (c == 0 && sp > dp) {
		src, sp, dst, dp = dst, dp, src, sp
	}
	return flowKey{a: src, b: dst, pa: sp, pb: dp, proto: proto}
}

// dirStats counts one direction of a flow.
type dirStats struct {
	pkts, ipBytes int64
	bytes         int64 // payload bytes (UDP and ICMP; TCP uses sequence space)
}

// list classes: each list holds flows that share one timeout rule, in
// order of that rule's clock, so expiry only looks at list tails.
const (
	listTCP     = iota // open TCP, by last packet
	listAttempt        // TCP with a SYN and no answer yet, by first packet
	listClosed         // closed or reset TCP lingering, by last packet
	listUDP
	listICMP
	numLists
)

// flow is one tracked connection.
type flow struct {
	key     flowKey
	uid     string
	id      event.ConnID
	proto   event.Proto
	start   time.Time
	last    time.Time
	origMAC [6]byte
	respMAC [6]byte
	hasMAC  bool
	vlan    uint16
	d       [2]dirStats
	hist    []byte
	seen    [2]uint16 // history letters already recorded, per direction
	tcp     *tcpConn
	dns     *dnsFlow
	// Application analysis (TCP).
	an       stream.Analyzer
	anTried  [2]bool
	anClosed bool
	services []string

	list       int
	prev, next *flow
}

// dir returns the direction of a packet with the given key-level source.
func (f *flow) dir(src netip.Addr, sp uint16) stream.Dir {
	if src == f.id.OrigH && sp == f.id.OrigP {
		return stream.FromOrig
	}
	return stream.FromResp
}

// addService records an application protocol once.
func (f *flow) addService(s string) {
	if s == "" {
		return
	}
	for _, have := range f.services {
		if have == s {
			return
		}
	}
	f.services = append(f.services, s)
}

// History letters that Zeek records once per direction, as bits.
const (
	histS = 1 << iota
	histH
	histA
	histD
	histF
	histR
	histI
	histQ
)

// once adds letter c (upper case; lower-cased for the responder) the
// first time bit is set for that direction, and reports whether it was
// already set.
func (f *flow) once(dir stream.Dir, bit uint16, c byte) bool {
	if f.seen[dir]&bit != 0 {
		return true
	}
	f.seen[dir] |= bit
	f.addHist(dir, c)
	return false
}

// maxHistory caps a history string: repeated SYNs with new sequence
// numbers would otherwise grow it without bound.
const maxHistory = 256

func (f *flow) addHist(dir stream.Dir, c byte) {
	if len(f.hist) >= maxHistory {
		return
	}
	if dir == stream.FromResp && c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	f.hist = append(f.hist, c)
}

// scaled adds c when the counter reaches 1, 10, 100, ... as Zeek's
// ScaledHistoryEntry does for retransmissions and zero windows.
func (f *flow) scaled(dir stream.Dir, c byte, counter, threshold *uint32) {
	*counter++
	if *threshold == 0 {
		*threshold = 1
	}
	if *counter == *threshold {
		f.addHist(dir, c)
		if next := *threshold * 10; next > *threshold {
			*threshold = next
		} else {
			*counter = 0
		}
	}
}

// ICMP types that come in request/reply pairs share one flow, as in Zeek:
// the flow's ports are (request type, reply type).
func icmpCounterpart(v6 bool, t uint8) (other uint8, isReply, ok bool) {
	var pairs [][2]uint8
	if v6 {
		pairs = [][2]uint8{{128, 129}, {133, 134}, {135, 136}, {130, 131}, {139, 140}, {144, 145}}
	} else {
		pairs = [][2]uint8{{8, 0}, {13, 14}, {15, 16}, {17, 18}, {10, 9}}
	}
	for _, p := range pairs {
		if t == p[0] {
			return p[1], false, true
		}
		if t == p[1] {
			return p[0], true, true
		}
	}
	return 0, false, false
}

// Likely server ports, for choosing the originator of a flow whose first
// packet is not a SYN (Zeek's likely_server_ports heuristic; Zeek fills
// the set from the ports its analyzers register).
var (
	tcpServerPorts = portSet(20, 21, 22, 23, 25, 53, 80, 88, 110, 111, 135, 139, 143, 179, 389, 443, 445, 465, 502,
		514, 587, 636, 993, 995, 1080, 1433, 1521, 1723, 1883, 2049, 3128, 3306, 3389, 5060, 5061, 5222, 5432, 5672,
		5900, 6379, 6443, 6667, 8000, 8080, 8443, 8888, 9200, 11211, 27017)
	udpServerPorts = portSet(53, 67, 68, 69, 88, 123, 137, 138, 161, 162, 389, 443, 500, 514, 1812, 1813, 1900, 3478,
		4500, 5060, 5353, 5355, 11211)
)

func portSet(ports ...uint16) *[65536 / 64]uint64 {
	var s [65536 / 64]uint64
	for _, p := range ports {
		s[p/64] |= 1 << (p % 64)
	}
	return &s
}

func likelyServer(set *[65536 / 64]uint64, p uint16) bool { return set[p/64]&(1<<(p%64)) != 0 }
