package wire

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/sensor/tlsx"
)

// records splits a TLS byte stream into its records, failing on bad
// framing.
func records(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 5, "record header")
		require.Contains(t, []byte{20, 21, 22, 23}, b[0], "record type")
		require.Equal(t, byte(3), b[1])
		n := 5 + (int(b[3])<<8 | int(b[4]))
		require.LessOrEqual(t, n, len(b), "record length")
		require.LessOrEqual(t, n-5, 16384+256)
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func TestTLSHandshake(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		cfg        TLSConfig
		version    uint16
		cipher     uint16
		alpn       string
		selfSigned bool
	}{
		{"chrome 1.3 hybrid", TLSConfig{Profile: "chrome-win", SNI: "www.example.com", Version: 0x0304}, 0x0304, 0x1301, "h2", false},
		{"curl 1.3", TLSConfig{Profile: "curl", SNI: "example.com"}, 0x0304, 0x1301, "h2", false},
		{"safari 1.2 CA", TLSConfig{Profile: "safari-mac", SNI: "shop.example.com", Version: 0x0303,
			CertNames: []string{"shop.example.com", "*.example.com"}}, 0x0303, 0xc02b, "h2", false},
		{"powershell forced 1.2 self-signed", TLSConfig{Profile: "powershell", SNI: "c2.example.net", Version: 0x0304,
			SelfSigned: true}, 0x0303, 0xc02b, "", true},
		{"python to a bare IP", TLSConfig{Profile: "python-requests", Version: 0x0303, CertNames: []string{"203.0.113.9"},
			SelfSigned: true}, 0x0303, 0xc02b, "http/1.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Time, tt.cfg.Seed = start, 9
			f, err := TLSHandshake(tt.cfg)
			require.NoError(t, err)
			require.Equal(t, tt.version, f.Version)
			require.Equal(t, tt.cipher, f.Cipher)
			require.Equal(t, tt.alpn, f.ALPN)
			for _, flight := range [][]byte{f.ClientHello, f.Server1, f.Client2, f.Server2} {
				records(t, flight)
			}
			srv := records(t, f.Server1)
			require.Equal(t, byte(2), srv[0][5], "ServerHello first")
			sh, err := tlsx.ParseServerHello(srv[0][9:])
			require.NoError(t, err)
			require.Equal(t, tt.version, sh.Negotiated())
			require.Equal(t, tt.cipher, sh.Cipher)
			if tt.version == 0x0304 {
				ch := parseHello(t, f.ClientHello)
				require.Equal(t, ch.SessionID, sh.SessionID, "1.3 echoes the session id")
				require.Equal(t, byte(20), srv[1][0], "CCS")
				require.Equal(t, byte(23), srv[len(srv)-1][0])
				return
			}
			require.Equal(t, tt.alpn, sh.ALPN)
			require.Equal(t, byte(11), srv[1][5], "Certificate")
			body := srv[1][9:]
			leafLen := int(body[3])<<16 | int(body[4])<<8 | int(body[5])
			leaf, err := x509.ParseCertificate(body[6 : 6+leafLen])
			require.NoError(t, err)
			require.Equal(t, tt.selfSigned, leaf.Issuer.String() == leaf.Subject.String())
			require.True(t, leaf.NotBefore.Before(start) && leaf.NotAfter.After(start), "valid at the connection's time")
			if len(tt.cfg.CertNames) > 0 && tt.cfg.CertNames[0][0] != '2' {
				require.Equal(t, tt.cfg.CertNames, leaf.DNSNames)
			}
			require.Equal(t, byte(12), srv[2][5], "ServerKeyExchange")
			require.Equal(t, byte(14), srv[3][5], "ServerHelloDone")
			again, err := TLSHandshake(tt.cfg)
			require.NoError(t, err)
			require.Equal(t, f, again, "deterministic")
		})
	}
}

func TestAppDataAndGrow(t *testing.T) {
	for _, n := range []int{22, 23, 100, FullRecord - 1, FullRecord, FullRecord + 1, FullRecord + 21, FullRecord + 22,
		3*FullRecord + 5000} {
		b := AppData(nil, n, 1)
		require.Len(t, b, n)
		for _, r := range records(t, b) {
			require.Equal(t, byte(23), r[0])
			require.GreaterOrEqual(t, len(r), 22, "room for a tag")
		}
	}
	require.Len(t, AppData(nil, 3, 1), 3)
	f, err := TLSHandshake(TLSConfig{Profile: "firefox-win", SNI: "a.example", Version: 0x0303, Seed: 1})
	require.NoError(t, err)
	for _, flight := range [][]byte{f.Client2, f.Server2} {
		for n := 1; n < 22; n++ {
			g := Grow(flight, n)
			require.Len(t, g, len(flight)+n)
			rs := records(t, g)
			require.Equal(t, len(records(t, flight)), len(rs), "the last record grew")
			require.Equal(t, flight[:len(flight)-45], g[:len(flight)-45], "only the last record changed")
		}
	}
}

// readMessages parses HTTP/1.1 requests or responses from a stream with
// net/http and returns their body lengths.
func readMessages(t *testing.T, stream []byte, responses bool, methods []string) []int64 {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(stream))
	var out []int64
	for i := 0; ; i++ {
		if _, err := br.Peek(1); err == io.EOF {
			return out
		}
		var body io.ReadCloser
		if responses {
			resp, err := http.ReadResponse(br, &http.Request{Method: methods[i]})
			require.NoError(t, err)
			body = resp.Body
		} else {
			req, err := http.ReadRequest(br)
			require.NoError(t, err)
			body = req.Body
		}
		n, err := io.Copy(io.Discard, body)
		require.NoError(t, err)
		out = append(out, n)
	}
}

func TestHTTPStreamsExactSizes(t *testing.T) {
	get := HTTP{Method: "GET", Host: "www.example.org", URI: "/index.html", UserAgent: "Mozilla/5.0", RespContentType: "text/html",
		RespBody: 5000, Status: 200}
	post := HTTP{Method: "POST", Host: "203.0.113.5:8080", URI: "/api/daemon", UserAgent: "curl/8.7.1",
		ReqContentType: "application/json", ReqBody: 120, RespContentType: "application/json", RespBody: 37, Status: 200}
	chunked := get
	chunked.Chunked, chunked.RespBody = true, 20000
	head := HTTP{Method: "HEAD", Host: "a.example", URI: "/", Status: 200, RespBody: 10}
	noContent := HTTP{Method: "GET", Host: "a.example", URI: "/ping", Status: 204}
	tests := []struct {
		name string
		xs   []HTTP
	}{
		{"get", []HTTP{get}},
		{"post", []HTTP{post}},
		{"chunked", []HTTP{chunked}},
		{"keep-alive", []HTTP{get, post, chunked}},
		{"head and 204: headers only", []HTTP{head, noContent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, down := HTTPSizes(tt.xs)
			methods := make([]string, len(tt.xs))
			for i, x := range tt.xs {
				methods[i] = x.method()
			}
			for _, extra := range []int64{0, 1, 2, 9, 10, 11, 12, 15, 16, 17, 99, 1000, 8191, 8192, 100000} {
				reqs, resps := HTTPStreams(tt.xs, up+extra, down+extra, time.Time{}, 3)
				req, resp := bytes.Join(reqs, nil), bytes.Join(resps, nil)
				require.Len(t, req, int(up+extra), "extra %d", extra)
				require.Len(t, resp, int(down+extra), "extra %d", extra)
				readMessages(t, req, false, nil)
				bodies := readMessages(t, resp, true, methods)
				require.Len(t, bodies, len(tt.xs))
				if extra == 0 {
					for i, x := range tt.xs {
						if x.respMayHaveBody() {
							require.Equal(t, x.RespBody, bodies[i])
						}
					}
				}
			}
			// Smaller budgets cut the stream.
			reqs, resps := HTTPStreams(tt.xs, up/2, down/3, time.Time{}, 3)
			require.Len(t, bytes.Join(reqs, nil), int(up/2))
			require.Len(t, bytes.Join(resps, nil), int(down/3))
		})
	}
	reqs, _ := HTTPStreams([]HTTP{post}, 0, 0, time.Time{}, 1)
	require.True(t, strings.HasPrefix(string(HTTPStreamsHeader(post)), "POST /api/daemon HTTP/1.1\r\nHost: 203.0.113.5:8080\r\n"))
	require.Empty(t, reqs[0])
}

// HTTPStreamsHeader is the request header as rendered (test helper).
func HTTPStreamsHeader(x HTTP) []byte { return x.reqHeader(msgPlan{body: x.ReqBody}) }

func TestDNSMessages(t *testing.T) {
	tests := []struct {
		name string
		d    DNS
	}{
		{"a", DNS{Name: "www.example.com", QType: 1, Answers: []string{"203.0.113.1"}}},
		{"cname chain", DNS{Name: "www.example.com", QType: 1, Answers: []string{"edge.cdn.example", "198.51.100.1", "198.51.100.2"}}},
		{"aaaa", DNS{Name: "v6.example.com", QType: 28, Answers: []string{"2001:db8::1"}}},
		{"nxdomain", DNS{Name: "qx7z.example.biz", QType: 1, RCode: 3}},
		{"txt zeek form", DNS{Name: "example.com", QType: 16, Answers: []string{"TXT 11 v=spf1 -all"}}},
		{"mx", DNS{Name: "example.com", QType: 15, Answers: []string{"10 mail.example.com"}}},
		{"srv", DNS{Name: "_ldap._tcp.dc._msdcs.corp.example", QType: 33, Answers: []string{"0 100 389 dc1.corp.example"}}},
		{"ptr", DNS{Name: "1.113.0.203.in-addr.arpa", QType: 12, Answers: []string{"host.example.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, r, err := DNSMessages(tt.d)
			require.NoError(t, err)
			up, down := DNSSizes(tt.d)
			require.Equal(t, int64(len(q)), up)
			require.Equal(t, int64(len(r)), down)
		})
	}
}
