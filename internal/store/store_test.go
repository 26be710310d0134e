package store

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDeviceKey(t *testing.T) {
	cases := []struct {
		name string
		mac  string
		ip   netip.Addr
		want string
	}{
		{"mac wins, lower case", "AA:BB:CC:DD:EE:FF", netip.MustParseAddr("10.0.0.1"), "aa:bb:cc:dd:ee:ff"},
		{"ip without mac", "", netip.MustParseAddr("10.0.0.1"), "10.0.0.1"},
		{"ipv6", "", netip.MustParseAddr("2001:db8::1"), "2001:db8::1"},
		{"nothing known", "", netip.Addr{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, DeviceKey(tc.mac, tc.ip))
		})
	}
}

func TestIngestAdd(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := IngestStats{
		Source: "s", Kind: "zeek", Paths: []string{"b", "a", "b"},
		Records: 3, Events: map[string]int64{"conn": 2, "dns": 0}, LastEvent: t1,
	}.Normalize()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, d.Paths)
	require.Equal(t, map[string]int64{"conn": 2}, d.Events)

	got := IngestStats{}.Add(d, t1).Add(IngestStats{Source: "s", Paths: []string{"c", "a"}, Records: 1, FirstEvent: t1.Add(-time.Hour)}, t1.Add(time.Minute))
	require.Equal(t, IngestStats{
		Source: "s", Kind: "zeek", Paths: []string{"a", "b", "c"}, Records: 4,
		Events: map[string]int64{"conn": 2}, FirstEvent: t1.Add(-time.Hour), LastEvent: t1,
		UpdatedAt: t1.Add(time.Minute),
	}, got)
}
