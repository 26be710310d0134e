package tlsx

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// chromeHello is the hello behind FoxIO's documented example: the JA4_ro
// of FoxIO-LLC/ja4 python/test/testdata/tls-handshake.pcapng.json,
// stream 5, with GREASE values added to check that they are ignored.
func chromeHello() *ClientHello {
	return &ClientHello{
		Version: 0x0303,
		Ciphers: []uint16{0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{0x0a0a, 0x000d, 0x0033, 0x0000, 0xff01, 0x002b, 0x0023, 0x002d, 0x0005,
			0x0012, 0x000b, 0x0017, 0x4469, 0x0010, 0x001b, 0x000a, 0x0015, 0xfafa},
		ServerName:        "lp-push-server-452.lastpass.com",
		ALPN:              []string{"http/1.1"},
		SupportedGroups:   []uint16{0x2a2a, 29, 23, 24},
		ECPointFormats:    []uint8{0},
		SignatureAlgs:     []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
		SupportedVersions: []uint16{0xdada, 0x0304, 0x0303},
	}
}

func TestJA4Forms(t *testing.T) {
	ch := chromeHello()
	// Expected strings: FoxIO-LLC/ja4 python/test/testdata/tls-handshake.pcapng.json, stream 5.
	require.Equal(t, "t13d1516h1_8daaf6152771_e5627efa2ab1", ch.JA4(TransportTCP))
	require.Equal(t, "t13d1516h1_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"+
		"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
		ch.JA4Raw(TransportTCP))
	require.Equal(t, "t13d1516h1_acb858a92679_5eba26eeae83", ch.JA4Original(TransportTCP))
	require.Equal(t, "t13d1516h1_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_"+
		"000d,0033,0000,ff01,002b,0023,002d,0005,0012,000b,0017,4469,0010,001b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601",
		ch.JA4RawOriginal(TransportTCP))
	require.Equal(t, byte('q'), ch.JA4(TransportQUIC)[0])
	require.Equal(t, "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"+
		"13-51-0-65281-43-35-45-5-18-11-23-17513-16-27-10-21,29-23-24,0", ch.JA3String())
}

func TestJA4Parts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ClientHello)
		want string // the first part of JA4
	}{
		{"no ALPN", func(c *ClientHello) { c.ALPN = nil }, "t13d151600"},
		{"empty first ALPN", func(c *ClientHello) { c.ALPN = []string{"", "h2"} }, "t13d151600"},
		{"single character", func(c *ClientHello) { c.ALPN = []string{"x"} }, "t13d1516xx"},
		{"h2", func(c *ClientHello) { c.ALPN = []string{"h2", "http/1.1"} }, "t13d1516h2"},
		{"non-alphanumeric 0xAB", func(c *ClientHello) { c.ALPN = []string{"\xab"} }, "t13d1516ab"},
		{"non-alphanumeric 0x20", func(c *ClientHello) { c.ALPN = []string{"\x20"} }, "t13d151620"},
		{"0xAB 0xCD", func(c *ClientHello) { c.ALPN = []string{"\xab\xcd"} }, "t13d1516ad"},
		{"0x20 0x61", func(c *ClientHello) { c.ALPN = []string{"\x20\x61"} }, "t13d151621"},
		{"0x30 0xAB", func(c *ClientHello) { c.ALPN = []string{"\x30\xab"} }, "t13d15163b"},
		{"0x61 0x20", func(c *ClientHello) { c.ALPN = []string{"\x61\x20"} }, "t13d151660"},
		{"0x30 0x31 0xAB 0xCD", func(c *ClientHello) { c.ALPN = []string{"\x30\x31\xab\xcd"} }, "t13d15163d"},
		{"0x30 0xAB 0xCD 0x31", func(c *ClientHello) { c.ALPN = []string{"\x30\xab\xcd\x31"} }, "t13d151601"},
		{"no SNI", func(c *ClientHello) {
			c.Extensions = slices.DeleteFunc(c.Extensions, func(v uint16) bool { return v == 0 })
		}, "t13i1515h1"},
		{"no supported_versions", func(c *ClientHello) { c.SupportedVersions = nil }, "t12d1516h1"},
		{"only GREASE versions", func(c *ClientHello) { c.SupportedVersions = []uint16{0x1a1a} }, "t12d1516h1"},
		{"SSL 3", func(c *ClientHello) { c.SupportedVersions, c.Version = nil, 0x0300 }, "ts3d1516h1"},
		{"unknown version", func(c *ClientHello) { c.SupportedVersions, c.Version = nil, 0x0101 }, "t00d1516h1"},
		{"counts capped at 99", func(c *ClientHello) {
			c.Ciphers = make([]uint16, 150)
			for i := range c.Ciphers {
				c.Ciphers[i] = uint16(i + 1)
			}
		}, "t13d9916h1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := chromeHello()
			tc.edit(ch)
			require.Equal(t, tc.want, ch.JA4(TransportTCP)[:10])
		})
	}
}

func TestJA4EmptyLists(t *testing.T) {
	ch := &ClientHello{Version: 0x0301, Extensions: []uint16{0}}
	require.Equal(t, "t10d000100_000000000000_000000000000", ch.JA4(TransportTCP))
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"TLS 1.0 record", []byte{0x16, 0x03, 0x01, 0x02, 0x00}, true},
		{"SSL 3 record", []byte{0x16, 0x03, 0x00, 0x00, 0x50}, true},
		{"SSLv2-compatible hello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}, true},
		{"SSLv2 hello", []byte{0x80, 0x2e, 0x01, 0x00, 0x02}, true},
		{"application data", []byte{0x17, 0x03, 0x03, 0x00, 0x10}, false},
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), false},
		{"short", []byte{0x16}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Sniff(tc.in))
		})
	}
}

func TestNames(t *testing.T) {
	require.Equal(t, "TLSv12", VersionName(0x0303))
	require.Equal(t, "TLSv13-draft23", VersionName(0x7f17))
	require.Equal(t, "unknown-1", VersionName(1))
	require.Equal(t, "TLS_AES_128_GCM_SHA256", CipherName(0x1301))
	require.Equal(t, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", CipherName(0xc02f))
	require.Equal(t, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", CipherName(0x009f))
	require.Equal(t, "unknown-65000", CipherName(65000))
	require.Equal(t, "x25519", CurveName(29))
	require.Equal(t, "X25519MLKEM768", CurveName(4588))
	require.Equal(t, "grease_0x0A0A", CurveName(0x0a0a))
}

// record wraps handshake messages in one TLS record.
func record(typ byte, body []byte) []byte {
	out := []byte{typ, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(out[3:], uint16(len(body)))
	return append(out, body...)
}

func TestSSLv2Hello(t *testing.T) {
	// SSLv2-compatible hello offering TLS 1.0 with two TLS suites and one
	// SSLv2-only kind.
	body := []byte{1, 0x03, 0x01, 0, 9, 0, 0, 0, 16,
		0x00, 0x00, 0x2f, 0x00, 0x00, 0x35, 0x07, 0x00, 0xc0}
	body = append(body, make([]byte, 16)...)
	msg := append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
	require.True(t, Sniff(msg))
	var got []event.Event
	a := New(testConn, func(e event.Event) { got = append(got, e) })
	a.Feed(stream.FromOrig, testTS, msg)
	require.Equal(t, "ssl", a.Service())
	require.False(t, a.Done())
	a.Close(testTS)
	require.Len(t, got, 1)
	ev := got[0].(*event.TLS)
	require.Equal(t, "SSLv2", ev.Version)
	require.Empty(t, ev.JA3)
}

func TestNotTLS(t *testing.T) {
	var got []event.Event
	a := New(testConn, func(e event.Event) { got = append(got, e) })
	a.Feed(stream.FromOrig, testTS, []byte("GET / HTTP/1.1\r\n\r\n"))
	require.True(t, a.Done())
	require.Empty(t, a.Service())
	a.Close(testTS)
	require.Empty(t, got)
}

func TestHugeHandshakeGivesUp(t *testing.T) {
	var got []event.Event
	a := New(testConn, func(e event.Event) { got = append(got, e) })
	a.Feed(stream.FromOrig, testTS, record(recHandshake, []byte{hsCertificate, 0x7f, 0xff, 0xff}))
	require.True(t, a.Done())
	a.Close(testTS)
	require.Empty(t, got)
}
