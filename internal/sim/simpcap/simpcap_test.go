package simpcap_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-ndr/vigil/internal/app"
	"github.com/vigil-ndr/vigil/internal/config"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/pcap"
	"github.com/vigil-ndr/vigil/internal/sensor/tlsx"
	"github.com/vigil-ndr/vigil/internal/sim"
	"github.com/vigil-ndr/vigil/internal/sim/simpcap"
	"github.com/vigil-ndr/vigil/internal/sim/wire"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func ep(ip string, port uint16, ttl uint8) sim.Endpoint {
	a := netip.MustParseAddr(ip)
	b := a.As16()
	return sim.Endpoint{IP: a, Port: port, TTL: ttl,
		MAC: fmt.Sprintf("00:1a:2b:%02x:%02x:%02x", b[13], b[14], b[15])}
}

const gatewayMAC = "00:00:5e:00:01:01"

// external is a server beyond the gateway: the gateway's MAC, a TTL some
// hops below 64.
func external(ip string, port uint16) sim.Endpoint {
	e := ep(ip, port, 52)
	e.MAC = gatewayMAC
	return e
}

// varied returns n sessions of every kind the renderer knows, in start
// order, overlapping in time.
func varied(n int, seed uint64) []*sim.Session {
	next := generator(seed, false)
	out := make([]*sim.Session, n)
	for i := range out {
		out[i] = next(i)
	}
	return out
}

// generator returns a function making the varied sessions one at a time
// (small: with a few kilobytes each at most).
func generator(seed uint64, small bool) func(i int) *sim.Session {
	r := rand.New(rand.NewPCG(seed, 7))
	profiles := wire.Profiles()
	t := t0
	return func(i int) *sim.Session {
		t = t.Add(time.Duration(r.IntN(300)) * time.Millisecond)
		cli := ep(fmt.Sprintf("10.1.%d.%d", 1+i%3, 10+i%200), uint16(49152+i%16000), 128)
		srv := external(fmt.Sprintf("203.0.113.%d", 1+i%250), 443)
		s := &sim.Session{Start: t, Client: cli, Server: srv, Proto: event.ProtoTCP, State: event.StateSF,
			Duration: time.Duration(50+r.IntN(3000)) * time.Millisecond}
		switch i % 12 {
		case 0, 1, 2: // TLS 1.3, every profile in turn
			p := profiles[(i/12*3+i%12)%len(profiles)]
			s.TLS = &sim.TLS{SNI: fmt.Sprintf("app%d.example.com", i), Client: p, Version: 0x0304}
			if i%2 == 0 {
				s.TLS.ALPN = []string{"h2", "http/1.1"}
			}
			s.BytesUp, s.BytesDown = int64(4000+r.IntN(40000)), int64(16000+r.IntN(200000))
			if i%24 == 1 {
				s.BytesUp += 5 + int64(r.IntN(10)) // leftovers folded into the Finished record
			}
		case 3: // TLS 1.2, CA-signed or self-signed
			p := profiles[(i/12)%len(profiles)]
			s.TLS = &sim.TLS{SNI: fmt.Sprintf("legacy%d.example.net", i%7), Client: p, Version: 0x0303,
				CertNames: []string{fmt.Sprintf("legacy%d.example.net", i%7)}, SelfSigned: i%24 == 3}
			if i%36 == 15 {
				s.TLS.SNI = "" // to a bare IP
				s.TLS.CertNames = []string{srv.IP.String()}
			}
			s.BytesUp, s.BytesDown = int64(3000+r.IntN(9000)), int64(9000+r.IntN(60000))
		case 4: // plain HTTP, keep-alive, chunked, POST
			s.Server = external(fmt.Sprintf("198.51.100.%d", 1+i%250), 80)
			hs := []sim.HTTP{{Method: "GET", Host: "www.example.org", URI: fmt.Sprintf("/page/%d?q=1", i),
				UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", RespContentType: "text/html",
				RespBody: int64(r.IntN(30000)), Status: 200, Chunked: i%3 == 0}}
			if i%5 == 0 {
				hs = append(hs, sim.HTTP{Method: "POST", Host: "www.example.org", URI: "/api/daemon",
					UserAgent: "curl/8.7.1", ReqContentType: "application/json", ReqBody: int64(100 + r.IntN(5000)),
					RespContentType: "application/json", RespBody: 40, Status: 201})
			}
			if i%7 == 0 {
				hs = append(hs, sim.HTTP{Method: "GET", Host: "www.example.org", URI: "/missing",
					UserAgent: "Go-http-client/1.1", Status: 404, RespBody: 0})
			}
			s.HTTP = hs
			xs := make([]wire.HTTP, len(hs))
			for j, h := range hs {
				xs[j] = wire.HTTP(h)
			}
			up, down := wire.HTTPSizes(xs)
			s.BytesUp, s.BytesDown = up+int64(r.IntN(3)*r.IntN(2000)), down+int64(r.IntN(2)*r.IntN(9000))
		case 5, 6: // DNS
			s.Proto = event.ProtoUDP
			s.Server = ep("10.0.0.53", 53, 64)
			d := &sim.DNS{Name: fmt.Sprintf("host%d.example.com", i), QType: 1, TTL: 300 * time.Second}
			switch i % 5 {
			case 0:
				d.Answers = []string{fmt.Sprintf("203.0.113.%d", i%250+1)}
			case 1:
				d.Answers = []string{"edge.example-cdn.net", "198.51.100.7", "198.51.100.8"}
			case 2:
				d.RCode = 3 // NXDOMAIN
				d.Name = fmt.Sprintf("x%08x.example.biz", r.Uint32())
			case 3:
				d.QType = 28
				d.Answers = []string{"2001:db8::5"}
			case 4:
				if i%2 == 0 {
					d.QType = 16
					d.Answers = []string{"v=spf1 -all"}
				} else {
					d.NoReply = true
				}
			}
			s.DNS = d
			s.Duration = time.Duration(1+r.IntN(30)) * time.Millisecond
			up, down := wire.DNSSizes(wire.DNS{Name: d.Name, QType: d.QType, Answers: d.Answers, TTL: d.TTL, RCode: d.RCode})
			s.BytesUp, s.BytesDown = up, down
			if d.NoReply {
				s.BytesDown, s.State = 0, event.StateS0
			}
		case 7: // NTP, DHCP, ping
			s.Proto = event.ProtoUDP
			s.Client.Port = 123
			s.Server = external(fmt.Sprintf("192.0.2.%d", 1+i%9), 123)
			s.BytesUp, s.BytesDown = 48, 48
			s.Duration = 25 * time.Millisecond
			switch i % 36 {
			case 19:
				s.Client = sim.Endpoint{IP: netip.IPv4Unspecified(), Port: 68, MAC: cli.MAC, TTL: 64}
				s.Server = sim.Endpoint{IP: netip.AddrFrom4([4]byte{255, 255, 255, 255}), Port: 67, MAC: "00:1a:2b:00:00:01", TTL: 128}
				s.DHCP = &sim.DHCP{MAC: cli.MAC, Hostname: fmt.Sprintf("LT-%04d", i), Assigned: cli.IP, Lease: 24 * time.Hour}
				s.BytesUp, s.BytesDown = 600, 600
			case 31:
				s.Proto = event.ProtoICMP
				s.Client.Port, s.Server.Port = 8, 0
				s.BytesUp, s.BytesDown = 56, 56
			}
		case 8: // failed connection attempts
			s.Server = external("192.0.2.200", 8443)
			s.State = event.StateS0
			if i%24 == 8 {
				s.State = event.StateREJ
			}
			s.Duration = time.Duration(r.IntN(8)) * time.Second
		case 9: // resets after data
			s.Server = ep(fmt.Sprintf("10.2.0.%d", 1+i%20), 445, 128)
			s.State = event.StateRSTO
			if i%24 == 9 {
				s.State = event.StateRSTR
			}
			s.BytesUp, s.BytesDown = int64(1+r.IntN(3000)), int64(r.IntN(9000))
		case 10: // opaque TCP, IPv6 sometimes
			s.Server = external(fmt.Sprintf("198.51.100.%d", 1+i%250), 22)
			if i%24 == 10 {
				s.Client = ep(fmt.Sprintf("2001:db8:1::%x", i%0xffff), uint16(50000+i%1000), 64)
				s.Server = external("2001:db8:ffff::22", 22)
			}
			s.BytesUp, s.BytesDown = int64(r.IntN(20000)), int64(r.IntN(90000))
		case 11: // small UDP, or a TLS session whose budget cuts the handshake
			if i%24 == 11 {
				s.Proto = event.ProtoUDP
				s.Server = external("198.51.100.99", 40000+uint16(i%7))
				s.BytesUp, s.BytesDown = int64(1+r.IntN(3000)), int64(r.IntN(4000))
			} else {
				s.TLS = &sim.TLS{SNI: "cut.example.com", Client: "curl", Version: 0x0304}
				s.BytesUp, s.BytesDown = 300, int64(r.IntN(2000))
			}
		}
		if small {
			s.BytesUp, s.BytesDown = min(s.BytesUp, 6000), min(s.BytesDown, 12000)
		}
		return s
	}
}

func render(t testing.TB, ss []*sim.Session, opt simpcap.Options) []byte {
	var buf bytes.Buffer
	w := simpcap.NewWriter(&buf, opt)
	for _, s := range ss {
		require.NoError(t, w.Write(s))
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestDeterministic(t *testing.T) {
	ss := varied(300, 1)
	a := render(t, ss, simpcap.Options{})
	require.Equal(t, a, render(t, ss, simpcap.Options{}))
	require.NotEqual(t, a, render(t, ss, simpcap.Options{Seed: 2}))
}

func TestOutOfOrder(t *testing.T) {
	ss := varied(2, 1)
	ss[1].Start = ss[0].Start.Add(-time.Second)
	w := simpcap.NewWriter(&bytes.Buffer{}, simpcap.Options{})
	require.NoError(t, w.Write(ss[0]))
	require.ErrorContains(t, w.Write(ss[1]), "starts before")
}

// TestBadSessionIsSkipped: a session that cannot be rendered is reported
// and left out; the sessions after it are written.
func TestBadSessionIsSkipped(t *testing.T) {
	ss := varied(3, 1)
	bad := *ss[1]
	bad.Server = external("2001:db8::1", 443) // IPv4 client, IPv6 server
	var good, mixed bytes.Buffer
	w := simpcap.NewWriter(&good, simpcap.Options{})
	for _, s := range []*sim.Session{ss[0], ss[2]} {
		require.NoError(t, w.Write(s))
	}
	require.NoError(t, w.Close())
	w = simpcap.NewWriter(&mixed, simpcap.Options{})
	require.NoError(t, w.Write(ss[0]))
	require.ErrorContains(t, w.Write(&bad), "address family")
	require.NoError(t, w.Write(ss[2]))
	require.NoError(t, w.Close())
	require.Equal(t, good.Len(), mixed.Len())
}

// TestTshark reads a rendered capture with Wireshark's dissectors: no
// malformed packets, no expert errors, valid checksums, the names sent.
func TestTshark(t *testing.T) {
	ss := varied(400, 3)
	file := filepath.Join(t.TempDir(), "sim.pcap")
	require.NoError(t, os.WriteFile(file, render(t, ss, simpcap.Options{}), 0o644))
	fields := func(filter string, f ...string) []string {
		return testkit.Tshark(t, file, append(slices.Clone(testkit.TsharkChecksums), testkit.TsharkFields(filter, f...)...)...)
	}
	require.Empty(t, fields("_ws.malformed || _ws.expert.severity == error || _ws.expert.message contains \"checksum\"",
		"frame.number", "_ws.expert.message"))
	var snis, hosts int
	for _, s := range ss {
		if s.TLS != nil && s.TLS.SNI != "" && s.BytesUp >= 3000 {
			snis++
		}
		if len(s.HTTP) > 0 {
			hosts += len(s.HTTP)
		}
	}
	require.Len(t, fields("tls.handshake.type == 1 && tls.handshake.extensions_server_name", "tls.handshake.extensions_server_name"), snis)
	require.Len(t, fields("http.request", "http.host"), hosts)
}

type key struct {
	oh netip.Addr
	op uint16
	rh netip.Addr
	rp uint16
}

// TestSensorReadsBack decodes a rendered capture with Vigil's own pcap
// sensor and finds the sessions' facts again.
func TestSensorReadsBack(t *testing.T) {
	ss := varied(400, 5)
	file := filepath.Join(t.TempDir(), "sim.pcap")
	require.NoError(t, os.WriteFile(file, render(t, ss, simpcap.Options{}), 0o644))
	conns := map[key]*event.Conn{}
	tlss := map[key]*event.TLS{}
	https := map[key][]*event.HTTP{}
	dnss := map[key]*event.DNS{}
	dhcps := map[string]*event.DHCP{}
	var problems []sensor.Problem
	err := pcap.ReadFiles(context.Background(), []string{file}, app.CaptureConfig(config.Default()),
		sensor.Options{OnProblem: func(p sensor.Problem) error { problems = append(problems, p); return nil }},
		func(e event.Event) error {
			m := e.Base()
			k := key{m.ID.OrigH, m.ID.OrigP, m.ID.RespH, m.ID.RespP}
			switch e := e.(type) {
			case *event.Conn:
				conns[k] = e
			case *event.TLS:
				tlss[k] = e
			case *event.HTTP:
				https[k] = append(https[k], e)
			case *event.DNS:
				dnss[k] = e
			case *event.DHCP:
				dhcps[e.MAC] = e
			}
			return nil
		})
	require.NoError(t, err)
	require.Empty(t, problems)
	checked, timed, exact := 0, 0, 0
	for _, s := range ss {
		k := key{s.Client.IP, s.Client.Port, s.Server.IP, s.Server.Port}
		name := fmt.Sprintf("%s:%d->%s:%d %v", s.Client.IP, s.Client.Port, s.Server.IP, s.Server.Port, s.State)
		if s.DHCP != nil {
			e := dhcps[s.DHCP.MAC]
			require.NotNil(t, e, name)
			require.Equal(t, s.DHCP.Hostname, e.HostName, name)
			require.Equal(t, s.DHCP.Assigned, e.AssignedAddr, name)
			require.Equal(t, s.DHCP.Lease, e.LeaseTime, name)
			continue
		}
		c := conns[k]
		require.NotNil(t, c, name)
		if s.Proto == event.ProtoICMP {
			require.Equal(t, event.StateOTH, c.ConnState, name) // Zeek's only ICMP state
		} else {
			require.Equal(t, s.State, c.ConnState, name)
		}
		require.Equal(t, s.BytesUp, c.OrigBytes, name)
		require.Equal(t, s.BytesDown, c.RespBytes, name)
		checked++
		if s.Proto == event.ProtoTCP && s.State != event.StateS0 && s.State != event.StateREJ {
			// Never shorter than asked; longer only when the transfer
			// itself takes longer.
			require.GreaterOrEqual(t, c.Duration, s.Duration, name)
			timed++
			if c.Duration == s.Duration {
				exact++
			}
		}
		switch {
		case s.TLS != nil && s.BytesUp >= 3000 && s.BytesDown >= 9000:
			e := tlss[k]
			require.NotNil(t, e, name)
			require.Equal(t, s.TLS.SNI, e.ServerName, name)
			alpn := s.TLS.ALPN
			if alpn == nil {
				alpn = []string{}
			}
			hello := wire.ClientHello(s.TLS.Client, s.TLS.SNI, alpn, 0)
			ch, err := tlsx.ParseClientHello(hello[9:])
			require.NoError(t, err)
			require.Equal(t, ch.JA4(tlsx.TransportTCP), e.JA4, name)
			require.Equal(t, ch.ALPN, e.ALPN, name) // none when the session gives none
			require.True(t, e.Established, name)
			if wire.NegotiatedVersion(s.TLS.Client, s.TLS.Version) == 0x0303 {
				require.Equal(t, "TLSv12", e.Version, name)
				require.Equal(t, s.TLS.SelfSigned, e.SelfSigned, name)
				require.NotEmpty(t, e.CertChainFps, name)
			} else {
				require.Equal(t, "TLSv13", e.Version, name)
				require.True(t, e.CertsEncrypted, name)
			}
		case len(s.HTTP) > 0:
			hs := https[k]
			require.Len(t, hs, len(s.HTTP), name)
			for i, h := range s.HTTP {
				require.Equal(t, h.Method, hs[i].Method, name)
				require.Equal(t, h.Host, hs[i].Host, name)
				require.Equal(t, h.URI, hs[i].URI, name)
				require.Equal(t, h.UserAgent, hs[i].UserAgent, name)
				require.Equal(t, h.Status, hs[i].StatusCode, name)
			}
		case s.DNS != nil:
			e := dnss[k]
			require.NotNil(t, e, name)
			require.Equal(t, s.DNS.Name, e.Query, name)
			require.Equal(t, !s.DNS.NoReply, e.HasReply, name)
			if !s.DNS.NoReply {
				require.Equal(t, s.DNS.RCode, e.RCode, name)
				want := s.DNS.Answers
				if s.DNS.QType == 16 {
					want = []string{"TXT 11 v=spf1 -all"} // Zeek's spelling
				}
				require.Equal(t, want, e.Answers, name)
			}
		}
	}
	require.Greater(t, checked, 350)
	require.Greater(t, exact, timed*9/10, "durations as the sessions say")
}

// TestLargeUpload: a 30 MiB upload over TLS (the exfiltration of the
// clickfix scenario) keeps its exact byte counts and its handshake.
func TestLargeUpload(t *testing.T) {
	s := &sim.Session{Start: t0, Client: ep("10.1.1.20", 51000, 64), Server: external("198.51.100.77", 8443),
		Proto: event.ProtoTCP, State: event.StateSF, Duration: 40 * time.Second,
		BytesUp: 30<<20 + 12345, BytesDown: 8000,
		TLS: &sim.TLS{SNI: "upload.example.org", Client: "curl", Version: 0x0304}}
	file := filepath.Join(t.TempDir(), "big.pcap")
	require.NoError(t, os.WriteFile(file, render(t, []*sim.Session{s}, simpcap.Options{Nanosecond: true}), 0o644))
	var conn *event.Conn
	var tls *event.TLS
	require.NoError(t, pcap.ReadFiles(context.Background(), []string{file}, app.CaptureConfig(config.Default()), sensor.Options{},
		func(e event.Event) error {
			switch e := e.(type) {
			case *event.Conn:
				conn = e
			case *event.TLS:
				tls = e
			}
			return nil
		}))
	require.NotNil(t, conn)
	require.Equal(t, s.BytesUp, conn.OrigBytes)
	require.Equal(t, s.BytesDown, conn.RespBytes)
	require.Equal(t, event.StateSF, conn.ConnState)
	require.NotNil(t, tls)
	require.Equal(t, "upload.example.org", tls.ServerName)
	require.Equal(t, s.Duration, conn.Duration, "the transfer is paced over the session")
	require.Greater(t, conn.OrigPkts, int64(30<<20/1460))
}
