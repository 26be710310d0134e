package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// IP protocol numbers the engine tracks.
const (
	ipICMP   = 1
	ipTCP    = 6
	ipUDP    = 17
	ipICMPv6 = 58
)

// errSkip marks a frame that decoded fine but carries nothing the engine
// tracks (ARP, LLDP, IPv6 fragments, other IP protocols).
var errSkip = errors.New("not tracked")

// packet is one decoded frame, reused for every frame: its slices point
// into the frame (or the defragmenter's buffer) and are valid only while
// the engine handles it.
type packet struct {
	ts           time.Time
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
	ipLen        int // IP header plus payload, as the IP header says
	payload      []byte
	// TCP fields.
	flags    uint8
	seq, ack uint32
	win      uint16
	// ICMP type and code.
	icmpType, icmpCode uint8
	srcMAC, dstMAC     [6]byte
	hasMAC             bool
	vlan               uint16
}

// TCP flag bits as they sit in the header's 14th byte.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

// decoder turns frames into packets with gopacket's DecodingLayerParser
// (no allocation per frame) and reassembles IPv4 fragments.
type decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	lo    layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	tcp   layers.TCP
	udp   layers.UDP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
	frag    *defragger
}

func newDecoder(maxFrags int) *decoder {
	d := &decoder{parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}, frag: newDefragger(maxFrags)}
	for _, first := range []gopacket.LayerType{
		layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
		layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6,
	} {
		p := gopacket.NewDecodingLayerParser(first,
			&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.lo, &d.ip4, &d.ip6,
			&d.tcp, &d.udp, &d.icmp4, &d.icmp6)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return d
}

// firstLayer maps a capture link type to the layer its frames start with.
func firstLayer(lt layers.LinkType, data []byte) (gopacket.LayerType, error) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, nil
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, nil
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, nil
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, nil
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, nil
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, nil
	case layers.LinkTypeRaw, 12, 14: // 12 and 14 are raw IP on some BSDs
		if len(data) == 0 {
			return 0, errors.New("empty raw IP frame")
		}
		if data[0]>>4 == 6 {
			return layers.LayerTypeIPv6, nil
		}
		return layers.LayerTypeIPv4, nil
	}
	return 0, fmt.Errorf("unsupported link type %v", lt)
}

// decode fills p from one frame. It returns errSkip for frames of no
// interest and another error for malformed ones.
func (d *decoder) decode(ts time.Time, lt layers.LinkType, data []byte, p *packet) error {
	first, err := firstLayer(lt, data)
	if err != nil {
		return err
	}
	*p = packet{ts: ts}
	if err := d.parsers[first].DecodeLayers(data, &d.decoded); err != nil {
		return err
	}
	var haveIP, haveL4 bool
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			copy(p.srcMAC[:], d.eth.SrcMAC)
			copy(p.dstMAC[:], d.eth.DstMAC)
			p.hasMAC = len(d.eth.SrcMAC) == 6 && len(d.eth.DstMAC) == 6
		case layers.LayerTypeDot1Q:
			if p.vlan == 0 { // the outer tag, as Zeek's vlan field
				p.vlan = d.dot1q.VLANIdentifier
				if et := d.eth.EthernetType; (et == layers.EthernetTypeDot1Q || et == layers.EthernetTypeQinQ) && len(d.eth.Payload) >= 2 {
					p.vlan = binary.BigEndian.Uint16(d.eth.Payload) & 0x0fff
				}
			}
		case layers.LayerTypeIPv4:
			haveIP = true
			p.src = netip.AddrFrom4([4]byte(d.ip4.SrcIP.To4()))
			p.dst = netip.AddrFrom4([4]byte(d.ip4.DstIP.To4()))
			p.proto = uint8(d.ip4.Protocol)
			p.ipLen = int(d.ip4.Length)
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				return d.fragment(p)
			}
		case layers.LayerTypeIPv6:
			haveIP = true
			p.src = netip.AddrFrom16([16]byte(d.ip6.SrcIP.To16()))
			p.dst = netip.AddrFrom16([16]byte(d.ip6.DstIP.To16()))
			p.ipLen = 40 + int(d.ip6.Length)
			p.proto = uint8(d.ip6.NextHeader)
		case layers.LayerTypeTCP:
			haveL4 = true
			d.fillTCP(p)
		case layers.LayerTypeUDP:
			haveL4 = true
			p.proto = ipUDP
			p.sport, p.dport = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			p.payload = d.udp.Payload
		case layers.LayerTypeICMPv4:
			haveL4 = true
			p.proto = ipICMP
			p.icmpType, p.icmpCode = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
			p.payload = d.icmp4.Payload
		case layers.LayerTypeICMPv6:
			haveL4 = true
			p.proto = ipICMPv6
			p.icmpType, p.icmpCode = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
			// gopacket leaves the 4 bytes after the ICMPv6 header in
			// the payload; Zeek counts from after them, as for ICMPv4.
			p.payload = d.icmp6.Payload
			if len(p.payload) >= 4 {
				p.payload = p.payload[4:]
			}
		}
	}
	if !haveIP {
		if inner, ok := d.pppoe(); ok {
			return d.decodeInner(p, inner)
		}
		return errSkip
	}
	if !haveL4 && p.src.Is6() {
		switch p.proto {
		case 0, 43, 44, 51, 60:
			return d.ipv6Ext(p)
		}
	}
	if !haveL4 {
		switch p.proto {
		case ipTCP, ipUDP, ipICMP, ipICMPv6:
			// The IP header promised a transport header that
			// did not decode (the parser stops quietly on some).
			return fmt.Errorf("truncated %s header", protoName(p.proto))
		}
		return errSkip
	}
	return nil
}

// pppoe returns the IP packet inside a PPPoE session frame, which
// gopacket's parser does not decode.
func (d *decoder) pppoe() ([]byte, bool) {
	var et layers.EthernetType
	var b []byte
	if n := len(d.decoded); n > 0 {
		switch d.decoded[n-1] {
		case layers.LayerTypeEthernet:
			et, b = d.eth.EthernetType, d.eth.Payload
		case layers.LayerTypeDot1Q:
			et, b = d.dot1q.Type, d.dot1q.Payload
		}
	}
	if et != layers.EthernetTypePPPoESession || len(b) < 8 {
		return nil, false
	}
	switch binary.BigEndian.Uint16(b[6:8]) {
	case 0x0021, 0x0057: // PPP IPv4, IPv6
		return b[8:], true
	}
	return nil, false
}

// decodeInner decodes an IP packet found inside an encapsulation,
// keeping the link-layer fields already in p.
func (d *decoder) decodeInner(p *packet, b []byte) error {
	first := layers.LayerTypeIPv4
	if len(b) > 0 && b[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	link := *p
	if err := d.decode(p.ts, linkRaw(first), b, p); err != nil {
		return err
	}
	p.srcMAC, p.dstMAC, p.hasMAC, p.vlan = link.srcMAC, link.dstMAC, link.hasMAC, link.vlan
	return nil
}

func linkRaw(first gopacket.LayerType) layers.LinkType {
	if first == layers.LayerTypeIPv6 {
		return layers.LinkTypeIPv6
	}
	return layers.LinkTypeIPv4
}

// ipv6Ext walks IPv6 extension headers (which gopacket's parser does not
// decode) to the transport header.
func (d *decoder) ipv6Ext(p *packet) error {
	b := d.ip6.Payload
	proto := p.proto
	for {
		switch proto {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				return errors.New("truncated IPv6 extension header")
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				return errors.New("truncated IPv6 extension header")
			}
			proto, b = b[0], b[n:]
		case 51: // authentication header counts 4-byte words
			if len(b) < 8 {
				return errors.New("truncated IPv6 authentication header")
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n {
				return errors.New("truncated IPv6 authentication header")
			}
			proto, b = b[0], b[n:]
		case 44: // fragments of IPv6 are not reassembled
			return errSkip
		default:
			p.proto = proto
			return d.decodeL4(p, b)
		}
	}
}

func (d *decoder) fillTCP(p *packet) {
	t := &d.tcp
	p.proto = ipTCP
	p.sport, p.dport = uint16(t.SrcPort), uint16(t.DstPort)
	p.seq, p.ack, p.win = t.Seq, t.Ack, t.Window
	var f uint8
	if t.FIN {
		f |= tcpFIN
	}
	if t.SYN {
		f |= tcpSYN
	}
	if t.RST {
		f |= tcpRST
	}
	if t.PSH {
		f |= tcpPSH
	}
	if t.ACK {
		f |= tcpACK
	}
	p.flags = f
	p.payload = t.Payload
}

// fragment hands an IPv4 fragment to the defragmenter and, when it
// completes a datagram, decodes the datagram's transport header.
func (d *decoder) fragment(p *packet) error {
	whole, ok := d.frag.add(p.ts, &d.ip4)
	if !ok {
		return errFragment
	}
	p.ipLen = int(d.ip4.IHL)*4 + len(whole)
	return d.decodeL4(p, whole)
}

// decodeL4 decodes a transport header that the parser did not reach.
func (d *decoder) decodeL4(p *packet, b []byte) error {
	df := gopacket.NilDecodeFeedback
	switch p.proto {
	case ipTCP:
		if err := d.tcp.DecodeFromBytes(b, df); err != nil {
			return err
		}
		d.fillTCP(p)
	case ipUDP:
		if err := d.udp.DecodeFromBytes(b, df); err != nil {
			return err
		}
		p.sport, p.dport = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
		p.payload = d.udp.Payload
	case ipICMP:
		if err := d.icmp4.DecodeFromBytes(b, df); err != nil {
			return err
		}
		p.icmpType, p.icmpCode = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
		p.payload = d.icmp4.Payload
	case ipICMPv6:
		if err := d.icmp6.DecodeFromBytes(b, df); err != nil {
			return err
		}
		p.icmpType, p.icmpCode = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
		p.payload = d.icmp6.Payload
		if len(p.payload) >= 4 {
			p.payload = p.payload[4:]
		}
	default:
		return errSkip
	}
	return nil
}

// errFragment marks a fragment held for reassembly (not an error).
var errFragment = errors.New("fragment held")

func protoName(p uint8) string {
	switch p {
	case ipTCP:
		return "TCP"
	case ipUDP:
		return "UDP"
	case ipICMP:
		return "ICMP"
	case ipICMPv6:
		return "ICMPv6"
	}
	return fmt.Sprintf("IP protocol %d", p)
}
