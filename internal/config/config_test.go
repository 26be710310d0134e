package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{
			name: "overrides defaults",
			yaml: "internal: [10.20.0.0/16, 192.0.2.7]\ncapture:\n  tcp_inactivity_timeout: 90s\n",
			check: func(t *testing.T, c Config) {
				require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("192.0.2.7/32")}, c.InternalPrefixes())
				require.Equal(t, Duration(90*time.Second), c.Capture.TCPInactivity)
				require.Equal(t, Default().Capture.UDPInactivity, c.Capture.UDPInactivity)
			},
		},
		{name: "empty file keeps defaults", yaml: "", check: func(t *testing.T, c Config) { require.Equal(t, Default(), c) }},
		{name: "unknown key", yaml: "capture:\n  tcp_timeout: 5m\n", wantErr: "field tcp_timeout not found"},
		{name: "bad prefix names the line", yaml: "internal:\n  - 10.0.0.0/33\n", wantErr: "line 2"},
		{name: "bad duration", yaml: "capture:\n  udp_inactivity_timeout: soon\n", wantErr: `bad duration "soon"`},
		{name: "non-positive duration", yaml: "capture:\n  udp_inactivity_timeout: 0s\n", wantErr: "must be positive"},
		{name: "no internal ranges", yaml: "internal: []\n", wantErr: "at least one address range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "vigil.yaml")
			require.NoError(t, os.WriteFile(p, []byte(tc.yaml), 0o644))
			c, err := Load(p)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, p)
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	p, err := ParsePrefixes(" 10.0.0.0/8 , fd00::/8,192.168.1.1 ")
	require.NoError(t, err)
	require.Len(t, p, 3)
	require.Equal(t, netip.MustParsePrefix("192.168.1.1/32"), netip.Prefix(p[2]))
	_, err = ParsePrefixes("10.0.0.0/8,nonsense")
	require.ErrorContains(t, err, `"nonsense"`)
	_, err = ParsePrefixes(" , ")
	require.Error(t, err)
}

// FuzzParse checks that arbitrary configuration text is either accepted
// or refused with an error naming the file, and never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"internal: [10.0.0.0/8]\n", "baseline: {learning_period: 7d, rare_fraction: 0.05}\n",
		"models:\n  x: {}\n", "allowlist:\n  - endpoint: '*.example.com'\n", "capture: {max_flows: 1}\n", ":\n-", "models: [1, 2]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := Parse("fuzz.yaml", []byte(s))
		if err != nil && !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
