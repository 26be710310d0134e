package zeek

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

// roundTrip writes evs with a Writer and reads them back, by kind.
func roundTrip(t *testing.T, evs []event.Event) map[event.Kind][]event.Event {
	t.Helper()
	dir := t.TempDir()
	w, err := NewWriter(dir)
	require.NoError(t, err)
	for _, e := range evs {
		require.NoError(t, w.Write(e))
	}
	require.NoError(t, w.Close())
	got := map[event.Kind][]event.Event{}
	opt := sensor.Options{OnProblem: func(p sensor.Problem) error { return p }}
	require.NoError(t, Read(context.Background(), []string{dir}, opt, func(e event.Event) error {
		got[e.Kind()] = append(got[e.Kind()], e)
		return nil
	}))
	return got
}

func byKind(evs []event.Event) map[event.Kind][]event.Event {
	m := map[event.Kind][]event.Event{}
	for _, e := range evs {
		m[e.Kind()] = append(m[e.Kind()], e)
	}
	return m
}

// TestRoundTrip is the property: random events of every type, through
// Writer and Reader, come back identical.
func TestRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		g := newGen(seed)
		var evs []event.Event
		for i := 0; i < 300; i++ {
			evs = append(evs, g.event(event.Kinds[g.r.IntN(len(event.Kinds))]))
		}
		want := byKind(evs)
		got := roundTrip(t, evs)
		for _, k := range event.Kinds {
			require.Equal(t, len(want[k]), len(got[k]), "seed %d kind %v", seed, k)
			for i := range want[k] {
				require.Equal(t, want[k][i], got[k][i], "seed %d kind %v event %d", seed, k, i)
			}
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(1), "Mozilla/5.0", "example.com")
	f.Add(uint64(2), "-", "(empty)")
	f.Add(uint64(3), "\xff\t\\x41,", "a\nb")
	f.Fuzz(func(t *testing.T, seed uint64, s1, s2 string) {
		g := newGen(seed)
		h := g.event(event.KindHTTP).(*event.HTTP)
		h.UserAgent, h.URI = s1, s2
		d := g.event(event.KindDNS).(*event.DNS)
		d.Query = s1
		if s2 != "" {
			d.Answers = []string{s2, s1 + "x"}
		}
		x := g.event(event.KindX509).(*event.X509)
		x.Subject, x.Issuer = s1, s2
		evs := []event.Event{h, d, x, g.event(event.KindConn), g.event(event.KindTLS), g.event(event.KindDHCP)}
		got := roundTrip(t, evs)
		want := byKind(evs)
		for _, k := range event.Kinds {
			require.Equal(t, want[k], got[k])
		}
	})
}

// The header is what Zeek writes, with #open and #close from event time,
// and the same events give the same bytes.
func TestWriterHeaderDeterministic(t *testing.T) {
	write := func() []byte {
		dir := t.TempDir()
		w, err := NewWriter(dir)
		require.NoError(t, err)
		g := newGen(7)
		for i := 0; i < 50; i++ {
			require.NoError(t, w.Write(g.event(event.KindConn)))
		}
		require.NoError(t, w.Close())
		b, err := os.ReadFile(filepath.Join(dir, "conn.log"))
		require.NoError(t, err)
		return b
	}
	a, b := write(), write()
	require.Equal(t, a, b)
	lines := strings.Split(string(a), "\n")
	require.Equal(t, `#separator \x09`, lines[0])
	require.Equal(t, "#set_separator\t,", lines[1])
	require.Equal(t, "#empty_field\t(empty)", lines[2])
	require.Equal(t, "#unset_field\t-", lines[3])
	require.Equal(t, "#path\tconn", lines[4])
	require.Equal(t, "#open\t2023-11-14-22-13-22", lines[5])
	require.True(t, strings.HasPrefix(lines[6], "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"))
	require.True(t, strings.HasPrefix(lines[7], "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval"))
	require.True(t, strings.HasPrefix(lines[len(lines)-2], "#close\t2023-11-14-22-1"))
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name, in, want string
		inSet          bool
	}{
		{"plain", "abc", "abc", false},
		{"empty", "", "(empty)", false},
		{"unset placeholder", "-", `\x2d`, false},
		{"empty placeholder", "(empty)", `\x28empty)`, false},
		{"tab", "a\tb", `a\x09b`, false},
		{"backslash", `a\b`, `a\\b`, false},
		{"non-ascii", "\xc3\xbc", `\xc3\xbc`, false},
		{"comma outside set", "a,b", "a,b", false},
		{"comma in set", "a,b", `a\x2cb`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, string(appendString(nil, tc.in, tc.inSet)))
		})
	}
}

func TestAppendTime(t *testing.T) {
	tests := []struct {
		name string
		sec  int64
		nsec int64
		want string
	}{
		{"micro", 1700000000, 123456000, "1700000000.123456"},
		{"nano", 1700000000, 123456789, "1700000000.123456789"},
		{"whole", 5, 0, "5.000000"},
		{"before 1970", -2, 500000000, "-1.500000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, string(appendSeconds(nil, tc.sec, tc.nsec)))
			if tc.sec >= 0 {
				return
			}
			got, err := parseTime([]byte(tc.want))
			require.NoError(t, err)
			require.Equal(t, tc.sec, got.Unix())
		})
	}
}
