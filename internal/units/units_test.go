package units

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "7d": 7 * 24 * time.Hour, "1.5d": 36 * time.Hour, "36h": 36 * time.Hour} {
		d, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.D(), in)
	}
	for _, bad := range []string{"", "7", "d", "-1d", "soon"} {
		_, err := ParseDuration(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "28d", Duration(28*24*time.Hour).String())
	require.Equal(t, "1h30m0s", Duration(90*time.Minute).String())
	for in, want := range map[string]Bytes{"512": 512, "64KiB": 64 << 10, "10MiB": 10 << 20, "2GB": 2e9, "1.5 MiB": 3 << 19} {
		b, err := ParseBytes(in)
		require.NoError(t, err, in)
		require.Equal(t, want, b, in)
	}
	require.Equal(t, "10MiB", Bytes(10<<20).String())
	require.Equal(t, "15.2 MiB", Human(15934068))
	require.Equal(t, "2d 4h", Ago(52*time.Hour))
}

// FuzzParse checks that configuration values never panic and that sizes
// round-trip through their text form.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"7d", "90s", "30MiB", "1e400", "NaNd", "-0d", "1.5 KiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseDuration(s)
		b, err := ParseBytes(s)
		if err != nil || b < 0 {
			return
		}
		again, err := ParseBytes(b.String())
		require.NoError(t, err, "%q -> %q", s, b.String())
		require.Equal(t, b, again, "%q -> %q", s, b.String())
	})
}
