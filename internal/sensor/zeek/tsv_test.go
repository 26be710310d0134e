package zeek

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
)

// refTSVLine is the plain TSV data-line parser (per-field separator search,
// the generic begin/set/finish path) that tsvLine must agree with on every
// input: same event, same error text.
func refTSVLine(p *Parser, line []byte) (event.Event, error) {
	if p.dirty || p.colsFor != p.typ {
		p.columns()
	}
	if p.typ == logOther {
		return nil, nil
	}
	var r rec
	p.begin(&r)
	ncols := len(p.cols)
	i := 0
	var ferr error
	ferrID := 0
	var ferrRaw []byte
	for {
		j := bytes.IndexByte(line, p.sep)
		raw := line
		if j >= 0 {
			raw = line[:j]
		}
		if i < ncols && ferr == nil {
			id := int(p.cols[i])
			if id != fNone && !bytes.Equal(raw, p.unset) {
				if err := p.set(&r, id, &value{raw: raw}); err != nil {
					ferr, ferrID, ferrRaw = err, id, raw
				}
			}
		}
		i++
		if j < 0 {
			break
		}
		line = line[j+1:]
	}
	if i != ncols {
		return nil, fmt.Errorf("%d fields, the #fields header has %d", i, ncols)
	}
	if ferr != nil {
		return nil, p.fieldErr(ferrID, ferrRaw, ferr)
	}
	return p.finish(&r), nil
}

// checkTSVAgrees parses each data line of log with both parsers.
func checkTSVAgrees(t *testing.T, log []byte) {
	fast, ref := NewParser("conn.log"), NewParser("conn.log")
	for n, line := range bytes.Split(log, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' || line[0] == '{' || line[0] == ' ' || line[0] == '\t' || line[len(line)-1] == '\r' {
			_, err1 := fast.parse(line)
			_, err2 := ref.parse(line)
			require.Equal(t, fmt.Sprint(err1), fmt.Sprint(err2), "line %d %q", n+1, line)
			continue
		}
		if fast.fields == nil {
			continue
		}
		ev1, err1 := fast.tsvLine(line)
		ev2, err2 := refTSVLine(ref, line)
		require.Equal(t, fmt.Sprint(err2), fmt.Sprint(err1), "line %d %q", n+1, line)
		require.Equal(t, ev2, ev1, "line %d %q", n+1, line)
	}
}

func TestTSVAgreesWithReference(t *testing.T) {
	logs := append(generatedLogs(t), connLog(2000))
	hdr := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\tconn_state\thistory\tvlan\n"
	bad := []string{
		"1.5\tCabc\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\tdns\t0.5\tSF\tShA\t7",
		"1.5\tCabc\t010.0.0.1\t1\t10.0.0.2\t2\ttcp\tdns\t0.5\tSF\tShA\t7",
		"1.5\tCabc\t10.0.0.256\t1\t10.0.0.2\t2\ttcp\tdns\t0.5\tSF\tShA\t7",
		"1.5\tCabc\t10.0.0\t1\t::ffff:10.0.0.2\t2\ttcp\tdns\t0.5\tSF\tShA\t7",
		"1.5\t(empty)\t10.0.0.1\t99999\t10.0.0.2\tx\ttcp\tdns\t0.5\tSF\tShA\t7",
		"1.5\tC\\x41bcdefghijklmnopqrstuvwxyz\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-",
		"1.5\tCabc\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\tdns\t0.5\tSF\tShA",
		"1.5\tCabc\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\tdns\t0.5\tSF\tShA\t7\textra",
		"x\tCabc\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\tdns\tbad\tSF\tShA\t70000",
		"1.5\tCabc\t10.0.0.1\t1\t10.0.0.2\t2\t\b\t\b\b\t0.5\tXX\t\b\t7",
		"1.5\tCabc\t1.2.3.4%eth0\t1\tfe80::1%eth0\t2\ttcp\t-\t0.5\tSF\tShA\t7",
	}
	logs = append(logs, []byte(hdr+joinLines(bad)))
	for i, l := range logs {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkTSVAgrees(t, l) })
	}
}

func joinLines(l []string) string {
	var b bytes.Buffer
	for _, s := range l {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// FuzzConnTSVAgrees checks tsvLine against refTSVLine on conn lines.
func FuzzConnTSVAgrees(f *testing.F) {
	f.Add([]byte("1.5\tCabc\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\tdns\t0.5\tSF\tShA\t7"))
	f.Add([]byte("1.5\t(empty)\t1.2.3\t\t::1\t-\tudp\ta,b\t-\tRSTO\t-\t-"))
	hdr := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\tconn_state\thistory\tvlan\n"
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		checkTSVAgrees(t, append([]byte(hdr), line...))
	})
}

func TestSplitTSV(t *testing.T) {
	g := newGen(5)
	for i := 0; i < 20000; i++ {
		b := make([]byte, g.r.IntN(40))
		for j := range b {
			b[j] = byte(g.r.IntN(4)) + '\t' - 1 // tabs and their neighbours
		}
		var want []int
		for j, c := range b {
			if c == '\t' {
				want = append(want, j)
			}
		}
		want = append(want, len(b))
		require.Equal(t, want, splitTSV(nil, b, '\t'), "%q", b)
	}
}

func TestParseIPv4(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"plain", "10.0.0.1"},
		{"max", "255.255.255.255"},
		{"zero", "0.0.0.0"},
		{"leading zero", "10.01.0.1"},
		{"too big", "10.0.0.256"},
		{"three fields", "10.0.0"},
		{"five fields", "10.0.0.1.2"},
		{"empty field", "10..0.1"},
		{"trailing dot", "10.0.0.1."},
		{"four digits", "10.0.0.1000"},
		{"zone", "10.0.0.1%eth0"},
		{"ipv6", "::1"},
		{"mapped", "::ffff:10.0.0.1"},
		{"sign", "+1.2.3.4"},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkIPv4(t, tc.in)
		})
	}
	g := newGen(9)
	const alphabet = "0123456789.:"
	for i := 0; i < 50000; i++ {
		b := make([]byte, 1+g.r.IntN(16))
		for j := range b {
			b[j] = alphabet[g.r.IntN(len(alphabet))]
		}
		checkIPv4(t, string(b))
	}
}

func checkIPv4(t *testing.T, s string) {
	want, werr := netip.ParseAddr(s)
	if a, ok := parseIPv4([]byte(s)); ok {
		require.NoError(t, werr, "%q", s)
		require.Equal(t, want, a, "%q", s)
	}
	got, err := parseAddrFast([]byte(s))
	if werr != nil || s == "" {
		require.Error(t, err, "%q", s)
		return
	}
	require.NoError(t, err, "%q", s)
	require.Equal(t, want, got, "%q", s)
}

// TestParseDecimalIntegers checks the integer part, overflow included,
// against strconv.
func TestParseDecimalIntegers(t *testing.T) {
	g := newGen(11)
	ins := []string{"9223372036854775807", "9223372036854775808", "-9223372036854775807", "99999999999999999999", "000000000000000000000001"}
	for i := 0; i < 20000; i++ {
		b := make([]byte, 1+g.r.IntN(22))
		for j := range b {
			b[j] = byte('0' + g.r.IntN(10))
		}
		if g.r.IntN(3) == 0 {
			b[0] = '9'
		}
		ins = append(ins, string(b))
	}
	for _, s := range ins {
		want, werr := strconv.ParseInt(s, 10, 64)
		sec, nsec, err := parseDecimal([]byte(s))
		if werr != nil {
			require.ErrorIs(t, err, errRange, "%q", s)
			continue
		}
		require.NoError(t, err, "%q", s)
		require.Equal(t, want, sec, "%q", s)
		require.Zero(t, nsec, "%q", s)
	}
}

// TestParseDecimalFractions checks the fraction against digit-by-digit
// scaling, rounding on the tenth digit included.
func TestParseDecimalFractions(t *testing.T) {
	g := newGen(13)
	for i := 0; i < 20000; i++ {
		b := []byte("12.")
		for n := g.r.IntN(14); n > 0; n-- {
			b = append(b, byte('0'+g.r.IntN(10)))
		}
		var want, mult int64 = 0, 1e8
		for k, c := range b[3:] {
			if k < 9 {
				want += int64(c-'0') * mult
				mult /= 10
			} else if k == 9 && c >= '5' {
				want++
			}
		}
		sec := int64(12)
		if want >= 1e9 {
			sec, want = 13, want-1e9
		}
		gs, gn, err := parseDecimal(b)
		require.NoError(t, err, "%q", b)
		require.Equal(t, [2]int64{sec, want}, [2]int64{gs, gn}, "%q", b)
	}
}
