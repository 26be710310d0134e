package zeek

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// gen makes random events in the canonical form that a Zeek log can carry
// exactly (lists are nil or have non-empty elements; a DNS event without
// reply has RCode 0; a DHCP event's UID is its first uid). Every field of
// every type gets values, including awkward bytes in strings.
type gen struct {
	r  *rand.Rand
	ts time.Time
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ts: time.Unix(1700000000, 0).UTC()}
}

// next advances time by a random step, sometimes sub-microsecond.
func (g *gen) next() time.Time {
	step := time.Duration(g.r.IntN(5_000_000)) * time.Microsecond
	if g.r.IntN(4) == 0 {
		step += time.Duration(g.r.IntN(1000))
	}
	g.ts = g.ts.Add(step + time.Nanosecond)
	return g.ts
}

var awkward = []string{"-", "(empty)", "a,b", "tab\there", "new\nline", "back\\slash", "\\x41", "ü", "\xff\xfe", "\x00", "#fields", " lead", "trail ", "\r"}

func (g *gen) str() string {
	switch g.r.IntN(6) {
	case 0:
		return ""
	case 1:
		return awkward[g.r.IntN(len(awkward))]
	}
	n := 1 + g.r.IntN(20)
	b := make([]byte, n)
	for i := range b {
		if g.r.IntN(10) == 0 {
			b[i] = byte(g.r.IntN(256))
		} else {
			b[i] = byte('a' + g.r.IntN(26))
		}
	}
	return string(b)
}

func (g *gen) strs() []string {
	n := g.r.IntN(4)
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		for l[i] == "" {
			l[i] = g.str()
		}
	}
	return l
}

func (g *gen) addr() netip.Addr {
	switch g.r.IntN(5) {
	case 0:
		return netip.Addr{}
	case 1:
		var b [16]byte
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{10, byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256))})
}

func (g *gen) dur() time.Duration {
	if g.r.IntN(5) == 0 {
		return 0
	}
	d := time.Duration(g.r.Int64N(int64(48 * time.Hour)))
	if g.r.IntN(2) == 0 {
		d = d.Truncate(time.Microsecond)
	}
	return d
}

func (g *gen) time() time.Time {
	if g.r.IntN(4) == 0 {
		return time.Time{}
	}
	return time.Unix(g.r.Int64N(4e9)-1e9, int64(g.r.IntN(1e9))).UTC()
}

func (g *gen) n() int64 { return g.r.Int64N(1 << uint(g.r.IntN(62))) }

func (g *gen) uid() string {
	if g.r.IntN(8) == 0 {
		return ""
	}
	return fmt.Sprintf("C%016x", g.r.Uint64())
}

func (g *gen) meta() event.Meta {
	return event.Meta{TS: g.next(), UID: g.uid(), ID: event.ConnID{
		OrigH: g.addr(), OrigP: uint16(g.r.IntN(65536)), RespH: g.addr(), RespP: uint16(g.r.IntN(65536)),
	}}
}

func (g *gen) bool() bool { return g.r.IntN(2) == 0 }

func (g *gen) event(k event.Kind) event.Event {
	switch k {
	case event.KindConn:
		return &event.Conn{Meta: g.meta(), Proto: event.Proto(g.r.IntN(4)), Service: g.str(),
			Duration: g.dur(), OrigBytes: g.n(), RespBytes: g.n(), ConnState: event.ConnState(g.str()),
			MissedBytes: g.n(), History: g.str(), OrigPkts: g.n(), OrigIPBytes: g.n(), RespPkts: g.n(),
			RespIPBytes: g.n(), OrigL2Addr: g.str(), RespL2Addr: g.str(), VLAN: uint16(g.r.IntN(4096))}
	case event.KindHTTP:
		return &event.HTTP{Meta: g.meta(), TransDepth: g.r.IntN(100), Method: g.str(), Host: g.str(),
			URI: g.str(), Referrer: g.str(), Version: g.str(), UserAgent: g.str(), Origin: g.str(),
			RequestBodyLen: g.n(), ResponseBodyLen: g.n(), StatusCode: g.r.IntN(600), StatusMsg: g.str(),
			ReqContentType: g.str(), RespContentType: g.str(), Proxied: g.strs()}
	case event.KindTLS:
		t := &event.TLS{Meta: g.meta(), Version: g.str(), Cipher: g.str(), Curve: g.str(), ServerName: g.str(),
			Resumed: g.bool(), Established: g.bool(), ALPN: g.strs(), NextProtocol: g.str(), JA3: g.str(),
			JA3S: g.str(), JA4: g.str(), CertChainFps: g.strs(), ClientCertChainFps: g.strs(),
			CertsEncrypted: g.bool(), Subject: g.str(), Issuer: g.str(), NotBefore: g.time(),
			NotAfter: g.time(), SelfSigned: g.bool()}
		if g.r.IntN(3) > 0 {
			b := g.bool()
			t.SNIMatchesCert = &b
		}
		return t
	case event.KindX509:
		return &event.X509{Meta: g.meta(), Fingerprint: g.str(), Version: g.r.IntN(4), Serial: g.str(),
			Subject: g.str(), Issuer: g.str(), NotBefore: g.time(), NotAfter: g.time(), KeyAlg: g.str(),
			SigAlg: g.str(), KeyType: g.str(), KeyLength: g.r.IntN(8192), SANDNS: g.strs(), SANIP: g.strs(),
			BasicCA: g.bool(), HostCert: g.bool(), ClientCert: g.bool(), SelfSigned: g.bool()}
	case event.KindDNS:
		d := &event.DNS{Meta: g.meta(), Proto: event.Proto(g.r.IntN(4)), TransID: uint16(g.r.IntN(65536)),
			RTT: g.dur(), Query: g.str(), QClass: uint16(g.r.IntN(300)), QType: uint16(g.r.IntN(300)),
			QTypeName: g.str(), RCode: uint16(g.r.IntN(24)), RCodeName: g.str(), HasReply: g.bool(),
			AA: g.bool(), TC: g.bool(), RD: g.bool(), RA: g.bool(), Answers: g.strs(), Rejected: g.bool()}
		if !d.HasReply {
			d.RCode = 0
		}
		if n := g.r.IntN(4); n > 0 {
			d.TTLs = make([]time.Duration, n)
			for i := range d.TTLs {
				d.TTLs[i] = g.dur()
			}
		}
		return d
	case event.KindDHCP:
		d := &event.DHCP{Meta: g.meta(), UIDs: g.strs(), ClientAddr: g.addr(), ServerAddr: g.addr(),
			MAC: g.str(), HostName: g.str(), ClientFQDN: g.str(), Domain: g.str(), RequestedAddr: g.addr(),
			AssignedAddr: g.addr(), LeaseTime: g.dur(), MsgTypes: g.strs(), Duration: g.dur()}
		if len(d.UIDs) > 0 {
			d.UID = d.UIDs[0]
		}
		return d
	}
	panic("unknown kind")
}

// connLog returns a realistic conn.log of n records, as Zeek 6 writes it.
func connLog(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2024-04-19-10-00-00\n")
	b.WriteString("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n")
	b.WriteString("#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n")
	ts := int64(1713520800_000000)
	services := []string{"dns", "ssl", "http", "-", "dhcp", "ntp"}
	states := []string{"SF", "S0", "REJ", "OTH", "RSTO", "SH"}
	hist := []string{"ShADadFf", "D", "S", "Dd", "ShADadR", "ShAdDaFf"}
	for i := 0; i < n; i++ {
		ts += int64(r.IntN(20000))
		const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		uid := make([]byte, 18)
		uid[0] = 'C'
		for j := 1; j < len(uid); j++ {
			uid[j] = letters[r.IntN(len(letters))]
		}
		var resp string
		if r.IntN(10) == 0 {
			resp = fmt.Sprintf("2001:db8::%x", r.IntN(65536))
		} else {
			resp = fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), r.IntN(256))
		}
		s := r.IntN(len(services))
		fmt.Fprintf(&b, "%d.%06d\t%s\t10.0.%d.%d\t%d\t%s\t%d\t%s\t%s\t%d.%06d\t%d\t%d\t%s\tT\tF\t0\t%s\t%d\t%d\t%d\t%d\t-\n",
			ts/1e6, ts%1e6, uid, r.IntN(256), r.IntN(256), 1024+r.IntN(60000), resp, []int{53, 443, 80, 443, 67, 123}[s],
			[]string{"udp", "tcp", "tcp", "tcp", "udp", "udp"}[s], services[s], r.IntN(100), r.IntN(1e6),
			r.IntN(100000), r.IntN(10000000), states[r.IntN(len(states))], hist[r.IntN(len(hist))],
			r.IntN(1000), r.IntN(100000), r.IntN(1000), r.IntN(10000000))
	}
	b.WriteString("#close\t2024-04-19-11-00-00\n")
	return b.Bytes()
}
