package http1

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

var (
	testConn = stream.Conn{UID: "Ctest", ID: event.ConnID{
		OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 50000,
		RespH: netip.MustParseAddr("192.0.2.7"), RespP: 80,
	}}
	testTS = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
)

// step is one payload in capture order.
type step struct {
	dir  stream.Dir
	data string
}

func req(s string) step  { return step{stream.FromOrig, s} }
func resp(s string) step { return step{stream.FromResp, s} }

// run feeds the steps, each split into pieces of at most chunk bytes
// (0: whole), closes the analyzer, and returns the events and whether
// the analyzer reported Done before Close.
func run(t testing.TB, steps []step, chunk int) ([]event.HTTP, *Analyzer, bool) {
	t.Helper()
	var got []event.HTTP
	a := New(testConn, func(e event.Event) { got = append(got, *e.(*event.HTTP)) })
	for _, s := range steps {
		d := []byte(s.data)
		for len(d) > 0 {
			n := len(d)
			if chunk > 0 && n > chunk {
				n = chunk
			}
			a.Feed(s.dir, testTS, d[:n])
			d = d[n:]
		}
	}
	done := a.Done()
	a.Close(testTS)
	return got, a, done
}

func want(depth int, f func(*event.HTTP)) event.HTTP {
	e := event.HTTP{Meta: event.Meta{TS: testTS, UID: testConn.UID, ID: testConn.ID}, TransDepth: depth}
	f(&e)
	return e
}

func TestAnalyzer(t *testing.T) {
	bigHeader := "GET /big HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("A", 1<<20) + "\r\n\r\n"
	tests := []struct {
		name     string
		steps    []step
		want     []event.HTTP
		wantDone bool
	}{
		{
			name: "simple GET with content length",
			steps: []step{
				req("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.0\r\nReferer: http://ref/\r\nOrigin: http://o\r\n\r\n"),
				resp("HTTP/1.1 200 OK\r\nContent-Type: text/HTML; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello"),
			},
			want: []event.HTTP{want(1, func(e *event.HTTP) {
				e.Method, e.URI, e.Version, e.Host = "GET", "/index.html?q=1", "1.1", "example.com"
				e.UserAgent, e.Referrer, e.Origin = "curl/8.0", "http://ref/", "http://o"
				e.StatusCode, e.StatusMsg, e.RespContentType, e.ResponseBodyLen = 200, "OK", "text/html", 5
			})},
		},
		{
			name: "pipelined requests answered in order",
			steps: []step{
				req("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Type: application/json\r\n\r\nabc"),
				resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nxyHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []event.HTTP{
				want(1, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg, e.ResponseBodyLen = "GET", "/a", "1.1", "h", 200, "OK", 1
				}),
				want(2, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg, e.ResponseBodyLen = "GET", "/b", "1.1", "h", 404, "Not Found", 2
				}),
				want(3, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg = "POST", "/c", "1.1", "h", 201, "Created"
					e.RequestBodyLen, e.ReqContentType = 3, "application/json"
				}),
			},
		},
		{
			name: "chunked with extensions and trailers both ways",
			steps: []step{
				req("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;name=val\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n"),
				resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA ; ext=\"q\"\r\n0123456789\r\n0\r\nChecksum: x\r\nMore: y\r\n\r\n"),
			},
			want: []event.HTTP{want(1, func(e *event.HTTP) {
				e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg = "POST", "/up", "1.1", "h", 200, "OK"
				e.RequestBodyLen, e.ResponseBodyLen = 7, 10
			})},
		},
		{
			name: "HEAD response has no body despite content length",
			steps: []step{
				req("HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
				resp("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
			},
			want: []event.HTTP{
				want(1, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg = "HEAD", "/", "1.1", "h", 200, "OK"
				}),
				want(2, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg, e.ResponseBodyLen = "GET", "/2", "1.1", "h", 200, "OK", 2
				}),
			},
		},
		{
			name: "204 and 304 have no body",
			steps: []step{
				req("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"),
				resp("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"),
			},
			want: []event.HTTP{
				want(1, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.StatusCode, e.StatusMsg = "GET", "/a", "1.1", 204, "No Content"
				}),
				want(2, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.StatusCode, e.StatusMsg = "GET", "/b", "1.1", 304, "Not Modified"
				}),
				want(3, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.StatusCode, e.StatusMsg, e.ResponseBodyLen = "GET", "/c", "1.1", 200, "OK", 1
				}),
			},
		},
		{
			name: "100-continue then the final response",
			steps: []step{
				req("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
				resp("HTTP/1.1 100 Continue\r\n\r\n"),
				req("data"),
				resp("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []event.HTTP{want(1, func(e *event.HTTP) {
				e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg, e.RequestBodyLen = "PUT", "/f", "1.1", "h", 201, "Created", 4
			})},
		},
		{
			name: "CONNECT tunnel stops parsing",
			steps: []step{
				req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Connection: keep-alive\r\n\r\n"),
				resp("HTTP/1.1 200 Connection established\r\n\r\n"),
				req("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
				resp("\x16\x03\x03\x00\x40"),
			},
			want: []event.HTTP{want(1, func(e *event.HTTP) {
				e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg = "CONNECT", "example.com:443", "1.1", "example.com", 200, "Connection established"
				e.Proxied = []string{"PROXY-CONNECTION -> keep-alive"}
			})},
			wantDone: true,
		},
		{
			name: "refused CONNECT goes on with plain HTTP",
			steps: []step{
				req("CONNECT x:443 HTTP/1.1\r\n\r\n"),
				resp("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
				req("GET http://x/ HTTP/1.1\r\nVia: 1.1 squid\r\nX-Forwarded-For: 10.1.1.1\r\n\r\n"),
				resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []event.HTTP{
				want(1, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.StatusCode, e.StatusMsg = "CONNECT", "x:443", "1.1", 407, "Proxy Authentication Required"
				}),
				want(2, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.StatusCode, e.StatusMsg = "GET", "http://x/", "1.1", 200, "OK"
					e.Proxied = []string{"VIA -> 1.1 squid", "X-FORWARDED-FOR -> 10.1.1.1"}
				}),
			},
		},
		{
			name: "upgrade to websocket stops parsing",
			steps: []step{
				req("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
				resp("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"),
			},
			want: []event.HTTP{want(1, func(e *event.HTTP) {
				e.Method, e.URI, e.Version, e.Host, e.StatusCode, e.StatusMsg = "GET", "/ws", "1.1", "h", 101, "Switching Protocols"
			})},
			wantDone: true,
		},
		{
			name: "keep-alive then read until close",
			steps: []step{
				req("GET /1 HTTP/1.1\r\n\r\n"),
				resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
				req("GET /2 HTTP/1.0\r\n\r\n"),
				resp("HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n0123456789"),
				resp("more"),
			},
			want: []event.HTTP{
				want(1, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.StatusCode, e.StatusMsg, e.ResponseBodyLen = "GET", "/1", "1.1", 200, "OK", 3
				}),
				want(2, func(e *event.HTTP) {
					e.Method, e.URI, e.Version, e.StatusCode, e.StatusMsg, e.ResponseBodyLen = "GET", "/2", "1.0", 200, "OK", 14
					e.RespContentType = "image/png"
				}),
			},
		},
		{
			name:  "unanswered request is emitted at close",
			steps: []step{req("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345")},
			want: []event.HTTP{want(1, func(e *event.HTTP) {
				e.Method, e.URI, e.Version, e.RequestBodyLen = "POST", "/x", "1.1", 5
			})},
		},
		{
			name:     "a 1 MB header line gives up but keeps the request",
			steps:    []step{req(bigHeader), resp("HTTP/1.1 200 OK\r\n\r\n")},
			want:     []event.HTTP{want(1, func(e *event.HTTP) { e.Method, e.URI, e.Version, e.Host = "GET", "/big", "1.1", "a" })},
			wantDone: true,
		},
		{
			name: "non-UTF-8 user agent is kept byte for byte",
			steps: []step{
				req("GET / HTTP/1.1\r\nUser-Agent: Mozilla\xff\xfe/\x80 x\r\n\r\n"),
				resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
			},
			want: []event.HTTP{want(1, func(e *event.HTTP) {
				e.Method, e.URI, e.Version, e.UserAgent, e.StatusCode, e.StatusMsg = "GET", "/", "1.1", "Mozilla\xff\xfe/\x80 x", 200, "OK"
			})},
		},
		{
			name:     "not HTTP",
			steps:    []step{req("\x16\x03\x01\x00\x05hello\n"), resp("SSH-2.0-OpenSSH\r\n")},
			wantDone: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 7} {
				got, a, done := run(t, tc.steps, chunk)
				require.Equal(t, tc.want, got, "chunk %d", chunk)
				require.Equal(t, tc.wantDone, done, "done, chunk %d", chunk)
				if len(tc.want) > 0 {
					require.Equal(t, "http", a.Service())
				} else {
					require.Empty(t, a.Service())
				}
			}
		})
	}
}

func TestGapResync(t *testing.T) {
	var got []event.HTTP
	a := New(testConn, func(e event.Event) { got = append(got, *e.(*event.HTTP)) })
	a.Feed(stream.FromOrig, testTS, []byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"))
	a.Feed(stream.FromResp, testTS, []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"))
	a.Gap(stream.FromResp, 100) // lands past the chunk: resync
	a.Feed(stream.FromResp, testTS, []byte("garbage\r\nmore garbage\r\n"))
	a.Feed(stream.FromOrig, testTS, []byte("GET /b HTTP/1.1\r\n\r\n"))
	a.Feed(stream.FromResp, testTS, []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc"))
	a.Gap(stream.FromOrig, 10)
	a.Feed(stream.FromOrig, testTS, []byte("tail of something\r\nGET /c HTTP/1.1\r\n\r\n"))
	a.Close(testTS)
	require.Len(t, got, 3)
	require.Equal(t, "/a", got[0].URI)
	require.Equal(t, int64(2), got[0].ResponseBodyLen)
	require.Equal(t, "/b", got[1].URI)
	require.Equal(t, 404, got[1].StatusCode)
	require.Equal(t, "/c", got[2].URI)
	require.Equal(t, 3, got[2].TransDepth)
}

func TestGapInsideBodyIsCounted(t *testing.T) {
	var got []event.HTTP
	a := New(testConn, func(e event.Event) { got = append(got, *e.(*event.HTTP)) })
	a.Feed(stream.FromOrig, testTS, []byte("GET /a HTTP/1.1\r\n\r\n"))
	a.Feed(stream.FromResp, testTS, []byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"))
	a.Gap(stream.FromResp, 80)
	a.Feed(stream.FromResp, testTS, []byte("0123456789"))
	require.Len(t, got, 1)
	require.Equal(t, int64(100), got[0].ResponseBodyLen)
	a.Close(testTS)
	require.Len(t, got, 1)
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"get", "GET / HTTP/1.1\r\nHost: x\r\n", true},
		{"partial request line", "POST /upload?x=1", true},
		{"response", "HTTP/1.1 200 OK\r\n", true},
		{"webdav", "PROPFIND /d HTTP/1.1\r\n", true},
		{"tls", "\x16\x03\x01\x02\x00", false},
		{"ssh", "SSH-2.0-OpenSSH_9.0\r\n", false},
		{"no version", "GET /\r\n", false},
		{"smtp", "EHLO mail.example.com\r\n", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Sniff([]byte(tc.in)))
		})
	}
}
