package pcap

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// udpIPv4 returns an IPv4 packet carrying a UDP datagram.
func udpIPv4(t *testing.T, sport, dport uint16, body []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Id: 77,
		SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	require.NoError(t, u.SetNetworkLayerForChecksum(ip))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, u, gopacket.Payload(body)))
	return buf.Bytes()
}

// udpIPv6Ext returns an IPv6 packet with a hop-by-hop and a destination
// options header before its UDP datagram.
func udpIPv6Ext(body []byte) []byte {
	udp := make([]byte, 8+len(body))
	binary.BigEndian.PutUint16(udp[0:], 5000)
	binary.BigEndian.PutUint16(udp[2:], 6000)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], body)
	ext := []byte{60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0} // HBH -> DstOpts -> UDP
	b := make([]byte, 40, 40+len(ext)+len(udp))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(ext)+len(udp)))
	b[6], b[7] = 0, 64 // next header: hop-by-hop
	b[8+15], b[24+15] = 1, 2
	b[8], b[24] = 0x20, 0x20
	return append(append(b, ext...), udp...)
}

func ether(typ uint16, tags []uint16, payload []byte) []byte {
	b := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1}
	tpids := []uint16{0x88a8, 0x8100}
	for i, tag := range tags {
		tp := tpids[len(tpids)-len(tags)+i]
		b = binary.BigEndian.AppendUint16(b, tp)
		b = binary.BigEndian.AppendUint16(b, tag)
	}
	b = binary.BigEndian.AppendUint16(b, typ)
	return append(b, payload...)
}

func sll(payload []byte) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:], 6)
	binary.BigEndian.PutUint16(b[14:], 0x0800)
	return append(b, payload...)
}

func sll2(payload []byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], 0x0800)
	binary.BigEndian.PutUint16(b[8:], 1)
	b[11] = 6
	return append(b, payload...)
}

func null(payload []byte) []byte {
	return append([]byte{2, 0, 0, 0}, payload...) // AF_INET, host order (LE)
}

// fragments splits an IPv4 packet into fragments of at most n payload bytes.
func fragments(pkt []byte, n int) [][]byte {
	hl := int(pkt[0]&0x0f) * 4
	body := pkt[hl:]
	var out [][]byte
	for off := 0; off < len(body); off += n {
		end := min(off+n, len(body))
		f := append(append([]byte(nil), pkt[:hl]...), body[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		ff := uint16(off / 8)
		if end < len(body) {
			ff |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], ff)
		out = append(out, f)
	}
	return out
}

func TestLinkTypes(t *testing.T) {
	body := payload(40)
	v4 := func() []byte { return udpIPv4(t, 5000, 6000, body) }
	tests := []struct {
		name   string
		lt     layers.LinkType
		frames func() [][]byte
		vlan   uint16
		mac    bool
		v6     bool
	}{
		{name: "ethernet", lt: layers.LinkTypeEthernet, frames: func() [][]byte { return [][]byte{ether(0x0800, nil, v4())} }, mac: true},
		{name: "802.1Q", lt: layers.LinkTypeEthernet, frames: func() [][]byte { return [][]byte{ether(0x0800, []uint16{42}, v4())} }, vlan: 42, mac: true},
		{name: "QinQ", lt: layers.LinkTypeEthernet, frames: func() [][]byte { return [][]byte{ether(0x0800, []uint16{100, 42}, v4())} }, vlan: 100, mac: true},
		{name: "linux SLL", lt: layers.LinkTypeLinuxSLL, frames: func() [][]byte { return [][]byte{sll(v4())} }},
		{name: "linux SLL2", lt: layers.LinkTypeLinuxSLL2, frames: func() [][]byte { return [][]byte{sll2(v4())} }},
		{name: "BSD null", lt: layers.LinkTypeNull, frames: func() [][]byte { return [][]byte{null(v4())} }},
		{name: "raw IPv4", lt: layers.LinkTypeRaw, frames: func() [][]byte { return [][]byte{v4()} }},
		{name: "raw IPv6 with extension headers", lt: layers.LinkTypeRaw, frames: func() [][]byte { return [][]byte{udpIPv6Ext(body)} }, v6: true},
		{name: "IPv4 fragments out of order", lt: layers.LinkTypeIPv4, frames: func() [][]byte {
			fs := fragments(udpIPv4(t, 5000, 6000, payload(3000)), 1200)
			return [][]byte{fs[2], fs[0], fs[1]}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var evs []event.Event
			en := NewEngine(DefaultConfig(), func(e event.Event) error { evs = append(evs, e); return nil })
			for _, f := range tc.frames() {
				require.NoError(t, en.Packet(t0, tc.lt, f))
			}
			require.NoError(t, en.Flush())
			cs := conns(evs)
			require.Len(t, cs, 1)
			c := cs[0]
			require.Equal(t, event.ProtoUDP, c.Proto)
			require.Equal(t, uint16(5000), c.ID.OrigP)
			require.Equal(t, uint16(6000), c.ID.RespP)
			require.Equal(t, tc.vlan, c.VLAN)
			require.Equal(t, tc.mac, c.OrigL2Addr != "")
			require.Equal(t, tc.v6, c.ID.OrigH.Is6())
			require.Equal(t, int64(1), c.OrigPkts)
			require.Zero(t, en.Stats().Malformed)
		})
	}
}

// TestPcapngInterfaces reads a pcapng file whose two interfaces have
// different link types, with one flow seen on both.
func TestPcapngInterfaces(t *testing.T) {
	var buf bytes.Buffer
	eth := pcapgo.DefaultNgInterface
	eth.LinkType = layers.LinkTypeEthernet
	eth.TimestampResolution = 9 // nanoseconds
	w, err := pcapgo.NewNgWriterInterface(&buf, eth, pcapgo.DefaultNgWriterOptions)
	require.NoError(t, err)
	raw := pcapgo.DefaultNgInterface
	raw.LinkType = layers.LinkTypeRaw
	raw.TimestampResolution = 9
	id, err := w.AddInterface(raw)
	require.NoError(t, err)
	pkt := udpIPv4(t, 5000, 6000, payload(10))
	first := t0.Add(123 * time.Nanosecond)
	require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: first, CaptureLength: len(pkt) + 14, Length: len(pkt) + 14}, ether(0x0800, nil, pkt)))
	require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(time.Second), CaptureLength: len(pkt), Length: len(pkt), InterfaceIndex: id}, pkt))
	require.NoError(t, w.Flush())
	evs, probs := readAll(t, DefaultConfig(), writeFile(t, buf.Bytes()))
	require.Empty(t, probs)
	cs := conns(evs)
	require.Len(t, cs, 1)
	require.Equal(t, int64(2), cs[0].OrigPkts)
	require.True(t, cs[0].TS.Equal(first), "nanosecond timestamps are kept")
}

// TestNanosecondPcap reads a classic pcap with nanosecond timestamps.
func TestNanosecondPcap(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgen.New(&buf, pcapgen.Options{Nanosecond: true})
	first := t0.Add(789 * time.Nanosecond)
	w.UDP(first, client.At(1000), server.At(2000), payload(4))
	require.NoError(t, w.Close())
	evs, _ := readAll(t, DefaultConfig(), writeFile(t, buf.Bytes()))
	require.True(t, conns(evs)[0].TS.Equal(first))
}
