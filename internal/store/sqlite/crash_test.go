package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/store"
	"github.com/vigil-ndr/vigil/internal/store/mem"
	"github.com/vigil-ndr/vigil/internal/store/storetest"
)

// crashEnv, when set to a database path, turns this test binary into the
// writer that TestCrashKill9 kills.
const crashEnv = "VIGIL_STORE_CRASH_WRITER_DB"

const crashSource = "zeek:/var/log/zeek"

// crashBatch is batch i of the writer: device upserts, ingest counters
// and the checkpoint "i", as a live Zeek follower would commit them.
func crashBatch(i int) store.Batch {
	b := store.Batch{
		Ingest: []store.IngestStats{{
			Source: crashSource, Kind: "zeek",
			Paths:   []string{fmt.Sprintf("conn.%d.log", i/10)},
			Records: int64(i), Skipped: int64(i % 3),
			Events:     map[string]int64{"conn": int64(i), "dns": 1},
			FirstEvent: crashTime(i), LastEvent: crashTime(i),
		}},
		Checkpoints: []store.Checkpoint{{Key: crashSource, Data: []byte(strconv.Itoa(i))}},
	}
	for j := range 50 {
		b.Devices = append(b.Devices, store.Device{
			Key:       fmt.Sprintf("d%03d", (i*7+j)%300),
			Hostname:  fmt.Sprintf("h%d", (i+j)%5),
			FirstSeen: crashTime(i - j), LastSeen: crashTime(i),
			Score: float64((i + j) % 100),
		})
	}
	return b
}

func crashTime(i int) time.Time { return time.Unix(1_700_000_000+int64(i), 0).UTC() }

// crashWriter commits batches from the one after the stored checkpoint
// on, printing "ack N" after each commit returns, until it is killed. A
// write to a closed stdout (the parent gone) kills it too; the bound is
// a last resort.
func crashWriter(file string) {
	ctx := context.Background()
	s, err := OpenFile(ctx, file, Options{Now: fixed(storetest.T0)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	next := 1
	if cp, ok, err := s.Load(ctx, crashSource); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	} else if ok {
		n, _ := strconv.Atoi(string(cp))
		next = n + 1
	}
	for i := next; i < next+100_000; i++ {
		if err := s.Commit(ctx, crashBatch(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
		fmt.Printf("ack %d\n", i)
	}
	os.Exit(5)
}

// TestCrashKill9 kills a writer with SIGKILL in the middle of its commit
// loop, five times over the same database, and checks after each kill
// that the stored checkpoint and the stored state agree exactly: every
// batch up to the checkpoint counted once, nothing after it.
func TestCrashKill9(t *testing.T) {
	if file := os.Getenv(crashEnv); file != "" {
		crashWriter(file)
		return
	}
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), FileName)
	lastAck := 0
	for round := 1; round <= 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKill9$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+file)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		// Kill after the writer has acknowledged 20 more batches; it is
		// then, most likely, inside the next Commit.
		killAt := lastAck + 20
		killed := false
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				continue
			}
			i, err := strconv.Atoi(n)
			require.NoError(t, err)
			require.Equal(t, lastAck+1, i, "the writer resumes right after the stored checkpoint")
			lastAck = i
			if i >= killAt && !killed {
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				killed = true
			}
		}
		err = cmd.Wait()
		require.True(t, killed, "writer ended before it was killed: %v\n%s", err, stderr.String())
		require.ErrorContains(t, err, "signal: killed", stderr.String())

		s, err := OpenFile(ctx, file, Options{Now: fixed(storetest.T0)})
		require.NoError(t, err)
		require.NoError(t, s.Check(ctx))
		cp, ok, err := s.Load(ctx, crashSource)
		require.NoError(t, err)
		require.True(t, ok)
		stored, err := strconv.Atoi(string(cp))
		require.NoError(t, err)
		// Every acknowledged commit survived; at most the one in flight
		// when the signal came committed without its ack.
		require.GreaterOrEqual(t, stored, lastAck)
		require.LessOrEqual(t, stored, lastAck+1)
		t.Logf("round %d: killed after ack %d, checkpoint %d", round, lastAck, stored)
		lastAck = stored

		requireReplayed(t, s, stored)
		require.NoError(t, s.Close())
	}
}

// requireReplayed checks that s holds exactly batches 1..n: the state the
// in-memory store reaches by committing them once each.
func requireReplayed(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	want := mem.New(mem.Options{Now: fixed(storetest.T0)})
	for i := 1; i <= n; i++ {
		require.NoError(t, want.Commit(ctx, crashBatch(i)))
	}
	wantDev, err := want.ListDevices(ctx)
	require.NoError(t, err)
	gotDev, err := s.ListDevices(ctx)
	require.NoError(t, err)
	require.Equal(t, wantDev, gotDev)

	wantIn, err := want.IngestStats(ctx)
	require.NoError(t, err)
	gotIn, err := s.IngestStats(ctx)
	require.NoError(t, err)
	require.Equal(t, wantIn, gotIn)
	require.Len(t, gotIn, 1)
	require.EqualValues(t, n*(n+1)/2, gotIn[0].Records, "records counted once each")
}
