package pcap

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

var (
	t0     = time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)
	gwMAC  = net.HardwareAddr{0x00, 0x1b, 0x17, 0x40, 0x00, 0x01}
	client = pcapgen.Host{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x17}, IP: netip.MustParseAddr("172.16.40.17"), TTL: 64}
	server = pcapgen.Host{MAC: gwMAC, IP: netip.MustParseAddr("198.51.100.10"), TTL: 54}
	dnsSrv = pcapgen.Host{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, IP: netip.MustParseAddr("172.16.40.2"), TTL: 64}
	v6a    = pcapgen.Host{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x66}, IP: netip.MustParseAddr("2001:db8::101"), TTL: 64}
	v6b    = pcapgen.Host{MAC: gwMAC, IP: netip.MustParseAddr("2001:db8:1::443"), TTL: 57}
)

// genPcap writes a capture built by fn to a temporary file.
func genPcap(t testing.TB, fn func(w *pcapgen.Writer)) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgen.New(&buf, pcapgen.Options{Sort: true})
	fn(w)
	require.NoError(t, w.Close())
	p := filepath.Join(t.TempDir(), "gen.pcap")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

// recorder is a stream.Analyzer that keeps what it is fed.
type recorder struct {
	data   [2][]byte
	gaps   [2]int
	closed int
}

func (r *recorder) Feed(d stream.Dir, _ time.Time, b []byte) { r.data[d] = append(r.data[d], b...) }
func (r *recorder) Gap(d stream.Dir, n int)                  { r.gaps[d] += n }
func (r *recorder) Close(time.Time)                          { r.closed++ }
func (r *recorder) Service() string                          { return "test" }
func (r *recorder) Done() bool                               { return false }

func conns(evs []event.Event) []*event.Conn {
	var out []*event.Conn
	for _, e := range evs {
		if c, ok := e.(*event.Conn); ok {
			out = append(out, c)
		}
	}
	return out
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func TestTCPConnStates(t *testing.T) {
	cli, srv := client.At(50000), server.At(443)
	tests := []struct {
		name      string
		build     func(s *pcapgen.Session)
		state     event.ConnState
		history   string
		origBytes int64
		respBytes int64
		missed    int64
	}{
		{name: "normal close", build: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, payload(300))
			s.Send(false, payload(5000))
			s.Close()
		}, state: event.StateSF, history: "ShADadFf", origBytes: 300, respBytes: 5000},
		{name: "syn only with retries", build: func(s *pcapgen.Session) { s.SynOnly(2) }, state: event.StateS0, history: "S"},
		{name: "rejected", build: func(s *pcapgen.Session) { s.Rejected() }, state: event.StateREJ, history: "Sr"},
		{name: "originator resets", build: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, payload(10))
			s.Reset(true)
		}, state: event.StateRSTO, history: "ShADaR", origBytes: 10},
		{name: "responder resets", build: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, payload(10))
			s.Reset(false)
		}, state: event.StateRSTR, history: "ShADar", origBytes: 10},
		{name: "established only", build: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, payload(10))
		}, state: event.StateS1, history: "ShADa", origBytes: 10},
		{name: "originator closes only", build: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, payload(10))
			s.CloseBy(true)
		}, state: event.StateSF, history: "ShADaFf", origBytes: 10},
		{name: "retransmission counts once", build: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, payload(4000), pcapgen.Retransmit(1))
			s.Close()
		}, state: event.StateSF, history: "ShADaTFf", origBytes: 4000},
		{name: "capture gap", build: func(s *pcapgen.Session) {
			s.Handshake()
			s.Send(true, payload(4000), pcapgen.Drop(1))
			s.Close()
		}, state: event.StateSF, history: "ShADaGFf", origBytes: 4000, missed: 1460},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := genPcap(t, func(w *pcapgen.Writer) {
				tc.build(w.TCPSession(t0, cli, srv, pcapgen.SessionOptions{}))
			})
			evs, probs := readAll(t, DefaultConfig(), p)
			require.Empty(t, probs)
			cs := conns(evs)
			require.Len(t, cs, 1)
			c := cs[0]
			require.Equal(t, tc.state, c.ConnState)
			require.Equal(t, tc.history, c.History)
			require.Equal(t, tc.origBytes, c.OrigBytes)
			require.Equal(t, tc.respBytes, c.RespBytes)
			require.Equal(t, tc.missed, c.MissedBytes)
			require.Equal(t, cli.IP, c.ID.OrigH)
			require.Equal(t, cli.Port, c.ID.OrigP)
			require.Equal(t, "02:00:00:00:00:17", c.OrigL2Addr)
			require.Len(t, c.UID, 18)
		})
	}
}

func TestReassemblyFeedsAnalyzer(t *testing.T) {
	tests := []struct {
		name   string
		faults []pcapgen.Fault
		gap    int
	}{
		{name: "in order"},
		{name: "reordered", faults: []pcapgen.Fault{pcapgen.Reorder(1)}},
		{name: "retransmitted", faults: []pcapgen.Fault{pcapgen.Retransmit(2)}},
		{name: "lost segment", faults: []pcapgen.Fault{pcapgen.Drop(1)}, gap: 1460},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up, down := payload(6000), payload(9000)
			p := genPcap(t, func(w *pcapgen.Writer) {
				s := w.TCPSession(t0, client.At(40000), server.At(8080), pcapgen.SessionOptions{})
				s.Handshake()
				s.Send(true, up, tc.faults...)
				s.Send(false, down)
				s.Close()
			})
			var rec *recorder
			cfg := DefaultConfig()
			cfg.Analyzers = []AnalyzerFactory{
				func(stream.Conn, []byte, stream.Dir, func(event.Event)) stream.Analyzer { return nil },
				func(c stream.Conn, first []byte, dir stream.Dir, emit func(event.Event)) stream.Analyzer {
					rec = &recorder{}
					return rec
				},
			}
			evs, _ := readAll(t, cfg, p)
			require.NotNil(t, rec)
			require.Equal(t, 1, rec.closed)
			require.Equal(t, tc.gap, rec.gaps[stream.FromOrig])
			if tc.gap == 0 {
				require.Equal(t, up, rec.data[stream.FromOrig])
			} else {
				require.Len(t, rec.data[stream.FromOrig], len(up)-tc.gap)
			}
			require.Equal(t, down, rec.data[stream.FromResp])
			require.Equal(t, "test", conns(evs)[0].Service)
		})
	}
}

func TestFlipAndMidstream(t *testing.T) {
	cli, srv := client.At(51000), server.At(80)
	p := genPcap(t, func(w *pcapgen.Writer) {
		// The SYN was not captured: the first packet is the SYN-ACK.
		w.TCP(t0, srv, cli, pcapgen.Segment{Flags: pcapgen.SYN | pcapgen.ACK, Seq: 1000, Ack: 501})
		w.TCP(t0.Add(time.Millisecond), cli, srv, pcapgen.Segment{Flags: pcapgen.ACK, Seq: 501, Ack: 1001})
		// Midstream data to a well-known port, first seen from the server.
		w.TCP(t0, server.At(22), client.At(52000), pcapgen.Segment{Flags: pcapgen.ACK | pcapgen.PSH, Seq: 7, Ack: 9, Payload: payload(100)})
	})
	evs, _ := readAll(t, DefaultConfig(), p)
	cs := conns(evs)
	require.Len(t, cs, 2)
	byPort := map[uint16]*event.Conn{}
	for _, c := range cs {
		require.Equal(t, client.IP, c.ID.OrigH)
		byPort[c.ID.RespP] = c
	}
	require.Equal(t, "^hA", byPort[80].History)
	require.Equal(t, event.StateS1, byPort[80].ConnState) // Zeek assumes the SYN was missed
	require.Equal(t, "^d", byPort[22].History)
	require.Equal(t, int64(100), byPort[22].RespBytes)
}

func TestUDPAndICMP(t *testing.T) {
	p := genPcap(t, func(w *pcapgen.Writer) {
		a, b := client.At(40001), server.At(5000)
		w.UDP(t0, a, b, payload(20))
		w.UDP(t0.Add(time.Second), b, a, payload(30))
		// Two minutes later the same ports form a new flow (UDP timeout 1 min).
		w.UDP(t0.Add(3*time.Minute), a, b, payload(5))
		w.ICMP(t0, client, server, pcapgen.ICMP{Type: pcapgen.ICMPEcho, ID: 1, Seq: 1, Payload: payload(56)})
		w.ICMP(t0.Add(10*time.Millisecond), server, client, pcapgen.ICMP{Type: pcapgen.ICMPEchoReply, ID: 1, Seq: 1, Payload: payload(56)})
		w.ICMP(t0, v6a, v6b, pcapgen.ICMP{Type: pcapgen.ICMPv6Echo, ID: 1, Seq: 1, Payload: payload(8)})
	})
	evs, _ := readAll(t, DefaultConfig(), p)
	cs := conns(evs)
	require.Len(t, cs, 4)
	var udp, icmp int
	for _, c := range cs {
		switch c.Proto {
		case event.ProtoUDP:
			udp++
			if c.TS.Equal(t0) {
				require.Equal(t, event.StateSF, c.ConnState)
				require.Equal(t, "Dd", c.History)
				require.Equal(t, int64(20), c.OrigBytes)
				require.Equal(t, int64(30), c.RespBytes)
				require.Equal(t, int64(48), c.OrigIPBytes)
			} else {
				require.Equal(t, event.StateS0, c.ConnState)
			}
		case event.ProtoICMP:
			icmp++
			require.Equal(t, event.StateOTH, c.ConnState)
			if c.ID.OrigH.Is4() {
				require.Equal(t, uint16(8), c.ID.OrigP)
				require.Equal(t, uint16(0), c.ID.RespP)
				require.Equal(t, int64(1), c.RespPkts)
				require.Equal(t, int64(56), c.OrigBytes)
			} else {
				require.Equal(t, uint16(128), c.ID.OrigP)
				require.Equal(t, uint16(129), c.ID.RespP)
			}
		}
	}
	require.Equal(t, 2, udp)
	require.Equal(t, 2, icmp)
}

func TestDNS(t *testing.T) {
	p := genPcap(t, func(w *pcapgen.Writer) {
		w.DNSExchange(t0, client.At(33000), dnsSrv, pcapgen.DNS{ID: 1, Name: "www.example.com",
			Answers: []pcapgen.DNSAnswer{{Type: dnsmessage.TypeCNAME, Data: "edge.example.net"}, {Type: dnsmessage.TypeA, Data: "192.0.2.7", TTL: 60}}})
		w.DNSExchange(t0.Add(time.Second), client.At(33001), dnsSrv, pcapgen.DNS{ID: 2, Name: "nope.example.com", Type: dnsmessage.TypeTXT, RCode: dnsmessage.RCodeNameError})
		w.DNSExchange(t0.Add(2*time.Second), client.At(33002), dnsSrv, pcapgen.DNS{ID: 3, Name: "t.example.com", Type: dnsmessage.TypeTXT,
			Answers: []pcapgen.DNSAnswer{{Data: "hello"}}})
		w.DNSExchange(t0.Add(3*time.Second), client.At(33003), dnsSrv, pcapgen.DNS{ID: 4, Name: "lost.example.com", NoResponse: true})
	})
	evs, _ := readAll(t, DefaultConfig(), p)
	byName := map[string]*event.DNS{}
	for _, e := range evs {
		if d, ok := e.(*event.DNS); ok {
			byName[d.Query] = d
		}
	}
	require.Len(t, byName, 4)
	d := byName["www.example.com"]
	require.True(t, d.HasReply)
	require.Equal(t, []string{"edge.example.net", "192.0.2.7"}, d.Answers)
	require.Equal(t, 60*time.Second, d.TTLs[1])
	require.Equal(t, "A", d.QTypeName)
	require.Equal(t, "NOERROR", d.RCodeName)
	require.Equal(t, 12*time.Millisecond, d.RTT)
	require.True(t, d.RD)
	nx := byName["nope.example.com"]
	require.True(t, nx.NXDomain())
	require.Equal(t, "NXDOMAIN", nx.RCodeName)
	require.Equal(t, "TXT", nx.QTypeName)
	require.Equal(t, []string{"TXT 5 hello"}, byName["t.example.com"].Answers)
	require.False(t, byName["lost.example.com"].HasReply)
	for _, c := range conns(evs) {
		require.Equal(t, "dns", c.Service)
	}
}

func TestDHCP(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 0x23}
	p := genPcap(t, func(w *pcapgen.Writer) {
		w.DHCPExchange(t0, pcapgen.DHCP{ClientMAC: mac, Hostname: "ws-legal23", Assigned: netip.MustParseAddr("172.16.40.23"),
			Server: dnsSrv, Xid: 0x1234, Domain: "acme.lan", Lease: time.Hour})
	})
	evs, _ := readAll(t, DefaultConfig(), p)
	var ds []*event.DHCP
	for _, e := range evs {
		if d, ok := e.(*event.DHCP); ok {
			ds = append(ds, d)
		}
	}
	require.Len(t, ds, 1)
	d := ds[0]
	require.Equal(t, []string{"DISCOVER", "OFFER", "REQUEST", "ACK"}, d.MsgTypes)
	require.Equal(t, mac.String(), d.MAC)
	require.Equal(t, "ws-legal23", d.HostName)
	require.Equal(t, "acme.lan", d.Domain)
	require.Equal(t, netip.MustParseAddr("172.16.40.23"), d.AssignedAddr)
	require.Equal(t, dnsSrv.IP, d.ServerAddr)
	require.Equal(t, time.Hour, d.LeaseTime)
	require.NotEmpty(t, d.UIDs)
	require.Equal(t, d.UIDs[0], d.UID)
}

func TestDNSOverTCP(t *testing.T) {
	q := pcapgen.DNS{ID: 42, Name: "big.example.com", Type: dnsmessage.TypeTXT, Answers: []pcapgen.DNSAnswer{{Data: "v=spf1 -all"}}}
	query, err := q.QueryBytes()
	require.NoError(t, err)
	resp, err := q.ResponseBytes()
	require.NoError(t, err)
	lp := func(b []byte) []byte { return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...) }
	p := genPcap(t, func(w *pcapgen.Writer) {
		s := w.TCPSession(t0, client.At(41000), dnsSrv.At(53), pcapgen.SessionOptions{})
		s.Handshake()
		s.Send(true, lp(query))
		s.Send(false, lp(resp))
		s.Close()
	})
	evs, _ := readAll(t, DefaultConfig(), p)
	var ds []*event.DNS
	for _, e := range evs {
		if d, ok := e.(*event.DNS); ok {
			ds = append(ds, d)
		}
	}
	require.Len(t, ds, 1)
	require.Equal(t, event.ProtoTCP, ds[0].Proto)
	require.Equal(t, []string{"TXT 11 v=spf1 -all"}, ds[0].Answers)
	require.Equal(t, "dns", conns(evs)[0].Service)
}

// doneAfterFirst wants only the first payload it is fed.
type doneAfterFirst struct {
	recorder
	feeds int
}

func (d *doneAfterFirst) Feed(dir stream.Dir, ts time.Time, b []byte) {
	d.feeds++
	d.recorder.Feed(dir, ts, b)
}
func (d *doneAfterFirst) Done() bool { return d.feeds > 0 }

func TestAnalyzerDoneStopsFeeding(t *testing.T) {
	p := genPcap(t, func(w *pcapgen.Writer) {
		s := w.TCPSession(t0, client.At(40000), server.At(443), pcapgen.SessionOptions{})
		s.Handshake()
		s.Send(true, payload(5000))
		s.Send(false, payload(5000))
		s.Close()
	})
	a := &doneAfterFirst{}
	cfg := DefaultConfig()
	cfg.Analyzers = []AnalyzerFactory{func(stream.Conn, []byte, stream.Dir, func(event.Event)) stream.Analyzer { return a }}
	evs, _ := readAll(t, cfg, p)
	require.Equal(t, 1, a.feeds)
	require.Equal(t, 1, a.closed)
	c := conns(evs)[0]
	require.Equal(t, int64(5000), c.OrigBytes)
	require.Equal(t, int64(5000), c.RespBytes)
	require.Zero(t, c.MissedBytes)
}
