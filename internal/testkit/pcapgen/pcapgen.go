// Package pcapgen synthesizes small, deterministic packet captures for tests,
// fixtures and the bundled example: Ethernet frames carrying IPv4 or IPv6,
// TCP, UDP and ICMP, written as classic pcap (microsecond timestamps by
// default, nanosecond on request).
//
// Layers are built with gopacket and serialized with FixLengths and
// ComputeChecksums, so every checksum and length is valid. Higher-level
// helpers produce real protocol bytes: TCP sessions that track sequence
// numbers and time (handshake, data at MSS with ACKs, FIN close, reset,
// unanswered and rejected SYNs, and injected capture gaps, retransmissions
// and reordering), DNS exchanges built with golang.org/x/net/dns/dnsmessage,
// DHCP exchanges with gopacket's DHCPv4 layer, HTTP/1.1 messages written by
// net/http, and TLS byte streams recorded from Go's crypto/tls.
//
// Errors are sticky, as with bufio.Writer: the packet methods return nothing,
// the first failure stops further output, and Close (or Err) reports it.
//
// A typical test:
//
//	var buf bytes.Buffer
//	w := pcapgen.New(&buf, pcapgen.Options{})
//	s := w.TCPSession(t0, client.At(50000), server.At(80), pcapgen.SessionOptions{})
//	s.Handshake()
//	s.Send(true, pcapgen.HTTPRequest{Method: "GET", Target: "/", Host: "example.com"}.Bytes())
//	s.Send(false, pcapgen.HTTPResponse{Status: 200, Body: []byte("hi")}.Bytes())
//	s.Close()
//	require.NoError(t, w.Close())
package pcapgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// DefaultSnapLen is the snapshot length written in the file header when
// Options.SnapLen is zero.
const DefaultSnapLen = 65535

// Options configure a Writer.
type Options struct {
	// Nanosecond writes a nanosecond-resolution pcap (magic a1b23c4d);
	// otherwise timestamps are truncated to microseconds.
	Nanosecond bool
	// SnapLen is the snapshot length; longer frames are truncated in the
	// file (their original length is kept in the record header). 0 means
	// DefaultSnapLen.
	SnapLen int
	// Sort buffers every packet and writes them on Close in timestamp order
	// (ties keep call order). It lets independent stories (sessions,
	// lookups, beacons) be generated one after another and still give a
	// time-ordered capture, as a real sensor would record it.
	Sort bool
}

// Host is one network interface: its MAC, its IP (IPv4 or IPv6) and the
// TTL (hop limit) of the packets it sends as seen by the capture point.
// For hosts beyond a router, MAC is the router's MAC and TTL is usually
// lower than the sender's initial value (64, 128 or 255).
type Host struct {
	MAC net.HardwareAddr
	IP  netip.Addr
	TTL uint8
}

// At returns the endpoint of h at port.
func (h Host) At(port uint16) Endpoint { return Endpoint{Host: h, Port: port} }

func (h Host) ttl() uint8 {
	if h.TTL == 0 {
		return 64
	}
	return h.TTL
}

// Endpoint is a host and a transport port.
type Endpoint struct {
	Host
	Port uint16
}

// String formats e as "ip:port" ("[ip]:port" for IPv6).
func (e Endpoint) String() string { return netip.AddrPortFrom(e.IP, e.Port).String() }

// Flags are TCP header flags.
type Flags uint16

// TCP flags, combinable with |.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// String formats f as Wireshark does, e.g. "SYN|ACK".
func (f Flags) String() string {
	names := []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	s := ""
	for i, n := range names {
		if f&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// Segment is one TCP segment's header fields and payload for Writer.TCP.
type Segment struct {
	Flags   Flags
	Seq     uint32
	Ack     uint32
	Window  uint16 // 0 means 64240
	Payload []byte
	// Options are TCP options (MSS, window scale, SACK permitted ...); a
	// SYN written by a TCPSession carries the usual ones.
	Options []layers.TCPOption
}

// ICMP is one ICMP (ICMPv6 for IPv6 hosts) message for Writer.ICMP.
type ICMP struct {
	Type, Code uint8
	// ID and Seq fill the echo identifier and sequence (for other types
	// they form the 4-byte rest-of-header).
	ID, Seq uint16
	Payload []byte
}

// Common ICMP types.
const (
	ICMPEchoReply   = 0
	ICMPUnreachable = 3
	ICMPEcho        = 8
	ICMPv6Echo      = 128
	ICMPv6EchoReply = 129
)

// Writer writes synthesized packets to a pcap stream. It is not safe for
// concurrent use.
type Writer struct {
	pw      *pcapgo.Writer
	opt     Options
	err     error
	ipID    uint16
	n       int
	pending []packet
	buf     gopacket.SerializeBuffer
	sink    func(ts time.Time, frame []byte)
}

type packet struct {
	ts   time.Time
	data []byte
}

// New writes the pcap file header to out and returns a Writer. A write
// error is kept and reported by Close.
func New(out io.Writer, opt Options) *Writer {
	if opt.SnapLen <= 0 {
		opt.SnapLen = DefaultSnapLen
	}
	w := &Writer{opt: opt, ipID: 0x1c46, buf: gopacket.NewSerializeBuffer()}
	if opt.Nanosecond {
		w.pw = pcapgo.NewWriterNanos(out)
	} else {
		w.pw = pcapgo.NewWriter(out)
	}
	if err := w.pw.WriteFileHeader(uint32(opt.SnapLen), layers.LinkTypeEthernet); err != nil {
		w.err = fmt.Errorf("write pcap header: %w", err)
	}
	return w
}

// NewSink returns a Writer that hands every frame to sink, in call order,
// instead of writing a pcap stream: for callers that interleave the
// packets of many sessions themselves. The frame is only valid during the
// call; sink must copy it to keep it.
func NewSink(sink func(ts time.Time, frame []byte)) *Writer {
	return &Writer{opt: Options{SnapLen: DefaultSnapLen}, ipID: 0x1c46, buf: gopacket.NewSerializeBuffer(), sink: sink}
}

// Err returns the first error met so far, if any.
func (w *Writer) Err() error { return w.err }

// Packets returns how many packets have been accepted so far.
func (w *Writer) Packets() int { return w.n }

// Close writes any buffered packets (Options.Sort) and returns the first
// error met. It does not close the underlying io.Writer.
func (w *Writer) Close() error {
	if w.opt.Sort {
		sort.SliceStable(w.pending, func(i, j int) bool { return w.pending[i].ts.Before(w.pending[j].ts) })
		for _, p := range w.pending {
			w.write(p.ts, p.data)
		}
		w.pending = nil
	}
	return w.err
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Frame writes one raw Ethernet frame as it is: the escape hatch for
// malformed or exotic packets.
func (w *Writer) Frame(ts time.Time, frame []byte) {
	if w.err != nil {
		return
	}
	w.n++
	if w.sink != nil {
		w.sink(ts, frame)
		return
	}
	if w.opt.Sort {
		w.pending = append(w.pending, packet{ts, append([]byte(nil), frame...)})
		return
	}
	w.write(ts, frame)
}

func (w *Writer) write(ts time.Time, data []byte) {
	if w.err != nil {
		return
	}
	if !w.opt.Nanosecond {
		ts = ts.Truncate(time.Microsecond)
	}
	ci := gopacket.CaptureInfo{Timestamp: ts, Length: len(data), CaptureLength: min(len(data), w.opt.SnapLen)}
	if err := w.pw.WritePacket(ci, data[:ci.CaptureLength]); err != nil {
		w.fail(fmt.Errorf("write packet: %w", err))
	}
}

// ipLayers returns the Ethernet and IP layers for a packet from src to dst
// carrying proto.
func (w *Writer) ipLayers(src, dst Host, proto layers.IPProtocol, df bool) (*layers.Ethernet, gopacket.NetworkLayer, error) {
	if src.IP.Is4() != dst.IP.Is4() || !src.IP.IsValid() || !dst.IP.IsValid() {
		return nil, nil, fmt.Errorf("pcapgen: address family mismatch %v -> %v", src.IP, dst.IP)
	}
	eth := &layers.Ethernet{SrcMAC: src.MAC, DstMAC: dst.MAC}
	if src.IP.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		w.ipID++
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: src.ttl(), Protocol: proto, Id: w.ipID,
			SrcIP: src.IP.AsSlice(), DstIP: dst.IP.AsSlice()}
		if df {
			ip.Flags = layers.IPv4DontFragment
		}
		return eth, ip, nil
	}
	eth.EthernetType = layers.EthernetTypeIPv6
	ip := &layers.IPv6{Version: 6, HopLimit: src.ttl(), NextHeader: proto,
		SrcIP: src.IP.AsSlice(), DstIP: dst.IP.AsSlice()}
	return eth, ip, nil
}

func (w *Writer) serialize(ts time.Time, ls ...gopacket.SerializableLayer) {
	if w.err != nil {
		return
	}
	if err := gopacket.SerializeLayers(w.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		w.fail(fmt.Errorf("serialize packet: %w", err))
		return
	}
	w.Frame(ts, w.buf.Bytes())
}

// TCP writes one TCP segment from src to dst.
func (w *Writer) TCP(ts time.Time, src, dst Endpoint, seg Segment) {
	eth, ip, err := w.ipLayers(src.Host, dst.Host, layers.IPProtocolTCP, true)
	if err != nil {
		w.fail(err)
		return
	}
	win := seg.Window
	if win == 0 {
		win = 64240
	}
	t := &layers.TCP{SrcPort: layers.TCPPort(src.Port), DstPort: layers.TCPPort(dst.Port),
		Seq: seg.Seq, Ack: seg.Ack, Window: win, Options: seg.Options,
		FIN: seg.Flags&FIN != 0, SYN: seg.Flags&SYN != 0, RST: seg.Flags&RST != 0, PSH: seg.Flags&PSH != 0,
		ACK: seg.Flags&ACK != 0, URG: seg.Flags&URG != 0, ECE: seg.Flags&ECE != 0, CWR: seg.Flags&CWR != 0}
	if err := t.SetNetworkLayerForChecksum(ip); err != nil {
		w.fail(err)
		return
	}
	w.serialize(ts, eth, ip.(gopacket.SerializableLayer), t, gopacket.Payload(seg.Payload))
}

// UDP writes one UDP datagram from src to dst.
func (w *Writer) UDP(ts time.Time, src, dst Endpoint, payload []byte) {
	eth, ip, err := w.ipLayers(src.Host, dst.Host, layers.IPProtocolUDP, false)
	if err != nil {
		w.fail(err)
		return
	}
	u := &layers.UDP{SrcPort: layers.UDPPort(src.Port), DstPort: layers.UDPPort(dst.Port)}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		w.fail(err)
		return
	}
	w.serialize(ts, eth, ip.(gopacket.SerializableLayer), u, gopacket.Payload(payload))
}

// ICMP writes one ICMP message (ICMPv6 when the hosts are IPv6).
func (w *Writer) ICMP(ts time.Time, src, dst Host, m ICMP) {
	if src.IP.Is4() {
		eth, ip, err := w.ipLayers(src, dst, layers.IPProtocolICMPv4, false)
		if err != nil {
			w.fail(err)
			return
		}
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(m.Type, m.Code), Id: m.ID, Seq: m.Seq}
		w.serialize(ts, eth, ip.(gopacket.SerializableLayer), ic, gopacket.Payload(m.Payload))
		return
	}
	eth, ip, err := w.ipLayers(src, dst, layers.IPProtocolICMPv6, false)
	if err != nil {
		w.fail(err)
		return
	}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(m.Type, m.Code)}
	if err := ic.SetNetworkLayerForChecksum(ip); err != nil {
		w.fail(err)
		return
	}
	var rest [4]byte
	rest[0], rest[1], rest[2], rest[3] = byte(m.ID>>8), byte(m.ID), byte(m.Seq>>8), byte(m.Seq)
	w.serialize(ts, eth, ip.(gopacket.SerializableLayer), ic, gopacket.Payload(append(rest[:], m.Payload...)))
}

// errClosed is reported when a session is used after it ended.
var errClosed = errors.New("pcapgen: session already ended")

// serializeLayer returns one layer's wire bytes.
func serializeLayer(l gopacket.SerializableLayer) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := l.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
