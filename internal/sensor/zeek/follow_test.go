package zeek

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

// header returns a conn.log header whose #open makes it unique.
func header(open string) string {
	return strings.Replace(connHeader, "#open\t2024-04-19-10-00-00", "#open\t"+open, 1)
}

// line returns a conn.log line with uid C<n> and ts n.
func line(n int) string {
	return strings.Replace(strings.Replace(connLine, "Cabc", fmt.Sprintf("C%d", n), 1), "1713520800.000252", fmt.Sprintf("%d.0", n), 1)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	_, err = fh.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, fh.Close())
}

func uids(b Batch) []string {
	var out []string
	for _, e := range b.Events {
		out = append(out, e.Base().UID)
	}
	return out
}

func poll(t *testing.T, f *Follower) Batch {
	t.Helper()
	b, err := f.Poll(context.Background())
	require.NoError(t, err)
	return b
}

func TestFollowAppendAndPartialLine(t *testing.T) {
	dir := t.TempDir()
	conn := filepath.Join(dir, "conn.log")
	f := NewFollower(dir, FollowOptions{})
	require.Empty(t, uids(poll(t, f)), "no file yet")

	appendFile(t, conn, header("2024-04-19-10-00-00")[:40])
	require.Empty(t, uids(poll(t, f)), "header not complete yet")

	appendFile(t, conn, header("2024-04-19-10-00-00")[40:]+line(1)+line(2))
	require.Equal(t, []string{"C1", "C2"}, uids(poll(t, f)))
	require.Empty(t, uids(poll(t, f)))

	l3 := line(3)
	appendFile(t, conn, l3[:10])
	require.Empty(t, uids(poll(t, f)), "a partial line is never read")
	appendFile(t, conn, l3[10:])
	require.Equal(t, []string{"C3"}, uids(poll(t, f)))
}

func TestFollowRotation(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(t *testing.T, dir string)
	}{
		{"rename", func(t *testing.T, dir string) {
			require.NoError(t, os.Rename(filepath.Join(dir, "conn.log"), filepath.Join(dir, "conn.2024-04-19-10-00-00-11-00-00.log")))
		}},
		{"rename and gzip", func(t *testing.T, dir string) {
			old := filepath.Join(dir, "conn.log")
			b, err := os.ReadFile(old)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "conn.10:00:00-11:00:00.log.gz"), gz(b), 0o644))
			require.NoError(t, os.Remove(old))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conn := filepath.Join(dir, "conn.log")
			appendFile(t, conn, header("2024-04-19-10-00-00")+line(1))
			f := NewFollower(dir, FollowOptions{})
			require.Equal(t, []string{"C1"}, uids(poll(t, f)))

			// Zeek writes more, rotates, and starts a new conn.log before
			// the follower looks again.
			appendFile(t, conn, line(2)+line(3)+"#close\t2024-04-19-11-00-00\n")
			tc.rotate(t, dir)
			appendFile(t, conn, header("2024-04-19-11-00-00")+line(4))
			require.Equal(t, []string{"C2", "C3", "C4"}, uids(poll(t, f)))
			require.Empty(t, uids(poll(t, f)))
			appendFile(t, conn, line(5))
			require.Equal(t, []string{"C5"}, uids(poll(t, f)))
		})
	}
}

// A restart from a checkpoint taken mid-file reads exactly the lines after
// it: nothing lost, nothing twice.
func TestFollowRestartFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	conn := filepath.Join(dir, "conn.log")
	appendFile(t, conn, header("2024-04-19-10-00-00")+line(1)+line(2)+line(3)+line(4)+line(5))
	cps := &MemCheckpoints{}
	ctx := context.Background()

	// The header is 8 lines: a batch of 10 lines ends after C2.
	f := NewFollower(dir, FollowOptions{MaxBatch: 10})
	require.NoError(t, f.Resume(ctx, cps))
	b := poll(t, f)
	require.Equal(t, []string{"C1", "C2"}, uids(b))
	require.NoError(t, cps.Save(ctx, f.Key(), b.Checkpoint))
	// The next batch is read but never committed: the process dies.
	require.Equal(t, []string{"C3", "C4", "C5"}, uids(poll(t, f)))

	appendFile(t, conn, line(6))
	g := NewFollower(dir, FollowOptions{MaxBatch: 10})
	require.NoError(t, g.Resume(ctx, cps))
	b = poll(t, g)
	require.Equal(t, []string{"C3", "C4", "C5", "C6"}, uids(b))
	require.NoError(t, cps.Save(ctx, g.Key(), b.Checkpoint))

	h := NewFollower(dir, FollowOptions{})
	require.NoError(t, h.Resume(ctx, cps))
	require.Empty(t, uids(poll(t, h)))
}

func TestFollowTruncateAndReplace(t *testing.T) {
	tests := []struct {
		name    string
		replace func(t *testing.T, path string)
	}{
		{"truncated and rewritten", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte(header("2024-04-19-12-00-00")+line(7)), 0o644))
		}},
		{"deleted and recreated", func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path))
			require.NoError(t, os.WriteFile(path, []byte(header("2024-04-19-12-00-00")+line(7)+line(8)+line(9)+line(10)), 0o644))
		}},
		{"truncated, same header, shorter", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte(header("2024-04-19-10-00-00")+line(7)), 0o644))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conn := filepath.Join(dir, "conn.log")
			appendFile(t, conn, header("2024-04-19-10-00-00")+line(1)+line(2)+line(3))
			f := NewFollower(dir, FollowOptions{})
			require.Equal(t, []string{"C1", "C2", "C3"}, uids(poll(t, f)))
			tc.replace(t, conn)
			got := uids(poll(t, f))
			require.NotEmpty(t, got)
			require.Equal(t, "C7", got[0])
		})
	}
}

func TestFollowJoinAndProblems(t *testing.T) {
	dir := t.TempDir()
	hdr := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
	appendFile(t, filepath.Join(dir, "x509.log"), hdr+"#path\tx509\n#fields\tts\tfingerprint\tcertificate.subject\tcertificate.issuer\n#types\ttime\tstring\tstring\tstring\n"+
		"99.0\tfp1\tCN=a\tCN=a\n")
	appendFile(t, filepath.Join(dir, "ssl.log"), hdr+"#path\tssl\n#fields\tts\tuid\tcert_chain_fps\n#types\ttime\tstring\tvector[string]\n"+
		"100.0\tC1\tfp1\nbad\n")
	var probs []sensor.Problem
	f := NewFollower(dir, FollowOptions{Options: sensor.Options{OnProblem: func(p sensor.Problem) error { probs = append(probs, p); return nil }}})
	b := poll(t, f)
	require.Len(t, b.Events, 2)
	tl := b.Events[1].(*event.TLS)
	require.Equal(t, "CN=a", tl.Subject)
	require.True(t, tl.SelfSigned)
	require.Len(t, probs, 1)
	require.Contains(t, probs[0].Error(), "ssl.log: record 9:")
}
