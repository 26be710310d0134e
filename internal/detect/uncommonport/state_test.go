package uncommonport

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPairsAreBounded(t *testing.T) {
	m := &Model{}
	const day = 86400
	window := int64(28 * day)
	for i := range maxPairs + 1000 {
		m.remember(pairKey{dev: uint32(i % 50), port: 8443, proto: ProtoTLS, peer: string(rune(i))}, 1_700_000_000+int64(i), window)
	}
	require.LessOrEqual(t, len(m.pairs), maxPairs)

	// A pair seen again keeps its first sighting.
	k := pairKey{dev: 1, port: 10443, proto: ProtoTLS, peer: "fw.example"}
	m.remember(k, 1_700_100_000, window)
	seen, ok := m.remember(k, 1_700_200_000, window)
	require.True(t, ok)
	require.Equal(t, int64(1_700_100_000), seen.first)

	// After the window without use, pairs are forgotten, and one unused
	// for the window starts afresh.
	_, ok = m.remember(k, 1_700_200_000+window+day, window)
	require.False(t, ok)
	require.Len(t, m.pairs, 1)
}
