package pcap

import (
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vigil-ndr/vigil/internal/event"
)

// dhcpWatch is how long a transaction waits for its ACK or NAK before it
// is emitted anyway (Zeek's DHCP::max_txid_watch_time).
const dhcpWatch = 30 * time.Second

// maxDHCP bounds the transactions in progress.
const maxDHCP = 4096

// dhcpTracker folds the messages of one transaction id into one event,
// across the flows they travel in (broadcast DISCOVER, unicast OFFER...).
type dhcpTracker struct {
	en  *Engine
	msg layers.DHCPv4
	txs map[uint32]*dhcpTx
}

type dhcpTx struct {
	ev   *event.DHCP
	last time.Time
}

func newDHCPTracker(en *Engine) *dhcpTracker {
	return &dhcpTracker{en: en, txs: map[uint32]*dhcpTx{}}
}

var dhcpTypeNames = [...]string{"", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM",
	"FORCERENEW", "LEASEQUERY", "LEASEUNASSIGNED", "LEASEUNKNOWN", "LEASEACTIVE"}

func (t *dhcpTracker) message(f *flow, p *packet) {
	m := &t.msg
	if err := m.DecodeFromBytes(p.payload, gopacket.NilDecodeFeedback); err != nil {
		return
	}
	f.addService("dhcp")
	tx := t.txs[m.Xid]
	if tx == nil {
		if len(t.txs) >= maxDHCP {
			t.emitOldest()
		}
		tx = &dhcpTx{ev: &event.DHCP{Meta: event.Meta{TS: p.ts, UID: f.uid, ID: f.id}}}
		t.txs[m.Xid] = tx
	}
	tx.last = p.ts
	ev := tx.ev
	ev.Duration = p.ts.Sub(ev.TS)
	if len(ev.UIDs) < 16 && !containsStr(ev.UIDs, f.uid) {
		ev.UIDs = append(ev.UIDs, f.uid)
	}
	if len(m.ClientHWAddr) == 6 {
		ev.MAC = net.HardwareAddr(m.ClientHWAddr).String()
	}
	var msgType layers.DHCPMsgType
	for _, o := range m.Options {
		switch o.Type {
		case layers.DHCPOptMessageType:
			if len(o.Data) == 1 {
				msgType = layers.DHCPMsgType(o.Data[0])
			}
		case layers.DHCPOptHostname:
			ev.HostName = string(o.Data)
		case layers.DHCPOptDomainName:
			ev.Domain = strings.TrimRight(string(o.Data), "\x00")
		case layers.DHCPOptRequestIP:
			if a, ok := netip.AddrFromSlice(o.Data); ok {
				ev.RequestedAddr = a
			}
		case layers.DHCPOptLeaseTime:
			if len(o.Data) == 4 {
				ev.LeaseTime = time.Duration(uint32(o.Data[0])<<24|uint32(o.Data[1])<<16|uint32(o.Data[2])<<8|uint32(o.Data[3])) * time.Second
			}
		case layers.DHCPOptServerID:
			if a, ok := netip.AddrFromSlice(o.Data); ok && !ev.ServerAddr.IsValid() {
				ev.ServerAddr = a
			}
		case 81: // client FQDN: flags, two rcodes, then the name
			if len(o.Data) > 3 {
				ev.ClientFQDN = string(o.Data[3:])
			}
		}
	}
	if int(msgType) < len(dhcpTypeNames) && msgType != 0 && len(ev.MsgTypes) < 32 {
		ev.MsgTypes = append(ev.MsgTypes, dhcpTypeNames[msgType])
	}
	if m.Operation == layers.DHCPOpRequest {
		if p.src.IsValid() && !p.src.IsUnspecified() {
			ev.ClientAddr = p.src
		} else if a, ok := netip.AddrFromSlice(m.ClientIP.To4()); ok && !a.IsUnspecified() {
			ev.ClientAddr = a
		}
	} else if p.src.IsValid() && !p.src.IsUnspecified() {
		ev.ServerAddr = p.src
	}
	if msgType == layers.DHCPMsgTypeAck || msgType == layers.DHCPMsgTypeNak {
		if msgType == layers.DHCPMsgTypeAck {
			if a, ok := netip.AddrFromSlice(m.YourClientIP.To4()); ok && !a.IsUnspecified() {
				ev.AssignedAddr = a
			}
		}
		delete(t.txs, m.Xid)
		t.en.emitEvent(ev)
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// expire emits transactions idle longer than dhcpWatch.
func (t *dhcpTracker) expire(now time.Time) {
	if len(t.txs) == 0 {
		return
	}
	var done []uint32
	for xid, tx := range t.txs {
		if now.Sub(tx.last) > dhcpWatch {
			done = append(done, xid)
		}
	}
	t.emit(done)
}

func (t *dhcpTracker) flush() {
	var all []uint32
	for xid := range t.txs {
		all = append(all, xid)
	}
	t.emit(all)
}

// emit sends the given transactions in order of first message.
func (t *dhcpTracker) emit(xids []uint32) {
	sort.Slice(xids, func(i, j int) bool {
		a, b := t.txs[xids[i]].ev, t.txs[xids[j]].ev
		if !a.TS.Equal(b.TS) {
			return a.TS.Before(b.TS)
		}
		return xids[i] < xids[j]
	})
	for _, x := range xids {
		ev := t.txs[x].ev
		delete(t.txs, x)
		t.en.emitEvent(ev)
	}
}

func (t *dhcpTracker) emitOldest() {
	var oldest uint32
	var when time.Time
	first := true
	for xid, tx := range t.txs {
		if first || tx.ev.TS.Before(when) || (tx.ev.TS.Equal(when) && xid < oldest) {
			oldest, when, first = xid, tx.ev.TS, false
		}
	}
	t.emit([]uint32{oldest})
}
