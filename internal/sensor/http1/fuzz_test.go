package http1

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// feedSplit feeds the request stream then the response stream, cutting
// each where splits says (each split byte is a piece length).
func feedSplit(reqs, resps, splits []byte) []event.HTTP {
	var got []event.HTTP
	a := New(testConn, func(e event.Event) { got = append(got, *e.(*event.HTTP)) })
	k := 0
	feed := func(dir stream.Dir, d []byte) {
		for len(d) > 0 {
			n := len(d)
			if len(splits) > 0 {
				n = int(splits[k%len(splits)]) + 1
				k++
				if n > len(d) {
					n = len(d)
				}
			}
			a.Feed(dir, testTS, d[:n])
			d = d[n:]
		}
	}
	feed(stream.FromOrig, reqs)
	feed(stream.FromResp, resps)
	a.Close(testTS)
	return got
}

func FuzzHTTP(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
		[]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n"), []byte{0, 3, 9})
	f.Add([]byte("POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"),
		[]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"), []byte{1})
	f.Add([]byte("CONNECT h:443 HTTP/1.1\r\n\r\n\x16\x03\x01"), []byte("HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03"), []byte{})
	f.Add([]byte("HEAD / HTTP/1.0\r\nVia: p\r\n\r\n"), []byte("HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\n"), []byte{2, 200})
	f.Fuzz(func(t *testing.T, reqs, resps, splits []byte) {
		whole := feedSplit(reqs, resps, nil)
		split := feedSplit(reqs, resps, splits)
		require.Equal(t, whole, split)
	})
}

// keepAliveStream builds a realistic browser-like keep-alive exchange.
func keepAliveStream(n int) (reqs, resps []byte) {
	var rq, rs strings.Builder
	body := strings.Repeat("x", 4096)
	for i := 0; i < n; i++ {
		rq.WriteString("GET /static/js/app.bundle.js?v=1234567 HTTP/1.1\r\n" +
			"Host: www.example.com\r\n" +
			"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
			"Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n" +
			"Referer: https://www.example.com/\r\nCookie: session=abcdef0123456789; pref=dark\r\nConnection: keep-alive\r\n\r\n")
		if i%2 == 0 {
			rs.WriteString("HTTP/1.1 200 OK\r\nDate: Wed, 01 May 2024 12:00:00 GMT\r\nServer: nginx\r\n" +
				"Content-Type: application/javascript; charset=utf-8\r\nContent-Length: 4096\r\n" +
				"Cache-Control: max-age=3600\r\nConnection: keep-alive\r\n\r\n")
			rs.WriteString(body)
		} else {
			rs.WriteString("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
			rs.WriteString("800\r\n" + body[:2048] + "\r\n800\r\n" + body[:2048] + "\r\n0\r\n\r\n")
		}
	}
	return []byte(rq.String()), []byte(rs.String())
}

func BenchmarkHTTP(b *testing.B) {
	reqs, resps := keepAliveStream(100)
	const seg = 1448 // typical TCP segment payload
	b.SetBytes(int64(len(reqs) + len(resps)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a := New(testConn, func(event.Event) { n++ })
		for i := 0; i < len(reqs); i += seg {
			a.Feed(stream.FromOrig, testTS, reqs[i:min(i+seg, len(reqs))])
		}
		for i := 0; i < len(resps); i += seg {
			a.Feed(stream.FromResp, testTS, resps[i:min(i+seg, len(resps))])
		}
		a.Close(testTS)
	}
	if n == 0 {
		b.Fatal("no events")
	}
}
