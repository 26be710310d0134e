package app

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// decode runs the whole capture pipeline (flow engine and analyzers) over
// one capture and returns its events.
func decode(t testing.TB, path string) []event.Event {
	t.Helper()
	var out []event.Event
	err := readPCAP(context.Background(), []string{path}, config.Default(), sensor.Options{}, func(e event.Event) error {
		out = append(out, e)
		return nil
	})
	require.NoError(t, err, path)
	return out
}

// agreementCaptures are real captures with HTTP, TLS and DNS in them.
var agreementCaptures = []string{
	"chrissanders/http_google.pcapng",
	"chrissanders/http_post.pcapng",
	"chrissanders/dns_isp_hijack.pcapng",
	"chrissanders/dns_query_nonexistent.pcapng",
	"chrissanders/aurora.pcapng",
	"zeek-traces/web.pcap",
	"zeek-traces/wikipedia.pcap",
	"zeek-traces/workshop_2011_browse.pcap",
	"ndpi/pcap/chrome.pcap",
	"ndpi/pcap/firefox.pcap",
	"ndpi/pcap/selfsigned.pcap",
	"ndpi/pcap/http_connect.pcap",
	"ndpi/pcap/windowsupdate_over_http.pcap",
	"ndpi/pcap/dns_exfiltration.pcap",
	"ndpi/pcap/dns.pcap",
	"lab/dev-intrusion.pcap",
}

// TestAgreesWithTshark checks, capture by capture, that the events carry
// what tshark decodes from the same packets: the SNIs of ClientHellos, the
// Host and URI of HTTP requests, and the names and NXDOMAIN answers of DNS.
func TestAgreesWithTshark(t *testing.T) {
	for _, rel := range agreementCaptures {
		t.Run(rel, func(t *testing.T) {
			path := testkit.SharedData(t, strings.Split(rel, "/")...)
			events := decode(t, path)
			var sni, http, dnsNames, nx []string
			for _, e := range events {
				switch e := e.(type) {
				case *event.TLS:
					if e.ServerName != "" {
						sni = append(sni, e.ServerName)
					}
				case *event.HTTP:
					if e.Method != "" {
						http = append(http, e.Host+"|"+e.URI)
					}
				case *event.DNS:
					// NetBIOS name service (137) is DNS-shaped and Zeek's DNS
					// analyzer reads it; tshark calls it nbns and names it
					// differently, so it is left out of the comparison.
					if e.Query != "" && e.ID.RespP != 137 {
						dnsNames = append(dnsNames, e.Query)
					}
					if e.NXDomain() && e.ID.RespP != 137 {
						nx = append(nx, e.Query)
					}
				}
			}
			var wantSNI, wantHTTP, wantDNS, wantNX []string
			for _, l := range testkit.Tshark(t, path, append([]string{"-E", "separator=|", "-E", "occurrence=f"},
				testkit.TsharkFields("tls.handshake.type == 1 || http.request || dns || mdns || llmnr",
					"tls.handshake.type", "tls.handshake.extensions_server_name", "http.request.method",
					"http.host", "http.request.uri", "dns.qry.name", "dns.flags.response", "dns.flags.rcode")...)...) {
				f := strings.Split(l, "|")
				if f[0] == "1" && f[1] != "" {
					wantSNI = append(wantSNI, f[1])
				}
				if f[2] != "" {
					// Zeek, and so Vigil, log the Host header without a port.
					wantHTTP = append(wantHTTP, hostPortSuffix.ReplaceAllString(f[3], "")+"|"+f[4])
				}
				if f[5] != "" {
					wantDNS = append(wantDNS, f[5])
					if f[6] == "1" && f[7] == "3" {
						wantNX = append(wantNX, f[5])
					}
				}
			}
			// A connection has one handshake event; tshark lists every
			// ClientHello (a HelloRetryRequest makes two), so compare sets.
			sameMultiset(t, "SNIs", set(wantSNI), set(sni))
			sameMultiset(t, "HTTP host|uri per request", wantHTTP, http)
			// tshark lists a name once per packet (query and answer); the
			// events once per exchange: compare the sets of names.
			sameMultiset(t, "DNS query names", set(wantDNS), set(dnsNames))
			sameMultiset(t, "NXDOMAIN answers", wantNX, nx)
			t.Logf("%s: %d SNIs, %d HTTP requests, %d DNS names, %d NXDOMAIN agree with tshark",
				rel, len(set(sni)), len(http), len(set(dnsNames)), len(nx))
		})
	}
}

// sameMultiset fails the test with the first few differences when want
// and got do not hold the same strings the same number of times.
func sameMultiset(t testing.TB, what string, want, got []string) {
	t.Helper()
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	var missing, extra []string
	for _, k := range sorted(slices.Collect(maps.Keys(count))) {
		switch n := count[k]; {
		case n > 0:
			missing = append(missing, fmt.Sprintf("%dx %q", n, k))
		case n < 0:
			extra = append(extra, fmt.Sprintf("%dx %q", -n, k))
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: %d expected, %d got; missing %s; extra %s", what, len(want), len(got), head(missing), head(extra))
	}
}

func head(s []string) string {
	if len(s) > 8 {
		return strings.Join(s[:8], ", ") + fmt.Sprintf(" ... (%d more)", len(s)-8)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		s = []string{}
	}
	return s
}

func set(s []string) []string { return slices.Compact(sorted(s)) }

// ndpiFlow is one TLS flow of an nDPI expected-output file.
type ndpiFlow struct {
	a, b       string // "ip:port" as nDPI prints them
	sni, ja4   string
	selfSigned bool
}

var hostPortSuffix = regexp.MustCompile(`:[0-9]+$`)

var (
	ndpiLine = regexp.MustCompile(`^\s*\d+\s+TCP\s+(\S+) <-> (\S+) `)
	ndpiSNI  = regexp.MustCompile(`\[Hostname/SNI: ([^\]]+)\]`)
	ndpiJA4  = regexp.MustCompile(`\[JA4: ([^\]]+)\]`)
)

func readNDPI(t testing.TB, path string) []ndpiFlow {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []ndpiFlow
	for _, line := range strings.Split(string(b), "\n") {
		m := ndpiLine.FindStringSubmatch(line)
		if m == nil || !strings.Contains(line, "[TLSv") {
			continue
		}
		f := ndpiFlow{a: m[1], b: m[2], selfSigned: strings.Contains(line, "Self-signed Cert")}
		if s := ndpiSNI.FindStringSubmatch(line); s != nil {
			f.sni = s[1]
		}
		if s := ndpiJA4.FindStringSubmatch(line); s != nil {
			f.ja4 = s[1]
		}
		out = append(out, f)
	}
	return out
}

func hostPort(a fmt.Stringer, p uint16) string {
	s := a.String()
	if strings.Contains(s, ":") {
		return "[" + s + "]:" + fmt.Sprint(p)
	}
	return s + ":" + fmt.Sprint(p)
}

// TestAgreesWithNDPI checks TLS events against nDPI's expected results
// for its test captures: the SNI, the JA4 fingerprint, and nDPI's
// "Self-signed Cert" risk against Vigil's self-signed flag.
func TestAgreesWithNDPI(t *testing.T) {
	dir := testkit.SharedData(t, "ndpi", "result")
	outs, err := filepath.Glob(filepath.Join(dir, "*.out"))
	require.NoError(t, err)
	var flows, sniOK, ja4Flows, ja4OK, ja4Quirk, selfFlows, selfOK int
	for _, out := range outs {
		pcapPath := filepath.Join(filepath.Dir(dir), "pcap", strings.TrimSuffix(filepath.Base(out), ".out"))
		if _, err := os.Stat(pcapPath); err != nil {
			continue
		}
		want := readNDPI(t, out)
		if len(want) == 0 {
			continue
		}
		got := map[string]*event.TLS{}
		for _, e := range decode(t, pcapPath) {
			if tl, ok := e.(*event.TLS); ok {
				k1 := hostPort(tl.ID.OrigH, tl.ID.OrigP) + " " + hostPort(tl.ID.RespH, tl.ID.RespP)
				k2 := hostPort(tl.ID.RespH, tl.ID.RespP) + " " + hostPort(tl.ID.OrigH, tl.ID.OrigP)
				got[k1], got[k2] = tl, tl
			}
		}
		for _, w := range want {
			tl := got[w.a+" "+w.b]
			flows++
			if tl == nil {
				t.Errorf("%s: nDPI has a TLS flow %s <-> %s that Vigil did not report", filepath.Base(pcapPath), w.a, w.b)
				continue
			}
			if w.sni == "" || w.sni == tl.ServerName {
				sniOK++
			} else {
				t.Errorf("%s %s: SNI %q, nDPI says %q", filepath.Base(pcapPath), w.a, tl.ServerName, w.sni)
			}
			if w.ja4 != "" {
				ja4Flows++
				switch {
				case w.ja4 == tl.JA4:
					ja4OK++
				case ja4Core(w.ja4) == ja4Core(tl.JA4):
					// nDPI departs from the FoxIO reference (which tlsx's own
					// tests check) in the SNI flag (an IP literal in the SNI
					// extension, ECH) and the ALPN characters ("ht" for
					// http/1.1 where the spec says first and last: "h1").
					ja4Quirk++
					t.Logf("%s %s: JA4 %s, nDPI says %s (SNI/ALPN flag only)", filepath.Base(pcapPath), w.a, tl.JA4, w.ja4)
				default:
					t.Errorf("%s %s: JA4 %s, nDPI says %s", filepath.Base(pcapPath), w.a, tl.JA4, w.ja4)
				}
			}
			if w.selfSigned {
				selfFlows++
				if tl.SelfSigned {
					selfOK++
				} else {
					t.Errorf("%s %s: nDPI flags a self-signed certificate, Vigil does not", filepath.Base(pcapPath), w.a)
				}
			}
		}
	}
	t.Logf("nDPI TLS flows: %d; SNI agree %d; JA4 agree %d of %d (+%d differing only in nDPI's SNI/ALPN flags); self-signed agree %d of %d",
		flows, sniOK, ja4OK, ja4Flows, ja4Quirk, selfOK, selfFlows)
	require.NotZero(t, ja4Flows)
	require.NotZero(t, selfFlows)
}

// ja4Core is a JA4 without its SNI flag and ALPN characters: protocol,
// version, counts and both hashes.
func ja4Core(ja4 string) string {
	if len(ja4) < 10 {
		return ja4
	}
	return ja4[:3] + ja4[4:8] + ja4[10:]
}
