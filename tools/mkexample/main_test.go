package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/testkit"
)

// TestExampleIsReproducible regenerates the bundled example and checks it
// is byte-identical to the committed file, and that examples/README.md
// carries the current inventory and timeline. After a deliberate change,
// run `make example` and paste `go run ./tools/mkexample -out /dev/null
// -summary` into the README.
func TestExampleIsReproducible(t *testing.T) {
	data, sum, err := Generate()
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "office.pcap")
	require.NoError(t, os.WriteFile(out, data, 0o644))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(testkit.RepoRoot(), "examples", "office.pcap"))
	require.NoError(t, err)
	require.Less(t, len(want), 2<<20, "the example must stay under 2 MB")
	require.True(t, bytes.Equal(want, got), "examples/office.pcap differs from what tools/mkexample makes (%d vs %d bytes): run `make example`", len(want), len(got))

	readme, err := os.ReadFile(filepath.Join(testkit.RepoRoot(), "examples", "README.md"))
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(sum), "\n") {
		require.Contains(t, string(readme), line, "examples/README.md is missing a line of the summary")
	}
}
