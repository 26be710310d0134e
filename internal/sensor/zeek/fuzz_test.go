package zeek

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// generatedLogs returns small logs of every type, as Writer writes them.
func generatedLogs(tb testing.TB) [][]byte {
	dir := tb.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		tb.Fatal(err)
	}
	g := newGen(42)
	for i := 0; i < 12; i++ {
		if err := w.Write(g.event(event.Kinds[i%len(event.Kinds)])); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, n := range []string{"conn", "http", "ssl", "x509", "dns", "dhcp"} {
		b, err := os.ReadFile(filepath.Join(dir, n+".log"))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out, connLog(3))
}

// parseAll feeds every line to a parser; nothing may panic, and every
// event must be writable.
func parseAll(name string, data []byte) {
	p := NewParser(name)
	p.certs = newCertCache(16)
	for _, l := range bytes.Split(data, []byte("\n")) {
		ev, err := p.Line(l)
		if err != nil || ev == nil {
			continue
		}
		switch e := ev.(type) {
		case *event.Conn:
			appendConn(nil, e)
		case *event.HTTP:
			appendHTTP(nil, e)
		case *event.TLS:
			appendTLS(nil, e)
		case *event.X509:
			appendX509(nil, e)
		case *event.DNS:
			appendDNS(nil, e)
		case *event.DHCP:
			appendDHCP(nil, e)
		}
	}
}

func FuzzTSV(f *testing.F) {
	for _, b := range generatedLogs(f) {
		f.Add(b)
	}
	f.Add([]byte("#separator \\x2c\n#fields,ts,uid,id.orig_h\n1.0,C1,10.0.0.1\n"))
	// Real Zeek logs (their first 4 KiB) when the shared data is there.
	for _, b := range testkit.SharedSeeds(4<<10, "slips/dataset/test10-mixed-zeek-dir/conn.log",
		"slips/dataset/test10-mixed-zeek-dir/ssl.log", "slips/dataset/test10-mixed-zeek-dir/x509.log",
		"slips/dataset/test10-mixed-zeek-dir/dns.log", "slips/dataset/test14-malicious-zeek-dir/http.log") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseAll("conn.log", data)
		parseAll("ssl.log", data)
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"_path":"conn","ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"proto":"tcp","duration":0.000252}`))
	f.Add([]byte(`{"_path":"dns","ts":"2024-04-19T10:00:00.5Z","id":{"orig_h":"::1","orig_p":53},"answers":["a","b"],"TTLs":[1.0,2.5],"rcode":0}`))
	f.Add([]byte(`{"_path":"ssl","ts":2,"cert_chain_fps":["fp"],"sni_matches_cert":true}` + "\n" + `{"_path":"x509","ts":1,"fingerprint":"fp","certificate.subject":"CN=a"}`))
	f.Add([]byte(`{"_path":"dhcp","ts":1,"uids":["C1"],"msg_types":["DISCOVER"],"lease_time":600.0}`))
	f.Add([]byte(`{"_path":"http","ts":1,"user_agent":"\\xff\\xfeUA","orig_mime_types":["text/plain"],"proxied":["VIA -> x"]}`))
	for _, b := range testkit.SharedSeeds(4<<10, "slips/dataset/test9-mixed-zeek-dir/conn.log",
		"slips/dataset/test9-mixed-zeek-dir/ssl.log", "slips/dataset/test9-mixed-zeek-dir/http.log") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseAll("conn.json", data)
	})
}
