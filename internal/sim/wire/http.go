package wire

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HTTP is one HTTP/1.1 request and its response (the simulator's
// sim.HTTP, field for field).
type HTTP struct {
	Method, Host, URI, UserAgent    string
	ReqContentType, RespContentType string
	ReqBody, RespBody               int64
	Status                          int
	Chunked                         bool
}

// chunkSize is the size of the chunks of a chunked body.
const chunkSize = 8192

// msgPlan is how one message is padded: its body length, a Cookie (or
// Set-Cookie) value length, and extra optional whitespace in a header.
type msgPlan struct {
	body   int64
	cookie int
	ows    int
}

func (x *HTTP) method() string {
	if x.Method == "" {
		return http.MethodGet
	}
	return x.Method
}

func (x *HTTP) status() int {
	if x.Status == 0 {
		return http.StatusOK
	}
	return x.Status
}

// reqMayHaveBody: GET, HEAD and the like carry no body in practice.
func (x *HTTP) reqMayHaveBody() bool {
	switch x.method() {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete, "CONNECT", "TRACE":
		return x.ReqBody > 0
	}
	return true
}

func (x *HTTP) respMayHaveBody() bool {
	s := x.status()
	return x.method() != http.MethodHead && s >= 200 && s != 204 && s != 304
}

// reqHeader renders the request up to and including the blank line.
func (x *HTTP) reqHeader(p msgPlan) []byte {
	var b strings.Builder
	b.Grow(256 + p.cookie)
	uri := x.URI
	if uri == "" {
		uri = "/"
	}
	b.WriteString(x.method() + " " + uri + " HTTP/1.1\r\nHost: " + x.Host + "\r\n")
	if x.UserAgent != "" {
		b.WriteString("User-Agent: " + x.UserAgent + "\r\n")
	}
	b.WriteString("Accept:" + strings.Repeat(" ", 1+p.ows) + "*/*\r\n")
	if p.cookie > 0 {
		b.WriteString("Cookie: " + filler("sid=", p.cookie) + "\r\n")
	}
	if x.ReqContentType != "" {
		b.WriteString("Content-Type: " + x.ReqContentType + "\r\n")
	}
	if p.body > 0 || x.reqMayHaveBody() {
		b.WriteString("Content-Length: " + strconv.FormatInt(p.body, 10) + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// respHeader renders the response up to and including the blank line.
func (x *HTTP) respHeader(p msgPlan, date string) []byte {
	var b strings.Builder
	b.Grow(256 + p.cookie)
	s := x.status()
	b.WriteString("HTTP/1.1 " + strconv.Itoa(s) + " " + http.StatusText(s) + "\r\n")
	b.WriteString("Date: " + date + "\r\nServer:" + strings.Repeat(" ", 1+p.ows) + "nginx\r\n")
	if p.cookie > 0 {
		b.WriteString("Set-Cookie: " + filler("id=", p.cookie) + "\r\n")
	}
	if x.RespContentType != "" && x.respMayHaveBody() {
		b.WriteString("Content-Type: " + x.RespContentType + "\r\n")
	}
	switch {
	case !x.respMayHaveBody():
		if s != 204 && s != 304 {
			b.WriteString("Content-Length: " + strconv.FormatInt(p.body, 10) + "\r\n")
		}
	case x.Chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n")
	default:
		b.WriteString("Content-Length: " + strconv.FormatInt(p.body, 10) + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// filler is a cookie value of exactly n characters starting with prefix.
func filler(prefix string, n int) string {
	const hex = "0123456789abcdef"
	b := []byte(prefix)
	for i := 0; len(b) < n; i++ {
		b = append(b, hex[(i*7+3)%16])
	}
	return string(b[:n])
}

// chunkedLen is the length of a chunked body of n bytes on the wire.
func chunkedLen(n int64) int64 {
	full := n / chunkSize
	l := full * (4 + 2 + chunkSize + 2) // "2000\r\n" data "\r\n"
	if r := n % chunkSize; r > 0 {
		l += int64(len(strconv.FormatInt(r, 16))) + 2 + r + 2
	}
	return l + 5 // "0\r\n\r\n"
}

func (x *HTTP) reqLen(p msgPlan) int64 {
	return int64(len(x.reqHeader(p))) + p.body
}

func (x *HTTP) respLen(p msgPlan, date string) int64 {
	n := int64(len(x.respHeader(p, date)))
	switch {
	case !x.respMayHaveBody():
	case x.Chunked:
		n += chunkedLen(p.body)
	default:
		n += p.body
	}
	return n
}

// httpDate formats t as in a Date header.
func httpDate(t time.Time) string {
	if t.IsZero() {
		t = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC().Format(http.TimeFormat)
}

// HTTPSizes returns how many bytes the requests and the responses of xs
// take on the wire as given (bodies as stated, no padding): the smallest
// BytesUp and BytesDown that HTTPStreams renders without truncating.
func HTTPSizes(xs []HTTP) (up, down int64) {
	for i := range xs {
		x := &xs[i]
		up += x.reqLen(msgPlan{body: x.ReqBody})
		down += x.respLen(msgPlan{body: x.RespBody}, httpDate(time.Time{}))
	}
	return up, down
}

// HTTPStreams renders each exchange's request and response, padded so
// that the requests total exactly up bytes and the responses down bytes:
// the last message that may carry a body grows it; otherwise a Cookie (or
// Set-Cookie) header takes the difference, and a few leftover bytes become
// optional whitespace in a header. When a total is smaller than the
// messages, the stream is cut there (a connection torn down mid-message).
// Bodies are random bytes from seed.
func HTTPStreams(xs []HTTP, up, down int64, t time.Time, seed uint64) (reqs, resps [][]byte) {
	date := httpDate(t)
	r := newRNG(seed, "http")
	reqPlans := plan(xs, up, false, date)
	respPlans := plan(xs, down, true, date)
	reqs = make([][]byte, len(xs))
	resps = make([][]byte, len(xs))
	for i := range xs {
		x := &xs[i]
		reqs[i] = appendBody(x.reqHeader(reqPlans[i]), reqPlans[i].body, false, r)
		resps[i] = appendBody(x.respHeader(respPlans[i], date), respPlans[i].body, x.Chunked && x.respMayHaveBody(), r)
		if !x.respMayHaveBody() {
			resps[i] = x.respHeader(respPlans[i], date)
		}
	}
	cut(reqs, up)
	cut(resps, down)
	return reqs, resps
}

// cut truncates msgs so that they total at most n bytes.
func cut(msgs [][]byte, n int64) {
	for i, m := range msgs {
		if int64(len(m)) > n {
			msgs[i] = m[:max(n, 0)]
		}
		n -= int64(len(msgs[i]))
	}
}

// plan pads the messages of one direction to total bytes.
func plan(xs []HTTP, total int64, resp bool, date string) []msgPlan {
	ps := make([]msgPlan, len(xs))
	size := func(i int, p msgPlan) int64 {
		if resp {
			return xs[i].respLen(p, date)
		}
		return xs[i].reqLen(p)
	}
	var sum int64
	for i := range xs {
		ps[i].body = xs[i].ReqBody
		if resp {
			ps[i].body = xs[i].RespBody
		}
		sum += size(i, ps[i])
	}
	extra := total - sum
	if extra <= 0 || len(xs) == 0 {
		return ps
	}
	m := -1
	for i := range xs {
		if resp && xs[i].respMayHaveBody() || !resp && xs[i].reqMayHaveBody() {
			m = i
		}
	}
	if m >= 0 {
		target := size(m, ps[m]) + extra
		p := ps[m]
		p.body += extra
		for over := size(m, p) - target; over > 0; over = size(m, p) - target {
			p.body -= max(over*chunkSize/(chunkSize+8), 1)
		}
		p.ows = int(target - size(m, p))
		ps[m] = p
		return ps
	}
	m = len(xs) - 1
	minCookie := int64(len("Cookie: sid=x\r\n"))
	if resp {
		minCookie = int64(len("Set-Cookie: id=x\r\n"))
	}
	if extra >= minCookie {
		ps[m].cookie = int(extra - minCookie + 5) // the value's length
		if resp {
			ps[m].cookie = int(extra - minCookie + 4)
		}
		ps[m].ows = int(extra - (size(m, ps[m]) - size(m, msgPlan{body: ps[m].body})))
		return ps
	}
	ps[m].ows = int(extra)
	return ps
}

// appendBody appends n random body bytes, chunked when asked.
func appendBody(dst []byte, n int64, chunked bool, r *rng) []byte {
	if !chunked {
		start := len(dst)
		dst = append(dst, make([]byte, n)...)
		r.fill(dst[start:])
		return dst
	}
	for n > 0 {
		c := min(n, chunkSize)
		dst = append(dst, strconv.FormatInt(c, 16)...)
		dst = append(dst, '\r', '\n')
		start := len(dst)
		dst = append(dst, make([]byte, c)...)
		r.fill(dst[start:])
		dst = append(dst, '\r', '\n')
		n -= c
	}
	return append(dst, "0\r\n\r\n"...)
}
