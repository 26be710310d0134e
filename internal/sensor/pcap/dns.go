package pcap

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// maxPendingDNS bounds the unanswered queries kept per flow; beyond it
// the oldest is emitted without a reply.
const maxPendingDNS = 64

// dnsFlow holds a flow's queries that still wait for their response.
type dnsFlow struct {
	pending []*event.DNS
}

func (en *Engine) dnsTCPMessage(f *flow, dir stream.Dir, ts time.Time, b []byte) {
	en.pkt.ts = ts
	en.dnsMessage(f, &en.pkt, event.ProtoTCP, b)
}

// dnsMessage matches one DNS message against the flow's pending queries
// by transaction id, as Zeek's dns.log does, and emits completed pairs.
func (en *Engine) dnsMessage(f *flow, p *packet, proto event.Proto, b []byte) {
	if f.dns == nil {
		f.dns = &dnsFlow{}
		f.addService("dns")
	}
	var pr dnsmessage.Parser
	h, err := pr.Start(b)
	if err != nil {
		return // Zeek logs a weird; the conn still counts
	}
	q, qerr := pr.Question()
	if !h.Response {
		d := &event.DNS{Meta: event.Meta{TS: p.ts, UID: f.uid, ID: f.id}, Proto: proto, TransID: h.ID, RD: h.RecursionDesired}
		if qerr == nil {
			setQuestion(d, &q)
		}
		if len(f.dns.pending) >= maxPendingDNS {
			en.emitEvent(f.dns.pending[0])
			f.dns.pending = f.dns.pending[1:]
		}
		f.dns.pending = append(f.dns.pending, d)
		return
	}
	var d *event.DNS
	for i, pq := range f.dns.pending {
		if pq.TransID == h.ID {
			d = pq
			f.dns.pending = append(f.dns.pending[:i], f.dns.pending[i+1:]...)
			break
		}
	}
	if d == nil {
		d = &event.DNS{Meta: event.Meta{TS: p.ts, UID: f.uid, ID: f.id}, Proto: proto, TransID: h.ID, RD: h.RecursionDesired}
		if qerr == nil {
			setQuestion(d, &q)
		}
	} else {
		d.RTT = p.ts.Sub(d.TS)
	}
	d.HasReply = true
	d.RCode = uint16(h.RCode)
	d.RCodeName = rcodeName(d.RCode)
	d.AA, d.TC, d.RA = h.Authoritative, h.Truncated, h.RecursionAvailable
	nAns := 0
	if qerr == nil || errors.Is(qerr, dnsmessage.ErrSectionDone) {
		if err := pr.SkipAllQuestions(); err == nil {
			for {
				ah, err := pr.AnswerHeader()
				if err != nil {
					break
				}
				nAns++
				s, ok, err := answerText(&pr, ah)
				if err != nil {
					break // a damaged record: the parser cannot move past it
				}
				if ok {
					d.Answers = append(d.Answers, s)
					d.TTLs = append(d.TTLs, time.Duration(ah.TTL)*time.Second)
				}
			}
		}
	}
	// Zeek marks replies that refuse to answer (rcode other than NOERROR
	// and NXDOMAIN, with no answers) as rejected.
	d.Rejected = d.RCode != 0 && d.RCode != 3 && nAns == 0
	en.emitEvent(d)
}

func setQuestion(d *event.DNS, q *dnsmessage.Question) {
	d.Query = nameText(q.Name)
	d.QClass = uint16(q.Class)
	d.QType = uint16(q.Type)
	d.QTypeName = qtypeName(d.QType)
}

// nameText writes a name as Zeek does: without the root's trailing dot.
func nameText(n dnsmessage.Name) string {
	b := n.Data[:n.Length]
	if len(b) > 1 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	return string(b)
}

// dnsFlush emits the flow's queries that never got a response.
func (en *Engine) dnsFlush(f *flow) {
	for _, q := range f.dns.pending {
		en.emitEvent(q)
	}
	f.dns.pending = nil
}

// answerText reads the answer whose header was just parsed and writes its
// data as Zeek's dns.log does.
func answerText(pr *dnsmessage.Parser, h dnsmessage.ResourceHeader) (string, bool, error) {
	switch h.Type {
	case dnsmessage.TypeA:
		r, err := pr.AResource()
		if err != nil {
			return "", false, err
		}
		return netip.AddrFrom4(r.A).String(), true, nil
	case dnsmessage.TypeAAAA:
		r, err := pr.AAAAResource()
		if err != nil {
			return "", false, err
		}
		return netip.AddrFrom16(r.AAAA).String(), true, nil
	case dnsmessage.TypeCNAME:
		r, err := pr.CNAMEResource()
		if err != nil {
			return "", false, err
		}
		return nameText(r.CNAME), true, nil
	case dnsmessage.TypeNS:
		r, err := pr.NSResource()
		if err != nil {
			return "", false, err
		}
		return nameText(r.NS), true, nil
	case dnsmessage.TypePTR:
		r, err := pr.PTRResource()
		if err != nil {
			return "", false, err
		}
		return nameText(r.PTR), true, nil
	case dnsmessage.TypeMX:
		r, err := pr.MXResource()
		if err != nil {
			return "", false, err
		}
		return nameText(r.MX), true, nil
	case dnsmessage.TypeSRV:
		r, err := pr.SRVResource()
		if err != nil {
			return "", false, err
		}
		return nameText(r.Target), true, nil
	case dnsmessage.TypeSOA:
		r, err := pr.SOAResource()
		if err != nil {
			return "", false, err
		}
		return nameText(r.NS), true, nil
	case dnsmessage.TypeTXT:
		r, err := pr.TXTResource()
		if err != nil {
			return "", false, err
		}
		var sb strings.Builder
		for i, t := range r.TXT {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString("TXT ")
			sb.WriteString(strconv.Itoa(len(t)))
			sb.WriteByte(' ')
			sb.WriteString(t)
		}
		return sb.String(), true, nil
	case dnsmessage.TypeOPT:
		return "", false, pr.SkipAnswer()
	}
	return "<unknown type=" + strconv.Itoa(int(h.Type)) + ">", true, pr.SkipAnswer()
}

var qtypeNames = map[uint16]string{
	1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
	11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
	19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR", 24: "SIG", 25: "KEY", 26: "PX",
	27: "GPOS", 28: "AAAA", 29: "LOC", 30: "EID", 31: "NIMLOC", 32: "NB", 33: "SRV", 34: "ATMA",
	35: "NAPTR", 36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL",
	43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID",
	50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 59: "CDS", 60: "CDNSKEY",
	61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF", 100: "UINFO",
	101: "UID", 102: "GID", 103: "UNSPEC", 108: "EUI48", 109: "EUI64", 249: "TKEY", 250: "TSIG",
	251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "*", 256: "URI", 257: "CAA",
	32768: "TA", 32769: "DLV", 65281: "WINS", 65282: "WINS-R", 65521: "INTEGRITY",
}

// qtypeName spells a query type as Zeek's DNS::query_types does.
func qtypeName(t uint16) string {
	if s, ok := qtypeNames[t]; ok {
		return s
	}
	return "query-" + strconv.Itoa(int(t))
}

var rcodeNames = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSet", "NOTAUTH", "NOTZONE", "", "", "", "", "", "BADVERS", "BADKEY",
	"BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE"}

// rcodeName spells a response code as Zeek's DNS::base_errors does.
func rcodeName(c uint16) string {
	if int(c) < len(rcodeNames) && rcodeNames[c] != "" {
		return rcodeNames[c]
	}
	return "unknown-" + strconv.Itoa(int(c))
}
