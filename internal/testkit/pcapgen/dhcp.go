package pcapgen

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// DHCP describes one DORA exchange (DISCOVER, OFFER, REQUEST, ACK) for
// Writer.DHCPExchange.
type DHCP struct {
	ClientMAC net.HardwareAddr
	// Hostname is sent by the client in option 12 (host name).
	Hostname string
	// VendorClass is option 60 when not empty (e.g. "MSFT 5.0").
	VendorClass string
	// Assigned is the address the server offers and acknowledges.
	Assigned netip.Addr
	// Server is the DHCP server (option 54, server identifier).
	Server Host
	Xid    uint32
	// Lease is the lease time (option 51); 0 means 8 hours.
	Lease time.Duration
	// Mask is the subnet mask's prefix length; 0 means 24.
	Mask int
	// Router and DNS, when valid, fill options 3 and 6.
	Router netip.Addr
	DNS    []netip.Addr
	// Domain fills option 15 when not empty.
	Domain string
}

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// DHCPExchange writes the four messages of a DHCP lease from client port
// 68 to server port 67, starting at ts, and returns the time of the ACK.
// The client broadcasts from 0.0.0.0; the server answers by unicast to the
// assigned address and the client's MAC.
func (w *Writer) DHCPExchange(ts time.Time, d DHCP) time.Time {
	if !d.Assigned.Is4() || !d.Server.IP.Is4() {
		w.fail(fmt.Errorf("pcapgen: dhcp needs IPv4 addresses, got %v from %v", d.Assigned, d.Server.IP))
		return ts
	}
	if d.Lease <= 0 {
		d.Lease = 8 * time.Hour
	}
	if d.Mask <= 0 {
		d.Mask = 24
	}
	unspec := Host{MAC: d.ClientMAC, IP: netip.IPv4Unspecified(), TTL: 64}
	bcast := Host{MAC: broadcastMAC, IP: netip.AddrFrom4([4]byte{255, 255, 255, 255})}
	client := Host{MAC: d.ClientMAC, IP: d.Assigned, TTL: 64}
	msgs := []struct {
		typ      layers.DHCPMsgType
		src, dst Host
		after    time.Duration
	}{
		{layers.DHCPMsgTypeDiscover, unspec, bcast, 0},
		{layers.DHCPMsgTypeOffer, d.Server, client, 3 * time.Millisecond},
		{layers.DHCPMsgTypeRequest, unspec, bcast, 9 * time.Millisecond},
		{layers.DHCPMsgTypeAck, d.Server, client, 3 * time.Millisecond},
	}
	for _, m := range msgs {
		ts = ts.Add(m.after)
		p := d.message(m.typ)
		if w.err != nil {
			return ts
		}
		srcPort, dstPort := uint16(68), uint16(67)
		if m.typ == layers.DHCPMsgTypeOffer || m.typ == layers.DHCPMsgTypeAck {
			srcPort, dstPort = 67, 68
		}
		w.UDP(ts, m.src.At(srcPort), m.dst.At(dstPort), p)
	}
	return ts
}

// message serializes one DHCP message of the exchange.
func (d DHCP) message(typ layers.DHCPMsgType) []byte {
	reply := typ == layers.DHCPMsgTypeOffer || typ == layers.DHCPMsgTypeAck
	msg := &layers.DHCPv4{
		Operation: layers.DHCPOpRequest, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6,
		Xid: d.Xid, ClientHWAddr: d.ClientMAC,
		ClientIP: net.IPv4zero, YourClientIP: net.IPv4zero, NextServerIP: net.IPv4zero, RelayAgentIP: net.IPv4zero,
	}
	opt := func(t layers.DHCPOpt, data []byte) {
		msg.Options = append(msg.Options, layers.NewDHCPOption(t, data))
	}
	opt(layers.DHCPOptMessageType, []byte{byte(typ)})
	if reply {
		msg.Operation = layers.DHCPOpReply
		msg.YourClientIP = d.Assigned.AsSlice()
		opt(layers.DHCPOptServerID, d.Server.IP.AsSlice())
		lease := make([]byte, 4)
		binary.BigEndian.PutUint32(lease, uint32(d.Lease/time.Second))
		opt(layers.DHCPOptLeaseTime, lease)
		mask := net.CIDRMask(d.Mask, 32)
		opt(layers.DHCPOptSubnetMask, mask)
		if d.Router.IsValid() {
			opt(layers.DHCPOptRouter, d.Router.AsSlice())
		}
		if len(d.DNS) > 0 {
			var b []byte
			for _, a := range d.DNS {
				b = append(b, a.AsSlice()...)
			}
			opt(layers.DHCPOptDNS, b)
		}
		if d.Domain != "" {
			opt(layers.DHCPOptDomainName, []byte(d.Domain))
		}
	} else {
		opt(layers.DHCPOptClientID, append([]byte{1}, d.ClientMAC...))
		if typ == layers.DHCPMsgTypeRequest {
			opt(layers.DHCPOptRequestIP, d.Assigned.AsSlice())
			opt(layers.DHCPOptServerID, d.Server.IP.AsSlice())
		}
		if d.Hostname != "" {
			opt(layers.DHCPOptHostname, []byte(d.Hostname))
		}
		if d.VendorClass != "" {
			opt(layers.DHCPOptClassID, []byte(d.VendorClass))
		}
		opt(layers.DHCPOptParamsRequest, []byte{1, 3, 6, 15, 51, 54})
	}
	b, err := serializeLayer(msg)
	if err != nil {
		panic(fmt.Sprintf("pcapgen: dhcp message: %v", err)) // only on a bug here: every field is fixed-size
	}
	// Pad to the 300-byte BOOTP minimum that relays and old servers expect.
	for len(b) < 300 {
		b = append(b, 0)
	}
	return b
}

// NTP returns a 48-byte NTPv4 packet: a client request (mode 3) when
// server is false, else a server reply (mode 4, stratum 2) whose origin
// timestamp echoes the request's transmit time.
func NTP(server bool, requestSent, ts time.Time) []byte {
	b := make([]byte, 48)
	putTime := func(off int, t time.Time) {
		secs := uint64(t.Unix()) + 2208988800 // NTP era 0 starts 1900-01-01
		frac := uint64(t.Nanosecond()) << 32 / 1e9
		binary.BigEndian.PutUint32(b[off:], uint32(secs))
		binary.BigEndian.PutUint32(b[off+4:], uint32(frac))
	}
	if !server {
		b[0] = 0<<6 | 4<<3 | 3 // LI 0, version 4, mode 3
		b[2] = 6               // poll 64s
		b[3] = 0xe9            // precision ~2^-23
		putTime(40, ts)
		return b
	}
	b[0] = 0<<6 | 4<<3 | 4
	b[1] = 2
	b[2] = 6
	b[3] = 0xe7
	binary.BigEndian.PutUint32(b[4:], 0x00000112) // root delay
	binary.BigEndian.PutUint32(b[8:], 0x0000001e) // root dispersion
	copy(b[12:16], []byte{192, 0, 2, 123})        // reference ID: upstream server
	putTime(16, ts.Add(-17*time.Minute))          // reference time
	putTime(24, requestSent)                      // origin
	putTime(32, ts.Add(-200*time.Microsecond))    // receive
	putTime(40, ts.Add(-150*time.Microsecond))    // transmit
	return b
}

// NTPExchange writes a client's NTP request to server port 123 and the
// reply rtt later, and returns the time of the reply.
func (w *Writer) NTPExchange(ts time.Time, client Endpoint, server Host, rtt time.Duration) time.Time {
	srv := server.At(123)
	w.UDP(ts, client, srv, NTP(false, ts, ts))
	reply := ts.Add(rtt)
	w.UDP(reply, srv, client, NTP(true, ts, reply))
	return reply
}
