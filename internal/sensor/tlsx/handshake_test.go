package tlsx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

var (
	testConn = stream.Conn{UID: "Ctls", ID: event.ConnID{
		OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 50000,
		RespH: netip.MustParseAddr("192.0.2.9"), RespP: 443,
	}}
	testTS = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
)

// chunk is one Write seen by a recorder.
type chunk struct {
	dir  stream.Dir
	data []byte
}

// transcript collects the writes of both ends in the order they happen.
type transcript struct {
	mu     sync.Mutex
	chunks []chunk
}

// recorder wraps a conn and logs every Write into a transcript.
type recorder struct {
	net.Conn
	dir stream.Dir
	t   *transcript
}

func (r *recorder) Write(b []byte) (int, error) {
	r.t.mu.Lock()
	r.t.chunks = append(r.t.chunks, chunk{r.dir, append([]byte(nil), b...)})
	r.t.mu.Unlock()
	return r.Conn.Write(b)
}

// certPair is a leaf certificate (and the chain to present) with its key.
type certPair struct {
	tlsCert tls.Certificate
	leaf    *x509.Certificate
}

func newCert(t *testing.T, cn string, dns []string, ca *certPair, isCA bool) *certPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Vigil Test"}, Country: []string{"US"}},
		NotBefore:             time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC),
		DNSNames:              dns,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.leaf, ca.tlsCert.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	chain := [][]byte{der}
	if ca != nil {
		chain = append(chain, ca.tlsCert.Certificate[0])
	}
	return &certPair{tlsCert: tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, leaf: leaf}
}

// handshake runs a crypto/tls client and server over net.Pipe, exchanges
// one message each way, and returns the transcript and the client's view.
func handshake(t *testing.T, version uint16, server *certPair, client *certPair, curves []tls.CurveID) (*transcript, tls.ConnectionState) {
	t.Helper()
	// Loopback TCP, not net.Pipe: both ends sometimes write at once (a
	// TLS 1.3 server's session tickets while the client sends; the CCS and
	// second hello after a HelloRetryRequest), which deadlocks on an
	// unbuffered pipe depending on scheduling.
	c, s := loopback(t)
	tr := &transcript{}
	scfg := &tls.Config{
		Certificates: []tls.Certificate{server.tlsCert},
		NextProtos:   []string{"h2", "http/1.1"},
		MaxVersion:   version,
		// A server curve the client sends no key share for forces a
		// HelloRetryRequest.
		CurvePreferences: curves,
	}
	ccfg := &tls.Config{
		ServerName:         "www.example.test",
		NextProtos:         []string{"h2", "http/1.1"},
		MaxVersion:         version,
		InsecureSkipVerify: true, //nolint:gosec // test peer with a test certificate
	}
	if client != nil {
		scfg.ClientAuth = tls.RequireAnyClientCert
		ccfg.Certificates = []tls.Certificate{client.tlsCert}
	}
	srv := tls.Server(&recorder{s, stream.FromResp, tr}, scfg)
	cli := tls.Client(&recorder{c, stream.FromOrig, tr}, ccfg)
	errc := make(chan error, 1)
	go func() {
		defer s.Close()
		buf := make([]byte, 4)
		if _, err := io.ReadFull(srv, buf); err != nil {
			errc <- err
			return
		}
		_, err := srv.Write([]byte("pong"))
		errc <- err
	}()
	require.NoError(t, cli.Handshake())
	_, err := cli.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(cli, buf)
	require.NoError(t, err)
	require.NoError(t, <-errc)
	state := cli.ConnectionState()
	c.Close()
	return tr, state
}

// loopback returns the two ends of a TCP connection on 127.0.0.1.
func loopback(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	return client, server
}

// replay feeds a transcript split into pieces of at most size bytes
// (0: each write whole) and returns the events emitted.
func replay(tr *transcript, size int) ([]event.Event, *Analyzer) {
	var got []event.Event
	a := New(testConn, func(e event.Event) { got = append(got, e) })
	for _, ch := range tr.chunks {
		d := ch.data
		for len(d) > 0 && !a.Done() {
			n := len(d)
			if size > 0 && n > size {
				n = size
			}
			a.Feed(ch.dir, testTS, d[:n])
			d = d[n:]
		}
	}
	a.Close(testTS)
	return got, a
}

func fp(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func TestCryptoTLSHandshake(t *testing.T) {
	self := newCert(t, "www.example.test", []string{"www.example.test"}, nil, false)
	ca := newCert(t, "Vigil Test CA", nil, nil, true)
	signed := newCert(t, "www.example.test", []string{"*.example.test"}, ca, false)
	clientCert := newCert(t, "client", nil, ca, false)
	tests := []struct {
		name       string
		version    uint16
		server     *certPair
		client     *certPair
		selfSigned bool
		curves     []tls.CurveID
	}{
		{"TLS 1.2 self-signed", tls.VersionTLS12, self, nil, true, nil},
		{"TLS 1.2 CA-signed with client certificate", tls.VersionTLS12, signed, clientCert, false, nil},
		{"TLS 1.3 self-signed", tls.VersionTLS13, self, nil, true, nil},
		{"TLS 1.3 CA-signed", tls.VersionTLS13, signed, nil, false, nil},
		{"TLS 1.3 after HelloRetryRequest", tls.VersionTLS13, self, nil, true, []tls.CurveID{tls.CurveP384}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, state := handshake(t, tc.version, tc.server, tc.client, tc.curves)
			whole, a := replay(tr, 0)
			require.Equal(t, "ssl", a.Service())
			require.True(t, a.Done())
			for _, size := range []int{1, 3, 100, 1500} {
				split, _ := replay(tr, size)
				require.Equal(t, whole, split, "split %d", size)
			}
			ev, ok := whole[len(whole)-1].(*event.TLS)
			require.True(t, ok, "last event is the TLS event")
			require.Equal(t, testConn.UID, ev.UID)
			require.Equal(t, "www.example.test", ev.ServerName)
			require.Equal(t, []string{"h2", "http/1.1"}, ev.ALPN)
			if tc.version == tls.VersionTLS13 {
				// The server's choice travels in EncryptedExtensions.
				require.Empty(t, ev.NextProtocol)
			} else {
				require.Equal(t, "h2", ev.NextProtocol)
			}
			require.Equal(t, VersionName(state.Version), ev.Version)
			require.Equal(t, tls.CipherSuiteName(state.CipherSuite), ev.Cipher)
			require.Equal(t, CurveName(uint16(state.CurveID)), ev.Curve)
			require.True(t, ev.Established)
			require.False(t, ev.Resumed)
			require.NotEmpty(t, ev.JA3)
			require.Regexp(t, `^t1[23]d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$`, ev.JA4)
			if tc.version == tls.VersionTLS13 {
				require.True(t, ev.CertsEncrypted)
				require.Empty(t, ev.CertChainFps)
				require.Len(t, whole, 1, "no certificate can be seen in TLS 1.3")
				require.Nil(t, ev.SNIMatchesCert)
				return
			}
			require.False(t, ev.CertsEncrypted)
			var want []string
			for _, der := range tc.server.tlsCert.Certificate {
				want = append(want, fp(der))
			}
			require.Equal(t, want, ev.CertChainFps)
			require.Equal(t, tc.selfSigned, ev.SelfSigned)
			require.Equal(t, "CN=www.example.test,O=Vigil Test,C=US", ev.Subject)
			require.Equal(t, tc.server.leaf.NotAfter, ev.NotAfter)
			require.NotNil(t, ev.SNIMatchesCert)
			require.True(t, *ev.SNIMatchesCert)
			var x509s []*event.X509
			for _, e := range whole[:len(whole)-1] {
				x509s = append(x509s, e.(*event.X509))
			}
			require.Len(t, x509s, len(want)+len(ev.ClientCertChainFps))
			leaf := x509s[0]
			require.Equal(t, want[0], leaf.Fingerprint)
			require.True(t, leaf.HostCert)
			require.Equal(t, tc.selfSigned, leaf.SelfSigned)
			require.Equal(t, "id-ecPublicKey", leaf.KeyAlg)
			require.Equal(t, "ecdsa", leaf.KeyType)
			require.Equal(t, 256, leaf.KeyLength)
			require.Equal(t, "ecdsa-with-SHA256", leaf.SigAlg)
			require.Equal(t, tc.server.leaf.DNSNames, leaf.SANDNS)
			if tc.client != nil {
				require.Equal(t, []string{fp(tc.client.tlsCert.Certificate[0]), fp(ca.tlsCert.Certificate[0])}, ev.ClientCertChainFps)
				last := x509s[len(x509s)-1]
				require.True(t, last.ClientCert)
				require.True(t, last.BasicCA)
				require.True(t, last.SelfSigned, "the CA certificate is self-signed")
			}
		})
	}
}

func TestResumption(t *testing.T) {
	self := newCert(t, "www.example.test", []string{"www.example.test"}, nil, false)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(VersionName(version), func(t *testing.T) {
			cache := tls.NewLRUClientSessionCache(4)
			// One server config for both connections: its ticket keys must
			// survive to accept the resumption.
			scfg := &tls.Config{Certificates: []tls.Certificate{self.tlsCert}, MaxVersion: version}
			var last *event.TLS
			for i := 0; i < 2; i++ {
				c, s := net.Pipe()
				tr := &transcript{}
				ccfg := &tls.Config{
					ServerName: "www.example.test", MaxVersion: version, ClientSessionCache: cache,
					InsecureSkipVerify: true, //nolint:gosec // test peer
				}
				srv := tls.Server(&recorder{s, stream.FromResp, tr}, scfg)
				cli := tls.Client(&recorder{c, stream.FromOrig, tr}, ccfg)
				done := make(chan error, 1)
				go func() {
					defer s.Close()
					buf := make([]byte, 1)
					_, err := io.ReadFull(srv, buf)
					done <- err
				}()
				require.NoError(t, cli.Handshake())
				_, err := cli.Write([]byte("x"))
				require.NoError(t, err)
				require.NoError(t, <-done)
				// Read the TLS 1.3 session ticket so that the cache fills.
				_ = cli.SetReadDeadline(time.Now())
				_, _ = cli.Read(make([]byte, 1))
				resumed := cli.ConnectionState().DidResume
				c.Close()
				got, _ := replay(tr, 0)
				last = got[len(got)-1].(*event.TLS)
				require.Equal(t, resumed, last.Resumed, "connection %d", i)
				require.True(t, last.Established)
			}
			require.True(t, last.Resumed, "second connection resumes")
		})
	}
}
