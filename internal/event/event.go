// Package event defines Vigil's one event model: the typed records that every
// source (pcap, live interface, Zeek logs) produces and every later stage
// consumes. The field set and meaning follow Zeek's logs (conn, http, ssl,
// x509, dns, dhcp) so that an analyst who knows Zeek knows these events, and
// so that events from one connection share its uid and join trivially.
//
// This package imports nothing from the project.
package event

import (
	"net/netip"
	"time"
)

// Kind names the type of an event.
type Kind uint8

// The kinds of event, one per Zeek log that Vigil understands.
const (
	KindConn Kind = iota + 1
	KindHTTP
	KindTLS
	KindX509
	KindDNS
	KindDHCP
)

// NumKinds is one more than the largest Kind, for arrays indexed by kind.
const NumKinds = int(KindDHCP) + 1

// Kinds lists every kind in a fixed order (for summaries and tests).
var Kinds = []Kind{KindConn, KindHTTP, KindTLS, KindX509, KindDNS, KindDHCP}

var kindNames = [...]string{"", "conn", "http", "tls", "x509", "dns", "dhcp"}

// String returns the kind's short name ("conn", "http", "tls", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Event is one typed record. The concrete types are *Conn, *HTTP, *TLS,
// *X509, *DNS and *DHCP; a consumer switches on the type or on Kind.
// An event handed to a consumer belongs to it: producers never reuse one.
type Event interface {
	Kind() Kind
	// Base returns the fields every event shares.
	Base() *Meta
}

// Proto is the transport protocol of a connection.
type Proto uint8

// Transport protocols, named as in Zeek's conn.log.
const (
	ProtoUnknown Proto = iota
	ProtoTCP
	ProtoUDP
	ProtoICMP
)

var protoNames = [...]string{"unknown_transport", "tcp", "udp", "icmp"}

// String returns the Zeek name: "tcp", "udp", "icmp" or "unknown_transport".
func (p Proto) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return "unknown_transport"
}

// ParseProto maps a Zeek transport name to a Proto.
func ParseProto(s string) Proto {
	switch s {
	case "tcp":
		return ProtoTCP
	case "udp":
		return ProtoUDP
	case "icmp":
		return ProtoICMP
	}
	return ProtoUnknown
}

// ConnID is Zeek's conn_id: the originator and responder of a connection.
// For ICMP the ports carry type (OrigP) and code (RespP), as in Zeek.
type ConnID struct {
	OrigH netip.Addr `json:"orig_h"`
	OrigP uint16     `json:"orig_p"`
	RespH netip.Addr `json:"resp_h"`
	RespP uint16     `json:"resp_p"`
}

// Meta holds what every event has: its time, the uid of the connection it
// belongs to, and that connection's endpoints.
type Meta struct {
	// TS is the event's time: for a connection, its first packet; for a
	// request or handshake, when it started.
	TS time.Time `json:"ts"`
	// UID identifies the connection; every event of one connection carries
	// the same value. Empty when the source gives none (e.g. some x509 logs).
	UID string `json:"uid,omitempty"`
	ID  ConnID `json:"id"`
}

// Base returns m itself, so that types embedding Meta satisfy Event.
func (m *Meta) Base() *Meta { return m }

// ConnState is Zeek's conn_state: how a connection started and ended.
type ConnState string

// Zeek's conn_state values.
const (
	StateS0     ConnState = "S0"     // SYN seen, no reply
	StateS1     ConnState = "S1"     // established, not terminated
	StateSF     ConnState = "SF"     // normal establishment and termination
	StateREJ    ConnState = "REJ"    // SYN answered by RST
	StateS2     ConnState = "S2"     // established, close attempt by originator only
	StateS3     ConnState = "S3"     // established, close attempt by responder only
	StateRSTO   ConnState = "RSTO"   // established, originator aborted (RST)
	StateRSTR   ConnState = "RSTR"   // responder sent a RST
	StateRSTOS0 ConnState = "RSTOS0" // originator sent SYN then RST, no SYN-ACK
	StateRSTRH  ConnState = "RSTRH"  // responder sent SYN-ACK then RST, no SYN from originator
	StateSH     ConnState = "SH"     // originator sent SYN then FIN, no SYN-ACK
	StateSHR    ConnState = "SHR"    // responder sent SYN-ACK then FIN, no SYN from originator
	StateOTH    ConnState = "OTH"    // no SYN seen, midstream traffic
)

// Failed reports whether the state means the connection never established
// (attempts that C2 retries and scans leave behind).
func (s ConnState) Failed() bool {
	switch s {
	case StateS0, StateREJ, StateRSTOS0, StateRSTRH, StateSH, StateSHR:
		return true
	}
	return false
}

// Conn is a connection summary with Zeek conn.log semantics. It is emitted
// when the connection ends or times out, after the events it carries.
type Conn struct {
	Meta
	Proto Proto `json:"proto"`
	// Service lists the application protocols recognised, comma-separated
	// in Zeek's names ("http", "ssl", "dns", "dhcp").
	Service  string        `json:"service,omitempty"`
	Duration time.Duration `json:"duration"`
	// OrigBytes and RespBytes count payload bytes (for TCP, from sequence
	// numbers, so retransmissions do not count twice).
	OrigBytes   int64     `json:"orig_bytes"`
	RespBytes   int64     `json:"resp_bytes"`
	ConnState   ConnState `json:"conn_state,omitempty"`
	MissedBytes int64     `json:"missed_bytes"`
	// History is Zeek's history string (ShADadFfRr... ; upper case for the
	// originator, lower case for the responder).
	History     string `json:"history,omitempty"`
	OrigPkts    int64  `json:"orig_pkts"`
	OrigIPBytes int64  `json:"orig_ip_bytes"`
	RespPkts    int64  `json:"resp_pkts"`
	RespIPBytes int64  `json:"resp_ip_bytes"`
	// OrigL2Addr and RespL2Addr are the link-layer (MAC) addresses, when known.
	OrigL2Addr string `json:"orig_l2_addr,omitempty"`
	RespL2Addr string `json:"resp_l2_addr,omitempty"`
	VLAN       uint16 `json:"vlan,omitempty"`
}

// Kind returns KindConn.
func (*Conn) Kind() Kind { return KindConn }

// HTTP is one HTTP/1.x request and its response (Zeek http.log).
type HTTP struct {
	Meta
	// TransDepth is the request's position in the connection, from 1
	// (pipelined and keep-alive requests count up).
	TransDepth int    `json:"trans_depth"`
	Method     string `json:"method,omitempty"`
	Host       string `json:"host,omitempty"`
	URI        string `json:"uri,omitempty"`
	Referrer   string `json:"referrer,omitempty"`
	Version    string `json:"version,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	Origin     string `json:"origin,omitempty"`
	// RequestBodyLen and ResponseBodyLen count body bytes after transfer
	// decoding (chunked bodies are counted, never stored).
	RequestBodyLen  int64  `json:"request_body_len"`
	ResponseBodyLen int64  `json:"response_body_len"`
	StatusCode      int    `json:"status_code,omitempty"`
	StatusMsg       string `json:"status_msg,omitempty"`
	// ReqContentType and RespContentType are the Content-Type header values
	// without parameters. From Zeek logs they come from orig_mime_types and
	// resp_mime_types (content sniffing), the closest Zeek records.
	ReqContentType  string `json:"request_content_type,omitempty"`
	RespContentType string `json:"response_content_type,omitempty"`
	// Proxied holds proxy-revealing request headers (Via, X-Forwarded-For,
	// Forwarded, ...) as "NAME -> value", as Zeek records them.
	Proxied []string `json:"proxied,omitempty"`
}

// Kind returns KindHTTP.
func (*HTTP) Kind() Kind { return KindHTTP }

// TLS is one TLS handshake (Zeek ssl.log, with the x509 leaf folded in).
type TLS struct {
	Meta
	// Version is the negotiated version in Zeek's spelling ("TLSv12",
	// "TLSv13", "SSLv3", "DTLSv12").
	Version     string `json:"version,omitempty"`
	Cipher      string `json:"cipher,omitempty"`
	Curve       string `json:"curve,omitempty"`
	ServerName  string `json:"server_name,omitempty"`
	Resumed     bool   `json:"resumed"`
	Established bool   `json:"established"`
	// ALPN is what the client offered; NextProtocol what the server chose.
	ALPN         []string `json:"alpn,omitempty"`
	NextProtocol string   `json:"next_protocol,omitempty"`
	JA3          string   `json:"ja3,omitempty"`
	JA3S         string   `json:"ja3s,omitempty"`
	JA4          string   `json:"ja4,omitempty"`
	// CertChainFps are the SHA-256 fingerprints (lower-case hex) of the
	// server's certificates, leaf first. Empty for TLS 1.3, whose
	// certificates are encrypted: see CertsEncrypted.
	CertChainFps       []string `json:"cert_chain_fps,omitempty"`
	ClientCertChainFps []string `json:"client_cert_chain_fps,omitempty"`
	// CertsEncrypted is true when the handshake's certificates could not be
	// seen because the protocol encrypts them (TLS 1.3), so the absence of
	// a certificate says nothing.
	CertsEncrypted bool `json:"certs_encrypted,omitempty"`
	// Subject, Issuer, NotBefore, NotAfter and SelfSigned describe the leaf
	// certificate, when it was seen.
	Subject    string    `json:"subject,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	NotBefore  time.Time `json:"not_before,omitzero"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	SelfSigned bool      `json:"self_signed,omitempty"`
	// SNIMatchesCert reports whether the SNI is covered by the leaf's names
	// (nil when unknown).
	SNIMatchesCert *bool `json:"sni_matches_cert,omitempty"`
}

// Kind returns KindTLS.
func (*TLS) Kind() Kind { return KindTLS }

// X509 is one certificate seen in a handshake (Zeek x509.log).
type X509 struct {
	Meta
	// Fingerprint is the SHA-256 of the DER encoding, lower-case hex.
	Fingerprint string    `json:"fingerprint"`
	Version     int       `json:"certificate_version,omitempty"`
	Serial      string    `json:"serial,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Issuer      string    `json:"issuer,omitempty"`
	NotBefore   time.Time `json:"not_valid_before,omitzero"`
	NotAfter    time.Time `json:"not_valid_after,omitzero"`
	KeyAlg      string    `json:"key_alg,omitempty"`
	SigAlg      string    `json:"sig_alg,omitempty"`
	KeyType     string    `json:"key_type,omitempty"`
	KeyLength   int       `json:"key_length,omitempty"`
	SANDNS      []string  `json:"san_dns,omitempty"`
	SANIP       []string  `json:"san_ip,omitempty"`
	BasicCA     bool      `json:"basic_constraints_ca,omitempty"`
	HostCert    bool      `json:"host_cert,omitempty"`
	ClientCert  bool      `json:"client_cert,omitempty"`
	// SelfSigned is true when issuer equals subject and the certificate's
	// signature verifies with its own key (from Zeek logs, when issuer
	// equals subject).
	SelfSigned bool `json:"self_signed,omitempty"`
}

// Kind returns KindX509.
func (*X509) Kind() Kind { return KindX509 }

// DNS is one DNS query and its answer (Zeek dns.log).
type DNS struct {
	Meta
	Proto   Proto         `json:"proto"`
	TransID uint16        `json:"trans_id"`
	RTT     time.Duration `json:"rtt,omitempty"`
	Query   string        `json:"query,omitempty"`
	QClass  uint16        `json:"qclass,omitempty"`
	QType   uint16        `json:"qtype,omitempty"`
	// QTypeName and RCodeName use Zeek's spelling ("A", "AAAA", "TXT";
	// "NOERROR", "NXDOMAIN").
	QTypeName string `json:"qtype_name,omitempty"`
	RCode     uint16 `json:"rcode"`
	RCodeName string `json:"rcode_name,omitempty"`
	// HasReply is false when no response was seen (RCode is then meaningless).
	HasReply bool `json:"has_reply"`
	AA       bool `json:"AA"`
	TC       bool `json:"TC"`
	RD       bool `json:"RD"`
	RA       bool `json:"RA"`
	// Answers holds the answer records' data as text (addresses, names,
	// TXT strings); TTLs is parallel to it.
	Answers  []string        `json:"answers,omitempty"`
	TTLs     []time.Duration `json:"TTLs,omitempty"`
	Rejected bool            `json:"rejected"`
}

// Kind returns KindDNS.
func (*DNS) Kind() Kind { return KindDNS }

// NXDomain reports whether the server answered that the name does not exist.
func (d *DNS) NXDomain() bool { return d.HasReply && d.RCode == 3 }

// DHCP is one DHCP exchange (Zeek dhcp.log): the messages of one
// transaction id folded into one record.
type DHCP struct {
	Meta
	// UIDs lists the connections the exchange spans (Zeek's uids); Meta.UID
	// is the first of them.
	UIDs          []string      `json:"uids,omitempty"`
	ClientAddr    netip.Addr    `json:"client_addr,omitzero"`
	ServerAddr    netip.Addr    `json:"server_addr,omitzero"`
	MAC           string        `json:"mac,omitempty"`
	HostName      string        `json:"host_name,omitempty"`
	ClientFQDN    string        `json:"client_fqdn,omitempty"`
	Domain        string        `json:"domain,omitempty"`
	RequestedAddr netip.Addr    `json:"requested_addr,omitzero"`
	AssignedAddr  netip.Addr    `json:"assigned_addr,omitzero"`
	LeaseTime     time.Duration `json:"lease_time,omitempty"`
	MsgTypes      []string      `json:"msg_types,omitempty"`
	Duration      time.Duration `json:"duration,omitempty"`
}

// Kind returns KindDHCP.
func (*DHCP) Kind() Kind { return KindDHCP }

// Compile-time checks that every type is an Event.
var (
	_ Event = (*Conn)(nil)
	_ Event = (*HTTP)(nil)
	_ Event = (*TLS)(nil)
	_ Event = (*X509)(nil)
	_ Event = (*DNS)(nil)
	_ Event = (*DHCP)(nil)
)
