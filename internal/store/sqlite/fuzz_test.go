package sqlite

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/store"
)

// FuzzUpsertMatchesMerge decodes the input into a sequence of device
// observations (7 bytes each), upserts them one batch at a time, and
// checks that the SQL merge gives what store.Merge gives.
func FuzzUpsertMatchesMerge(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 10, 5, 0, 0, 2, 2, 0, 5, 5, 0x80})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 1, 3, 3, 3, 0, 0, 0})
	f.Add([]byte{2, 1, 2, 3, 200, 100, 7, 2, 0, 0, 0, 200, 100, 0x81, 2, 3, 2, 1, 200, 199, 9})
	s, err := OpenFile(context.Background(), filepath.Join(f.TempDir(), FileName), Options{})
	require.NoError(f, err)
	f.Cleanup(func() { s.Close() })
	round := 0
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx := context.Background()
		round++
		want := map[string]store.Device{}
		var batch []store.Device
		flush := func() {
			require.NoError(t, s.UpsertDevices(ctx, batch))
			batch = batch[:0]
		}
		names := []string{"", "a", "b", "c"}
		for ; len(in) >= 7; in = in[7:] {
			d := store.Device{
				// Keys are new each round, so rounds do not see each other.
				Key:      fmt.Sprintf("r%d-k%d", round, in[0]%4),
				MAC:      names[in[1]%4],
				Hostname: names[in[2]%4],
				Score:    float64(in[6] & 0x7f),
			}
			if in[3]%4 != 0 {
				d.IP = netip.AddrFrom4([4]byte{10, 0, 0, in[3] % 4})
			}
			if in[4] != 0 {
				d.LastSeen = time.Unix(int64(in[4]), 0).UTC()
			}
			if in[5] != 0 {
				d.FirstSeen = time.Unix(int64(in[5]), 0).UTC()
			}
			if old, ok := want[d.Key]; ok {
				want[d.Key] = store.Merge(old, d)
			} else {
				want[d.Key] = d
			}
			batch = append(batch, d)
			if in[6]&0x80 != 0 {
				flush()
			}
		}
		flush()
		for k, w := range want {
			got, ok, err := s.Device(ctx, k)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, w, got)
		}
	})
}
