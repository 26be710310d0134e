// Package stream is the contract between the pcap sensor's TCP reassembly
// and the application-layer analyzers (HTTP/1.x, TLS) that read the
// reassembled bytes. The core owns the connection; an analyzer sees only
// in-order payload and emits events through the function it was built with.
package stream

import (
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// Dir is the direction a payload travels.
type Dir uint8

// The two directions of a connection.
const (
	FromOrig Dir = 0 // originator to responder
	FromResp Dir = 1 // responder to originator
)

// Conn is what an analyzer knows of the connection whose bytes it reads.
// Events it emits carry this UID and ID.
type Conn struct {
	UID string
	ID  event.ConnID
}

// Analyzer reads one TCP connection's reassembled payload, both directions
// interleaved in capture order.
//
// The core calls Feed with in-order bytes only; data is valid only during
// the call (the analyzer copies what it keeps, and keeps little: bodies
// are counted, never stored). Gap reports bytes that will never arrive.
// Close is called exactly once, when the connection ends or times out, and
// the analyzer then emits whatever it still holds. Analyzers are not safe
// for concurrent use; one connection is fed by one goroutine.
type Analyzer interface {
	Feed(dir Dir, ts time.Time, data []byte)
	Gap(dir Dir, n int)
	Close(ts time.Time)
	// Service returns the Zeek service name ("http", "ssl") once the
	// analyzer has confirmed its protocol, "" before that.
	Service() string
	// Done reports that the analyzer needs no more bytes (a TLS analyzer
	// after the handshake, any analyzer after a parse failure), so the core
	// may stop reassembling for it.
	Done() bool
}
