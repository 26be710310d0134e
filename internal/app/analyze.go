// Package app wires Vigil's stages together for each command: sources in,
// events through the pipeline, outputs and a summary out.
package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	_ "github.com/vigil-ndr/vigil/internal/detect/all" // every model
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

// Analyze is one offline run: read captures or Zeek logs in event time and
// write the JSONL outputs.
type Analyze struct {
	PCAPs  []string // capture files, read in order as one stream
	Zeek   []string // Zeek log files or directories
	Out    string   // output directory
	Config config.Config
	// Strict turns the first skipped record into a failure.
	Strict bool
	// Baseline, when set, is a baseline file from an earlier run to
	// continue learning from; SaveBaseline is where to write the
	// baselines at the end.
	Baseline, SaveBaseline string
	// Stdout gets the summary; Stderr gets problems and progress.
	Stdout, Stderr io.Writer
}

// Run performs the analysis.
func (a *Analyze) Run(ctx context.Context) error {
	if (len(a.PCAPs) == 0) == (len(a.Zeek) == 0) {
		return usageErr("give either --pcap FILE... or --zeek DIR")
	}
	if a.Out == "" {
		return usageErr("--out DIR is required")
	}
	inputs := append(append([]string{}, a.PCAPs...), a.Zeek...)
	total, err := inputSize(inputs)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := os.MkdirAll(a.Out, 0o755); err != nil {
		return classify(fmt.Errorf("create output directory: %w", err))
	}

	var prog sensor.Progress
	prog.BytesTotal.Store(total)
	opt, problems := reportProblems(a.Stderr, a.Strict, &prog)
	pipe, err := newPipeline(a.Config, a.Baseline)
	if err != nil {
		return err
	}
	started := time.Now()
	stopProgress := startProgress(a.Stderr, &prog)
	if len(a.PCAPs) > 0 {
		err = readPCAP(ctx, a.PCAPs, a.Config, opt, pipe.observe)
	} else {
		err = readZeek(ctx, a.Zeek, opt, pipe.observe)
	}
	stopProgress()
	elapsed := time.Since(started)
	if err != nil {
		return classify(err)
	}
	problems.finish()

	devices := pipe.devices()
	pipe.engine.Flush()
	breaches := pipe.engine.Breaches()
	if err := a.writeOutputs(devices, breaches); err != nil {
		return classify(err)
	}
	if a.SaveBaseline != "" {
		if err := saveBaseline(a.SaveBaseline, pipe.engine.Baselines()); err != nil {
			return classify(err)
		}
	}
	s := summary{
		inputs: inputs, pcap: len(a.PCAPs) > 0, bytes: prog.BytesRead.Load(), records: prog.Records.Load(),
		skipped: prog.Skipped.Load(), elapsed: elapsed, kinds: pipe.kinds, first: pipe.first, last: pipe.last,
		devices: devices, breaches: breaches, allowed: pipe.engine.Allowed(), out: a.Out,
	}
	s.write(a.Stdout)
	return nil
}

func (a *Analyze) writeOutputs(devices []device.Device, breaches []breach.Breach) error {
	if err := writeJSONL(a.Out, "devices.jsonl", devices); err != nil {
		return err
	}
	if err := writeJSONL(a.Out, "breaches.jsonl", breaches); err != nil {
		return err
	}
	// Later stages (incidents, response, shadow AI) fill these.
	for _, name := range OutputFiles[2:] {
		if err := writeJSONL[struct{}](a.Out, name, nil); err != nil {
			return err
		}
	}
	return nil
}

// inputSize checks that every input exists and returns their total size in
// bytes (directories: the files below them), for the progress display.
func inputSize(paths []string) (int64, error) {
	var total int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				total += info.Size()
			}
			return nil
		})
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return 0, fmt.Errorf("%s: %w", pe.Path, pe.Err)
			}
			return 0, err
		}
	}
	return total, nil
}

// pipeline carries events from a source through the stages that exist so
// far. It runs on the source's goroutine, in event order.
type pipeline struct {
	inventory   *device.Inventory
	engine      *detect.Engine
	kinds       [event.NumKinds]int64
	first, last time.Time
}

// newPipeline builds the stages; baselineFile, when set, holds baselines
// from an earlier run to continue from.
func newPipeline(cfg config.Config, baselineFile string) (*pipeline, error) {
	models, err := cfg.DetectModels()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	inv := device.NewInventory(cfg.InternalPrefixes())
	var base *baseline.Baselines
	if baselineFile != "" {
		if base, err = loadBaseline(baselineFile, cfg, inv.Internal); err != nil {
			return nil, err
		}
	}
	return &pipeline{
		inventory: inv,
		engine: detect.NewEngine(detect.Options{
			Baseline: cfg.Baseline, Internal: inv.Internal, Models: models,
			Allow: cfg.Allowlist, Scoring: cfg.Scoring, Baselines: base,
		}),
	}, nil
}

// loadBaseline reads a baseline file written by --save-baseline. A file
// that is not one stops the run with exit status 2.
func loadBaseline(path string, cfg config.Config, internal func(netip.Addr) bool) (*baseline.Baselines, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--baseline: %v", err)
	}
	defer f.Close()
	b, err := baseline.Load(bufio.NewReader(f), cfg.Baseline, internal)
	if err != nil {
		return nil, usageErr("--baseline %s: %v", path, err)
	}
	return b, nil
}

// saveBaseline writes the baselines atomically.
func saveBaseline(path string, b *baseline.Baselines) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save baseline: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriter(tmp)
	if err := b.Save(w); err != nil {
		tmp.Close()
		return fmt.Errorf("save baseline %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("save baseline %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save baseline %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save baseline %s: %w", path, err)
	}
	return nil
}

// devices returns the inventory with each device's threat score at the
// end of the data.
func (p *pipeline) devices() []device.Device {
	ds := p.inventory.Devices()
	for i := range ds {
		ds[i].Score = p.engine.Threat().Score(ds[i].IP, p.last)
		for _, ip := range ds[i].IPs { // a device DHCP moved: its loudest address
			ds[i].Score = max(ds[i].Score, p.engine.Threat().Score(ip, p.last))
		}
	}
	return ds
}

func (p *pipeline) observe(e event.Event) error {
	p.kinds[e.Kind()]++
	ts := e.Base().TS
	if !ts.IsZero() {
		if p.first.IsZero() || ts.Before(p.first) {
			p.first = ts
		}
		if ts.After(p.last) {
			p.last = ts
		}
	}
	p.inventory.Observe(e)
	p.engine.Observe(e)
	return nil
}

// maxShownProblems bounds how many skipped records are described one by
// one; the rest are counted.
const maxShownProblems = 20

// problemLog tells the user about skipped records on stderr.
type problemLog struct {
	w     io.Writer
	shown int
}

// reportProblems returns source options that describe each skipped record
// on w (the first maxShownProblems of them), or stop at the first one when
// strict.
func reportProblems(w io.Writer, strict bool, prog *sensor.Progress) (sensor.Options, *problemLog) {
	pl := &problemLog{w: w}
	return sensor.Options{
		Progress: prog,
		OnProblem: func(p sensor.Problem) error {
			if strict {
				return fmt.Errorf("%w (--strict)", p)
			}
			if pl.shown < maxShownProblems {
				fmt.Fprintf(w, "\r\033[Kskipped: %v\n", p)
			}
			pl.shown++
			return nil
		},
	}, pl
}

// finish says how many skipped records were not described.
func (pl *problemLog) finish() {
	if pl.shown > maxShownProblems {
		fmt.Fprintf(pl.w, "skipped: ... and %d more bad records\n", pl.shown-maxShownProblems)
	}
}
