// Package testkit holds helpers that tests across the project share.
package testkit

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the repository's root directory (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SharedDir returns the shared development data folder (../shared beside
// the repository, or $VIGIL_SHARED) and whether it exists.
func SharedDir() (string, bool) {
	dir := os.Getenv("VIGIL_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}

// SharedData returns the path of a file or folder under ../shared/data,
// or skips the test with a clear message when it is absent (a user's fresh
// clone has no ../shared).
func SharedData(t testing.TB, rel ...string) string {
	t.Helper()
	dir, ok := SharedDir()
	if !ok {
		t.Skipf("skipping: shared development data not found at %s (set VIGIL_SHARED or put the shared folder beside the repository)", dir)
	}
	p := filepath.Join(append([]string{dir, "data"}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: %s is not present in the shared data", p)
	}
	return p
}

// SharedSeeds returns the first max bytes of each named shared-data file
// that exists, to seed fuzz targets with real input; none when ../shared
// is absent (the generated seeds still run).
func SharedSeeds(max int, rels ...string) [][]byte {
	dir, ok := SharedDir()
	if !ok {
		return nil
	}
	var out [][]byte
	for _, rel := range rels {
		b, err := os.ReadFile(filepath.Join(dir, "data", filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		if len(b) > max {
			b = b[:max]
		}
		out = append(out, b)
	}
	return out
}
