package pcap

import (
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// counter is a stream.Analyzer that only counts bytes, so that the
// reassembly benchmarks measure reassembly, not the analyzer.
type counter struct{ n int }

func (c *counter) Feed(_ stream.Dir, _ time.Time, b []byte) { c.n += len(b) }
func (c *counter) Gap(stream.Dir, int)                      {}
func (c *counter) Close(time.Time)                          {}
func (c *counter) Service() string                          { return "" }
func (c *counter) Done() bool                               { return false }

// gpStream is the same for gopacket/reassembly.
type gpStream struct{ n *int }

func (s gpStream) Accept(*layers.TCP, gopacket.CaptureInfo, reassembly.TCPFlowDirection, reassembly.Sequence, *bool, reassembly.AssemblerContext) bool {
	return true
}
func (s gpStream) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	l, _ := sg.Lengths()
	*s.n += l
}
func (s gpStream) ReassemblyComplete(reassembly.AssemblerContext) bool { return true }

type gpFactory struct{ n int }

func (f *gpFactory) New(_, _ gopacket.Flow, _ *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	return gpStream{&f.n}
}

type gpContext gopacket.CaptureInfo

func (c *gpContext) GetCaptureInfo() gopacket.CaptureInfo { return gopacket.CaptureInfo(*c) }

// BenchmarkReassembly compares, on the lab capture, this package's whole
// engine reassembling every TCP connection into a byte-counting analyzer
// with the same decoding feeding gopacket/reassembly (which does nothing
// else: no flow states, no history, no UDP). See DESIGN.md.
func BenchmarkReassembly(b *testing.B) {
	fs, lt, total := loadFrames(b, testkit.SharedData(b, "lab", "dev-intrusion.pcap"))
	b.Run("own-engine", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for range b.N {
			cfg := DefaultConfig()
			cfg.Analyzers = []AnalyzerFactory{func(stream.Conn, []byte, stream.Dir, func(event.Event)) stream.Analyzer { return &counter{} }}
			en := NewEngine(cfg, func(event.Event) error { return nil })
			var last time.Time
			for _, f := range fs {
				_ = en.Packet(f.ts, lt, f.data)
				if f.ts.Sub(last) >= time.Second {
					en.Expire(f.ts)
					last = f.ts
				}
			}
			_ = en.Flush()
		}
	})
	b.Run("own-engine-no-analyzer", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for range b.N {
			en := NewEngine(DefaultConfig(), func(event.Event) error { return nil })
			var last time.Time
			for _, f := range fs {
				_ = en.Packet(f.ts, lt, f.data)
				if f.ts.Sub(last) >= time.Second {
					en.Expire(f.ts)
					last = f.ts
				}
			}
			_ = en.Flush()
		}
	})
	b.Run("decode-only", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for range b.N {
			dec := newDecoder(16)
			var p packet
			for _, f := range fs {
				_ = dec.decode(f.ts, lt, f.data, &p)
			}
		}
	})
	b.Run("gopacket-reassembly", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for range b.N {
			dec := newDecoder(16)
			fac := &gpFactory{}
			asm := reassembly.NewAssembler(reassembly.NewStreamPool(fac))
			var p packet
			var last time.Time
			for _, f := range fs {
				if dec.decode(f.ts, lt, f.data, &p) != nil || p.proto != ipTCP {
					continue
				}
				var nf gopacket.Flow
				if p.src.Is4() {
					s, d := p.src.As4(), p.dst.As4()
					nf = gopacket.NewFlow(layers.EndpointIPv4, s[:], d[:])
				} else {
					s, d := p.src.As16(), p.dst.As16()
					nf = gopacket.NewFlow(layers.EndpointIPv6, s[:], d[:])
				}
				ctx := gpContext{Timestamp: f.ts}
				asm.AssembleWithContext(nf, &dec.tcp, &ctx)
				if f.ts.Sub(last) >= time.Minute {
					asm.FlushCloseOlderThan(f.ts.Add(-5 * time.Minute))
					last = f.ts
				}
			}
			asm.FlushAll()
		}
	})
}
