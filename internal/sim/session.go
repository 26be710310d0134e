// Package sim simulates an organisation's network: devices with roles and
// working patterns, their benign traffic, and attack and shadow-AI
// scenarios injected on top, deterministically from a seed.
//
// The simulator works in two steps. The model (org, roles, schedules,
// scenarios) produces Sessions in start-time order: one conversation each,
// described at the level an analyst thinks of it (who talked to whom, when,
// with which protocol details and how many bytes). Renderers then turn
// Sessions into output: events straight into the pipeline or a JSONL file
// (fast), Zeek logs, or packets in a pcap (slowest, real protocol bytes).
// Every renderer sees the same Sessions, so the outputs agree.
package sim

import (
	"net/netip"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// Session is one simulated conversation between an internal device and a
// peer. The model fills it; renderers read it and never change it.
type Session struct {
	// Start is when the originator sends its first packet.
	Start time.Time
	// Client is the originating device (always internal in the org model,
	// except for inbound scenarios); Server the peer.
	Client, Server Endpoint
	Proto          event.Proto
	// State is how the connection ends: SF (normal), S0 (unanswered), REJ
	// (refused), RSTO/RSTR (reset after data). UDP exchanges use SF, or S0
	// when unanswered.
	State event.ConnState
	// Duration from the first to the last packet (0 for a single packet).
	Duration time.Duration
	// BytesUp and BytesDown are application payload bytes from the client
	// and from the server. Renderers that write protocol messages (HTTP,
	// TLS, DNS) count those messages in, and pad with opaque application
	// data (TLS records, bodies) up to these totals.
	BytesUp, BytesDown int64
	// At most one of these describes the application protocol.
	DNS  *DNS
	HTTP []HTTP // requests on one connection, in order (keep-alive)
	TLS  *TLS
	DHCP *DHCP
	// Label is the ground truth: "" for benign, else the scenario behaviour
	// this session belongs to (e.g. "macos-clickfix/c2-beacon").
	Label string
}

// Endpoint is one side of a session.
type Endpoint struct {
	IP   netip.Addr
	Port uint16
	// MAC as seen at the capture point: the device's own for internal
	// hosts on the capture segment, the gateway's for external peers.
	MAC string
	// TTL as seen at the capture point (64 Linux/macOS, 128 Windows, minus
	// hops for external peers).
	TTL uint8
}

// DNS is one query and its answer.
type DNS struct {
	Name  string
	QType uint16 // 1 A, 28 AAAA, 16 TXT, 12 PTR, 5 CNAME, 15 MX, 33 SRV
	// Answers as text, as in event.DNS (addresses, names, TXT strings).
	Answers []string
	TTL     time.Duration
	RCode   uint16 // 0 NOERROR, 3 NXDOMAIN, 2 SERVFAIL
	// NoReply: the query went unanswered.
	NoReply bool
}

// HTTP is one request and its response.
type HTTP struct {
	Method, Host, URI, UserAgent string
	// ReqContentType and RespContentType as sent in Content-Type.
	ReqContentType, RespContentType string
	ReqBody, RespBody               int64 // body lengths
	Status                          int
	// Chunked sends the response body chunked.
	Chunked bool
}

// TLS is one handshake (and the application data that follows, counted in
// the session's bytes).
type TLS struct {
	SNI  string // "" for none
	ALPN []string
	// Client names the client software profile (e.g. "chrome-win",
	// "safari-mac", "curl", "go-http", "python-requests", "powershell"),
	// which decides the ClientHello and so JA3/JA4.
	Client string
	// Version is the negotiated version: 0x0303 (1.2) or 0x0304 (1.3).
	Version uint16
	// CertNames are the server certificate's DNS names (TLS 1.2 only: 1.3
	// certificates are encrypted on the wire); SelfSigned whether it is.
	CertNames  []string
	SelfSigned bool
}

// DHCP is one lease exchange.
type DHCP struct {
	MAC, Hostname string
	Assigned      netip.Addr
	Lease         time.Duration
}
