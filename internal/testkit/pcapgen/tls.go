package pcapgen

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// TLSOptions describe one TLS connection for RecordTLS.
type TLSOptions struct {
	// ServerName is the SNI the client sends and verifies; empty sends no
	// SNI (a connection to a bare IP).
	ServerName string
	// ALPN lists the protocols the client offers ("h2", "http/1.1").
	ALPN []string
	// ServerALPN lists the protocols the server supports; nil means it
	// accepts what the client offers.
	ServerALPN []string
	// Version is tls.VersionTLS12 or tls.VersionTLS13 (0 means 1.3); the
	// client offers up to it, the server accepts up to it.
	Version uint16
	// Cert is the server's certificate (see CA.Issue and SelfSigned).
	Cert tls.Certificate
	// Roots, when set, makes the client verify the chain against them;
	// nil skips verification (as malware and scripts often do).
	Roots *x509.CertPool
	// Time is both sides' clock, for certificate validity and tickets.
	Time time.Time
	// Seed seeds both sides' random sources.
	Seed string
	// Request and Response are application data the client sends after
	// the handshake and the server answers with (e.g. HTTP/1.1 bytes).
	// The client then closes with close_notify and the server answers
	// with its own.
	Request, Response []byte
}

// Flight is the bytes one side sent in one go, between reading from its
// peer.
type Flight struct {
	FromClient bool
	Data       []byte
}

// Transcript is a recorded TLS connection: its flights in causal order and
// what was negotiated.
type Transcript struct {
	Flights     []Flight
	Version     uint16
	CipherSuite uint16
	ALPN        string
}

// Bytes returns how many bytes the client (or the server) sent.
func (t Transcript) Bytes(fromClient bool) int {
	n := 0
	for _, f := range t.Flights {
		if f.FromClient == fromClient {
			n += len(f.Data)
		}
	}
	return n
}

// RecordTLS runs Go's crypto/tls client and server against each other over
// an in-memory pipe and records what each wrote.
//
// Determinism: the client and server randoms, session IDs, tickets,
// certificates (see NewCA) and signatures (RFC 6979) come from seeded or
// derived sources, and the key exchange is limited to X25519 (ML-KEM
// encapsulation draws system randomness that no setting reaches). Since
// Go 1.26 the X25519 key shares, however, use the system's randomness
// unless the program runs with GODEBUG=cryptocustomrand=1 (a
// "//go:debug cryptocustomrand=1" line in the main package or a _test.go
// file). With it, the same options give byte-identical transcripts;
// without it, the key shares, the encrypted bytes and the server's ECDSA
// signature over the handshake differ from run to run, and that signature's
// DER length (so its record and segment) may change by a byte or two.
func RecordTLS(opt TLSOptions) (Transcript, error) {
	if opt.Version == 0 {
		opt.Version = tls.VersionTLS13
	}
	if opt.Time.IsZero() && opt.Cert.Leaf != nil {
		opt.Time = opt.Cert.Leaf.NotBefore.Add(24 * time.Hour)
	}
	now := func() time.Time { return opt.Time }
	curves := []tls.CurveID{tls.X25519}
	cliCfg := &tls.Config{
		ServerName: opt.ServerName, NextProtos: opt.ALPN, RootCAs: opt.Roots, InsecureSkipVerify: opt.Roots == nil,
		MinVersion: tls.VersionTLS12, MaxVersion: opt.Version, Time: now, Rand: newSeeded(opt.Seed + "/client"),
		CurvePreferences: curves,
	}
	srvALPN := opt.ServerALPN
	if srvALPN == nil {
		srvALPN = opt.ALPN
	}
	srvCfg := &tls.Config{
		Certificates: []tls.Certificate{opt.Cert}, NextProtos: srvALPN,
		MinVersion: tls.VersionTLS12, MaxVersion: opt.Version, Time: now, Rand: newSeeded(opt.Seed + "/server"),
		CurvePreferences: curves,
	}
	d := newDuplex()
	cli := tls.Client(end{d, 0}, cliCfg)
	srv := tls.Server(end{d, 1}, srvCfg)

	var wg sync.WaitGroup
	var srvErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer d.close(1)
		srvErr = runServer(srv, opt)
	}()
	cliErr := runClient(cli, opt)
	d.close(0)
	wg.Wait()
	if err := errors.Join(cliErr, srvErr); err != nil {
		return Transcript{}, fmt.Errorf("tls %q: %w", opt.ServerName, err)
	}
	cs := cli.ConnectionState()
	return Transcript{Flights: d.flights(), Version: cs.Version, CipherSuite: cs.CipherSuite, ALPN: cs.NegotiatedProtocol}, nil
}

func runClient(c *tls.Conn, opt TLSOptions) error {
	if err := c.Handshake(); err != nil {
		return fmt.Errorf("client handshake: %w", err)
	}
	if len(opt.Request) > 0 {
		if _, err := c.Write(opt.Request); err != nil {
			return fmt.Errorf("client write: %w", err)
		}
	}
	if len(opt.Response) > 0 {
		if _, err := io.ReadFull(c, make([]byte, len(opt.Response))); err != nil {
			return fmt.Errorf("client read: %w", err)
		}
	}
	return c.Close()
}

func runServer(s *tls.Conn, opt TLSOptions) error {
	if err := s.Handshake(); err != nil {
		return fmt.Errorf("server handshake: %w", err)
	}
	if len(opt.Request) > 0 {
		if _, err := io.ReadFull(s, make([]byte, len(opt.Request))); err != nil {
			return fmt.Errorf("server read: %w", err)
		}
	}
	if len(opt.Response) > 0 {
		if _, err := s.Write(opt.Response); err != nil {
			return fmt.Errorf("server write: %w", err)
		}
	}
	// Read until the client's close_notify, then answer with ours.
	if _, err := io.Copy(io.Discard, s); err != nil {
		return fmt.Errorf("server read to close: %w", err)
	}
	return s.Close()
}

// Replay sends a transcript's flights through the session, waiting think
// before each server flight that answers client data (server processing),
// and returns nothing: close or reset the session afterwards.
func (s *Session) Replay(t Transcript, think time.Duration) {
	for i, f := range t.Flights {
		if !f.FromClient && i > 0 && t.Flights[i-1].FromClient {
			s.Wait(think)
		}
		s.Send(f.FromClient, f.Data)
	}
}

// seeded is a deterministic random source for crypto/tls. It answers
// one-byte reads with a constant without advancing its stream: with
// cryptocustomrand=1, Go's crypto reads a single byte at random moments
// (randutil.MaybeReadByte) to keep callers from depending on the stream,
// which is exactly what a reproducible capture needs to do.
type seeded struct{ c *rand.ChaCha8 }

func newSeeded(seed string) *seeded {
	return &seeded{rand.NewChaCha8(sha256.Sum256([]byte("pcapgen rand " + seed)))}
}

func (r *seeded) Read(p []byte) (int, error) {
	if len(p) == 1 {
		p[0] = 0x5a
		return 1, nil
	}
	return r.c.Read(p)
}

// duplex is an in-memory, unbuffered-looking but never-blocking pair of
// byte streams that logs every write. A read returns bytes from one write
// at most, as net.Pipe does, so that how much each side has read when it
// writes, and so the causal order of the flights, does not depend on
// goroutine scheduling.
type duplex struct {
	mu     sync.Mutex
	cond   *sync.Cond
	q      [2][][]byte // q[i]: writes waiting for side i to read
	closed [2]bool     // side i has closed its end
	read   [2]int      // bytes side i has read
	log    [2][]logged // writes by side i, in order
}

type logged struct {
	data     []byte
	peerRead int // bytes the writer had read from its peer when writing
}

func newDuplex() *duplex {
	d := &duplex{}
	d.cond = sync.NewCond(&d.mu)
	return d
}

func (d *duplex) close(side int) {
	d.mu.Lock()
	d.closed[side] = true
	d.cond.Broadcast()
	d.mu.Unlock()
}

// flights merges both sides' writes into one causal order: a write comes
// after every peer byte its writer had read; when both sides' next writes
// are ready, the client's goes first. Consecutive writes of one side join
// into one flight.
func (d *duplex) flights() []Flight {
	var out []Flight
	var idx, sent [2]int
	for idx[0] < len(d.log[0]) || idx[1] < len(d.log[1]) {
		side := -1
		for s := range 2 {
			if idx[s] < len(d.log[s]) && d.log[s][idx[s]].peerRead <= sent[1-s] {
				side = s
				break
			}
		}
		if side < 0 { // cannot happen with a causal log; keep going rather than loop
			side = 0
			if idx[0] >= len(d.log[0]) {
				side = 1
			}
		}
		l := d.log[side][idx[side]]
		idx[side]++
		sent[side] += len(l.data)
		if n := len(out); n > 0 && out[n-1].FromClient == (side == 0) {
			out[n-1].Data = append(out[n-1].Data, l.data...)
			continue
		}
		out = append(out, Flight{FromClient: side == 0, Data: append([]byte(nil), l.data...)})
	}
	return out
}

// end is one side of a duplex, as a net.Conn.
type end struct {
	d    *duplex
	side int
}

func (e end) Read(p []byte) (int, error) {
	d := e.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.q[e.side]) == 0 && !d.closed[1-e.side] && !d.closed[e.side] {
		d.cond.Wait()
	}
	if len(d.q[e.side]) == 0 {
		return 0, io.EOF
	}
	head := d.q[e.side][0]
	n := copy(p, head)
	if n == len(head) {
		d.q[e.side] = d.q[e.side][1:]
	} else {
		d.q[e.side][0] = head[n:]
	}
	d.read[e.side] += n
	return n, nil
}

func (e end) Write(p []byte) (int, error) {
	d := e.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed[e.side] {
		return 0, net.ErrClosed
	}
	b := append([]byte(nil), p...)
	d.q[1-e.side] = append(d.q[1-e.side], b)
	d.log[e.side] = append(d.log[e.side], logged{b, d.read[e.side]})
	d.cond.Broadcast()
	return len(p), nil
}

func (e end) Close() error                     { e.d.close(e.side); return nil }
func (e end) LocalAddr() net.Addr              { return pipeAddr{} }
func (e end) RemoteAddr() net.Addr             { return pipeAddr{} }
func (e end) SetDeadline(time.Time) error      { return nil }
func (e end) SetReadDeadline(time.Time) error  { return nil }
func (e end) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
