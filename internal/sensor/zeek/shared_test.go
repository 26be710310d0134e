package zeek

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// The counts are what `zcat -f FILE | grep -vc '^#'` says for each type's
// files (the data lines), so every line of a mapped log becomes an event.
func TestSharedData(t *testing.T) {
	type counts map[event.Kind]int
	tests := []struct {
		name  string
		dir   []string
		want  counts
		other int // files of other log types, skipped but counted
	}{
		{"brim TSV gzip", []string{"brim-wrccdc", "zeek-default"}, counts{event.KindTLS: 49474, event.KindX509: 348, event.KindDNS: 53615}, 7},
		{"brim JSON gzip", []string{"brim-wrccdc", "zeek-json"}, counts{event.KindTLS: 49474, event.KindDNS: 53615}, 0},
		{"rita proxy", []string{"rita", "test_data", "proxy"}, counts{event.KindConn: 463, event.KindHTTP: 407, event.KindTLS: 407, event.KindX509: 173, event.KindDNS: 942, event.KindDHCP: 57}, 11},
		{"rita proxy rolling", []string{"rita", "test_data", "proxy_rolling"}, counts{event.KindConn: 7550, event.KindHTTP: 2368, event.KindTLS: 2736, event.KindX509: 114, event.KindDNS: 3209}, 5},
		{"slips test9 JSON", []string{"slips", "dataset", "test9-mixed-zeek-dir"}, counts{event.KindConn: 576, event.KindHTTP: 516, event.KindTLS: 205, event.KindX509: 154, event.KindDNS: 239, event.KindDHCP: 5}, -1},
		// conn.log's first line is "\t#separator \x09": grep counts it, we
		// read it as the header it is.
		{"slips test10 TSV", []string{"slips", "dataset", "test10-mixed-zeek-dir"}, counts{event.KindConn: 141, event.KindTLS: 13, event.KindX509: 2, event.KindDNS: 93}, -1},
		{"slips test13 dhcp", []string{"slips", "dataset", "test13-malicious-dhcpscan-zeek-dir"}, counts{event.KindConn: 2, event.KindDHCP: 10}, 0},
		{"slips test14", []string{"slips", "dataset", "test14-malicious-zeek-dir"}, counts{event.KindConn: 5, event.KindHTTP: 521}, 2},
		{"slips test15", []string{"slips", "dataset", "test15-malicious-zeek-dir"}, counts{event.KindConn: 2, event.KindTLS: 206}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := testkit.SharedData(t, tc.dir...)
			var problems []sensor.Problem
			opt := sensor.Options{OnProblem: func(p sensor.Problem) error {
				problems = append(problems, p)
				return nil
			}}
			got := counts{}
			var last []event.Event
			st, err := ReadStats(context.Background(), []string{dir}, opt, func(e event.Event) error {
				got[e.Kind()]++
				if len(last) < 3 {
					last = append(last, e)
				}
				return nil
			})
			require.NoError(t, err)
			require.Empty(t, problems)
			require.Equal(t, tc.want, got)
			if tc.other >= 0 {
				sum := 0
				for _, n := range st.OtherFiles {
					sum += n
				}
				require.Equal(t, tc.other, sum, "%v", st.OtherFiles)
			}
		})
	}
}
