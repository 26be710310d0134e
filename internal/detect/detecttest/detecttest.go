// Package detecttest runs a detection model over fixture folders: each
// testdata/<case>/ holds Zeek logs (TSV or JSON), an optional config.yaml
// (Vigil's configuration format) and want.json, the breaches the model
// must raise ([] for a benign fixture). `make golden` (UPDATE=1) rewrites
// want.json for review in git diff.
package detecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
)

// Run checks every fixture under testdata/ against the model with this ID.
func Run(t *testing.T, id string) {
	t.Helper()
	cases, err := filepath.Glob(filepath.Join("testdata", "*", "want.json"))
	require.NoError(t, err)
	if os.Getenv("UPDATE") != "" {
		more, _ := filepath.Glob(filepath.Join("testdata", "*", "*.log"))
		for _, m := range more {
			w := filepath.Join(filepath.Dir(m), "want.json")
			if !contains(cases, w) {
				cases = append(cases, w)
			}
		}
	}
	require.NotEmpty(t, cases, "no fixtures in testdata/*/want.json")
	for _, want := range cases {
		dir := filepath.Dir(want)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := Breaches(t, dir, id)
			b, err := json.MarshalIndent(got, "", "  ")
			require.NoError(t, err)
			b = append(b, '\n')
			if os.Getenv("UPDATE") != "" {
				require.NoError(t, os.WriteFile(want, b, 0o644))
				return
			}
			exp, err := os.ReadFile(want)
			require.NoError(t, err)
			require.Equal(t, string(bytes.TrimSpace(exp)), string(bytes.TrimSpace(b)), "breaches differ from %s (UPDATE=1 rewrites)", want)
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Breaches runs only the model with this ID over the fixture folder's Zeek
// logs and returns its breaches (never nil).
func Breaches(t *testing.T, dir, id string) []breach.Breach {
	t.Helper()
	cfg := config.Default()
	if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err == nil {
		cfg, err = config.Load(filepath.Join(dir, "config.yaml"))
		require.NoError(t, err)
	}
	e := Engine(t, cfg, id)
	var logs []string
	for _, pat := range []string{"*.log", "*.log.gz", "*.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		logs = append(logs, m...)
	}
	logs = without(logs, filepath.Join(dir, "want.json"))
	require.NotEmpty(t, logs, "%s: no Zeek logs", dir)
	opt := sensor.Options{OnProblem: func(p sensor.Problem) error { return p }}
	err := zeek.Read(context.Background(), logs, opt, func(ev event.Event) error { e.Observe(ev); return nil })
	require.NoError(t, err)
	e.Flush()
	out := e.Breaches()
	if out == nil {
		out = []breach.Breach{}
	}
	return out
}

func without(ss []string, s string) []string {
	out := ss[:0]
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// Engine returns an engine that runs only the model with this ID, with the
// configuration's settings.
func Engine(t testing.TB, cfg config.Config, id string) *detect.Engine {
	t.Helper()
	models, err := cfg.DetectModels()
	require.NoError(t, err)
	var only []detect.Configured
	for _, m := range models {
		if m.Info.ID == id {
			only = append(only, m)
		}
	}
	require.Len(t, only, 1, "model %s is not registered (or is disabled in config.yaml)", id)
	inv := device.NewInventory(cfg.InternalPrefixes())
	return detect.NewEngine(detect.Options{
		Baseline: cfg.Baseline, Internal: inv.Internal, Models: only, Allow: cfg.Allowlist, Scoring: cfg.Scoring,
	})
}
