// Package http1 reads HTTP/1.x from a reassembled TCP connection and emits
// one event.HTTP per request/response pair, as Zeek's http.log does.
//
// The parser is incremental and hand-written: it keeps at most one partial
// line per direction, copies only the header values it reports, and counts
// bodies (Content-Length, chunked, read-until-close) without storing them.
// Requests and responses are paired in order, so pipelined requests are
// answered by the responses that follow them.
package http1

import (
	"bytes"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// Limits that bound what one connection can make the analyzer hold.
const (
	// MaxLine is the longest request, status or header line accepted.
	MaxLine = 64 << 10
	// MaxHeader is the largest header block (or trailer block) accepted.
	MaxHeader = 256 << 10
	// maxPending bounds requests waiting for their response; past it the
	// oldest is emitted unanswered.
	maxPending = 64
	// maxResync bounds the bytes skipped while looking for the next
	// request or status line after a gap or a framing error.
	maxResync = 1 << 20
)

// state is where one direction's parser is.
type state uint8

const (
	stStart       state = iota // expecting a request or status line
	stHeaders                  // reading header lines
	stBody                     // Content-Length body: remain bytes left
	stChunkSize                // chunk-size line (with extensions)
	stChunkData                // chunk data: remain bytes left
	stChunkEnd                 // the CRLF after chunk data
	stTrailers                 // trailer lines after the last chunk
	stUntilClose               // response body delimited by the close
	stConnectWait              // client sent CONNECT; wait for the answer
	stResync                   // skipping to the next start line
	stStop                     // nothing more to parse in this direction
)

// hdr names a header the analyzer reports; hdrOther is everything else.
type hdr uint8

const (
	hdrOther hdr = iota
	hdrHost
	hdrReferer
	hdrUserAgent
	hdrOrigin
	hdrContentType
	hdrContentLength
	hdrTransferEncoding
	hdrProxy
)

// txn is one request and its response while they are being parsed.
type txn struct {
	ev        event.HTTP
	head      bool // HEAD request: the response has no body
	connect   bool // CONNECT request: a 2xx response starts a tunnel
	responded bool // a status line was parsed for it
}

// half is one direction's parser.
type half struct {
	st       state
	buf      []byte // partial line carried between Feed calls
	hdrBytes int    // size of the header block so far
	remain   int64  // body or chunk bytes still to come
	skipped  int    // bytes skipped while resynchronising
	tx       *txn   // the message being parsed in this direction

	// The current message's framing headers.
	clen    int64
	hasCLen bool
	chunked bool
	hasTE   bool
	last    hdr // header a continuation line extends
	code    int // response status code of the current message
}

// Analyzer parses one connection's HTTP/1.x traffic. It implements
// stream.Analyzer.
type Analyzer struct {
	conn      stream.Conn
	emit      func(event.Event)
	half      [2]half
	pending   []*txn // requests in order, oldest first, not yet emitted
	depth     int
	confirmed bool // a valid request or status line was seen
	done      bool
	closed    bool
}

var _ stream.Analyzer = (*Analyzer)(nil)

// New returns an analyzer for connection c that hands each finished
// request/response pair to emit.
func New(c stream.Conn, emit func(event.Event)) *Analyzer {
	return &Analyzer{conn: c, emit: emit}
}

// Service returns "http" once a valid request or status line was parsed.
func (a *Analyzer) Service() string {
	if a.confirmed {
		return "http"
	}
	return ""
}

// Done reports that the analyzer wants no more bytes: the protocol was
// not HTTP, a limit was exceeded, or the connection became a tunnel.
func (a *Analyzer) Done() bool { return a.done }

// Feed parses data travelling in direction dir.
func (a *Analyzer) Feed(dir stream.Dir, ts time.Time, data []byte) {
	if dir > stream.FromResp {
		return
	}
	h := &a.half[dir]
	for len(data) > 0 && !a.done {
		switch h.st {
		case stStart, stResync:
			data = a.startLine(dir, h, ts, data)
		case stHeaders, stTrailers:
			data = a.headerLine(dir, h, data)
		case stBody, stChunkData:
			data = a.body(dir, h, data)
		case stChunkSize:
			data = a.chunkSize(dir, h, data)
		case stChunkEnd:
			data = a.chunkEnd(dir, h, data)
		case stUntilClose:
			h.tx.ev.ResponseBodyLen += int64(len(data))
			data = nil
		default: // stConnectWait, stStop: bytes are not HTTP
			data = nil
		}
	}
}

// Gap handles n bytes lost in direction dir. Inside a body whose length is
// known the gap is counted and parsing goes on; elsewhere the parser skips
// to the next request or status line.
func (a *Analyzer) Gap(dir stream.Dir, n int) {
	if a.done || dir > stream.FromResp || n <= 0 {
		return
	}
	h := &a.half[dir]
	switch h.st {
	case stBody, stChunkData:
		if int64(n) <= h.remain {
			a.count(dir, h, int64(n))
			h.remain -= int64(n)
			if h.remain == 0 {
				a.afterBody(dir, h)
			}
			return
		}
	case stUntilClose:
		h.tx.ev.ResponseBodyLen += int64(n)
		return
	case stConnectWait, stStop:
		return
	}
	a.resync(dir, h)
}

// Close emits every request still held, answered or not.
func (a *Analyzer) Close(ts time.Time) {
	if a.closed {
		return
	}
	a.closed = true
	a.done = true
	resp := &a.half[stream.FromResp]
	if resp.tx != nil && !inQueue(a.pending, resp.tx) {
		a.emitTxn(resp.tx)
	}
	for _, t := range a.pending {
		a.emitTxn(t)
	}
	a.pending = nil
	for i := range a.half {
		a.half[i].tx = nil
		a.half[i].buf = nil
	}
}

func inQueue(q []*txn, t *txn) bool {
	for _, x := range q {
		if x == t {
			return true
		}
	}
	return false
}

func (a *Analyzer) emitTxn(t *txn) {
	ev := t.ev
	a.emit(&ev)
}

// giveUp stops parsing both directions; what is known is emitted at Close.
func (a *Analyzer) giveUp() {
	a.done = true
	for i := range a.half {
		a.half[i].st = stStop
		a.half[i].buf = nil
	}
}

// nextLine returns the next complete line of data (without its line
// ending), joining it with bytes carried over from earlier calls. ok is
// false when data ends inside a line (it is then kept), tooLong when the
// line exceeds MaxLine. The line may alias h.buf and is valid only until
// the next call.
func (h *half) nextLine(data []byte) (line, rest []byte, ok, tooLong bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		if len(h.buf)+len(data) > MaxLine {
			return nil, nil, false, true
		}
		h.buf = append(h.buf, data...)
		return nil, nil, false, false
	}
	if len(h.buf)+i > MaxLine {
		return nil, nil, false, true
	}
	if len(h.buf) > 0 {
		h.buf = append(h.buf, data[:i]...)
		line = h.buf
		h.buf = h.buf[:0]
	} else {
		line = data[:i]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, data[i+1:], true, false
}

// startLine reads a request line (from the originator) or a status line
// (from the responder), or skips lines while resynchronising.
func (a *Analyzer) startLine(dir stream.Dir, h *half, ts time.Time, data []byte) []byte {
	line, rest, ok, tooLong := h.nextLine(data)
	if tooLong {
		if h.st == stResync || a.confirmed {
			return a.skipLine(h, data)
		}
		a.giveUp()
		return nil
	}
	if !ok {
		return nil
	}
	if len(line) == 0 && h.st == stStart {
		return rest // blank lines between messages are tolerated
	}
	var parsed bool
	if dir == stream.FromOrig {
		parsed = a.request(h, ts, line)
	} else {
		parsed = a.status(h, ts, line)
	}
	if parsed {
		h.skipped = 0
		return rest
	}
	if !a.confirmed {
		// The first line is not HTTP: this is not an HTTP connection.
		a.giveUp()
		return nil
	}
	h.st = stResync
	h.skipped += len(data) - len(rest)
	if h.skipped > maxResync {
		a.giveUp()
		return nil
	}
	return rest
}

// skipLine drops the rest of an over-long line while resynchronising.
func (a *Analyzer) skipLine(h *half, data []byte) []byte {
	h.buf = h.buf[:0]
	h.st = stResync
	i := bytes.IndexByte(data, '\n')
	n := len(data)
	if i >= 0 {
		n = i + 1
	}
	h.skipped += n
	if h.skipped > maxResync {
		a.giveUp()
		return nil
	}
	return data[n:]
}

// resync makes direction dir skip to its next start line, finishing the
// message that was being parsed.
func (a *Analyzer) resync(dir stream.Dir, h *half) {
	h.buf = h.buf[:0]
	if dir == stream.FromResp && h.tx != nil && h.tx.responded {
		a.finishResponse(h)
	}
	h.tx = nil
	h.st = stResync
}

// request parses a request line and queues its transaction.
func (a *Analyzer) request(h *half, ts time.Time, line []byte) bool {
	method, uri, version, ok := parseRequestLine(line)
	if !ok {
		return false
	}
	a.confirmed = true
	if len(a.pending) >= maxPending {
		a.emitTxn(a.pending[0])
		a.pending = a.pending[1:]
	}
	a.depth++
	t := &txn{}
	t.ev.Meta = event.Meta{TS: ts, UID: a.conn.UID, ID: a.conn.ID}
	t.ev.TransDepth = a.depth
	t.ev.Method = method
	t.ev.URI = uri
	t.ev.Version = version
	t.head = method == "HEAD"
	t.connect = method == "CONNECT"
	a.pending = append(a.pending, t)
	h.tx = t
	h.beginHeaders()
	return true
}

// status parses a status line and attaches it to the oldest unanswered
// request (or to a request-less transaction when there is none).
func (a *Analyzer) status(h *half, ts time.Time, line []byte) bool {
	version, code, msg, ok := parseStatusLine(line)
	if !ok {
		return false
	}
	a.confirmed = true
	t := h.tx // set after a 1xx informational response
	if t == nil {
		for _, p := range a.pending {
			if !p.responded {
				t = p
				break
			}
		}
	}
	if t == nil {
		a.depth++
		t = &txn{}
		t.ev.Meta = event.Meta{TS: ts, UID: a.conn.UID, ID: a.conn.ID}
		t.ev.TransDepth = a.depth
		t.ev.Version = version
	}
	t.responded = true
	t.ev.StatusCode = code
	t.ev.StatusMsg = msg
	t.ev.RespContentType = ""
	h.tx = t
	h.code = code
	h.beginHeaders()
	return true
}

func (h *half) beginHeaders() {
	h.st = stHeaders
	h.hdrBytes = 0
	h.clen, h.hasCLen, h.chunked, h.hasTE = 0, false, false, false
	h.last = hdrOther
}

// headerLine reads one header (or trailer) line.
func (a *Analyzer) headerLine(dir stream.Dir, h *half, data []byte) []byte {
	line, rest, ok, tooLong := h.nextLine(data)
	if tooLong {
		a.giveUp()
		return nil
	}
	if !ok {
		if len(h.buf)+h.hdrBytes > MaxHeader {
			a.giveUp()
		}
		return nil
	}
	h.hdrBytes += len(line) + 1
	if h.hdrBytes > MaxHeader {
		a.giveUp()
		return nil
	}
	if len(line) == 0 {
		if h.st == stTrailers {
			a.messageDone(dir, h)
		} else {
			a.headersDone(dir, h)
		}
		return rest
	}
	if h.st == stTrailers {
		return rest // trailers are framing only; none is reported
	}
	if line[0] == ' ' || line[0] == '\t' {
		a.continuation(dir, h, trimOWS(line))
		return rest
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		h.last = hdrOther
		return rest // malformed header line: ignored, as Zeek does
	}
	a.header(dir, h, trimOWS(line[:colon]), trimOWS(line[colon+1:]))
	return rest
}
