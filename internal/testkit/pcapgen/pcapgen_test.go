//go:debug cryptocustomrand=1

package pcapgen_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-ndr/vigil/internal/testkit"
	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

var (
	t0     = time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC)
	laptop = pcapgen.Host{MAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x65}, IP: netip.MustParseAddr("10.20.0.101"), TTL: 128}
	gwMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	web    = pcapgen.Host{MAC: gwMAC, IP: netip.MustParseAddr("198.51.100.10"), TTL: 54}
	dnsSrv = pcapgen.Host{MAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}, IP: netip.MustParseAddr("10.20.0.2"), TTL: 64}
	v6a    = pcapgen.Host{MAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x66}, IP: netip.MustParseAddr("2001:db8::101"), TTL: 64}
	v6b    = pcapgen.Host{MAC: gwMAC, IP: netip.MustParseAddr("2001:db8:1::443"), TTL: 57}
)

// packets reads a pcap back with gopacket.
func packets(t *testing.T, data []byte) []gopacket.Packet {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	src := gopacket.NewPacketSource(r, r.LinkType())
	var out []gopacket.Packet
	for {
		p, err := src.NextPacket()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		out = append(out, p)
	}
}

// everything writes one of each kind of traffic pcapgen makes.
func everything(t *testing.T, w *pcapgen.Writer) {
	t.Helper()
	ca, err := pcapgen.NewCA("Example Test Trust", "Example Test Root R1", t0.AddDate(-1, 0, 0))
	require.NoError(t, err)
	leaf, err := ca.Issue([]string{"www.example.com", "example.com"}, t0.AddDate(0, -1, 0))
	require.NoError(t, err)
	self, err := pcapgen.SelfSigned([]string{"203.0.113.77"}, t0.AddDate(0, 0, -3))
	require.NoError(t, err)

	ts := w.DHCPExchange(t0, pcapgen.DHCP{ClientMAC: laptop.MAC, Hostname: "LT-ALICE", VendorClass: "MSFT 5.0",
		Assigned: laptop.IP, Server: dnsSrv, Xid: 0x3903f326, Router: netip.MustParseAddr("10.20.0.1"),
		DNS: []netip.Addr{dnsSrv.IP}, Domain: "office.example"})
	ts = w.DNSExchange(ts.Add(time.Second), laptop.At(53001), dnsSrv, pcapgen.DNS{ID: 0x1a2b, Name: "www.example.com",
		Answers: []pcapgen.DNSAnswer{{Type: dnsmessage.TypeCNAME, Data: "edge.example.net"}, {Data: "198.51.100.10", TTL: 60}}})
	ts = w.DNSExchange(ts.Add(time.Millisecond), laptop.At(53002), dnsSrv, pcapgen.DNS{ID: 0x1a2c, Name: "nosuch.example", RCode: dnsmessage.RCodeNameError})
	w.DNSExchange(ts.Add(time.Millisecond), laptop.At(53003), dnsSrv, pcapgen.DNS{ID: 0x1a2d, Name: "lost.example", Type: dnsmessage.TypeAAAA, NoResponse: true})

	// Plain HTTP with a chunked response and pipelined requests.
	s := w.TCPSession(ts.Add(time.Second), laptop.At(50001), web.At(80), pcapgen.SessionOptions{})
	s.Handshake()
	s.Send(true, pcapgen.Concat(
		pcapgen.HTTPRequest{Target: "/a", Host: "www.example.com", UserAgent: "test/1"}.Bytes(),
		pcapgen.HTTPRequest{Target: "/b", Host: "www.example.com", UserAgent: "test/1"}.Bytes()))
	s.Wait(5 * time.Millisecond)
	s.Send(false, pcapgen.Concat(
		pcapgen.HTTPResponse{Body: bytes.Repeat([]byte("a"), 4000), Chunked: true, ChunkSize: 1000}.Bytes(),
		pcapgen.HTTPResponse{Status: 404, Body: []byte("not found\n")}.Bytes()))
	s.Close()

	// Faults: a capture gap, a retransmission and reordering.
	s = w.TCPSession(s.Now().Add(time.Second), laptop.At(50002), web.At(80), pcapgen.SessionOptions{})
	s.Handshake()
	s.Send(true, pcapgen.HTTPRequest{Method: "POST", Target: "/up", Host: "www.example.com", Body: bytes.Repeat([]byte("x"), 6000)}.Bytes(),
		pcapgen.Drop(1), pcapgen.Retransmit(2), pcapgen.Reorder(3))
	s.Send(false, pcapgen.HTTPResponse{Status: 204}.Bytes())
	s.Reset(true)

	// Failed connections.
	s = w.TCPSession(s.Now().Add(time.Second), laptop.At(50003), web.At(8443), pcapgen.SessionOptions{})
	s.SynOnly(2)
	s = w.TCPSession(s.Now().Add(time.Second), laptop.At(50004), web.At(22), pcapgen.SessionOptions{})
	s.Rejected()

	// TLS 1.3 with h2 and a CA-signed certificate, TLS 1.2 to a bare IP
	// with a self-signed one.
	for i, o := range []pcapgen.TLSOptions{
		{ServerName: "www.example.com", ALPN: []string{"h2", "http/1.1"}, Cert: leaf, Roots: ca.Pool(), Time: t0, Seed: "a",
			Request: []byte("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"), Response: bytes.Repeat([]byte("r"), 3000)},
		{Version: tls.VersionTLS12, Cert: self, Time: t0, Seed: "b", Request: []byte("ping"), Response: []byte("pong")},
	} {
		tr, err := pcapgen.RecordTLS(o)
		require.NoError(t, err)
		s = w.TCPSession(s.Now().Add(time.Second), laptop.At(uint16(50010+i)), web.At(443), pcapgen.SessionOptions{})
		s.Handshake()
		s.Replay(tr, 2*time.Millisecond)
		s.Close()
	}

	// IPv6, ICMP and NTP.
	s = w.TCPSession(s.Now().Add(time.Second), v6a.At(50020), v6b.At(80), pcapgen.SessionOptions{})
	s.Handshake()
	s.Exchange(pcapgen.HTTPRequest{Target: "/", Host: "v6.example"}.Bytes(), time.Millisecond, pcapgen.HTTPResponse{Body: []byte("ok")}.Bytes())
	s.CloseBy(false)
	ts = s.Now().Add(time.Second)
	w.ICMP(ts, laptop, web, pcapgen.ICMP{Type: pcapgen.ICMPEcho, ID: 1, Seq: 1, Payload: []byte("abcdefgh")})
	w.ICMP(ts.Add(20*time.Millisecond), web, laptop, pcapgen.ICMP{Type: pcapgen.ICMPEchoReply, ID: 1, Seq: 1, Payload: []byte("abcdefgh")})
	w.ICMP(ts, v6a, v6b, pcapgen.ICMP{Type: pcapgen.ICMPv6Echo, ID: 2, Seq: 1, Payload: []byte("abcdefgh")})
	w.ICMP(ts.Add(20*time.Millisecond), v6b, v6a, pcapgen.ICMP{Type: pcapgen.ICMPv6EchoReply, ID: 2, Seq: 1, Payload: []byte("abcdefgh")})
	w.NTPExchange(ts.Add(time.Second), laptop.At(123), web, 25*time.Millisecond)
}

func TestReadBackWithValidChecksums(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  pcapgen.Options
	}{
		{name: "microseconds", opt: pcapgen.Options{}},
		{name: "nanoseconds sorted", opt: pcapgen.Options{Nanosecond: true, Sort: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := pcapgen.New(&buf, tc.opt)
			everything(t, w)
			require.NoError(t, w.Close())
			ps := packets(t, buf.Bytes())
			require.Len(t, ps, w.Packets())
			var last time.Time
			for i, p := range ps {
				require.Nil(t, p.ErrorLayer(), "packet %d: %v", i+1, p)
				verifyChecksums(t, i+1, p)
				ts := p.Metadata().Timestamp
				if tc.opt.Sort {
					require.False(t, ts.Before(last), "packet %d goes back in time", i+1)
				}
				last = ts
			}
		})
	}
}

// verifyChecksums checks the IPv4 and transport checksums of p (gopacket
// leaves the pseudo-header link to the caller).
func verifyChecksums(t *testing.T, n int, p gopacket.Packet) {
	t.Helper()
	nl := p.NetworkLayer()
	require.NotNil(t, nl, "packet %d has no network layer", n)
	type verifier interface {
		VerifyChecksum() (error, gopacket.ChecksumVerificationResult)
	}
	checked := 0
	for _, l := range p.Layers() {
		if pc, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			require.NoError(t, pc.SetNetworkLayerForChecksum(nl))
		}
		if v, ok := l.(verifier); ok {
			err, res := v.VerifyChecksum()
			require.NoError(t, err, "packet %d layer %v", n, l.LayerType())
			require.True(t, res.Valid, "packet %d layer %v: checksum %#x, want %#x", n, l.LayerType(), res.Actual, res.Correct)
			checked++
		}
	}
	require.NotZero(t, checked, "packet %d: no checksum checked", n)
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		w := pcapgen.New(buf, pcapgen.Options{})
		everything(t, w)
		require.NoError(t, w.Close())
	}
	require.True(t, bytes.Equal(a.Bytes(), b.Bytes()), "two runs differ")
}

func TestSnapLen(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgen.New(&buf, pcapgen.Options{SnapLen: 100})
	w.UDP(t0, laptop.At(1000), web.At(2000), make([]byte, 500))
	require.NoError(t, w.Close())
	ps := packets(t, buf.Bytes())
	require.Len(t, ps, 1)
	require.Equal(t, 100, ps[0].Metadata().CaptureLength)
	require.Equal(t, 14+20+8+500, ps[0].Metadata().Length)
}

func TestErrorsAreSticky(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgen.New(&buf, pcapgen.Options{})
	w.UDP(t0, laptop.At(1), v6b.At(2), nil) // IPv4 to IPv6
	w.UDP(t0, laptop.At(1), web.At(2), nil)
	require.ErrorContains(t, w.Close(), "address family")
	require.Equal(t, 0, w.Packets())

	w = pcapgen.New(&buf, pcapgen.Options{})
	s := w.TCPSession(t0, laptop.At(1), web.At(2), pcapgen.SessionOptions{})
	s.Send(true, []byte("x"))
	require.ErrorContains(t, w.Close(), "before Handshake")
}

// tcpOf returns the TCP layers of packets, in order.
func tcpOf(ps []gopacket.Packet) []*layers.TCP {
	var out []*layers.TCP
	for _, p := range ps {
		if l, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			out = append(out, l)
		}
	}
	return out
}

func flagsOf(l *layers.TCP) string {
	var f []string
	for _, x := range []struct {
		on bool
		n  string
	}{{l.SYN, "S"}, {l.FIN, "F"}, {l.RST, "R"}, {l.PSH, "P"}, {l.ACK, "A"}} {
		if x.on {
			f = append(f, x.n)
		}
	}
	return strings.Join(f, "")
}

func TestSessionSequenceNumbers(t *testing.T) {
	const cISN, sISN = 1000, 5000
	opt := pcapgen.SessionOptions{ClientISN: cISN, ServerISN: sISN, MSS: 100}
	type seg struct {
		fromClient bool
		flags      string
		seq, ack   uint32
		n          int
	}
	for _, tc := range []struct {
		name string
		run  func(s *pcapgen.Session)
		want []seg
	}{
		{name: "handshake send close", run: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, make([]byte, 150))
			s.Send(false, make([]byte, 10))
			s.Close()
		}, want: []seg{
			{true, "S", cISN, 0, 0}, {false, "SA", sISN, cISN + 1, 0}, {true, "A", cISN + 1, sISN + 1, 0},
			{true, "A", cISN + 1, sISN + 1, 100}, {true, "PA", cISN + 101, sISN + 1, 50}, {false, "A", sISN + 1, cISN + 151, 0},
			{false, "PA", sISN + 1, cISN + 151, 10}, {true, "A", cISN + 151, sISN + 11, 0},
			{true, "FA", cISN + 151, sISN + 11, 0}, {false, "FA", sISN + 11, cISN + 152, 0}, {true, "A", cISN + 152, sISN + 12, 0},
		}},
		{name: "server reset", run: func(s *pcapgen.Session) {
			s.Handshake()
			s.Reset(false)
		}, want: []seg{
			{true, "S", cISN, 0, 0}, {false, "SA", sISN, cISN + 1, 0}, {true, "A", cISN + 1, sISN + 1, 0},
			{false, "RA", sISN + 1, cISN + 1, 0},
		}},
		{name: "unanswered syn with retries", run: func(s *pcapgen.Session) { s.SynOnly(2) },
			want: []seg{{true, "S", cISN, 0, 0}, {true, "S", cISN, 0, 0}, {true, "S", cISN, 0, 0}}},
		{name: "rejected", run: func(s *pcapgen.Session) { s.Rejected() },
			want: []seg{{true, "S", cISN, 0, 0}, {false, "RA", 0, cISN + 1, 0}}},
		{name: "dropped segment still acknowledged", run: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, make([]byte, 250), pcapgen.Drop(1))
		}, want: []seg{
			{true, "S", cISN, 0, 0}, {false, "SA", sISN, cISN + 1, 0}, {true, "A", cISN + 1, sISN + 1, 0},
			{true, "A", cISN + 1, sISN + 1, 100}, {true, "PA", cISN + 201, sISN + 1, 50},
			{false, "A", sISN + 1, cISN + 201, 0}, {false, "A", sISN + 1, cISN + 251, 0},
		}},
		{name: "retransmission and reorder", run: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(false, make([]byte, 250), pcapgen.Reorder(0), pcapgen.Retransmit(2))
		}, want: []seg{
			{true, "S", cISN, 0, 0}, {false, "SA", sISN, cISN + 1, 0}, {true, "A", cISN + 1, sISN + 1, 0},
			{false, "A", sISN + 101, cISN + 1, 100}, {false, "A", sISN + 1, cISN + 1, 100}, {false, "PA", sISN + 201, cISN + 1, 50},
			{true, "A", cISN + 1, sISN + 201, 0}, {true, "A", cISN + 1, sISN + 251, 0},
			{false, "PA", sISN + 201, cISN + 1, 50}, {true, "A", cISN + 1, sISN + 251, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := pcapgen.New(&buf, pcapgen.Options{})
			s := w.TCPSession(t0, laptop.At(40000), web.At(80), opt)
			tc.run(s)
			require.NoError(t, w.Close())
			var got []seg
			for _, l := range tcpOf(packets(t, buf.Bytes())) {
				got = append(got, seg{l.SrcPort == 40000, flagsOf(l), l.Seq, l.Ack, len(l.Payload)})
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestHTTPBytes(t *testing.T) {
	reqs := pcapgen.Concat(
		pcapgen.HTTPRequest{Method: "POST", Target: "/api/daemon", Host: "203.0.113.45:8080", UserAgent: "curl/8.7.1",
			Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`)}.Bytes(),
		pcapgen.HTTPRequest{Method: "PUT", Target: "/up?x=1", Host: "h", Body: []byte("0123456789"), Chunked: true, ChunkSize: 3}.Bytes())
	br := bufio.NewReader(bytes.NewReader(reqs))
	r1, err := http.ReadRequest(br)
	require.NoError(t, err)
	require.Equal(t, "curl/8.7.1", r1.UserAgent())
	require.Equal(t, "203.0.113.45:8080", r1.Host)
	b, _ := io.ReadAll(r1.Body)
	require.Equal(t, `{"a":1}`, string(b))
	r2, err := http.ReadRequest(br)
	require.NoError(t, err)
	require.Equal(t, []string{"chunked"}, r2.TransferEncoding)
	require.Empty(t, r2.UserAgent())
	b, _ = io.ReadAll(r2.Body)
	require.Equal(t, "0123456789", string(b))
	require.Contains(t, string(reqs), "\r\n3\r\n012\r\n")

	resp := pcapgen.HTTPResponse{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("hello"), Chunked: true, ChunkSize: 2}.Bytes()
	rr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), nil)
	require.NoError(t, err)
	b, _ = io.ReadAll(rr.Body)
	require.Equal(t, "hello", string(b))
}

func TestDNSBytes(t *testing.T) {
	q := pcapgen.DNS{ID: 9, Name: "www.example.com", Answers: []pcapgen.DNSAnswer{
		{Type: dnsmessage.TypeCNAME, Data: "e1.example.net"}, {Data: "198.51.100.7"}, {Data: "198.51.100.8"}}}
	b, err := q.ResponseBytes()
	require.NoError(t, err)
	var m dnsmessage.Message
	require.NoError(t, m.Unpack(b))
	require.Len(t, m.Answers, 3)
	require.Equal(t, "e1.example.net.", m.Answers[1].Header.Name.String())
	require.Equal(t, [4]byte{198, 51, 100, 8}, m.Answers[2].Body.(*dnsmessage.AResource).A)

	_, err = pcapgen.DNS{Name: "x.example", Answers: []pcapgen.DNSAnswer{{Data: "not-an-ip"}}}.ResponseBytes()
	require.Error(t, err)
}

func TestRecordTLS(t *testing.T) {
	ca, err := pcapgen.NewCA("Example Test Trust", "Example Test Root R1", t0.AddDate(-1, 0, 0))
	require.NoError(t, err)
	leaf, err := ca.Issue([]string{"api.example.com"}, t0.AddDate(0, -1, 0))
	require.NoError(t, err)
	for _, tc := range []struct {
		name        string
		opt         pcapgen.TLSOptions
		wantVersion uint16
		wantALPN    string
	}{
		{name: "tls13 h2", opt: pcapgen.TLSOptions{ServerName: "api.example.com", ALPN: []string{"h2", "http/1.1"}, Roots: ca.Pool()},
			wantVersion: tls.VersionTLS13, wantALPN: "h2"},
		{name: "tls12 http1.1 server", opt: pcapgen.TLSOptions{ServerName: "api.example.com", ALPN: []string{"h2", "http/1.1"},
			ServerALPN: []string{"http/1.1"}, Version: tls.VersionTLS12, Roots: ca.Pool()},
			wantVersion: tls.VersionTLS12, wantALPN: "http/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opt
			o.Cert, o.Time, o.Seed = leaf, t0, tc.name
			o.Request, o.Response = []byte("hello"), bytes.Repeat([]byte("y"), 5000)
			a, err := pcapgen.RecordTLS(o)
			require.NoError(t, err)
			require.Equal(t, tc.wantVersion, a.Version)
			require.Equal(t, tc.wantALPN, a.ALPN)
			require.True(t, a.Flights[0].FromClient)
			require.Equal(t, byte(22), a.Flights[0].Data[0], "first flight is a handshake record")
			require.Greater(t, a.Bytes(false), 5000)
			b, err := pcapgen.RecordTLS(o)
			require.NoError(t, err)
			require.Equal(t, a, b, "same seed, different transcript (is GODEBUG cryptocustomrand=1 in effect?)")
		})
	}
}

func TestCertificatesAreDeterministic(t *testing.T) {
	mk := func() [][]byte {
		ca, err := pcapgen.NewCA("O", "CN", t0)
		require.NoError(t, err)
		c, err := ca.Issue([]string{"a.example", "192.0.2.1"}, t0)
		require.NoError(t, err)
		s, err := pcapgen.SelfSigned([]string{"b.example"}, t0)
		require.NoError(t, err)
		require.Equal(t, "b.example", s.Leaf.Issuer.CommonName)
		require.Len(t, c.Leaf.IPAddresses, 1)
		return slices.Concat(c.Certificate, s.Certificate)
	}
	require.Equal(t, mk(), mk())
}

// TestTshark checks the capture with Wireshark's dissectors when tshark is
// installed: no malformed packets or expert errors, bad checksums flagged,
// and the streams, names and host names written are seen.
func TestTshark(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgen.New(&buf, pcapgen.Options{Sort: true})
	everything(t, w)
	require.NoError(t, w.Close())
	file := filepath.Join(t.TempDir(), "all.pcap")
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))
	fields := func(filter string, f ...string) []string {
		return testkit.Tshark(t, file, append(slices.Clone(testkit.TsharkChecksums), testkit.TsharkFields(filter, f...)...)...)
	}
	require.Empty(t, fields("_ws.malformed || _ws.expert.severity == error || _ws.expert.message contains \"checksum\"",
		"frame.number", "_ws.expert.message"))
	streams := map[string]bool{}
	for _, s := range fields("tcp", "tcp.stream") {
		streams[s] = true
	}
	require.Len(t, streams, 7)
	require.ElementsMatch(t, []string{"www.example.com", "www.example.com", "nosuch.example", "nosuch.example", "lost.example"},
		fields("dns", "dns.qry.name"))
	require.Equal(t, []string{"LT-ALICE", "LT-ALICE"}, fields("dhcp.option.hostname", "dhcp.option.hostname"))
	require.Equal(t, []string{"www.example.com"}, fields("tls.handshake.type == 1", "tls.handshake.extensions_server_name"))
	// The POST to /up lost a segment to the capture, so it is not dissected.
	require.Equal(t, []string{"/a,/b", "/"}, fields("http.request", "http.request.uri"))
	require.Equal(t, []string{"chunked"}, fields("http.response && http.transfer_encoding", "http.transfer_encoding"))
}
