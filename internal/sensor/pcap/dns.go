package pcap

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// maxPendingDNS bounds the unanswered queries kept per flow; beyond it
// the oldest is emitted without a reply.
const maxPendingDNS = 64

// dnsFlow holds a flow's queries that still wait for their response.
type dnsFlow struct {
	msg     layers.DNS
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
	m := &f.dns.msg
	if err := m.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		return // Zeek logs a weird; the conn still counts
	}
	if !m.QR {
		q := &event.DNS{
			Meta:    event.Meta{TS: p.ts, UID: f.uid, ID: f.id},
			Proto:   proto,
			TransID: m.ID,
			RD:      m.RD,
		}
		setQuestion(q, m)
		if len(f.dns.pending) >= maxPendingDNS {
			en.emitEvent(f.dns.pending[0])
			f.dns.pending = f.dns.pending[1:]
		}
		f.dns.pending = append(f.dns.pending, q)
		return
	}
	var d *event.DNS
	for i, q := range f.dns.pending {
		if q.TransID == m.ID {
			d = q
			f.dns.pending = append(f.dns.pending[:i], f.dns.pending[i+1:]...)
			break
		}
	}
	if d == nil {
		d = &event.DNS{Meta: event.Meta{TS: p.ts, UID: f.uid, ID: f.id}, Proto: proto, TransID: m.ID, RD: m.RD}
		setQuestion(d, m)
	} else {
		d.RTT = p.ts.Sub(d.TS)
	}
	d.HasReply = true
	d.RCode = uint16(m.ResponseCode)
	d.RCodeName = rcodeName(d.RCode)
	d.AA, d.TC, d.RA = m.AA, m.TC, m.RA
	for i := range m.Answers {
		rr := &m.Answers[i]
		if s, ok := answerText(rr); ok {
			d.Answers = append(d.Answers, s)
			d.TTLs = append(d.TTLs, time.Duration(rr.TTL)*time.Second)
		}
	}
	// Zeek marks replies that refuse to answer (rcode other than NOERROR
	// and NXDOMAIN, with no answers) as rejected.
	d.Rejected = d.RCode != 0 && d.RCode != 3 && len(m.Answers) == 0
	en.emitEvent(d)
}

func setQuestion(d *event.DNS, m *layers.DNS) {
	if len(m.Questions) == 0 {
		return
	}
	q := &m.Questions[0]
	d.Query = string(q.Name)
	d.QClass = uint16(q.Class)
	d.QType = uint16(q.Type)
	d.QTypeName = qtypeName(d.QType)
}

// dnsFlush emits the flow's queries that never got a response.
func (en *Engine) dnsFlush(f *flow) {
	for _, q := range f.dns.pending {
		en.emitEvent(q)
	}
	f.dns.pending = nil
}

// answerText writes an answer's data as Zeek's dns.log does.
func answerText(rr *layers.DNSResourceRecord) (string, bool) {
	switch rr.Type {
	case layers.DNSTypeA, layers.DNSTypeAAAA:
		if a, ok := netip.AddrFromSlice(rr.IP); ok {
			return a.Unmap().String(), true
		}
	case layers.DNSTypeCNAME:
		return string(rr.CNAME), true
	case layers.DNSTypeNS:
		return string(rr.NS), true
	case layers.DNSTypePTR:
		return string(rr.PTR), true
	case layers.DNSTypeMX:
		return string(rr.MX.Name), true
	case layers.DNSTypeSRV:
		return string(rr.SRV.Name), true
	case layers.DNSTypeSOA:
		return string(rr.SOA.MName), true
	case layers.DNSTypeTXT, 99: // 99 is SPF
		var sb strings.Builder
		for i, t := range rr.TXTs {
			if i > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "TXT %d %s", len(t), t)
		}
		return sb.String(), true
	case layers.DNSTypeOPT:
		return "", false
	}
	return "<unknown type=" + strconv.Itoa(int(rr.Type)) + ">", true
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
