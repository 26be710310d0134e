package pcapgen

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSAnswer is one resource record of a DNS response, in a simpler form
// than dnsmessage.Resource.
type DNSAnswer struct {
	// Name is the owner name; empty means the question's name, or the
	// target of the previous CNAME answer.
	Name string
	// Type is the record type; 0 means the question's type.
	Type dnsmessage.Type
	// TTL in seconds; 0 means 300.
	TTL uint32
	// Data is the record's value: an address for A and AAAA, a domain
	// name for CNAME, PTR and NS, the text for TXT, "pref name" for MX
	// and "priority weight port target" for SRV.
	Data string
}

// DNS describes one query and its response for Writer.DNSExchange.
type DNS struct {
	ID   uint16
	Name string
	// Type is the query type; 0 means A.
	Type    dnsmessage.Type
	Answers []DNSAnswer
	// RCode is the response code (dnsmessage.RCodeNameError for
	// NXDOMAIN).
	RCode dnsmessage.RCode
	// NoResponse writes only the query (a lost or unanswered lookup).
	NoResponse bool
	// Delay is the resolver's response time; 0 means 12ms.
	Delay time.Duration
}

func (q DNS) qtype() dnsmessage.Type {
	if q.Type == 0 {
		return dnsmessage.TypeA
	}
	return q.Type
}

func fqdn(n string) (dnsmessage.Name, error) {
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return dnsmessage.NewName(n)
}

// QueryBytes returns the wire form of the query (recursion desired).
func (q DNS) QueryBytes() ([]byte, error) {
	name, err := fqdn(q.Name)
	if err != nil {
		return nil, fmt.Errorf("dns name %q: %w", q.Name, err)
	}
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: q.ID, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: name, Type: q.qtype(), Class: dnsmessage.ClassINET}},
	}
	return m.Pack()
}

// ResponseBytes returns the wire form of the response.
func (q DNS) ResponseBytes() ([]byte, error) {
	name, err := fqdn(q.Name)
	if err != nil {
		return nil, fmt.Errorf("dns name %q: %w", q.Name, err)
	}
	m := dnsmessage.Message{
		Header: dnsmessage.Header{ID: q.ID, Response: true, RecursionDesired: true,
			RecursionAvailable: true, RCode: q.RCode},
		Questions: []dnsmessage.Question{{Name: name, Type: q.qtype(), Class: dnsmessage.ClassINET}},
	}
	owner := name
	for _, a := range q.Answers {
		r, err := a.resource(owner, q.qtype())
		if err != nil {
			return nil, err
		}
		m.Answers = append(m.Answers, r)
		if c, ok := r.Body.(*dnsmessage.CNAMEResource); ok {
			owner = c.CNAME
		}
	}
	return m.Pack()
}

func (a DNSAnswer) resource(owner dnsmessage.Name, qtype dnsmessage.Type) (dnsmessage.Resource, error) {
	if a.Name != "" {
		n, err := fqdn(a.Name)
		if err != nil {
			return dnsmessage.Resource{}, fmt.Errorf("dns answer name %q: %w", a.Name, err)
		}
		owner = n
	}
	typ := a.Type
	if typ == 0 {
		typ = qtype
	}
	ttl := a.TTL
	if ttl == 0 {
		ttl = 300
	}
	h := dnsmessage.ResourceHeader{Name: owner, Type: typ, Class: dnsmessage.ClassINET, TTL: ttl}
	var body dnsmessage.ResourceBody
	switch typ {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA:
		ip, err := netip.ParseAddr(a.Data)
		if err != nil {
			return dnsmessage.Resource{}, fmt.Errorf("dns answer %q: %w", a.Data, err)
		}
		if typ == dnsmessage.TypeA && ip.Is4() {
			body = &dnsmessage.AResource{A: ip.As4()}
		} else if typ == dnsmessage.TypeAAAA && ip.Is6() {
			body = &dnsmessage.AAAAResource{AAAA: ip.As16()}
		} else {
			return dnsmessage.Resource{}, fmt.Errorf("dns answer %q does not fit type %v", a.Data, typ)
		}
	case dnsmessage.TypeCNAME, dnsmessage.TypePTR, dnsmessage.TypeNS:
		n, err := fqdn(a.Data)
		if err != nil {
			return dnsmessage.Resource{}, fmt.Errorf("dns answer %q: %w", a.Data, err)
		}
		switch typ {
		case dnsmessage.TypeCNAME:
			body = &dnsmessage.CNAMEResource{CNAME: n}
		case dnsmessage.TypePTR:
			body = &dnsmessage.PTRResource{PTR: n}
		default:
			body = &dnsmessage.NSResource{NS: n}
		}
	case dnsmessage.TypeTXT:
		body = &dnsmessage.TXTResource{TXT: []string{a.Data}}
	case dnsmessage.TypeMX, dnsmessage.TypeSRV:
		// "10 mail.example.com" or "0 5 443 sip.example.com"; a bare name
		// gets preference (priority) 10, weight 0 and port 0.
		f := strings.Fields(a.Data)
		if len(f) == 0 {
			return dnsmessage.Resource{}, fmt.Errorf("dns answer %q: empty", a.Data)
		}
		n, err := fqdn(f[len(f)-1])
		if err != nil {
			return dnsmessage.Resource{}, fmt.Errorf("dns answer %q: %w", a.Data, err)
		}
		num := func(i int, def uint16) uint16 {
			if i >= len(f)-1 {
				return def
			}
			v, err := strconv.ParseUint(f[i], 10, 16)
			if err != nil {
				return def
			}
			return uint16(v)
		}
		if typ == dnsmessage.TypeMX {
			body = &dnsmessage.MXResource{Pref: num(0, 10), MX: n}
		} else {
			body = &dnsmessage.SRVResource{Priority: num(0, 10), Weight: num(1, 0), Port: num(2, 0), Target: n}
		}
	default:
		return dnsmessage.Resource{}, fmt.Errorf("dns answer type %v not supported", typ)
	}
	return dnsmessage.Resource{Header: h, Body: body}, nil
}

// DNSExchange writes a DNS query from client to resolver port 53 and,
// unless q.NoResponse, the resolver's response q.Delay later. It returns
// the time of the last packet written.
func (w *Writer) DNSExchange(ts time.Time, client Endpoint, resolver Host, q DNS) time.Time {
	query, err := q.QueryBytes()
	if err != nil {
		w.fail(err)
		return ts
	}
	srv := resolver.At(53)
	w.UDP(ts, client, srv, query)
	if q.NoResponse {
		return ts
	}
	resp, err := q.ResponseBytes()
	if err != nil {
		w.fail(err)
		return ts
	}
	d := q.Delay
	if d <= 0 {
		d = 12 * time.Millisecond
	}
	ts = ts.Add(d)
	w.UDP(ts, srv, client, resp)
	return ts
}
