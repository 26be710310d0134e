package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sim/wire"
)

func collect(t *testing.T, s *Session) []event.Event {
	var out []event.Event
	require.NoError(t, Events(s, func(e event.Event) error {
		out = append(out, e)
		return nil
	}))
	return out
}

var (
	tClient = Endpoint{IP: netip.MustParseAddr("10.10.1.5"), Port: 50123, MAC: "f8:bc:12:00:00:01", TTL: 128}
	tServer = Endpoint{IP: netip.MustParseAddr("198.18.3.4"), Port: 443, MAC: GatewayMAC, TTL: 52}
	tStart  = time.Date(2026, 2, 3, 15, 4, 5, 0, time.UTC)
)

func TestEventsConn(t *testing.T) {
	tests := []struct {
		name     string
		s        Session
		history  string
		origPkts int64
		respPkts int64
		service  string
	}{
		{"sf-both", Session{Proto: event.ProtoTCP, State: event.StateSF, BytesUp: 3000, BytesDown: 10000}, "ShADadFf", 2 + 3 + 4 + 2, 1 + 7 + 2 + 1, ""},
		{"sf-empty", Session{Proto: event.ProtoTCP, State: event.StateSF}, "ShAFf", 4, 2, ""},
		{"s0", Session{Proto: event.ProtoTCP, State: event.StateS0, Duration: 3 * time.Second}, "S", 3, 0, ""},
		{"rej", Session{Proto: event.ProtoTCP, State: event.StateREJ}, "Sr", 1, 1, ""},
		{"rsto", Session{Proto: event.ProtoTCP, State: event.StateRSTO, BytesUp: 10, BytesDown: 10}, "ShADadR", 5, 3, ""},
		{"udp", Session{Proto: event.ProtoUDP, State: event.StateSF, BytesUp: 48, BytesDown: 48}, "Dd", 1, 1, ""},
		{"udp-s0", Session{Proto: event.ProtoUDP, State: event.StateS0, BytesUp: 48}, "D", 1, 0, ""},
		{"http", Session{Proto: event.ProtoTCP, State: event.StateSF, BytesUp: 300, BytesDown: 500, HTTP: []HTTP{{Method: "POST", URI: "/api/daemon", Status: 200}, {Method: "GET", URI: "/", Status: 404}}}, "ShADadFf", 2 + 1 + 1 + 2, 1 + 1 + 1 + 1, "http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.Start, s.Client, s.Server = tStart, tClient, tServer
			evs := collect(t, &s)
			c, ok := evs[len(evs)-1].(*event.Conn)
			require.True(t, ok, "conn comes last")
			require.Equal(t, tc.history, c.History)
			require.Equal(t, tc.origPkts, c.OrigPkts)
			require.Equal(t, tc.respPkts, c.RespPkts)
			require.Equal(t, tc.service, c.Service)
			require.Equal(t, tStart, c.TS)
			require.Len(t, c.UID, 18)
			require.Equal(t, tClient.MAC, c.OrigL2Addr)
			require.GreaterOrEqual(t, c.OrigIPBytes, c.OrigBytes+20*c.OrigPkts)
			for i, e := range evs {
				require.Equal(t, c.UID, e.Base().UID)
				if h, ok := e.(*event.HTTP); ok {
					require.Equal(t, i+1, h.TransDepth)
				}
			}
		})
	}
}

func TestEventsUIDMatchesSensor(t *testing.T) {
	// The same derivation as internal/sensor/pcap's makeUID: a known value
	// pins it (recomputed by hand from that function's definition).
	id := event.ConnID{OrigH: tClient.IP, OrigP: tClient.Port, RespH: tServer.IP, RespP: tServer.Port}
	a, b := event.ConnUID(tStart, 6, id), event.ConnUID(tStart, 6, id)
	require.Equal(t, a, b)
	require.NotEqual(t, a, event.ConnUID(tStart.Add(time.Nanosecond), 6, id))
	require.Equal(t, byte('C'), a[0])
}

func TestEventsTLS(t *testing.T) {
	s13 := &Session{Start: tStart, Client: tClient, Server: tServer, Proto: event.ProtoTCP, State: event.StateSF, BytesUp: 2000, BytesDown: 9000,
		TLS: &TLS{SNI: "www.example.org", ALPN: []string{"h2", "http/1.1"}, Client: "chrome-win", Version: 0x0304}}
	evs := collect(t, s13)
	require.Len(t, evs, 2)
	tl := evs[0].(*event.TLS)
	require.Equal(t, "TLSv13", tl.Version)
	require.True(t, tl.CertsEncrypted)
	require.Empty(t, tl.CertChainFps)
	require.NotEmpty(t, tl.JA3)
	require.Regexp(t, `^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$`, tl.JA4)
	require.Empty(t, tl.NextProtocol, "the server's ALPN is encrypted in TLS 1.3")
	require.Equal(t, "ssl", evs[1].(*event.Conn).Service)

	// Another profile, another fingerprint; same profile, same one.
	s2 := *s13
	s2.TLS = &TLS{SNI: "other.example.net", ALPN: []string{"h2", "http/1.1"}, Client: "chrome-win", Version: 0x0304}
	require.Equal(t, tl.JA4, collect(t, &s2)[0].(*event.TLS).JA4)
	s2.TLS = &TLS{SNI: "other.example.net", Client: "curl", ALPN: []string{"http/1.1"}, Version: 0x0304}
	require.NotEqual(t, tl.JA4, collect(t, &s2)[0].(*event.TLS).JA4)

	// TLS 1.2 shows the certificates: the fingerprints are those of the
	// chain package wire puts on the wire.
	s12 := &Session{Start: tStart, Client: tClient, Server: tServer, Proto: event.ProtoTCP, State: event.StateSF, BytesUp: 2000, BytesDown: 9000,
		TLS: &TLS{SNI: "", Client: "curl", Version: 0x0303, CertNames: []string{"localhost"}, SelfSigned: true}}
	evs = collect(t, s12)
	require.Len(t, evs, 3)
	x := evs[0].(*event.X509)
	tl = evs[1].(*event.TLS)
	require.Equal(t, "TLSv12", tl.Version)
	require.False(t, tl.CertsEncrypted)
	require.True(t, tl.SelfSigned)
	require.True(t, x.SelfSigned)
	require.Equal(t, []string{x.Fingerprint}, tl.CertChainFps)
	fl, err := wire.TLSHandshake(wire.TLSConfig{Profile: "curl", Version: 0x0303, CertNames: []string{"localhost"}, SelfSigned: true, Time: tStart.Add(time.Hour)})
	require.NoError(t, err)
	body := firstHandshake(fl.Server1, 11)
	require.NotNil(t, body)
	der := body[6 : 6+(int(body[3])<<16|int(body[4])<<8|int(body[5]))]
	sum := sha256.Sum256(der)
	require.Equal(t, hex.EncodeToString(sum[:]), x.Fingerprint)

	ca := &Session{Start: tStart, Client: tClient, Server: tServer, Proto: event.ProtoTCP, State: event.StateSF,
		TLS: &TLS{SNI: "www.example.org", Client: "powershell", Version: 0x0303, CertNames: []string{"www.example.org", "*.example.org"}}}
	evs = collect(t, ca)
	require.Len(t, evs, 4, "leaf, CA, TLS, conn")
	tl = evs[2].(*event.TLS)
	require.False(t, tl.SelfSigned)
	require.NotNil(t, tl.SNIMatchesCert)
	require.True(t, *tl.SNIMatchesCert)
	require.Len(t, tl.CertChainFps, 2)
	require.True(t, evs[1].(*event.X509).BasicCA)
}

func TestEventsDNSAndDHCP(t *testing.T) {
	res := Endpoint{IP: netip.MustParseAddr("10.20.0.53"), Port: 53, MAC: "ac:1f:6b:00:00:01", TTL: 64}
	nx := &Session{Start: tStart, Client: tClient, Server: res, Proto: event.ProtoUDP, State: event.StateSF, Duration: 2 * time.Millisecond,
		BytesUp: 40, BytesDown: 40, DNS: &DNS{Name: "qwhjzkxbfmtr.info", QType: 1, RCode: 3}}
	evs := collect(t, nx)
	d := evs[0].(*event.DNS)
	require.True(t, d.NXDomain())
	require.Equal(t, "NXDOMAIN", d.RCodeName)
	require.Equal(t, "A", d.QTypeName)
	require.Equal(t, "dns", evs[1].(*event.Conn).Service)

	dh := &Session{Start: tStart, Client: Endpoint{IP: netip.IPv4Unspecified(), Port: 68, MAC: tClient.MAC}, Server: Endpoint{IP: netip.MustParseAddr("255.255.255.255"), Port: 67},
		Proto: event.ProtoUDP, State: event.StateSF, BytesUp: 600, BytesDown: 600,
		DHCP: &DHCP{MAC: tClient.MAC, Hostname: "WIN-1001", Assigned: tClient.IP, Lease: 24 * time.Hour}}
	evs = collect(t, dh)
	x := evs[0].(*event.DHCP)
	require.Equal(t, "WIN-1001", x.HostName)
	require.Equal(t, tClient.IP, x.AssignedAddr)
	require.Equal(t, []string{x.UID}, x.UIDs)
	require.Equal(t, "dhcp", evs[1].(*event.Conn).Service)
}
