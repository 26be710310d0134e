package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/app"
)

// run executes the command line as main would and returns its output and
// exit status.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := root()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	if err == nil {
		return out.String(), 0
	}
	out.WriteString(err.Error())
	var ee *app.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.Code
	}
	return out.String(), app.ExitUsage
}

func TestCommandLine(t *testing.T) {
	example := filepath.Join("..", "..", "examples", "office.pcap")
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(badConfig, []byte("capture:\n  tcp_timeout: 5m\n"), 0o644))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help lists the commands", []string{"--help"}, 0, "analyze"},
		{"analyze help explains exit statuses", []string{"analyze", "--help"}, 0, "exit status 2"},
		{"convert help", []string{"convert", "--help"}, 0, "Zeek-format TSV logs"},
		{"serve help says AF_PACKET needs root", []string{"serve", "--help"}, 0, "CAP_NET_RAW"},
		{"several captures after --pcap", []string{"analyze", "--pcap", example, example, "--out", filepath.Join(dir, "o1")}, 0, "read      2 captures"},
		{"inputs without a flag", []string{"analyze", example, "--out", filepath.Join(dir, "o2")}, 2, "unexpected arguments"},
		{"no --out", []string{"analyze", "--pcap", example}, 2, "--out DIR is required"},
		{"bad --internal", []string{"analyze", "--pcap", example, "--internal", "10.0.0.0/99", "--out", dir}, 2, "--internal"},
		{"unknown config key", []string{"analyze", "--pcap", example, "--config", badConfig, "--out", dir}, 2, "tcp_timeout"},
		{"unknown flag", []string{"analyze", "--pacp", example}, 2, "unknown flag"},
		{"serve needs one source", []string{"serve", "--data", dir}, 2, "exactly one of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := run(t, tc.args...)
			require.Equal(t, tc.code, code, out)
			require.Contains(t, out, tc.want)
		})
	}
}

// TestModels checks `vigil models`: every catalogue model with its MITRE
// mapping and thresholds, configuration applied, and strict errors.
func TestModels(t *testing.T) {
	out, code := run(t, "models")
	require.Equal(t, 0, code, out)
	for _, name := range []string{
		"Anomalous Connection::Multiple HTTP POSTs to Rare Hostname",
		"Anomalous Connection::Posting HTTP to IP Without Hostname",
		"Anomalous Connection::New User Agent to IP Without Hostname",
		"Anomalous Connection::Rare External SSL Self-Signed",
		"Anomalous Connection::Powershell to Rare External",
		"Anomalous Connection::Application Protocol on Uncommon Port",
		"Device::New PowerShell User Agent",
		"Device::Anomalous Github Download",
		"Unusual Activity::Unusual External Data to New Endpoint",
		"Compromise::Large Number of Suspicious Failed Connections",
		"Compromise::Possible Doppelganger Attack",
	} {
		require.Contains(t, out, name+"\n")
	}
	require.Contains(t, out, "T1608.003, T1573")
	require.Contains(t, out, "min_failures=20")

	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("models:\n  failed-connections:\n    min_failures: 40\n  post-to-ip:\n    enabled: false\n"), 0o644))
	out, code = run(t, "models", "--config", cfg)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "min_failures=40")
	require.Contains(t, out, "Anomalous Connection::Posting HTTP to IP Without Hostname  [disabled]")

	require.NoError(t, os.WriteFile(cfg, []byte("models:\n  failed-connections:\n    min_fail: 40\n"), 0o644))
	out, code = run(t, "models", "--config", cfg)
	require.Equal(t, 2, code, out)
	require.Contains(t, out, `line 3: models.failed-connections: unknown key "min_fail"`)
}

// TestEvalDGANeedsData checks that `vigil eval dga` (and `vigil dga
// eval`) name the missing development data and exit 2.
func TestEvalDGANeedsData(t *testing.T) {
	for _, args := range [][]string{{"eval", "dga"}, {"dga", "eval"}} {
		out, code := run(t, append(args, "--data", t.TempDir())...)
		require.Equal(t, 2, code, out)
		require.Contains(t, out, "DGA development data not found")
	}
}
