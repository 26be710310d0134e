package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/store"
	"github.com/vigil-ndr/vigil/internal/store/sqlite"
)

// TestMain lets a test re-run this binary as `vigil serve` (a real child
// process that can be killed with SIGKILL).
func TestMain(m *testing.M) {
	if dir := os.Getenv("VIGIL_TEST_SERVE_ZEEK"); dir != "" {
		var s Serve
		s.ZeekFollow, s.Data = dir, os.Getenv("VIGIL_TEST_SERVE_DATA")
		s.Config, s.Poll, s.LogEvery = config.Default(), 5*time.Millisecond, time.Hour
		s.Stdout, s.Stderr = os.Stdout, os.Stderr
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := s.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const connHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
	"#open\t2026-03-02-08-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n"

func connLine(i int) string {
	return fmt.Sprintf("%d.000001\tC%017d\t10.0.%d.%d\t%d\t192.0.2.1\t443\ttcp\tSF\n",
		1772438400+i, i, i%500/250, i%250+1, 1024+i%60000)
}

// ingestRecords reads what the store has committed for the followed dir.
func ingestRecords(t *testing.T, data string) (store.IngestStats, int) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), data, sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	stats, err := st.IngestStats(context.Background())
	require.NoError(t, err)
	devs, err := st.ListDevices(context.Background())
	require.NoError(t, err)
	if len(stats) == 0 {
		return store.IngestStats{}, len(devs)
	}
	require.Len(t, stats, 1)
	return stats[0], len(devs)
}

// TestZeekFollowSurvivesKill9 appends to a live conn.log (with a rotation
// in the middle) while `vigil serve --zeek-follow` ingests it, killing the
// server with SIGKILL again and again. In the end the store has counted
// every line exactly once.
func TestZeekFollowSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the kill -9 test in -short mode")
	}
	logs, data := t.TempDir(), t.TempDir()
	current := filepath.Join(logs, "conn.log")
	require.NoError(t, os.WriteFile(current, []byte(connHeader), 0o644))
	appendLines := func(from, to int) {
		f, err := os.OpenFile(current, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		var b bytes.Buffer
		for i := from; i < to; i++ {
			b.WriteString(connLine(i))
		}
		_, err = f.Write(b.Bytes())
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "VIGIL_TEST_SERVE_ZEEK="+logs, "VIGIL_TEST_SERVE_DATA="+data)
		cmd.Stderr = &childLog{t: t}
		require.NoError(t, cmd.Start())
		return cmd
	}
	const chunk, rounds = 3000, 6
	total := 0
	for r := 0; r < rounds; r++ {
		cmd := start()
		appendLines(total, total+chunk)
		total += chunk
		if r == rounds/2 {
			// Zeek's rotation: rename the live log, start a new one.
			require.NoError(t, os.Rename(current, filepath.Join(logs, "conn.2026-03-02-09-00-00.log")))
			require.NoError(t, os.WriteFile(current, []byte(connHeader), 0o644))
		}
		// Let it ingest some of the chunk, then kill it wherever it is.
		waitFor(t, func() bool {
			st, _ := ingestRecords(t, data)
			return st.Records > int64(total-chunk)
		})
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
	}
	// A last chunk that only this run can ingest, so that it is up (and
	// handling SIGTERM) before it is stopped.
	cmd := start()
	appendLines(total, total+chunk)
	total += chunk
	waitFor(t, func() bool {
		st, _ := ingestRecords(t, data)
		return st.Records >= int64(total)
	})
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())

	st, devices := ingestRecords(t, data)
	require.Equal(t, int64(total), st.Records, "lines counted exactly once")
	require.Equal(t, int64(total), st.Events["conn"])
	require.Equal(t, int64(0), st.Skipped)
	require.Equal(t, 500, devices, "one device per distinct originator")
}

// childLog passes the server's log to the test log.
type childLog struct{ t *testing.T }

func (l *childLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// waitFor polls cond until it holds; a generous deadline only keeps a
// broken run from hanging (it is not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 2 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServePCAP ingests the example capture into the store, twice: the
// device rows merge (no duplicates) and the counters add up.
func TestServePCAP(t *testing.T) {
	data := t.TempDir()
	var logs [2]bytes.Buffer
	for i := range 2 {
		s := Serve{PCAPs: []string{example}, Data: data, Config: config.Default(), Stdout: io.Discard, Stderr: &logs[i]}
		require.NoError(t, s.Run(context.Background()))
	}
	require.NotContains(t, logs[0].String(), "baselines restored")
	require.Contains(t, logs[1].String(), "baselines restored", "the second run continues the first one's baselines")
	st, devices := ingestRecords(t, data)
	require.Equal(t, "pcap", st.Kind)
	require.Equal(t, int64(2*3542), st.Records)
	require.Equal(t, int64(2*7), st.Events["dhcp"])
	require.Equal(t, 10, devices)

	// The breaches are those `vigil analyze` writes for the same capture,
	// stored once although the capture was served twice.
	db, err := sqlite.Open(context.Background(), data, sqlite.Options{})
	require.NoError(t, err)
	stored, err := db.ListBreaches(context.Background())
	require.NoError(t, err)
	abs, err := filepath.Abs(example)
	require.NoError(t, err)
	snap, ok, err := db.Load(context.Background(), baselineKey("pcap:"+abs))
	require.NoError(t, err)
	require.True(t, ok, "the baselines are stored when the source ends")
	cfg := config.Default()
	base, err := baseline.Load(bytes.NewReader(snap), cfg.Baseline, device.NewInventory(cfg.InternalPrefixes()).Internal)
	require.NoError(t, err)
	require.NotNil(t, base.Lookup(netip.MustParseAddr("10.20.0.103")), "the victim's pattern of life")
	devs, err := db.ListDevices(context.Background())
	require.NoError(t, err)
	require.NoError(t, db.Close())
	var lines []string
	for _, b := range stored {
		lines = append(lines, string(b.JSON))
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "office-breaches.jsonl"))
	require.NoError(t, err)
	want := strings.Split(strings.TrimSpace(string(golden)), "\n")
	require.ElementsMatch(t, want, lines)
	scored := 0
	for _, d := range devs {
		if d.Score > 0 {
			scored++
		}
	}
	require.Equal(t, 1, scored, "the victim's threat score is stored")

	err = (&Serve{Data: data, Config: config.Default(), Stdout: io.Discard, Stderr: io.Discard}).Run(context.Background())
	require.ErrorContains(t, err, "exactly one of")
}
