package pcap

import (
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// AnalyzerFactory builds an application analyzer for a TCP connection from
// the first payload bytes seen in direction dir, or returns nil when those
// bytes are not its protocol. The analyzer emits through emit.
type AnalyzerFactory func(c stream.Conn, first []byte, dir stream.Dir, emit func(event.Event)) stream.Analyzer

// Config tunes the flow engine. The zero value is not useful; start from
// DefaultConfig. Defaults follow Zeek's (tcp_inactivity_timeout,
// udp_inactivity_timeout, icmp_inactivity_timeout, tcp_close_delay).
type Config struct {
	// TCPTimeout ends a TCP connection after this long without a packet.
	TCPTimeout time.Duration
	// UDPTimeout ends a UDP flow after this long without a packet.
	UDPTimeout time.Duration
	// ICMPTimeout ends an ICMP flow after this long without a packet.
	ICMPTimeout time.Duration
	// CloseLinger is how long a TCP connection that was closed (FIN both
	// ways) or reset stays in the table before its conn event is emitted,
	// so that late ACKs and retransmissions still count towards it.
	CloseLinger time.Duration
	// MaxFlows bounds the flow table. On overflow the least recently used
	// flow is emitted and dropped (counted in Stats.Evictions).
	MaxFlows int
	// MaxBuffer bounds the out-of-order bytes buffered per TCP direction;
	// beyond it the hole is declared a gap.
	MaxBuffer int
	// MaxFragments bounds the IPv4 datagrams being reassembled at once.
	MaxFragments int
	// Analyzers are tried in order on each TCP connection's first payload;
	// the first one that returns non-nil reads the connection.
	Analyzers []AnalyzerFactory
	// DNSPorts are the UDP and TCP ports whose payload is parsed as DNS.
	DNSPorts []uint16
}

// DefaultConfig returns Zeek-like defaults and no application analyzers.
func DefaultConfig() Config {
	return Config{
		TCPTimeout:   5 * time.Minute,
		UDPTimeout:   time.Minute,
		ICMPTimeout:  time.Minute,
		CloseLinger:  5 * time.Second,
		MaxFlows:     1 << 20,
		MaxBuffer:    256 << 10,
		MaxFragments: 4096,
		DNSPorts:     []uint16{53, 5353, 5355},
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TCPTimeout <= 0 {
		c.TCPTimeout = d.TCPTimeout
	}
	if c.UDPTimeout <= 0 {
		c.UDPTimeout = d.UDPTimeout
	}
	if c.ICMPTimeout <= 0 {
		c.ICMPTimeout = d.ICMPTimeout
	}
	if c.CloseLinger <= 0 {
		c.CloseLinger = d.CloseLinger
	}
	if c.MaxFlows <= 0 {
		c.MaxFlows = d.MaxFlows
	}
	if c.MaxBuffer <= 0 {
		c.MaxBuffer = d.MaxBuffer
	}
	if c.MaxFragments <= 0 {
		c.MaxFragments = d.MaxFragments
	}
	if c.DNSPorts == nil {
		c.DNSPorts = d.DNSPorts
	}
	return c
}

// Stats counts an engine's work since it was made.
type Stats struct {
	Packets   int64 // frames given to the engine
	Bytes     int64 // their captured bytes
	Flows     int64 // flows created
	Evictions int64 // flows emitted early because the table was full
	Malformed int64 // frames that could not be decoded
	Fragments int64 // IPv4 fragments seen
	Skipped   int64 // frames of no interest (ARP, non-IP, IPv6 fragments)
}
