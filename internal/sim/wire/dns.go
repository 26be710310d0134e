package wire

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// DNS is one query and its answer (the simulator's sim.DNS).
type DNS struct {
	Name  string
	QType uint16
	// Answers as text: addresses for A/AAAA (a name before them is the
	// CNAME chain), names for CNAME/PTR/NS, text for TXT (plain, or as
	// Zeek writes it: "TXT 11 v=spf1 -all"), "pref name" for MX,
	// "priority weight port target" for SRV.
	Answers []string
	TTL     time.Duration
	RCode   uint16
	// ID is the message ID (the renderer derives one per session).
	ID uint16
}

// DNSMessages returns the query and response messages of d (UDP
// payloads). Names are compressed as resolvers do, so the response is
// shorter than the sum of its names.
func DNSMessages(d DNS) (query, response []byte, err error) {
	q := d.pcapgen()
	if query, err = q.QueryBytes(); err != nil {
		return nil, nil, err
	}
	if response, err = q.ResponseBytes(); err != nil {
		return nil, nil, err
	}
	return query, response, nil
}

// DNSSizes returns the lengths of DNSMessages' query and response, the
// BytesUp and BytesDown of a DNS session over UDP (an invalid name
// counts as its rough uncompressed size).
func DNSSizes(d DNS) (up, down int64) {
	q, r, err := DNSMessages(d)
	if err != nil {
		n := int64(12 + len(d.Name) + 2 + 4)
		return n, n
	}
	return int64(len(q)), int64(len(r))
}

func (d DNS) pcapgen() pcapgen.DNS {
	q := pcapgen.DNS{ID: d.ID, Name: d.Name, Type: dnsmessage.Type(d.QType), RCode: dnsmessage.RCode(d.RCode)}
	if q.Type == 0 {
		q.Type = dnsmessage.TypeA
	}
	ttl := uint32(d.TTL / time.Second)
	if ttl == 0 {
		ttl = 60
	}
	for _, a := range d.Answers {
		if q.Type == dnsmessage.TypeTXT {
			a = txtData(a)
		}
		ans := pcapgen.DNSAnswer{TTL: ttl, Data: a}
		if ip, err := netip.ParseAddr(a); err == nil {
			ans.Type = dnsmessage.TypeA
			if ip.Is6() && !ip.Is4In6() {
				ans.Type = dnsmessage.TypeAAAA
			}
		} else if q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeAAAA {
			ans.Type = dnsmessage.TypeCNAME // a name in an address answer: the alias chain
		}
		q.Answers = append(q.Answers, ans)
	}
	return q
}

// txtData returns the text of a TXT answer written either plainly or in
// Zeek's "TXT <length> <text>" form.
func txtData(a string) string {
	rest, ok := strings.CutPrefix(a, "TXT ")
	if !ok {
		return a
	}
	n, text, ok := strings.Cut(rest, " ")
	if l, err := strconv.Atoi(n); ok && err == nil && l == len(text) {
		return text
	}
	return a
}
