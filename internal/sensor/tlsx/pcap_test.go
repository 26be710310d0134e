package tlsx_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/pcap"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
	"github.com/vigil-ndr/vigil/internal/sensor/tlsx"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// skipToTLS stands in for the proxy analyzers (HTTP CONNECT, SOCKS) that
// would hand the tunnelled bytes to TLS: in each direction it drops bytes
// until a TLS record starts, then feeds the TLS analyzer.
type skipToTLS struct {
	*tlsx.Analyzer
	found [2]bool
	buf   [2][]byte
}

func (s *skipToTLS) Feed(dir stream.Dir, ts time.Time, data []byte) {
	if s.found[dir] {
		s.Analyzer.Feed(dir, ts, data)
		return
	}
	b := append(s.buf[dir], data...)
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0x16 && b[i+1] == 3 && b[i+2] <= 4 {
			s.found[dir] = true
			s.buf[dir] = nil
			s.Analyzer.Feed(dir, ts, b[i:])
			return
		}
	}
	if len(b) > 64<<10 {
		b = b[len(b)-2:]
	}
	s.buf[dir] = b
}

// readTLS runs a capture through the flow engine with the TLS analyzer on
// every TCP connection and returns the TLS events by "orig_h:orig_p".
func readTLS(t *testing.T, path string) map[string]*event.TLS {
	t.Helper()
	cfg := pcap.DefaultConfig()
	cfg.Analyzers = []pcap.AnalyzerFactory{
		func(c stream.Conn, first []byte, dir stream.Dir, emit func(event.Event)) stream.Analyzer {
			return &skipToTLS{Analyzer: tlsx.New(c, emit)}
		},
	}
	got := map[string]*event.TLS{}
	err := pcap.ReadFiles(context.Background(), []string{path}, cfg, sensor.Options{}, func(ev event.Event) error {
		if e, ok := ev.(*event.TLS); ok {
			got[fmt.Sprintf("%s:%d", e.ID.OrigH, e.ID.OrigP)] = e
		}
		return nil
	})
	require.NoError(t, err)
	return got
}

// TestJA4ReferencePcaps checks JA4 against FoxIO's own expectations.
// Expected values: FoxIO-LLC/ja4, rust/ja4/src/snapshots/ja4__insta@<pcap>.snap
// (one connection per distinct fingerprint; QUIC streams left out).
func TestJA4ReferencePcaps(t *testing.T) {
	tests := []struct {
		pcap, client, ja4 string
	}{
		{"badcurveball.pcap", "172.130.128.76:55318", "t13d1615h2_46e7e9700bed_45f260be83e2"},
		{"https-connect.pcap", "10.11.12.13:54723", "t12i860500_e18388e7f3a3_a1e935682795"},
		{"latest.pcapng", "172.16.225.48:52936", "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"latest.pcapng", "172.16.225.48:52937", "t12d190800_d83cc789557e_7af1ed941c26"},
		{"latest.pcapng", "172.16.225.48:52938", "t13d1516h2_8daaf6152771_9b887d9acb53"},
		{"socks-https-example.pcap", "10.180.156.185:53554", "t10d230100_6a57a6f57151_000000000000"},
		{"tls-handshake.pcapng", "192.168.1.168:50112", "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"tls-handshake.pcapng", "192.168.1.168:50122", "t13d1516h1_8daaf6152771_e5627efa2ab1"},
		{"tls-handshake.pcapng", "192.168.1.168:50123", "t13d151400_8daaf6152771_de4a06bb82e3"},
		{"tls-handshake.pcapng", "192.168.1.168:50153", "t13d1517h1_8daaf6152771_6cdcb247c39b"},
		{"tls-sni.pcapng", "192.168.1.168:50112", "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"tls-sni.pcapng", "192.168.1.168:50122", "t13d1516h1_8daaf6152771_e5627efa2ab1"},
		{"tls-sni.pcapng", "192.168.1.168:50123", "t13d151400_8daaf6152771_de4a06bb82e3"},
		{"tls-sni.pcapng", "192.168.1.168:50153", "t13d1517h1_8daaf6152771_6cdcb247c39b"},
	}
	cache := map[string]map[string]*event.TLS{}
	for _, tc := range tests {
		t.Run(tc.pcap+"/"+tc.client, func(t *testing.T) {
			got, ok := cache[tc.pcap]
			if !ok {
				got = readTLS(t, testkit.SharedData(t, "ja4", "pcap", tc.pcap))
				cache[tc.pcap] = got
			}
			ev := got[tc.client]
			require.NotNil(t, ev, "no TLS event for %s", tc.client)
			require.Equal(t, tc.ja4, ev.JA4)
		})
	}
}

// TestJA3ReferencePcaps checks JA3 and JA3S against nDPI's expected output
// for the same captures (ntop/nDPI tests/result/<pcap>.out, JA3C and JA3S).
func TestJA3ReferencePcaps(t *testing.T) {
	tests := []struct {
		pcap, client, ja3, ja3s string
	}{
		{"443-curl.pcap", "192.168.1.13:55523", "2a26b1a62e40d25d4de3babc9d532f30", "ae53107a2e47ea20c72ac44821a728bf"},
		{"443-firefox.pcap", "192.168.1.13:53096", "b20b44b18b853ef29ab773e921b03422", "3653a20186a5b490426131a611e01992"},
		{"443-safari.pcap", "192.168.1.13:53031", "a69708a64f853c3bcc214c2c5faf84f3", "f9fcb52580329fb6a9b61d7542087b90"},
		{"no_sni.pcap", "192.168.1.119:51606", "f14ec85ee5580a29f6523e24e5d3d527", "2b0648ab686ee45e0e7c35fcfb0eea7e"},
	}
	for _, tc := range tests {
		t.Run(tc.pcap, func(t *testing.T) {
			got := readTLS(t, testkit.SharedData(t, "ndpi", "pcap", tc.pcap))
			ev := got[tc.client]
			require.NotNil(t, ev, "no TLS event for %s", tc.client)
			require.Equal(t, tc.ja3, ev.JA3)
			require.Equal(t, tc.ja3s, ev.JA3S)
		})
	}
}
