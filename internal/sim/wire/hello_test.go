package wire

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/sensor/tlsx"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// parseHello checks the record and handshake framing of a ClientHello
// record and parses its body with Vigil's own parser.
func parseHello(t testing.TB, rec []byte) *tlsx.ClientHello {
	t.Helper()
	require.GreaterOrEqual(t, len(rec), 9)
	require.Equal(t, byte(22), rec[0], "record type")
	require.Equal(t, len(rec)-5, int(rec[3])<<8|int(rec[4]), "record length")
	require.Equal(t, byte(1), rec[5], "handshake type")
	require.Equal(t, len(rec)-9, int(rec[6])<<16|int(rec[7])<<8|int(rec[8]), "handshake length")
	ch, err := tlsx.ParseClientHello(rec[9:])
	require.NoError(t, err)
	return ch
}

func ja4ab(ja4 string) string { return ja4[:strings.LastIndexByte(ja4, '_')] }

// TestClientHelloJA4 pins every profile's JA4 and says where it comes
// from. Published means FoxIO's JA4 README or ja4plus-mapping.csv (in
// /work/shared/data/ja4): there the whole fingerprint matches a real
// client's.
func TestClientHelloJA4(t *testing.T) {
	tests := []struct {
		name, profile, sni string
		alpn               []string
		want               string
		source             string
	}{
		{"chrome", "chrome-win", "www.example.com", nil, "t13d1516h2_8daaf6152771_02713d6af862", "published: Chrome (FoxIO README)"},
		{"edge", "edge-win", "www.bing.com", nil, "t13d1516h2_8daaf6152771_02713d6af862", "Chromium: Chrome's"},
		{"chrome mac", "chrome-mac", "www.example.com", nil, "t13d1516h2_8daaf6152771_02713d6af862", "Chromium: Chrome's"},
		{"safari", "safari-mac", "www.apple.com", nil, "t13d2014h2_a09f3c656075_14788d8d241b", "published: Safari (mapping)"},
		{"safari no sni", "safari-mac", "", nil, "t13i2013h2_a09f3c656075_14788d8d241b", "published: Safari (mapping)"},
		{"ios", "apple-ios", "www.apple.com", nil, "t13d2014h2_a09f3c656075_14788d8d241b", "Apple's stack: Safari's"},
		{"firefox", "firefox-linux", "www.mozilla.org", nil, "t13d1717h2_5b57614c22b0_3cbfd9057e0d", "cipher hash as published (mapping); current extension set"},
		{"firefox win", "firefox-win", "www.mozilla.org", nil, "t13d1717h2_5b57614c22b0_3cbfd9057e0d", "same NSS"},
		{"curl", "curl", "example.com", nil, "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6", "real: lab capture (TestProfilesAgainstCaptures)"},
		{"curl openssl 3.2", "curl-openssl32", "example.com", nil, "t13d3112h2_e8f1e7e78f70_6bebaf5329ac", "curl 8 + OpenSSL 3.2+ as FoxIO publishes it"},
		{"python requests", "python-requests", "pypi.org", nil, "t13d1812h1_85036bcba153_b26ce05bbdd6", "real: lab capture, with SNI"},
		{"python requests to an IP", "python-requests", "", nil, "t13i1811h1_85036bcba153_b26ce05bbdd6", "real: lab capture"},
		{"python urllib", "python-urllib", "", nil, "t13i181000_85036bcba153_d41ae481755e", "published: Python (mapping)"},
		{"go", "go-http", "api.github.com", nil, "t13d1312h2_f57a46bbacb6_ab7e3b40a677", "Go 1.26 crypto/tls (TestGoHelloMatchesCryptoTLS)"},
		{"powershell", "powershell", "raw.githubusercontent.com", nil, "t12d190800_d83cc789557e_7af1ed941c26", "published: WinINET Windows 10/11 (mapping)"},
		{"okhttp", "okhttp", "graph.facebook.com", nil, "t13d1513h2_8daaf6152771_eca864cca44a", "modelled, not checked against a capture"},
		{"bare ip", "curl", "203.0.113.7", nil, "t13i3111h2_e8f1e7e78f70_b26ce05bbdd6", "no SNI for an IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(5) {
				ch := parseHello(t, ClientHello(tt.profile, tt.sni, tt.alpn, seed))
				require.Equal(t, tt.want, ch.JA4(tlsx.TransportTCP), "seed %d (%s)", seed, tt.source)
				if tt.sni != "" && !strings.HasPrefix(tt.sni, "203.") {
					require.Equal(t, tt.sni, ch.ServerName)
				}
			}
		})
	}
}

func TestClientHelloDeterministic(t *testing.T) {
	for _, p := range Profiles() {
		a := ClientHello(p, "x.example.com", nil, 42)
		require.Equal(t, a, ClientHello(p, "x.example.com", nil, 42), p)
		require.NotEqual(t, a, ClientHello(p, "x.example.com", nil, 43), p)
	}
	require.True(t, KnownProfile("curl"))
	require.False(t, KnownProfile("netscape"))
	require.Equal(t, ClientHello("chrome-win", "a.example", nil, 1)[5:], ClientHello("netscape", "a.example", nil, 1)[5:],
		"unknown profiles fall back to Chrome's")
}

// TestChromeShufflesExtensions: Chrome permutes its extensions per
// connection, so its JA3 varies while its JA4 (sorted) does not.
func TestChromeShufflesExtensions(t *testing.T) {
	ja3 := map[string]bool{}
	for seed := range uint64(20) {
		ch := parseHello(t, ClientHello("chrome-win", "www.example.com", nil, seed))
		ja3[ch.JA3()] = true
		require.True(t, isGREASEValue(ch.Extensions[0]), "GREASE first")
		require.True(t, isGREASEValue(ch.Ciphers[0]), "GREASE cipher first")
		require.True(t, isGREASEValue(ch.SupportedGroups[0]))
		require.Equal(t, uint16(groupX25519MLKEM768), ch.SupportedGroups[1])
	}
	require.Greater(t, len(ja3), 15)
	ja3 = map[string]bool{}
	for seed := range uint64(5) {
		ja3[parseHello(t, ClientHello("firefox-win", "www.example.com", nil, seed)).JA3()] = true
	}
	require.Len(t, ja3, 1, "Firefox keeps its order")
}

func isGREASEValue(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// TestClientHelloSizes: key shares have their groups' real sizes, so the
// hello lengths are those of the real clients.
func TestClientHelloSizes(t *testing.T) {
	tests := []struct {
		name, profile string
		min, max      int
	}{
		{"chrome carries ML-KEM", "chrome-win", 1700, 1900},
		{"firefox carries ML-KEM and P-256", "firefox-linux", 1750, 1950},
		{"go carries ML-KEM", "go-http", 1450, 1600},
		{"safari padded to 512", "safari-mac", 517, 600},
		{"curl padded to 512", "curl", 517, 517},
		{"schannel small", "powershell", 150, 260},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(ClientHello(tt.profile, "www.example.com", nil, 7))
			require.GreaterOrEqual(t, n, tt.min)
			require.LessOrEqual(t, n, tt.max)
		})
	}
}

// captureConn records what a TLS client writes and fails the handshake
// at once.
type captureConn struct {
	net.Conn
	out bytes.Buffer
}

func (c *captureConn) Write(p []byte) (int, error)      { c.out.Write(p); return len(p), nil }
func (c *captureConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (c *captureConn) Close() error                     { return nil }
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }

// TestGoHelloMatchesCryptoTLS compares the go-http profile with what this
// very toolchain's crypto/tls sends, as net/http configures it.
func TestGoHelloMatchesCryptoTLS(t *testing.T) {
	c := &captureConn{}
	err := tls.Client(c, &tls.Config{ServerName: "api.github.com", NextProtos: []string{"h2", "http/1.1"}}).Handshake()
	require.True(t, errors.Is(err, io.EOF) || err != nil)
	real := parseHello(t, c.out.Bytes())
	ours := parseHello(t, ClientHello("go-http", "api.github.com", nil, 1))
	if real.JA4(tlsx.TransportTCP) != ours.JA4(tlsx.TransportTCP) {
		t.Skipf("toolchain %s sends %s, profile models Go 1.26's %s", "crypto/tls", real.JA4(tlsx.TransportTCP), ours.JA4(tlsx.TransportTCP))
	}
	require.Equal(t, real.JA3String(), ours.JA3String())
	require.Equal(t, len(c.out.Bytes()), len(ClientHello("go-http", "api.github.com", nil, 1)))
}

// realHellos returns the ClientHellos in a capture, reassembling hellos
// that span segments by flow.
func realHellos(t *testing.T, path string) []*tlsx.ClientHello {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		LinkType() layers.LinkType
	}
	if strings.HasSuffix(path, ".pcapng") {
		src, err = pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(f)
	}
	require.NoError(t, err)
	pending := map[gopacket.Flow][]byte{}
	var out []*tlsx.ClientHello
	for {
		data, _, err := src.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, src.LinkType(), gopacket.Lazy)
		tcp, ok := p.TransportLayer().(*layers.TCP)
		if !ok || len(tcp.Payload) == 0 || p.NetworkLayer() == nil {
			continue
		}
		key := p.NetworkLayer().NetworkFlow()
		buf, started := pending[key]
		pl := tcp.Payload
		if !started {
			if len(pl) < 9 || pl[0] != 22 || pl[1] != 3 || pl[5] != 1 {
				continue
			}
		}
		buf = append(buf, pl...)
		need := 5 + (int(buf[3])<<8 | int(buf[4]))
		if len(buf) < need {
			pending[key] = buf
			continue
		}
		delete(pending, key)
		if ch, err := tlsx.ParseClientHello(buf[9:need]); err == nil {
			out = append(out, ch)
		}
	}
	return out
}

// TestProfilesAgainstCaptures compares profiles with real hellos in the
// shared captures, rendering ours with the same SNI and ALPN. Full JA4s
// must match where the capture is of the same client version; older
// Chrome captures (before GREASE ECH) are compared on the a_b part
// (version, SNI, counts, ALPN, cipher hash). Resumptions (pre_shared_key)
// are left out: the simulator renders first connections.
func TestProfilesAgainstCaptures(t *testing.T) {
	full := func(s string) string { return s }
	chromeLike := func(ch *tlsx.ClientHello) bool {
		return len(ch.Ciphers) == 16 && isGREASEValue(ch.Ciphers[0]) && !containsU16(ch.Extensions, 41)
	}
	tests := []struct {
		name, file, profile string
		// match selects the capture's hellos from this client.
		match func(*tlsx.ClientHello) bool
		part  func(string) string
	}{
		{"chrome 110+ (shuffled, ALPS)", "ja4/pcap/tls-sni.pcapng", "chrome-win", chromeLike, ja4ab},
		{"chrome in latest", "ja4/pcap/latest.pcapng", "chrome-win", chromeLike, ja4ab},
		{"chrome/edge with GREASE ECH", "domainator/malware_recordings/roguerobin-net/roguerobin-net_handshake-fakenet_240229.pcapng",
			"edge-win", func(ch *tlsx.ClientHello) bool {
				// Full handshakes with a key share: Chrome's "no key"
				// hellos (FoxIO's t13d1517h2_..._b1ff8ab2d16f) differ.
				return chromeLike(ch) && containsU16(ch.Extensions, extECH) && len(withoutGREASE(ch.Extensions)) == 16
			}, full},
		{"windows schannel", "ja4/pcap/latest.pcapng", "powershell",
			func(ch *tlsx.ClientHello) bool {
				return len(ch.Ciphers) == 19 && ch.Ciphers[0] == 0xc02c && len(ch.ALPN) == 0
			}, full},
		{"curl on openssl 3.0", "lab/dev-intrusion.pcap", "curl",
			func(ch *tlsx.ClientHello) bool { return len(ch.Ciphers) == 31 && ch.Ciphers[0] == 0x1302 }, full},
		{"python requests", "lab/dev-intrusion.pcap", "python-requests",
			func(ch *tlsx.ClientHello) bool { return len(ch.Ciphers) == 18 && ch.Ciphers[0] == 0x1302 }, full},
		{"go 1.24+", "lab/dev-intrusion.pcap", "go-http",
			func(ch *tlsx.ClientHello) bool {
				return len(ch.Ciphers) == 13 && ch.Ciphers[0] == 0xc02b && containsU16(ch.SupportedGroups, groupX25519MLKEM768)
			}, full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testkit.SharedData(t, tt.file)
			hellos := realHellos(t, path)
			n := 0
			for _, ch := range hellos {
				if !tt.match(ch) {
					continue
				}
				n++
				alpn := ch.ALPN
				if alpn == nil {
					alpn = []string{}
				}
				ours := parseHello(t, ClientHello(tt.profile, ch.ServerName, alpn, uint64(n)))
				require.Equal(t, tt.part(ch.JA4(tlsx.TransportTCP)), tt.part(ours.JA4(tlsx.TransportTCP)), ch.ServerName)
				if !lookupShuffles(tt.profile) {
					// Fixed-order clients: JA3 (wire order, groups, point
					// formats) matches too.
					require.Equal(t, ch.JA3String(), ours.JA3String(), ch.ServerName)
				}
			}
			require.NotZero(t, n, "no hello of that client in %s", tt.file)
			t.Logf("%d real hellos compared", n)
		})
	}
}

func lookupShuffles(profile string) bool {
	p, _ := lookup(profile)
	return p.shuffle
}

func withoutGREASE(vs []uint16) []uint16 {
	var out []uint16
	for _, v := range vs {
		if !isGREASEValue(v) {
			out = append(out, v)
		}
	}
	return out
}

func containsU16(vs []uint16, v uint16) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func BenchmarkClientHello(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for i := range b.N {
		n += len(ClientHello("chrome-win", "www.example.com", nil, uint64(i)))
	}
	b.SetBytes(int64(n / max(b.N, 1)))
}
