package tlsx

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/stream"
)

// marshalClientHello encodes ch as a ClientHello body (test seeds and
// benchmarks; extension bodies are filled for the fields ch carries).
func marshalClientHello(ch *ClientHello) []byte {
	b := binary.BigEndian.AppendUint16(nil, ch.Version)
	b = append(b, make([]byte, 32)...)
	b = append(b, byte(len(ch.SessionID)))
	b = append(b, ch.SessionID...)
	b = binary.BigEndian.AppendUint16(b, uint16(2*len(ch.Ciphers)))
	for _, c := range ch.Ciphers {
		b = binary.BigEndian.AppendUint16(b, c)
	}
	b = append(b, 1, 0)
	var exts []byte
	u16list := func(vs []uint16) []byte {
		out := binary.BigEndian.AppendUint16(nil, uint16(2*len(vs)))
		for _, v := range vs {
			out = binary.BigEndian.AppendUint16(out, v)
		}
		return out
	}
	for _, typ := range ch.Extensions {
		var data []byte
		switch typ {
		case extServerName:
			name := []byte(ch.ServerName)
			data = binary.BigEndian.AppendUint16(nil, uint16(len(name)+3))
			data = append(data, 0)
			data = binary.BigEndian.AppendUint16(data, uint16(len(name)))
			data = append(data, name...)
		case extALPN:
			var list []byte
			for _, p := range ch.ALPN {
				list = append(list, byte(len(p)))
				list = append(list, p...)
			}
			data = binary.BigEndian.AppendUint16(nil, uint16(len(list)))
			data = append(data, list...)
		case extSupportedGroups:
			data = u16list(ch.SupportedGroups)
		case extSignatureAlgs:
			data = u16list(ch.SignatureAlgs)
		case extECPointFormats:
			data = append([]byte{byte(len(ch.ECPointFormats))}, ch.ECPointFormats...)
		case extSupportedVersions:
			l := u16list(ch.SupportedVersions)
			data = append([]byte{l[1]}, l[2:]...)
		case extKeyShare:
			data = make([]byte, 1216+32+8) // an ML-KEM-sized key share
		}
		exts = binary.BigEndian.AppendUint16(exts, typ)
		exts = binary.BigEndian.AppendUint16(exts, uint16(len(data)))
		exts = append(exts, data...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(exts)))
	return append(b, exts...)
}

// handshakeMsg prefixes a handshake header.
func handshakeMsg(typ byte, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func seedStreams() (client, server []byte) {
	ch := chromeHello()
	ch.Extensions = append(ch.Extensions, extKeyShare)
	client = record(recHandshake, handshakeMsg(hsClientHello, marshalClientHello(ch)))
	sh := []byte{3, 3}
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 0, 0x13, 0x01, 0)
	sh = append(sh, 0, 12, 0, 0x2b, 0, 2, 3, 4, 0, 0x33, 0, 2, 0, 29)
	server = record(recHandshake, handshakeMsg(hsServerHello, sh))
	server = append(server, record(recChangeCipherSpec, []byte{1})...)
	server = append(server, record(recApplicationData, make([]byte, 40))...)
	client = append(client, record(recChangeCipherSpec, []byte{1})...)
	client = append(client, record(recApplicationData, make([]byte, 40))...)
	return client, server
}

func FuzzClientHello(f *testing.F) {
	f.Add(marshalClientHello(chromeHello()))
	f.Add(marshalClientHello(&ClientHello{Version: 0x0301, Ciphers: []uint16{0x2f}}))
	f.Add([]byte{3, 3})
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := ParseClientHello(body)
		if err != nil {
			return
		}
		_ = ch.JA3()
		for _, fn := range []func(byte) string{ch.JA4, ch.JA4Raw, ch.JA4Original, ch.JA4RawOriginal} {
			s := fn(TransportTCP)
			require.GreaterOrEqual(t, len(s), 10)
		}
	})
}

// feedStreams feeds the client stream then the server stream, cut where
// splits says, and returns the events.
func feedStreams(client, server, splits []byte) []event.Event {
	var got []event.Event
	a := New(testConn, func(e event.Event) { got = append(got, e) })
	k := 0
	feed := func(dir stream.Dir, d []byte) {
		for len(d) > 0 {
			n := len(d)
			if len(splits) > 0 {
				n = min(int(splits[k%len(splits)])+1, len(d))
				k++
			}
			a.Feed(dir, testTS, d[:n])
			d = d[n:]
		}
	}
	feed(stream.FromOrig, client)
	feed(stream.FromResp, server)
	a.Close(testTS)
	return got
}

func FuzzTLSStream(f *testing.F) {
	c, s := seedStreams()
	f.Add(c, s, []byte{})
	f.Add(c, s, []byte{0, 4, 200})
	f.Add(c[:100], s, []byte{1})
	f.Fuzz(func(t *testing.T, client, server, splits []byte) {
		whole := feedStreams(client, server, nil)
		split := feedStreams(client, server, splits)
		require.Equal(t, whole, split)
	})
}

func BenchmarkClientHello(b *testing.B) {
	ch := chromeHello()
	ch.Extensions = append(ch.Extensions, extKeyShare)
	client := record(recHandshake, handshakeMsg(hsClientHello, marshalClientHello(ch)))
	b.SetBytes(int64(len(client)))
	b.ReportAllocs()
	for b.Loop() {
		a := New(testConn, func(event.Event) {})
		a.Feed(stream.FromOrig, testTS, client[:1000]) // spans two segments
		a.Feed(stream.FromOrig, testTS, client[1000:])
		a.Close(testTS)
	}
}

func BenchmarkJA4(b *testing.B) {
	ch := chromeHello()
	b.ReportAllocs()
	for b.Loop() {
		_ = ch.JA4(TransportTCP)
	}
}
