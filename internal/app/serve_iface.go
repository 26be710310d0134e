package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/pcap"
)

// serveIface captures from a network interface with AF_PACKET (TPACKET_V3,
// no libpcap). It needs root or CAP_NET_RAW.
func (s *Serve) serveIface(ctx context.Context, st ingestStore, log *slog.Logger) error {
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(s.Iface),
		afpacket.OptFrameSize(1<<16),
		afpacket.OptBlockSize(1<<20),
		afpacket.OptNumBlocks(64),
		afpacket.OptPollTimeout(200*time.Millisecond),
	)
	if err != nil {
		return fmt.Errorf("capture on %s (AF_PACKET needs root or CAP_NET_RAW): %w", s.Iface, err)
	}
	defer tp.Close()
	if ifi, err := net.InterfaceByName(s.Iface); err == nil && ifi.Flags&net.FlagLoopback != 0 {
		// On loopback the kernel hands a packet socket every packet twice,
		// once leaving and once arriving; keep the arriving copy, as
		// libpcap does.
		if err := tp.SetBPF(dropOutgoing); err != nil {
			return fmt.Errorf("capture on %s: set filter: %w", s.Iface, err)
		}
	}
	log.Info("capturing", "iface", s.Iface)
	return ingestLive(ctx, tp, s, st, log)
}

// dropOutgoing is a socket filter that drops packets the host sends
// (packet type PACKET_OUTGOING) and accepts the rest whole.
var dropOutgoing = mustAssemble(
	bpf.LoadExtension{Num: bpf.ExtType},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
	bpf.RetConstant{Val: 1 << 18},
	bpf.RetConstant{Val: 0},
)

func mustAssemble(insns ...bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(insns)
	if err != nil {
		panic(err)
	}
	return raw
}

// ingestLive runs the flow engine over live packets until ctx ends,
// committing to the store every Poll and expiring flows as time passes.
func ingestLive(ctx context.Context, tp *afpacket.TPacket, s *Serve, st ingestStore, log *slog.Logger) error {
	in, err := newIngest(ctx, "iface:"+s.Iface, "iface", []string{s.Iface}, s.Config, st, log, s.LogEvery)
	if err != nil {
		return err
	}
	var records, malformed int64
	eng := pcap.NewEngine(CaptureConfig(s.Config), func(e event.Event) error { return in.observe(e) })
	var lastExpire time.Time
	for ctx.Err() == nil {
		data, ci, err := tp.ReadPacketData()
		now := time.Now()
		switch {
		case err == nil:
			records++
			if perr := eng.Packet(ci.Timestamp, layers.LinkTypeEthernet, data); perr != nil {
				if !errors.Is(perr, pcap.ErrMalformed) {
					return perr
				}
				malformed++
			}
			now = ci.Timestamp
		case errors.Is(err, afpacket.ErrTimeout):
			// idle: time still passes, so flows still expire
		default:
			return fmt.Errorf("capture on %s: %w", s.Iface, err)
		}
		if now.Sub(lastExpire) >= time.Second {
			eng.Expire(now)
			lastExpire = now
		}
		if in.due(s.Poll) {
			if err := in.commit(ctx, records, malformed, nil); err != nil {
				return err
			}
		}
	}
	if err := eng.Flush(); err != nil {
		return err
	}
	in.end()
	if err := in.commit(ctx, records, malformed, nil); err != nil {
		return err
	}
	in.logProgress()
	return ctx.Err()
}
