package pcapgen

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// HTTPRequest describes an HTTP/1.1 request; Bytes renders it with
// net/http's Request.Write, so framing and header syntax are real.
type HTTPRequest struct {
	Method string // "" means GET
	// Target is the request target: a path with optional query ("/a?b=1").
	Target string
	// Host is the Host header (a name, or a bare IP with optional port).
	Host      string
	UserAgent string // "" omits the User-Agent header
	Header    http.Header
	Body      []byte
	// Chunked sends Body with Transfer-Encoding: chunked, in chunks of
	// ChunkSize bytes (0 means the whole body in one chunk).
	Chunked   bool
	ChunkSize int
}

// Bytes returns the request's wire form.
func (r HTTPRequest) Bytes() []byte {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.ParseRequestURI(r.Target)
	if err != nil {
		u = &url.URL{Opaque: r.Target}
	}
	req := &http.Request{Method: method, URL: u, Host: r.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: r.Header.Clone()}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	// An explicit empty User-Agent makes Request.Write leave it out rather
	// than send Go's default.
	req.Header.Set("User-Agent", r.UserAgent)
	req.Body, req.ContentLength, req.TransferEncoding = body(r.Body, r.Chunked, r.ChunkSize)
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		panic(fmt.Sprintf("pcapgen: write http request: %v", err)) // writing to memory only fails on a bug here
	}
	return b.Bytes()
}

// HTTPResponse describes an HTTP/1.1 response; Bytes renders it with
// net/http's Response.Write.
type HTTPResponse struct {
	Status int // 0 means 200
	Header http.Header
	Body   []byte
	// Chunked and ChunkSize as in HTTPRequest.
	Chunked   bool
	ChunkSize int
	// NoBody is for responses to HEAD: Content-Length is sent but no body.
	NoBody bool
}

// Bytes returns the response's wire form.
func (r HTTPResponse) Bytes() []byte {
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	resp := &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: r.Header.Clone()}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Body, resp.ContentLength, resp.TransferEncoding = body(r.Body, r.Chunked, r.ChunkSize)
	if r.NoBody {
		resp.Body = nil
		resp.Request = &http.Request{Method: http.MethodHead}
	}
	var b bytes.Buffer
	if err := resp.Write(&b); err != nil {
		panic(fmt.Sprintf("pcapgen: write http response: %v", err))
	}
	return b.Bytes()
}

// body returns the Body, ContentLength and TransferEncoding fields for a
// message carrying b.
func body(b []byte, chunked bool, chunk int) (io.ReadCloser, int64, []string) {
	if chunked {
		if chunk <= 0 {
			chunk = max(len(b), 1)
		}
		return io.NopCloser(&chunkReader{b: b, n: chunk}), -1, []string{"chunked"}
	}
	if len(b) == 0 {
		return nil, 0, nil
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// chunkReader returns at most n bytes per Read, so that net/http's chunked
// writer emits one chunk per n bytes.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}

// Concat joins messages, e.g. pipelined requests sent in one burst.
func Concat(msgs ...[]byte) []byte { return bytes.Join(msgs, nil) }
