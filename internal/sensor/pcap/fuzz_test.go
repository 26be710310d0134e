package pcap

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
	"github.com/vigil-ndr/vigil/internal/testkit"
	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// seedCapture is a small capture with TCP, UDP (DNS, DHCP) and ICMP.
func seedCapture(t testing.TB) []byte {
	var buf bytes.Buffer
	w := pcapgen.New(&buf, pcapgen.Options{Sort: true})
	s := w.TCPSession(t0, client.At(50000), server.At(80), pcapgen.SessionOptions{})
	s.Handshake()
	s.Send(true, payload(2000), pcapgen.Drop(0))
	s.Send(false, payload(300))
	s.Close()
	w.DNSExchange(t0, client.At(33000), dnsSrv, pcapgen.DNS{ID: 7, Name: "example.com", Answers: []pcapgen.DNSAnswer{{Data: "192.0.2.1"}}})
	w.DHCPExchange(t0, pcapgen.DHCP{ClientMAC: client.MAC, Assigned: client.IP, Server: dnsSrv, Xid: 9})
	w.ICMP(t0, v6a, v6b, pcapgen.ICMP{Type: pcapgen.ICMPv6Echo, ID: 1, Seq: 1})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// anyAnalyzer accepts every connection, to drive reassembly in fuzzing.
func anyAnalyzer(stream.Conn, []byte, stream.Dir, func(event.Event)) stream.Analyzer {
	return &recorder{}
}

func FuzzReader(f *testing.F) {
	seed := seedCapture(f)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	// Real captures (their first 8 KiB) when the shared data is there.
	for _, b := range testkit.SharedSeeds(8<<10, "chrissanders/http_post.pcapng", "ndpi/pcap/selfsigned.pcap",
		"zeek-traces/web.pcap", "ja4/pcap/tls-handshake.pcapng", "ndpi/pcap/dns-tunnel-iodine.pcap") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		cfg.Analyzers = []AnalyzerFactory{anyAnalyzer}
		en := NewEngine(cfg, func(event.Event) error { return nil })
		_ = en.readStream(context.Background(), "fuzz", bytes.NewReader(data), &sensor.Options{})
		_ = en.Flush()
	})
}

func FuzzPacket(f *testing.F) {
	seed := seedCapture(f)
	for _, o := range frameOffsets(seed) {
		n := int(uint32(seed[o+8]) | uint32(seed[o+9])<<8 | uint32(seed[o+10])<<16 | uint32(seed[o+11])<<24)
		f.Add(uint8(layers.LinkTypeEthernet), seed[o+16:o+16+n])
	}
	f.Add(uint8(layers.LinkTypeRaw), []byte{0x45, 0, 0, 20})
	f.Add(uint8(layers.LinkTypeLinuxSLL), []byte{0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, lt uint8, frame []byte) {
		cfg := DefaultConfig()
		cfg.Analyzers = []AnalyzerFactory{anyAnalyzer}
		en := NewEngine(cfg, func(event.Event) error { return nil })
		// The frame twice: once to open a flow, once to hit its state.
		_ = en.Packet(t0, layers.LinkType(lt), frame)
		_ = en.Packet(t0.Add(time.Millisecond), layers.LinkType(lt), frame)
		en.Expire(t0.Add(time.Hour))
		_ = en.Flush()
	})
}
