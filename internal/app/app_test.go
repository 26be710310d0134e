package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

var example = filepath.Join(testkit.RepoRoot(), "examples", "office.pcap")

func analyze(t *testing.T, a Analyze) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	a.Stdout, a.Stderr = &o, &e
	if a.Config.Internal == nil {
		a.Config = config.Default()
	}
	err = a.Run(context.Background())
	return o.String(), e.String(), err
}

// TestAnalyzeExample runs the README's first command on the bundled
// example: every output file is there, devices.jsonl and breaches.jsonl
// match their golden files, and a second run gives byte-identical output.
func TestAnalyzeExample(t *testing.T) {
	out1, out2 := t.TempDir(), t.TempDir()
	stdout, _, err := analyze(t, Analyze{PCAPs: []string{example}, Out: out1})
	require.NoError(t, err)
	require.Contains(t, stdout, "devices   10 internal (8 named)")
	_, _, err = analyze(t, Analyze{PCAPs: []string{example}, Out: out2})
	require.NoError(t, err)
	for _, name := range OutputFiles {
		a, err := os.ReadFile(filepath.Join(out1, name))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(out2, name))
		require.NoError(t, err)
		require.Equal(t, a, b, "%s differs between two runs", name)
		if name != "devices.jsonl" && name != "breaches.jsonl" {
			require.Empty(t, a, name)
		}
	}
	for _, name := range []string{"devices.jsonl", "breaches.jsonl"} {
		got, err := os.ReadFile(filepath.Join(out1, name))
		require.NoError(t, err)
		golden := filepath.Join("testdata", "office-"+name)
		if os.Getenv("UPDATE") != "" {
			require.NoError(t, os.WriteFile(golden, got, 0o644))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s (UPDATE=1 go test rewrites the golden file)", name)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notCapture, []byte("this is not a capture\n"), 0o644))
	whole, err := os.ReadFile(example)
	require.NoError(t, err)
	truncated := filepath.Join(dir, "truncated.pcap")
	require.NoError(t, os.WriteFile(truncated, whole[:len(whole)/2+7], 0o644))
	garbage := filepath.Join(dir, "garbage-after.pcap")
	require.NoError(t, os.WriteFile(garbage, append(slices.Clone(whole), bytes.Repeat([]byte{0xde, 0xad}, 100)...), 0o644))

	tests := []struct {
		name     string
		a        Analyze
		wantCode int    // 0: success
		wantErr  string // in the error
		wantOut  string // in stdout
		wantLog  string // in stderr
	}{
		{name: "not a capture fails at once with status 2", a: Analyze{PCAPs: []string{notCapture}},
			wantCode: ExitUsage, wantErr: notCapture},
		{name: "a missing file is a usage error", a: Analyze{PCAPs: []string{filepath.Join(dir, "nope.pcap")}},
			wantCode: ExitUsage, wantErr: "nope.pcap"},
		{name: "truncated capture: good packets kept, the cut one reported", a: Analyze{PCAPs: []string{truncated}},
			wantOut: "skipped   1 bad records", wantLog: truncated},
		{name: "truncated capture with --strict fails", a: Analyze{PCAPs: []string{truncated}, Strict: true},
			wantCode: ExitFailure, wantErr: "--strict"},
		{name: "garbage after a valid capture", a: Analyze{PCAPs: []string{garbage}},
			wantOut: "3,542 packets", wantLog: garbage},
		{name: "a directory without Zeek logs is not Zeek input", a: Analyze{Zeek: []string{dir}},
			wantCode: ExitUsage, wantErr: "no Zeek logs found"},
		{name: "both inputs at once", a: Analyze{PCAPs: []string{example}, Zeek: []string{dir}}, wantCode: ExitUsage, wantErr: "either"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.a.Out = filepath.Join(t.TempDir(), "out")
			stdout, stderr, err := analyze(t, tc.a)
			if tc.wantCode != 0 {
				var ee *ExitError
				require.True(t, errors.As(err, &ee), "want an ExitError, got %v", err)
				require.Equal(t, tc.wantCode, ee.Code)
				require.Contains(t, err.Error(), tc.wantErr)
				require.NotContains(t, err.Error(), "\n", "the reason is one line")
				return
			}
			require.NoError(t, err)
			require.Contains(t, stdout, tc.wantOut)
			require.Contains(t, stderr, tc.wantLog)
			require.FileExists(t, filepath.Join(tc.a.Out, "devices.jsonl"))
		})
	}
}

// jsonLines encodes events one per line, sorted, for order-free comparison.
func jsonLines(t testing.TB, events []event.Event) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		out = append(out, e.Kind().String()+" "+string(b))
	}
	slices.Sort(out)
	return out
}

// TestConvertRoundTrip converts captures to Zeek logs with `vigil convert`
// and reads the logs back with Vigil's own Zeek reader: the events must
// be identical to those decoded from the capture directly.
func TestConvertRoundTrip(t *testing.T) {
	captures := []string{example}
	for _, rel := range []string{"lab/dev-intrusion.pcap", "ndpi/pcap/selfsigned.pcap", "chrissanders/dns_isp_hijack.pcapng",
		"zeek-traces/workshop_2011_browse.pcap", "ndpi/pcap/tls_verylong_certificate.pcap"} {
		if dir, ok := testkit.SharedDir(); ok {
			captures = append(captures, filepath.Join(dir, "data", rel))
		} else {
			t.Logf("shared data absent: round trip checked on the bundled example only")
			break
		}
	}
	for _, path := range captures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			direct := decode(t, path)
			logs := t.TempDir()
			var o, e bytes.Buffer
			c := Convert{PCAPs: []string{path}, ZeekOut: logs, Config: config.Default(), Stdout: &o, Stderr: &e}
			require.NoError(t, c.Run(context.Background()))
			require.Contains(t, o.String(), "wrote     Zeek logs to "+logs)
			var back []event.Event
			require.NoError(t, zeek.Read(context.Background(), []string{logs}, sensor.Options{}, func(e event.Event) error {
				back = append(back, e)
				return nil
			}))
			require.NotEmpty(t, direct)
			want, got := jsonLines(t, direct), jsonLines(t, back)
			if !slices.Equal(want, got) {
				sameMultiset(t, "events after the round trip", want, got)
			}
			files, err := filepath.Glob(filepath.Join(logs, "*.log"))
			require.NoError(t, err)
			require.NotEmpty(t, files)
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(string(b), "#separator \\x09\n"), f)
			}
		})
	}
}
