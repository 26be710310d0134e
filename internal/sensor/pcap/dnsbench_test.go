package pcap

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// BenchmarkDNSDecode compares the two DNS decoders the engine could use,
// on a response with a CNAME and two A records, each producing the
// answers' text. The figures chose golang.org/x/net/dns/dnsmessage (see
// DESIGN.md).
func BenchmarkDNSDecode(b *testing.B) {
	msg, err := pcapgen.DNS{ID: 1, Name: "www.example.com", Answers: []pcapgen.DNSAnswer{
		{Type: dnsmessage.TypeCNAME, Data: "edge.example.net"}, {Type: dnsmessage.TypeA, Data: "192.0.2.7"}, {Type: dnsmessage.TypeA, Data: "192.0.2.8"},
	}}.ResponseBytes()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("gopacket", func(b *testing.B) {
		var d layers.DNS
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for range b.N {
			if err := d.DecodeFromBytes(msg, gopacket.NilDecodeFeedback); err != nil {
				b.Fatal(err)
			}
			for i := range d.Answers {
				rr := &d.Answers[i]
				switch rr.Type {
				case layers.DNSTypeA:
					_ = rr.IP.String()
				case layers.DNSTypeCNAME:
					_ = string(rr.CNAME)
				}
			}
		}
	})
	b.Run("dnsmessage", func(b *testing.B) {
		var p dnsmessage.Parser
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for range b.N {
			if _, err := p.Start(msg); err != nil {
				b.Fatal(err)
			}
			q, err := p.Question()
			if err != nil {
				b.Fatal(err)
			}
			_ = nameText(q.Name)
			_ = p.SkipAllQuestions()
			for {
				h, err := p.AnswerHeader()
				if err != nil {
					break
				}
				_, _, _ = answerText(&p, h)
			}
		}
	})
}
