package app

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDGAScore(t *testing.T) {
	var out bytes.Buffer
	d := DGAScore{Stdin: strings.NewReader("www.google.com\n\nxjo4vk9bk1f19hxz.net\n"), Stdout: &out}
	require.NoError(t, d.Run())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	var scores []float64
	for i, name := range []string{"www.google.com", "xjo4vk9bk1f19hxz.net"} {
		f := strings.Split(lines[i], "\t")
		require.Equal(t, name, f[0])
		s, err := strconv.ParseFloat(f[1], 64)
		require.NoError(t, err)
		scores = append(scores, s)
	}
	require.Less(t, scores[0], 0.1)
	require.Greater(t, scores[1], 0.9)
}

func TestDGAEvalWithoutData(t *testing.T) {
	err := (&DGAEval{Data: t.TempDir(), Stdout: &bytes.Buffer{}}).Run()
	var ee *ExitError
	require.True(t, errors.As(err, &ee))
	require.Equal(t, ExitUsage, ee.Code)
	require.Contains(t, err.Error(), "DGA development data not found")
}
