package dga

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmbeddedModel(t *testing.T) {
	_, err := Default()
	require.NoError(t, err)
	require.Less(t, len(modelBin), 2<<20, "the embedded model must stay small")
}

func TestScore(t *testing.T) {
	for _, tc := range []struct {
		name string
		high bool
	}{
		{"www.google.com", false},
		{"mail.wikipedia.org", false},
		{"d1234abcd.cloudfront.net", false}, // judged by "cloudfront"
		{"bbc.co.uk", false},
		{"stackoverflow.com", false},
		{"xjo4vk9bk1f19hxz.net", true},
		{"ofdhiydrrttpblp.com", true},
		{"1vz89zm5b2e981bgfhqdzbke3m.org", true},
		{"theirtheandaloneinto.com", true},
		{"khmfxcglt.dyndns.org", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Score(tc.name)
			require.GreaterOrEqual(t, s, 0.0)
			require.LessOrEqual(t, s, 1.0)
			if tc.high {
				require.Greater(t, s, 0.8, "score %.3f", s)
			} else {
				require.Less(t, s, 0.5, "score %.3f", s)
			}
		})
	}
	require.Zero(t, Score("10.1.2.3"))
	require.Zero(t, Score("co.uk"))
	require.Zero(t, Score(""))
}

func TestLabel(t *testing.T) {
	require.Equal(t, "example", Label("a.b.Example.CO.UK."))
	require.Equal(t, "khmfxcglt", Label("khmfxcglt.dyndns.org"))
	require.Equal(t, "wpad", Label("wpad"))
}

func TestMetrics(t *testing.T) {
	require.InDelta(t, 1.0, AUC([]float64{0.9, 0.8}, []float64{0.1, 0.2}), 1e-9)
	require.InDelta(t, 0.5, AUC([]float64{0.5}, []float64{0.5}), 1e-9)
	require.InDelta(t, 0.5, TPRAt([]float64{0.9, 0.1}, []float64{0.2, 0.3}, 0.001), 1e-9)
}

// BenchmarkScore measures names per second on one core (goal: >= 10,000).
func BenchmarkScore(b *testing.B) {
	names := []string{"www.google.com", "xjo4vk9bk1f19hxz.net", "theirtheandaloneinto.com",
		"d1234abcd.cloudfront.net", "mail.example.co.uk", "ofdhiydrrttpblp.com"}
	Score("warm.up")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Score(names[i%len(names)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "names/s")
}
