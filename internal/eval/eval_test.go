package eval

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/config"
	_ "github.com/vigil-ndr/vigil/internal/detect/all"
	"github.com/vigil-ndr/vigil/internal/sim"
)

// TestSimulatedQuality is the quality bar on the simulator: 30
// days of a 200-device organisation. In the attack scenario every injected
// behaviour is raised by each model it names; in the benign control no
// breach scores above 50. -short runs ten days of 60 devices instead.
func TestSimulatedQuality(t *testing.T) {
	days, devices := 30, 200
	if testing.Short() {
		days, devices = 10, 60
	}
	var runs []*Result
	for _, name := range []string{"macos-clickfix", "benign-only"} {
		r, err := Run(context.Background(), sim.Config{Scenario: name, Seed: 1, Days: days, Devices: devices}, config.Default())
		require.NoError(t, err)
		runs = append(runs, r)
		if name == "benign-only" {
			for _, b := range r.Breaches {
				require.LessOrEqual(t, b.Score, 50, "benign control: %s %s %s %s", b.Time, b.Model, b.Device, b.Summary)
			}
		} else {
			require.Empty(t, Missed(r), "behaviours not raised by the model they expect")
		}
	}
	// The DGA and DNS-tunnel scenarios start on days 3 and 5: ten days of a
	// smaller organisation show them.
	for _, name := range []string{"dga-beacon", "dns-exfil"} {
		r, err := Run(context.Background(), sim.Config{Scenario: name, Seed: 1, Days: 10, Devices: 60}, config.Default())
		require.NoError(t, err)
		require.Empty(t, Missed(r), "%s: behaviours not raised by the model they expect", name)
		runs = append(runs, r)
	}
	var b strings.Builder
	WriteTable(&b, Score(runs...))
	t.Logf("%d days, %d devices:\n%s", days, devices, b.String())
}
