package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/sim"
)

// TestSimulateOutputs runs `vigil simulate` into Zeek logs and events
// twice: the same seed gives byte-identical files, and the truth is there.
func TestSimulateOutputs(t *testing.T) {
	cfg := sim.Config{Scenario: "macos-clickfix", Seed: 3, Days: 2, Devices: 12}
	run := func(s Simulate) string {
		var out bytes.Buffer
		s.Config, s.Stdout, s.Stderr = cfg, &out, &out
		require.NoError(t, s.Run(context.Background()))
		return out.String()
	}
	a, b := t.TempDir(), t.TempDir()
	out := run(Simulate{OutZeek: a})
	require.Contains(t, out, "simulated macos-clickfix: 2 days, 12 devices, seed 3")
	run(Simulate{OutZeek: b})
	for _, name := range []string{"conn.log", "dns.log", "ssl.log", "truth.json"} {
		x, err := os.ReadFile(filepath.Join(a, name))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, name))
		require.NoError(t, err)
		require.NotEmpty(t, x, name)
		require.True(t, bytes.Equal(x, y), "%s differs between two runs with the same seed", name)
	}
	ev := filepath.Join(t.TempDir(), "events.jsonl")
	run(Simulate{OutEvents: ev})
	require.FileExists(t, filepath.Join(filepath.Dir(ev), "events.truth.json"))
	info, err := os.Stat(ev)
	require.NoError(t, err)
	require.Positive(t, info.Size())
}

func TestSimulateUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		s    Simulate
		want string
	}{
		{"unknown scenario", Simulate{Config: sim.Config{Scenario: "nope", Days: 1, Devices: 5}, OutZeek: dir}, "unknown scenario"},
		{"no output", Simulate{Config: sim.Config{Scenario: "benign-only", Days: 1, Devices: 5}}, "exactly one of"},
		{"two outputs", Simulate{Config: sim.Config{Scenario: "benign-only", Days: 1, Devices: 5}, OutZeek: dir, OutEvents: "x"}, "exactly one of"},
		{"no days", Simulate{Config: sim.Config{Scenario: "benign-only", Devices: 5}, OutZeek: dir}, "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.s.Stdout, tc.s.Stderr = &out, &out
			err := tc.s.Run(context.Background())
			var ee *ExitError
			require.True(t, errors.As(err, &ee), "want an ExitError, got %v", err)
			require.Equal(t, ExitUsage, ee.Code)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
