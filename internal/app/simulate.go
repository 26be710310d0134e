package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
	"github.com/vigil-ndr/vigil/internal/sim"
	"github.com/vigil-ndr/vigil/internal/sim/simpcap"
)

// Simulate generates a scenario's traffic and writes it as a capture, Zeek
// logs or events, with the ground truth beside it.
type Simulate struct {
	Config  sim.Config
	OutPCAP string // capture file; truth in <name>.truth.json beside it
	OutZeek string // Zeek log directory; truth in DIR/truth.json
	// OutEvents is a JSONL file of events ({"kind": ..., "event": {...}});
	// truth in <name>.truth.json beside it.
	OutEvents string
	Stdout    io.Writer
	Stderr    io.Writer
}

// Run generates and writes.
func (s *Simulate) Run(ctx context.Context) error {
	n := 0
	for _, o := range []string{s.OutPCAP, s.OutZeek, s.OutEvents} {
		if o != "" {
			n++
		}
	}
	if n != 1 {
		return usageErr("give exactly one of --out-pcap FILE, --out-zeek DIR, --out-events FILE")
	}
	if !contains(sim.Scenarios(), s.Config.Scenario) {
		return usageErr("unknown scenario %q (known: %s)", s.Config.Scenario, strings.Join(sim.Scenarios(), ", "))
	}
	if s.Config.Days <= 0 || s.Config.Devices <= 0 {
		return usageErr("--days and --devices must be positive")
	}
	started := time.Now()
	var sessions, events int64
	var write func(*sim.Session) error
	var closeOut func() error
	var truthPath string
	switch {
	case s.OutPCAP != "":
		f, err := os.Create(s.OutPCAP)
		if err != nil {
			return classify(err)
		}
		w := simpcap.NewWriter(f, simpcap.Options{Seed: s.Config.Seed})
		write = w.Write
		closeOut = func() error { return errors.Join(w.Close(), f.Close()) }
		truthPath = strings.TrimSuffix(s.OutPCAP, filepath.Ext(s.OutPCAP)) + ".truth.json"
	case s.OutZeek != "":
		w, err := zeek.NewWriter(s.OutZeek)
		if err != nil {
			return classify(err)
		}
		write = func(ss *sim.Session) error {
			return sim.Events(ss, func(e event.Event) error { events++; return w.Write(e) })
		}
		closeOut = w.Close
		truthPath = filepath.Join(s.OutZeek, "truth.json")
	default:
		f, err := os.Create(s.OutEvents)
		if err != nil {
			return classify(err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		write = func(ss *sim.Session) error {
			return sim.Events(ss, func(e event.Event) error {
				events++
				return enc.Encode(struct {
					Kind  string      `json:"kind"`
					Event event.Event `json:"event"`
				}{e.Kind().String(), e})
			})
		}
		closeOut = func() error { return errors.Join(bw.Flush(), f.Close()) }
		truthPath = strings.TrimSuffix(s.OutEvents, filepath.Ext(s.OutEvents)) + ".truth.json"
	}
	truth, err := sim.Generate(ctx, s.Config, func(ss *sim.Session) error {
		sessions++
		return write(ss)
	})
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return classify(err)
	}
	if err := writeTruth(truthPath, truth); err != nil {
		return classify(err)
	}
	fmt.Fprintf(s.Stdout, "simulated %s: %d days, %d devices, seed %d: %s sessions", s.Config.Scenario,
		s.Config.Days, s.Config.Devices, s.Config.Seed, commas(sessions))
	if events > 0 {
		fmt.Fprintf(s.Stdout, ", %s events", commas(events))
	}
	fmt.Fprintf(s.Stdout, " in %s\ntruth     %s\n", time.Since(started).Round(time.Millisecond), truthPath)
	return nil
}

func writeTruth(path string, t *sim.Truth) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
