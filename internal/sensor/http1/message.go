package http1

import (
	"bytes"
	"strings"

	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// proxyHeaders are the request headers Zeek's http.log reports in
// "proxied" (scripts/base/protocols/http/main.zeek, proxy_headers), in
// Zeek's upper-case spelling.
var proxyHeaders = []string{
	"FORWARDED",
	"X-FORWARDED-FOR",
	"X-FORWARDED-FROM",
	"CLIENT-IP",
	"VIA",
	"XROXY-CONNECTION",
	"PROXY-CONNECTION",
}

// classify maps a header name to the header the analyzer cares about,
// without allocating.
func classify(name []byte) (hdr, string) {
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			return hdrHost, ""
		}
	case 6:
		if equalFold(name, "origin") {
			return hdrOrigin, ""
		}
	case 7:
		if equalFold(name, "referer") {
			return hdrReferer, ""
		}
	case 10:
		if equalFold(name, "user-agent") {
			return hdrUserAgent, ""
		}
	case 12:
		if equalFold(name, "content-type") {
			return hdrContentType, ""
		}
	case 14:
		if equalFold(name, "content-length") {
			return hdrContentLength, ""
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			return hdrTransferEncoding, ""
		}
	}
	for _, p := range proxyHeaders {
		if len(p) == len(name) && equalFold(name, p) {
			return hdrProxy, p
		}
	}
	return hdrOther, ""
}

// equalFold compares b with the ASCII string s ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// header records one header of the current message.
func (a *Analyzer) header(dir stream.Dir, h *half, name, value []byte) {
	kind, proxyName := classify(name)
	h.last = kind
	ev := &h.tx.ev
	switch kind {
	case hdrContentLength:
		if n, ok := parseDecimal(value); ok && !h.hasCLen {
			h.clen, h.hasCLen = n, true
		}
		return
	case hdrTransferEncoding:
		h.hasTE = true
		h.chunked = lastCodingChunked(value)
		return
	case hdrContentType:
		ct := mediaType(value)
		if dir == stream.FromOrig {
			if ev.ReqContentType == "" {
				ev.ReqContentType = ct
			}
		} else if ev.RespContentType == "" {
			ev.RespContentType = ct
		}
		return
	}
	if dir != stream.FromOrig {
		return
	}
	switch kind {
	case hdrHost:
		if ev.Host == "" {
			ev.Host = stripPort(string(value))
		}
	case hdrReferer:
		if ev.Referrer == "" {
			ev.Referrer = string(value)
		}
	case hdrUserAgent:
		if ev.UserAgent == "" {
			ev.UserAgent = string(value)
		}
	case hdrOrigin:
		if ev.Origin == "" {
			ev.Origin = string(value)
		}
	case hdrProxy:
		p := proxyName + " -> " + string(value)
		for _, q := range ev.Proxied {
			if q == p {
				return
			}
		}
		ev.Proxied = append(ev.Proxied, p)
	}
}

// continuation extends the previous header with an obsolete folded line.
// Only the reported text headers are extended.
func (a *Analyzer) continuation(dir stream.Dir, h *half, more []byte) {
	if dir != stream.FromOrig || len(more) == 0 {
		return
	}
	ev := &h.tx.ev
	switch h.last {
	case hdrUserAgent:
		ev.UserAgent += " " + string(more)
	case hdrReferer:
		ev.Referrer += " " + string(more)
	}
}

// stripPort removes a port from a Host value, as Zeek does, keeping IPv6
// literals intact.
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			return host[:i+1]
		}
		return host
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// mediaType returns a Content-Type value without parameters, lower-cased.
func mediaType(v []byte) string {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = trimOWS(v)
	for _, c := range v {
		if c >= 'A' && c <= 'Z' {
			return strings.ToLower(string(v))
		}
	}
	return string(v)
}

// lastCodingChunked reports whether "chunked" is the final transfer coding.
func lastCodingChunked(v []byte) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return equalFold(trimOWS(v), "chunked")
}

// parseDecimal parses a non-negative decimal that fits comfortably in an
// int64.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseChunkSize parses a chunk-size line, ignoring chunk extensions.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = trimOWS(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// headersDone decides how the message's body is framed once its header
// block has ended.
func (a *Analyzer) headersDone(dir stream.Dir, h *half) {
	t := h.tx
	if dir == stream.FromOrig {
		switch {
		case t.connect:
			h.st = stConnectWait
			h.tx = nil
		case h.chunked:
			h.st = stChunkSize
		case h.hasCLen && h.clen > 0:
			h.st, h.remain = stBody, h.clen
		default:
			a.messageDone(dir, h)
		}
		return
	}
	code := h.code
	switch {
	case code == 101:
		// Switching protocols: what follows is not HTTP.
		a.finishResponse(h)
		a.giveUp()
	case code >= 100 && code < 200:
		// Informational (100 Continue): the final response follows.
		h.st = stStart
	case t.connect && code >= 200 && code < 300:
		// The tunnel carries another protocol (usually TLS).
		a.finishResponse(h)
		a.giveUp()
	case t.head || code == 204 || code == 304:
		a.messageDone(dir, h)
	case h.chunked:
		h.st = stChunkSize
	case h.hasCLen:
		if h.clen == 0 {
			a.messageDone(dir, h)
		} else {
			h.st, h.remain = stBody, h.clen
		}
	default:
		h.st = stUntilClose
	}
}

// count adds n body bytes to the current message.
func (a *Analyzer) count(dir stream.Dir, h *half, n int64) {
	if dir == stream.FromOrig {
		h.tx.ev.RequestBodyLen += n
	} else {
		h.tx.ev.ResponseBodyLen += n
	}
}

// body counts Content-Length or chunk data bytes.
func (a *Analyzer) body(dir stream.Dir, h *half, data []byte) []byte {
	n := int64(len(data))
	if n > h.remain {
		n = h.remain
	}
	a.count(dir, h, n)
	h.remain -= n
	if h.remain == 0 {
		a.afterBody(dir, h)
	}
	return data[n:]
}

func (a *Analyzer) afterBody(dir stream.Dir, h *half) {
	if h.st == stChunkData {
		h.st = stChunkEnd
		return
	}
	a.messageDone(dir, h)
}

func (a *Analyzer) chunkSize(dir stream.Dir, h *half, data []byte) []byte {
	line, rest, ok, tooLong := h.nextLine(data)
	if tooLong {
		a.resync(dir, h)
		return a.skipLine(h, data)
	}
	if !ok {
		return nil
	}
	n, valid := parseChunkSize(line)
	if !valid {
		a.resync(dir, h)
		return rest
	}
	if n == 0 {
		h.st = stTrailers
		h.hdrBytes = 0
	} else {
		h.st, h.remain = stChunkData, n
	}
	return rest
}

func (a *Analyzer) chunkEnd(dir stream.Dir, h *half, data []byte) []byte {
	line, rest, ok, tooLong := h.nextLine(data)
	if tooLong {
		a.resync(dir, h)
		return a.skipLine(h, data)
	}
	if !ok {
		return nil
	}
	if len(line) != 0 {
		a.resync(dir, h)
		return rest
	}
	h.st = stChunkSize
	return rest
}

// messageDone ends the current message in direction dir.
func (a *Analyzer) messageDone(dir stream.Dir, h *half) {
	if dir == stream.FromOrig {
		h.tx = nil
		h.st = stStart
		return
	}
	a.finishResponse(h)
	h.st = stStart
}

// finishResponse emits the transaction whose response just ended.
func (a *Analyzer) finishResponse(h *half) {
	t := h.tx
	h.tx = nil
	if t == nil {
		return
	}
	for i, p := range a.pending {
		if p == t {
			a.pending = append(a.pending[:i], a.pending[i+1:]...)
			break
		}
	}
	if t.connect && (t.ev.StatusCode < 200 || t.ev.StatusCode >= 300) {
		// A refused CONNECT: the client may go on with plain requests.
		if o := &a.half[stream.FromOrig]; o.st == stConnectWait {
			o.st = stStart
		}
	}
	a.emitTxn(t)
}
