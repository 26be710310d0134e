package zeek

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

const connHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2024-04-19-10-00-00\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tcount\tstring\tcount\tcount\tcount\tcount\n"

const connLine = "1713520800.000252\tCabc\t10.0.0.1\t5353\t10.0.0.2\t53\tudp\tdns\t0.000252\t10\t20\tSF\t0\tDd\t1\t38\t1\t48\n"

// readAll reads the given files (written into a temp dir) and returns the
// events and problems.
func readAll(t *testing.T, files map[string][]byte) ([]event.Event, []sensor.Problem, error) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	var evs []event.Event
	var probs []sensor.Problem
	opt := sensor.Options{OnProblem: func(p sensor.Problem) error { probs = append(probs, p); return nil }}
	err := Read(context.Background(), []string{dir}, opt, func(e event.Event) error {
		evs = append(evs, e)
		return nil
	})
	return evs, probs, err
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func truncated(b []byte) []byte { return b[:len(b)/2] }

func TestConnFields(t *testing.T) {
	evs, probs, err := readAll(t, map[string][]byte{"conn.log": []byte(connHeader + connLine)})
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Len(t, evs, 1)
	want := &event.Conn{
		Meta: event.Meta{TS: time.Unix(1713520800, 252000).UTC(), UID: "Cabc", ID: event.ConnID{
			OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 5353, RespH: netip.MustParseAddr("10.0.0.2"), RespP: 53}},
		Proto: event.ProtoUDP, Service: "dns", Duration: 252 * time.Microsecond, OrigBytes: 10, RespBytes: 20,
		ConnState: event.StateSF, History: "Dd", OrigPkts: 1, OrigIPBytes: 38, RespPkts: 1, RespIPBytes: 48,
	}
	require.Equal(t, want, evs[0])
}

func TestBadInput(t *testing.T) {
	good := connLine
	tests := []struct {
		name     string
		files    map[string][]byte
		events   int
		problems []string // substrings, in order: "FILE: record N: reason"
		notInput bool
	}{
		{"wrong field count", map[string][]byte{"conn.log": []byte(connHeader + good + "1713520801.0\tCx\t10.0.0.1\n" + good)}, 2, []string{"conn.log: record 10: 3 fields, the #fields header has 18"}, false},
		{"bad number", map[string][]byte{"conn.log": []byte(connHeader + strings.Replace(good, "\t10\t20\t", "\tten\t20\t", 1) + good)}, 1, []string{"record 9: field orig_bytes: invalid syntax"}, false},
		{"bad IP", map[string][]byte{"conn.log": []byte(connHeader + strings.Replace(good, "10.0.0.2", "10.0.0.999", 1) + good)}, 1, []string{"record 9: field id.resp_h: invalid address"}, false},
		{"bad time", map[string][]byte{"conn.log": []byte(connHeader + strings.Replace(good, "1713520800.000252", "17x", 1) + good)}, 1, []string{"record 9: field ts"}, false},
		{"no fields header", map[string][]byte{"conn.log": []byte("#separator \\x09\n#path\tconn\n" + good + good)}, 0, []string{"record 3: data line before any #fields", "record 4: data line"}, false},
		{"truncated gzip", map[string][]byte{"conn.log.gz": truncated(gz(connLog(2000)))}, -1, []string{"conn.log.gz: record"}, false},
		{"not a zeek log", map[string][]byte{"conn.log": []byte("hello world\n")}, 0, nil, true},
		{"binary garbage", map[string][]byte{"dns.log": {0x00, 0x01, 0x02, 0xff}}, 0, nil, true},
		{"shell script", map[string][]byte{"ssl.log": []byte("#!/bin/sh\necho hi\n")}, 0, nil, true},
		{"bad JSON line", map[string][]byte{"conn.json": []byte(`{"ts":1,"uid":"C1","proto":"tcp"}` + "\n{\"ts\":\n" + `{"ts":2,"uid":"C2"}` + "\n")}, 2, []string{"conn.json: record 2: invalid JSON"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, probs, err := readAll(t, tc.files)
			if tc.notInput {
				require.ErrorIs(t, err, sensor.ErrNotInput)
				require.Empty(t, evs)
				return
			}
			require.NoError(t, err)
			if tc.events >= 0 {
				require.Len(t, evs, tc.events)
			} else {
				require.NotEmpty(t, evs, "lines before the truncation are kept")
			}
			require.Len(t, probs, len(tc.problems), "%v", probs)
			for i, want := range tc.problems {
				require.Contains(t, probs[i].Error(), want)
			}
		})
	}
}

func TestReorderedAndExtraFields(t *testing.T) {
	log := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n" +
		"#fields\tuser_agent\tzzz_unknown\tuid\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\tstatus_code\tresp_mime_types\tproxied\n" +
		"#types\tstring\tstring\tstring\ttime\taddr\tport\taddr\tport\tstring\tcount\tvector[string]\tset[string]\n" +
		"Mozilla\\xff\\xfe\tjunk\tC1\t1.5\t10.0.0.1\t1\t10.0.0.2\t80\tGET\t-\ttext/html,image/png\tVIA -> a\\x2cb,X-FORWARDED-FOR -> 1.2.3.4\n"
	evs, probs, err := readAll(t, map[string][]byte{"http.log": []byte(log)})
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Len(t, evs, 1)
	h := evs[0].(*event.HTTP)
	require.Equal(t, "Mozilla\xff\xfe", h.UserAgent, "non-UTF-8 bytes are kept")
	require.Equal(t, "C1", h.UID)
	require.Equal(t, time.Unix(1, 5e8).UTC(), h.TS)
	require.Equal(t, 0, h.StatusCode)
	require.Equal(t, "text/html", h.RespContentType)
	require.Equal(t, []string{"VIA -> a,b", "X-FORWARDED-FOR -> 1.2.3.4"}, h.Proxied)
}

func TestSeveralHeaderBlocks(t *testing.T) {
	other := strings.Replace(connHeader, "#fields\tts\tuid", "#fields\tuid\tts", 1)
	line2 := "Cdef\t1713520900.5\t10.0.0.1\t5353\t10.0.0.2\t53\tudp\tdns\t0.000252\t10\t20\tSF\t0\tDd\t1\t38\t1\t48\n"
	evs, probs, err := readAll(t, map[string][]byte{"conn.log": []byte(connHeader + connLine + "#close\t2024-04-19-10-00-00\n" + other + line2)})
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Len(t, evs, 2)
	require.Equal(t, "Cdef", evs[1].Base().UID)
}

func TestJSONForms(t *testing.T) {
	lines := `{"ts":1713520800.000252,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","duration":0.09628199999999865,"extra":{"a":1}}
{"ts":"2024-04-19T10:00:01.5Z","uid":"C2","id":{"orig_h":"10.0.0.3","orig_p":2,"resp_h":"10.0.0.4","resp_p":80},"proto":"tcp","duration":1.2e-05}
`
	evs, probs, err := readAll(t, map[string][]byte{"conn.json.gz": gz([]byte(lines))})
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Len(t, evs, 2)
	c1, c2 := evs[0].(*event.Conn), evs[1].(*event.Conn)
	require.Equal(t, 96282*time.Microsecond, c1.Duration)
	require.Equal(t, netip.MustParseAddr("10.0.0.4"), c2.ID.RespH)
	require.Equal(t, uint16(80), c2.ID.RespP)
	require.Equal(t, time.Date(2024, 4, 19, 10, 0, 1, 5e8, time.UTC), c2.TS)
	require.Equal(t, 12*time.Microsecond, c2.Duration)
}

func TestX509Join(t *testing.T) {
	hdr := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
	ssl := hdr + "#path\tssl\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tserver_name\tcert_chain_fps\tvalidation_status\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tvector[string]\tstring\n" +
		"100.0\tC1\t10.0.0.1\t1\t1.2.3.4\t443\tTLSv12\tevil.example\tfp1,fp2\t-\n" +
		"200.0\tC2\t10.0.0.1\t2\t1.2.3.4\t443\tTLSv12\tevil.example\tfp1,fp2\t-\n" +
		"300.0\tC3\t10.0.0.1\t3\t5.6.7.8\t443\tTLSv13\t-\t-\t-\n"
	x509 := hdr + "#path\tx509\n#fields\tts\tfingerprint\tcertificate.subject\tcertificate.issuer\tcertificate.not_valid_before\tcertificate.not_valid_after\n" +
		"#types\ttime\tstring\tstring\tstring\ttime\ttime\n" +
		"100.1\tfp1\tCN=evil\tCN=evil\t10.0\t20.0\n" +
		"100.1\tfp2\tCN=ca\tCN=root\t10.0\t20.0\n"
	evs, probs, err := readAll(t, map[string][]byte{"ssl.log": []byte(ssl), "x509.log": []byte(x509)})
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Len(t, evs, 5)
	t1 := evs[0].(*event.TLS)
	require.Equal(t, "CN=evil", t1.Subject)
	require.True(t, t1.SelfSigned)
	require.Equal(t, time.Unix(10, 0).UTC(), t1.NotBefore)
	x1 := evs[1].(*event.X509)
	require.Equal(t, "C1", x1.UID, "the x509 record gets the uid of the first ssl record using it")
	require.True(t, x1.SelfSigned)
	require.Equal(t, "C1", evs[2].(*event.X509).UID)
	require.True(t, evs[3].(*event.TLS).SelfSigned)
	t3 := evs[4].(*event.TLS)
	require.True(t, t3.CertsEncrypted)
	require.False(t, t3.SelfSigned)
}

func TestLogNames(t *testing.T) {
	tests := []struct {
		name, typ string
		ok        bool
	}{
		{"conn.log", "conn", true},
		{"conn.2024-04-19-10-00-00.log.gz", "conn", true},
		{"conn.16:00:00-17:00:00.log.gz", "conn", true},
		{"conn.json", "conn", true},
		{"dns.json.gz", "dns", true},
		{"weird.log", "weird", true},
		{"README.md", "", false},
		{".conn.log", "", false},
		{"log", "", false},
		{"conn.log.swp", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, ok := isLogName(tc.name)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.typ, typ)
		})
	}
}

func TestRotatedOrderAndMerge(t *testing.T) {
	mk := func(ts ...string) []byte {
		var b strings.Builder
		b.WriteString(connHeader)
		for _, s := range ts {
			b.WriteString(strings.Replace(connLine, "1713520800.000252", s, 1))
		}
		return []byte(b.String())
	}
	dnsLog := "{\"_path\":\"dns\",\"ts\":15.0,\"uid\":\"D1\",\"rcode\":null}\n"
	files := map[string][]byte{
		"conn.log":                      mk("30.0", "31.0"),
		"conn.15:00:00-16:00:00.log.gz": gz(mk("10.0", "11.0")),
		"conn.2024-04-19-10-00-00.log":  mk("20.0", "21.0"),
		"dns.json":                      []byte(dnsLog),
		"weird.log":                     []byte("#separator \\x09\n"),
		"notes.txt":                     []byte("not a log"),
	}
	evs, probs, err := readAll(t, files)
	require.NoError(t, err)
	require.Empty(t, probs)
	var got []float64
	for _, e := range evs {
		got = append(got, float64(e.Base().TS.UnixNano())/1e9)
	}
	require.Equal(t, []float64{10, 11, 15, 20, 21, 30, 31}, got)
	require.False(t, evs[2].(*event.DNS).HasReply)

	st, err := ReadStats(context.Background(), []string{filepath.Dir(filepath.Join(t.TempDir(), "x"))}, sensor.Options{}, func(event.Event) error { return nil })
	require.NoError(t, err)
	require.Zero(t, st.Files)
}

func TestOtherFilesCounted(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "weird.log"), []byte("#separator \\x09\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notice.log.gz"), gz([]byte("#separator \\x09\n")), 0o644))
	st, err := ReadStats(context.Background(), []string{dir}, sensor.Options{}, func(event.Event) error { return nil })
	require.NoError(t, err)
	require.Equal(t, map[string]int{"weird": 1, "notice": 1}, st.OtherFiles)
}

func TestEmitErrorStops(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "conn.log"), []byte(connHeader+connLine+connLine), 0o644))
	stop := errors.New("stop")
	n := 0
	err := Read(context.Background(), []string{dir}, sensor.Options{}, func(event.Event) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		err  bool
	}{
		{"micro", "0.000252", 252 * time.Microsecond, false},
		{"float noise", "0.09628199999999865", 96282 * time.Microsecond, false},
		{"nano", "1.000000001", time.Second + 1, false},
		{"round", "0.0000000005", 1, false},
		{"negative", "-1.5", -1500 * time.Millisecond, false},
		{"integer", "300", 300 * time.Second, false},
		{"exponent", "1.2e-05", 12 * time.Microsecond, false},
		{"empty", "", 0, true},
		{"junk", "1.2x", 0, true},
		{"dot", ".", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseInterval([]byte(tc.in))
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestIndexSep(t *testing.T) {
	g := newGen(3)
	for i := 0; i < 20000; i++ {
		b := make([]byte, g.r.IntN(40))
		for j := range b {
			b[j] = byte(g.r.IntN(4)) + '\t' - 1 // lots of tabs and their neighbours
		}
		require.Equal(t, bytes.IndexByte(b, '\t'), indexSep(b, '\t'), "%q", b)
		require.Equal(t, bytes.IndexByte(b, 0xff), indexSep(b, 0xff), "%q", b)
	}
}

func TestJSONNonUTF8AndOldDHCP(t *testing.T) {
	http := `{"_path":"http","ts":1.0,"uid":"C1","user_agent":"Evil\\xff\\xfeUA \\x41","resp_mime_types":["text/html"],"response_content_type":"application/json"}` + "\n"
	dhcp := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdhcp\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmac\tassigned_ip\tlease_time\ttrans_id\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tstring\taddr\tinterval\tcount\n" +
		"2.0\tCd\t192.168.0.15\t68\t192.168.0.1\t67\tf4:8e:38:8b:b6:03\t192.168.0.15\t3600.000000\t39335247\n"
	evs, probs, err := readAll(t, map[string][]byte{"http.json": []byte(http), "dhcp.log": []byte(dhcp)})
	require.NoError(t, err)
	require.Empty(t, probs)
	require.Len(t, evs, 2)
	h := evs[0].(*event.HTTP)
	require.Equal(t, "Evil\xff\xfeUA \\x41", h.UserAgent, "Zeek's JSON escapes of non-UTF-8 bytes are undone, others kept")
	require.Equal(t, "application/json", h.RespContentType, "Vigil's column wins over resp_mime_types")
	d := evs[1].(*event.DHCP)
	require.Equal(t, []string{"Cd"}, d.UIDs)
	require.Equal(t, netip.MustParseAddr("192.168.0.15"), d.AssignedAddr)
	require.Equal(t, time.Hour, d.LeaseTime)
}
