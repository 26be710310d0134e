package simpcap

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sim"
	"github.com/vigil-ndr/vigil/internal/sim/wire"
	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// burst is the most one Send writes at once: long transfers go out as a
// series of bursts, which bounds the memory of one call and looks like a
// sender filling its socket buffer.
const burst = 4 * wire.FullRecord

// filler is a deterministic source of opaque payload bytes.
type filler struct{ c *rand.ChaCha8 }

func newFiller(seed uint64) *filler {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	copy(key[8:], "simpcap payload")
	return &filler{rand.NewChaCha8(key)}
}

func (f *filler) read(b []byte) { _, _ = f.c.Read(b) }

// tcp renders one TCP session's payload and keeps time.
type tcp struct {
	ts    *pcapgen.Session
	s     *sim.Session
	seed  uint64
	think time.Duration
	rtt   time.Duration
	buf   []byte
	// pace is the pause before each burst after the first, so that long
	// transfers and many keep-alive exchanges spread over the session's
	// duration rather than all coming first; bursts counts them.
	pace   time.Duration
	bursts int
	// yield, when set, hands control back to the Writer before each
	// burst (see Writer.Write: large sessions render step by step).
	yield func(now time.Time)
}

// step yields before a burst when rendering step by step.
func (t *tcp) step() {
	if t.yield != nil {
		t.yield(t.ts.Now())
	}
}

// setPace spreads n bursts over what the session's duration leaves after
// the handshake and the ending (only for more than two bursts: a request
// and its answer stay together).
func (t *tcp) setPace(n int64, rtt time.Duration) {
	if n <= 2 {
		return
	}
	// A full burst (46 segments) takes about 2ms on the wire at the
	// segment gap, and its last ACK a round trip.
	if p := (t.s.Duration-4*rtt-t.think)/time.Duration(n) - 2*time.Millisecond - rtt; p > 0 {
		t.pace = p
	}
}

// next is called before each burst.
func (t *tcp) next() {
	if t.bursts > 0 && t.pace > 0 {
		t.ts.Wait(t.pace)
	}
	t.bursts++
}

// nbursts is how many bursts n bytes take.
func nbursts(n int64) int64 { return (n + burst - 1) / burst }

// send writes data from one side in bursts, unpaced (handshakes, HTTP
// messages).
func (t *tcp) send(fromClient bool, data []byte) {
	for len(data) > 0 {
		k := min(len(data), burst)
		t.step()
		t.ts.Send(fromClient, data[:k])
		data = data[k:]
	}
}

// sendApp writes n bytes of TLS application data records.
func (t *tcp) sendApp(fromClient bool, n int64) {
	for i := uint64(0); n > 0; i++ {
		k := n
		if k > burst {
			k = burst // a multiple of FullRecord: full records only
			if rest := n - k; rest < 22 {
				k -= 22 // leave the last record room for a tag
			}
		}
		t.buf = wire.AppData(t.buf[:0], int(k), t.seed+i*2+b2u(fromClient))
		t.next()
		t.step()
		t.ts.Send(fromClient, t.buf)
		n -= k
	}
}

// sendRaw writes n opaque bytes (a protocol simpcap does not model).
func (t *tcp) sendRaw(fromClient bool, n int64, f *filler) {
	for n > 0 {
		k := min(n, burst)
		if cap(t.buf) < int(k) {
			t.buf = make([]byte, k)
		}
		b := t.buf[:k]
		f.read(b)
		t.next()
		t.step()
		t.ts.Send(fromClient, b)
		n -= k
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func renderTCP(pw *pcapgen.Writer, s *sim.Session, seed uint64, yield func(now time.Time)) error {
	c, srv := host(s.Client).At(s.Client.Port), host(s.Server).At(s.Server.Port)
	r := rtt(s)
	ts := pw.TCPSession(s.Start, c, srv, pcapgen.SessionOptions{RTT: r})
	switch s.State {
	case event.StateS0:
		// Retransmitted SYNs 1s, 2s, 4s ... apart, as many as fit.
		retries, total := 0, time.Duration(0)
		for retries < 6 {
			next := total + time.Second<<retries
			if next > s.Duration {
				break
			}
			total = next
			retries++
		}
		ts.SynOnly(retries)
		return pw.Err()
	case event.StateREJ:
		ts.Rejected()
		return pw.Err()
	}
	ts.Handshake()
	t := &tcp{ts: ts, s: s, seed: seed, rtt: r, think: 2*time.Millisecond + time.Duration(seed%28000)*time.Microsecond,
		yield: yield}
	var err error
	switch {
	case s.TLS != nil:
		err = t.tls()
	case len(s.HTTP) > 0:
		t.http()
	default:
		f := newFiller(seed)
		t.setPace(nbursts(s.BytesUp)+nbursts(s.BytesDown), t.rtt)
		t.sendRaw(true, s.BytesUp, f)
		ts.Wait(t.think)
		t.sendRaw(false, s.BytesDown, f)
	}
	if err != nil {
		return err
	}
	// Idle until the session's end, less what the ending takes: a FIN
	// 40µs after the last packet and the server's FIN a round trip later
	// (where Zeek stops the clock), or a lone RST.
	const gap = 40 * time.Microsecond
	ending := gap + r
	if s.State == event.StateRSTO || s.State == event.StateRSTR {
		ending = gap
	}
	if idle := s.Start.Add(s.Duration).Sub(ts.Now()) - ending; idle > 0 {
		ts.Wait(idle)
	}
	switch s.State {
	case event.StateRSTO:
		ts.Reset(true)
	case event.StateRSTR:
		ts.Reset(false)
	case event.StateS1:
		// Still open when the capture ends.
	default:
		ts.Close()
	}
	return pw.Err()
}

// split cuts a handshake's two flights of one side to a byte budget and
// returns what is left for application data; leftovers too small for a
// record of their own lengthen the last encrypted record.
func split(first, second []byte, budget int64) ([]byte, []byte, int64) {
	hs := int64(len(first) + len(second))
	if budget < hs {
		if budget <= int64(len(first)) {
			return first[:max(budget, 0)], nil, 0
		}
		return first, second[:budget-int64(len(first))], 0
	}
	app := budget - hs
	if app > 0 && app < 22 {
		return first, wire.Grow(second, int(app)), 0
	}
	return first, second, app
}

func (t *tcp) tls() error {
	s := t.s
	alpn := s.TLS.ALPN
	if alpn == nil {
		alpn = []string{} // Session.TLS.ALPN nil means none offered
	}
	f, err := wire.TLSHandshake(wire.TLSConfig{Profile: s.TLS.Client, SNI: s.TLS.SNI, ALPN: alpn,
		Version: s.TLS.Version, CertNames: s.TLS.CertNames, SelfSigned: s.TLS.SelfSigned, Time: s.Start, Seed: t.seed})
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	ch, c2, appUp := split(f.ClientHello, f.Client2, s.BytesUp)
	s1, s2, appDown := split(f.Server1, f.Server2, s.BytesDown)
	t.setPace(nbursts(appUp)+nbursts(appDown), t.rtt)
	t.send(true, ch)
	t.send(false, s1)
	if f.Version == 0x0304 {
		// The client's Finished and its first request go together; the
		// server's tickets precede its answer.
		t.send(true, c2)
		t.sendApp(true, appUp)
		t.ts.Wait(t.think)
		t.send(false, s2)
		t.sendApp(false, appDown)
		return nil
	}
	t.send(true, c2)
	t.send(false, s2)
	t.sendApp(true, appUp)
	t.ts.Wait(t.think)
	t.sendApp(false, appDown)
	return nil
}

func (t *tcp) http() {
	s := t.s
	xs := make([]wire.HTTP, len(s.HTTP))
	for i, h := range s.HTTP {
		xs[i] = wire.HTTP(h)
	}
	reqs, resps := wire.HTTPStreams(xs, s.BytesUp, s.BytesDown, s.Start, t.seed)
	// Keep-alive requests spread over the session, as a page's later
	// fetches or a polling client's do.
	var pace time.Duration
	if n := time.Duration(len(xs)); n > 1 {
		pace = max((s.Duration-4*t.rtt)/n-t.think-2*time.Millisecond, 0)
	}
	for i := range xs {
		if i > 0 {
			t.ts.Wait(pace)
		}
		t.send(true, reqs[i])
		t.ts.Wait(t.think)
		t.send(false, resps[i])
	}
}
