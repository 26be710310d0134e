// Command evalsim measures detection quality on the simulator: it runs
// the attack scenarios (macos-clickfix, dga-beacon, dns-exfil) and the
// benign control through every model and prints precision and recall per
// model (the README's table), the missed behaviours and the false
// positives.
//
//	go run ./tools/evalsim -days 30 -devices 200
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/vigil-ndr/vigil/internal/app"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/eval"
	"github.com/vigil-ndr/vigil/internal/sim"
)

var _ = app.OutputFiles // links every detection model (internal/app imports detect/all)

func main() {
	days := flag.Int("days", 30, "days to simulate")
	devices := flag.Int("devices", 200, "devices in the organisation")
	seed := flag.Uint64("seed", 1, "simulator seed")
	configPath := flag.String("config", "", "Vigil configuration file")
	verbose := flag.Bool("v", false, "list every false positive")
	flag.Parse()
	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			fmt.Fprintln(os.Stderr, "evalsim:", err)
			os.Exit(2)
		}
	}
	var runs []*eval.Result
	for _, name := range []string{"macos-clickfix", "benign-only", "dga-beacon", "dns-exfil"} {
		r, err := eval.Run(context.Background(), sim.Config{Scenario: name, Seed: *seed, Days: *days, Devices: *devices}, cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "evalsim:", err)
			os.Exit(1)
		}
		maxScore, maxBreach := 0.0, 0
		for _, s := range r.DeviceScores {
			maxScore = max(maxScore, s)
		}
		for _, b := range r.Breaches {
			maxBreach = max(maxBreach, b.Score)
		}
		fmt.Printf("%s: %d events in %s (%.0f events/s), %d breaches (highest score %d), highest device threat score %.1f\n",
			name, r.Events, r.Elapsed.Round(1e6), float64(r.Events)/r.Elapsed.Seconds(), len(r.Breaches), maxBreach, maxScore)
		for _, m := range eval.Missed(r) {
			fmt.Printf("  missed: %s\n", m)
		}
		fps := eval.FalsePositives(r)
		for i, b := range fps {
			if i >= 15 && !*verbose {
				fmt.Printf("  ... %d more false positives (-v lists all)\n", len(fps)-i)
				break
			}
			fmt.Printf("  false positive: %s %s %s %s %d (%s)\n", b.Time.Format("2006-01-02T15:04"), b.Model, b.Device,
				b.Endpoint.Key(), b.Score, b.Summary)
		}
		runs = append(runs, r)
	}
	fmt.Println()
	eval.WriteTable(os.Stdout, eval.Score(runs...))
}
