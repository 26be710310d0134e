package device

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func conn(ts time.Time, orig, resp string, respPkts int64, origMAC, respMAC string) *event.Conn {
	return &event.Conn{
		Meta: event.Meta{TS: ts, ID: event.ConnID{
			OrigH: netip.MustParseAddr(orig), OrigP: 50000,
			RespH: netip.MustParseAddr(resp), RespP: 443,
		}},
		Proto: event.ProtoTCP, Duration: time.Second, RespPkts: respPkts,
		OrigL2Addr: origMAC, RespL2Addr: respMAC,
	}
}

func TestInventory(t *testing.T) {
	const gw = "00:1b:17:00:00:01"
	tests := []struct {
		name   string
		events []event.Event
		want   []Device
	}{
		{
			name: "external peers and unanswered internal targets are not devices",
			events: []event.Event{
				conn(t0, "10.0.0.5", "192.0.2.1", 3, "aa:aa:aa:aa:aa:05", gw),
				conn(t0.Add(time.Minute), "10.0.0.5", "10.0.0.99", 0, "aa:aa:aa:aa:aa:05", ""),
			},
			want: []Device{{IP: netip.MustParseAddr("10.0.0.5"), MAC: "aa:aa:aa:aa:aa:05",
				FirstSeen: t0, LastSeen: t0.Add(time.Minute + time.Second)}},
		},
		{
			name: "a MAC fronting many addresses (a router) is given to none",
			events: []event.Event{
				conn(t0, "10.1.0.5", "192.0.2.1", 1, gw, ""),
				conn(t0, "10.2.0.6", "192.0.2.1", 1, gw, ""),
			},
			want: []Device{
				{IP: netip.MustParseAddr("10.1.0.5"), FirstSeen: t0, LastSeen: t0.Add(time.Second)},
				{IP: netip.MustParseAddr("10.2.0.6"), FirstSeen: t0, LastSeen: t0.Add(time.Second)},
			},
		},
		{
			name: "DHCP names beat DNS names; PTR beats forward lookups",
			events: []event.Event{
				conn(t0, "10.0.0.7", "192.0.2.1", 1, "", ""),
				conn(t0, "10.0.0.8", "192.0.2.1", 1, "", ""),
				&event.DNS{Meta: event.Meta{TS: t0}, Query: "printer.corp.example", QTypeName: "A",
					HasReply: true, Answers: []string{"10.0.0.8"}},
				&event.DNS{Meta: event.Meta{TS: t0}, Query: "8.0.0.10.in-addr.arpa", QTypeName: "PTR",
					HasReply: true, Answers: []string{"prn-2f.corp.example."}},
				&event.DNS{Meta: event.Meta{TS: t0}, Query: "laptop.corp.example", QTypeName: "A",
					HasReply: true, Answers: []string{"10.0.0.7"}},
				&event.DHCP{Meta: event.Meta{TS: t0.Add(time.Hour)}, MAC: "AA:BB:CC:00:00:07",
					HostName: "MBP-Alice", Domain: "corp.example", AssignedAddr: netip.MustParseAddr("10.0.0.7")},
			},
			want: []Device{
				{IP: netip.MustParseAddr("10.0.0.7"), MAC: "aa:bb:cc:00:00:07", Hostname: "mbp-alice.corp.example",
					FirstSeen: t0, LastSeen: t0.Add(time.Hour)},
				{IP: netip.MustParseAddr("10.0.0.8"), Hostname: "prn-2f.corp.example", FirstSeen: t0, LastSeen: t0.Add(time.Second)},
			},
		},
		{
			name: "a client seen only in DNS and TLS logs (no conn.log) is a device",
			events: []event.Event{
				&event.DNS{Meta: event.Meta{TS: t0, ID: event.ConnID{OrigH: netip.MustParseAddr("10.9.0.4"), RespH: netip.MustParseAddr("10.9.0.2")}},
					Query: "example.com", QTypeName: "A", HasReply: true, Answers: []string{"192.0.2.10"}},
				&event.TLS{Meta: event.Meta{TS: t0.Add(time.Second), ID: event.ConnID{OrigH: netip.MustParseAddr("10.9.0.4"), RespH: netip.MustParseAddr("192.0.2.10")}}},
			},
			want: []Device{{IP: netip.MustParseAddr("10.9.0.4"), FirstSeen: t0, LastSeen: t0.Add(time.Second)}},
		},
		{
			name: "an NXDOMAIN answer names nothing",
			events: []event.Event{
				conn(t0, "10.0.0.9", "192.0.2.1", 1, "", ""),
				&event.DNS{Meta: event.Meta{TS: t0}, Query: "9.0.0.10.in-addr.arpa", QTypeName: "PTR",
					HasReply: true, RCode: 3},
			},
			want: []Device{{IP: netip.MustParseAddr("10.0.0.9"), FirstSeen: t0, LastSeen: t0.Add(time.Second)}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := NewInventory(DefaultInternal())
			for _, e := range tc.events {
				inv.Observe(e)
			}
			require.Equal(t, tc.want, inv.Devices())
			require.Equal(t, len(tc.want), inv.Len())
		})
	}
}

func TestPTRAddr(t *testing.T) {
	tests := []struct {
		name, query, want string
	}{
		{"ipv4", "4.3.2.10.in-addr.arpa.", "10.2.3.4"},
		{"ipv6", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa", "4321:0:1:2:3:4:567:89ab"},
		{"not a ptr name", "example.com", ""},
		{"short", "3.2.10.in-addr.arpa", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := ptrAddr(tc.query)
			if tc.want == "" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, netip.MustParseAddr(tc.want), a)
		})
	}
}

// BenchmarkObserve measures the inventory's cost per connection event,
// which every event of every run pays.
func BenchmarkObserve(b *testing.B) {
	inv := NewInventory(DefaultInternal())
	events := make([]*event.Conn, 1024)
	for i := range events {
		events[i] = conn(t0.Add(time.Duration(i)*time.Second), netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i%250 + 1)}).String(),
			"192.0.2.1", 3, "aa:aa:aa:aa:aa:01", "00:1b:17:00:00:01")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		inv.Observe(events[i%len(events)])
	}
}

func TestDHCPMovedDeviceIsOneDevice(t *testing.T) {
	inv := NewInventory(DefaultInternal())
	lease := func(ts time.Time, ip string) *event.DHCP {
		return &event.DHCP{Meta: event.Meta{TS: ts}, MAC: "AA:BB:CC:00:00:07", HostName: "mbp-ana",
			AssignedAddr: netip.MustParseAddr(ip)}
	}
	inv.Observe(lease(t0, "10.0.0.20"))
	inv.Observe(conn(t0.Add(time.Minute), "10.0.0.20", "192.0.2.1", 3, "", ""))
	inv.Observe(lease(t0.Add(48*time.Hour), "10.0.0.77"))
	inv.Observe(conn(t0.Add(48*time.Hour+time.Minute), "10.0.0.77", "192.0.2.1", 3, "", ""))
	inv.Observe(conn(t0.Add(time.Hour), "10.0.0.9", "192.0.2.1", 3, "", "")) // another device
	ds := inv.Devices()
	require.Len(t, ds, 2)
	d := ds[1]
	require.Equal(t, netip.MustParseAddr("10.0.0.77"), d.IP, "named by its latest address")
	require.Equal(t, []netip.Addr{netip.MustParseAddr("10.0.0.20"), netip.MustParseAddr("10.0.0.77")}, d.IPs)
	require.Equal(t, t0, d.FirstSeen)
	require.Equal(t, "aa:bb:cc:00:00:07", d.MAC)
	require.Equal(t, "mbp-ana", d.Hostname)
}

func TestClientCertificateNamesDevice(t *testing.T) {
	inv := NewInventory(DefaultInternal())
	inv.Observe(conn(t0, "10.0.0.31", "192.0.2.1", 3, "", ""))
	meta := event.Meta{TS: t0, ID: event.ConnID{OrigH: netip.MustParseAddr("10.0.0.31"), RespH: netip.MustParseAddr("192.0.2.1"), RespP: 443}}
	inv.Observe(&event.X509{Meta: meta, ClientCert: true, BasicCA: true, Subject: "CN=Corp Device CA,O=Example"})
	inv.Observe(&event.X509{Meta: meta, ClientCert: true, Subject: "CN=Jane Doe,O=Example"}) // a person, not a host
	require.Empty(t, inv.Devices()[0].Hostname)
	inv.Observe(&event.X509{Meta: meta, ClientCert: true, Subject: "CN=WS-31.corp.example,O=Example"})
	require.Equal(t, "ws-31.corp.example", inv.Devices()[0].Hostname)
	inv.Observe(&event.X509{Meta: meta, HostCert: true, Subject: "CN=other.example"}) // the server's certificate
	require.Equal(t, "ws-31.corp.example", inv.Devices()[0].Hostname)
}
