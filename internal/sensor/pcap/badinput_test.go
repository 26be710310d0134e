package pcap

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/testkit/pcapgen"
)

// threeConns writes three complete TCP connections.
func threeConns(t testing.TB) []byte {
	p := genPcap(t, func(w *pcapgen.Writer) {
		for i := range 3 {
			s := w.TCPSession(t0.Add(timeSec(i*10)), client.At(uint16(50000+i)), server.At(80), pcapgen.SessionOptions{})
			s.Handshake()
			s.Send(true, payload(100))
			s.Close()
		}
	})
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func writeFile(t testing.TB, b []byte) string {
	p := filepath.Join(t.TempDir(), "in.pcap")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// frameOffsets returns where each record header starts in a pcap file.
func frameOffsets(b []byte) []int {
	var offs []int
	for o := 24; o+16 <= len(b); {
		offs = append(offs, o)
		o += 16 + int(binary.LittleEndian.Uint32(b[o+8:]))
	}
	return offs
}

func TestBadInput(t *testing.T) {
	good := threeConns(t)
	offs := frameOffsets(good)
	tests := []struct {
		name     string
		data     func() []byte
		notInput bool
		conns    int
		problems int
		record   int64 // packet number named by the first problem
	}{
		{name: "good", data: func() []byte { return good }, conns: 3},
		{name: "not a capture", data: func() []byte { return []byte("#separator \\x09\n#path\tconn\n") }, notInput: true},
		{name: "empty file", data: func() []byte { return nil }, notInput: true},
		{name: "ends mid-packet", data: func() []byte { return good[:len(good)-10] }, conns: 3, problems: 1, record: int64(len(offs))},
		{name: "garbage after the capture", data: func() []byte {
			return append(append([]byte(nil), good...), []byte("\xde\xad\xbe\xef garbage that is not a record header at all")...)
		}, conns: 3, problems: 1, record: int64(len(offs) + 1)},
		{name: "packet cut mid-header", data: func() []byte {
			// Shrink the 2nd frame (the SYN-ACK of the first
			// connection) to end inside its TCP header.
			b := append([]byte(nil), good...)
			o := offs[1]
			incl := int(binary.LittleEndian.Uint32(b[o+8:]))
			cut := 14 + 20 + 8
			binary.LittleEndian.PutUint32(b[o+8:], uint32(cut))
			return append(b[:o+16+cut:o+16+cut], b[o+16+incl:]...)
		}, conns: 3, problems: 1, record: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.data())
			var evs []event.Event
			var probs []sensor.Problem
			prog := &sensor.Progress{}
			opt := sensor.Options{Progress: prog, OnProblem: func(pr sensor.Problem) error { probs = append(probs, pr); return nil }}
			err := ReadFiles(context.Background(), []string{p}, DefaultConfig(), opt, func(e event.Event) error {
				evs = append(evs, e)
				return nil
			})
			if tc.notInput {
				require.ErrorIs(t, err, sensor.ErrNotInput)
				require.Empty(t, evs)
				return
			}
			require.NoError(t, err)
			require.Len(t, conns(evs), tc.conns)
			require.Len(t, probs, tc.problems)
			if tc.problems > 0 {
				require.Equal(t, p, probs[0].File)
				require.Equal(t, tc.record, probs[0].Record)
			}
			require.Equal(t, int64(tc.problems), prog.Skipped.Load())
			require.Equal(t, int64(len(evs)), prog.Events.Load())
			require.Equal(t, prog.BytesTotal.Load(), prog.BytesRead.Load())
		})
	}
}

func TestNotInputFailsBeforeReading(t *testing.T) {
	good := writeFile(t, threeConns(t))
	bad := writeFile(t, []byte("hello, world"))
	var n int
	err := ReadFiles(context.Background(), []string{good, bad}, DefaultConfig(), sensor.Options{}, func(event.Event) error { n++; return nil })
	require.ErrorIs(t, err, sensor.ErrNotInput)
	require.Zero(t, n)
}

func TestFlowsSpanFiles(t *testing.T) {
	b := threeConns(t)
	offs := frameOffsets(b)
	mid := offs[len(offs)/2]
	first := writeFile(t, b[:mid])
	second := writeFile(t, append(append([]byte(nil), b[:24]...), b[mid:]...))
	evs, probs := readAll(t, DefaultConfig(), first, second)
	require.Empty(t, probs)
	cs := conns(evs)
	require.Len(t, cs, 3)
	for _, c := range cs {
		require.Equal(t, event.StateSF, c.ConnState)
	}
}

func TestDeterministic(t *testing.T) {
	p := writeFile(t, threeConns(t))
	a, _ := readAll(t, DefaultConfig(), p)
	b, _ := readAll(t, DefaultConfig(), p)
	require.Equal(t, a, b)
}

func TestEvictionBoundsTable(t *testing.T) {
	p := writeFile(t, threeConns(t))
	cfg := DefaultConfig()
	cfg.MaxFlows = 1
	var evs []event.Event
	en := NewEngine(cfg, func(e event.Event) error { evs = append(evs, e); return nil })
	require.NoError(t, en.readFile(context.Background(), p, &sensor.Options{}))
	require.NoError(t, en.Flush())
	require.Len(t, conns(evs), 3)
	st := en.Stats()
	require.Equal(t, int64(3), st.Flows)
	require.LessOrEqual(t, st.Evictions, int64(2))
}

func timeSec(n int) time.Duration { return time.Duration(n) * time.Second }
