package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-ndr/vigil/internal/baseline"
	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
	"github.com/vigil-ndr/vigil/internal/store"
	"github.com/vigil-ndr/vigil/internal/store/sqlite"
)

// Defaults for the live server's scheduling (wall time: the only place
// Vigil uses it).
const (
	DefaultPoll     = time.Second
	DefaultLogEvery = 10 * time.Second
)

// Serve is the live server: events from one source go through the
// pipeline (device inventory, baselines, detection models), and the
// inventory with threat scores, the breaches and the ingest bookkeeping are
// committed to the store with the source's checkpoint. The baselines are
// stored with a commit now and then (baselineEvery) and restored at start;
// breaches are never duplicated (their IDs are derived from content).
type Serve struct {
	Iface      string
	ZeekFollow string
	PCAPs      []string
	Data       string
	Config     config.Config
	Poll       time.Duration
	LogEvery   time.Duration
	Stdout     io.Writer
	Stderr     io.Writer
}

// Run serves until ctx is cancelled (or, for --pcap, until the files are read).
func (s *Serve) Run(ctx context.Context) error {
	n := 0
	for _, set := range []bool{s.Iface != "", s.ZeekFollow != "", len(s.PCAPs) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usageErr("give exactly one of --iface IF, --zeek-follow DIR, --pcap FILE...")
	}
	if s.Poll <= 0 {
		s.Poll = DefaultPoll
	}
	if s.LogEvery <= 0 {
		s.LogEvery = DefaultLogEvery
	}
	if _, err := s.Config.DetectModels(); err != nil {
		return usageErr("%v", err)
	}
	log := slog.New(slog.NewTextHandler(s.Stderr, nil))
	st, err := sqlite.Open(ctx, s.Data, sqlite.Options{})
	if errors.Is(err, context.Canceled) {
		return nil // stopped while starting
	}
	if err != nil {
		return classify(err)
	}
	defer st.Close()
	log.Info("store open", "file", st.File())

	var runErr error
	switch {
	case len(s.PCAPs) > 0:
		runErr = s.servePCAP(ctx, st, log)
	case s.Iface != "":
		runErr = s.serveIface(ctx, st, log)
	default:
		runErr = s.serveZeek(ctx, st, log)
	}
	if errors.Is(runErr, context.Canceled) {
		log.Info("stopped")
		return nil
	}
	return classify(runErr)
}

// ingest accumulates what a batch of events changes and commits it, with
// the source's checkpoint when it has one, in one transaction.
type ingest struct {
	source, kind string
	paths        []string
	store        ingestStore
	inventory    *device.Inventory
	lastBaseline time.Time
	engine       *detect.Engine
	breaches     []breach.Breach // raised since the last commit
	nBreaches    int
	last         time.Time // latest event time
	delta        store.IngestStats
	total        store.IngestStats // for progress logs
	log          *slog.Logger
	lastLog      time.Time
	every        time.Duration
	// records and skipped as of the last commit (the source counts totals).
	records, skipped int64
	lastCommit       time.Time
}

// ingestStore is what the server's ingest needs from the store: atomic
// commits, and checkpoints to restore its baselines from.
type ingestStore interface {
	store.Committer
	store.Checkpoints
}

// baselineEvery is how often (wall time) the server stores its baselines
// with a commit; they are also stored when a finite source ends.
const baselineEvery = 5 * time.Minute

// baselineKey is the checkpoint key under which a source's baselines are
// stored.
func baselineKey(source string) string { return "baseline:" + source }

func newIngest(ctx context.Context, source, kind string, paths []string, cfg config.Config, st ingestStore, log *slog.Logger, every time.Duration) (*ingest, error) {
	in := &ingest{source: source, kind: kind, paths: paths, store: st, log: log, every: every,
		inventory: device.NewInventory(cfg.InternalPrefixes()), lastLog: time.Now(), lastCommit: time.Now(), lastBaseline: time.Now()}
	models, _ := cfg.DetectModels() // Run checked them
	// Baselines stored by an earlier run of this source continue.
	var base *baseline.Baselines
	if snap, ok, err := st.Load(ctx, baselineKey(source)); err != nil {
		return nil, err
	} else if ok {
		if base, err = baseline.Load(bytes.NewReader(snap), cfg.Baseline, in.inventory.Internal); err != nil {
			log.Warn("stored baselines unreadable; learning afresh", "source", source, "err", err)
			base = nil
		} else {
			log.Info("baselines restored", "source", source, "devices", len(base.Profiles()))
		}
	}
	in.engine = detect.NewEngine(detect.Options{
		Baseline: cfg.Baseline, Internal: in.inventory.Internal, Models: models, Allow: cfg.Allowlist, Scoring: cfg.Scoring,
		Baselines: base,
		OnBreach: func(b breach.Breach) {
			in.breaches = append(in.breaches, b)
			log.Warn("breach", "model", b.Model, "device", b.Device.String(), "score", b.Score,
				"endpoint", b.Endpoint.Key(), "summary", b.Summary, "id", b.ID)
		},
	})
	in.reset()
	return in, nil
}

// end judges what the engine still holds and has the next commit store
// the baselines: call it when the source ends.
func (in *ingest) end() {
	in.engine.Flush()
	in.lastBaseline = time.Time{}
}

func (in *ingest) reset() {
	in.delta = store.IngestStats{Source: in.source, Kind: in.kind, Paths: in.paths, Events: map[string]int64{}}
}

// observe takes one event into the pipeline.
func (in *ingest) observe(e event.Event) error {
	in.inventory.Observe(e)
	in.engine.Observe(e)
	in.delta.Events[e.Kind().String()]++
	ts := e.Base().TS
	if ts.After(in.last) {
		in.last = ts
	}
	if !ts.IsZero() {
		if in.delta.FirstEvent.IsZero() || ts.Before(in.delta.FirstEvent) {
			in.delta.FirstEvent = ts
		}
		if ts.After(in.delta.LastEvent) {
			in.delta.LastEvent = ts
		}
	}
	return nil
}

// due reports whether every has passed since the last commit.
func (in *ingest) due(every time.Duration) bool { return time.Since(in.lastCommit) >= every }

// commit stores the devices, the ingest delta and, when given, the
// checkpoint that covers exactly the records observed since the last
// commit, atomically. records and skipped are the source's running totals.
func (in *ingest) commit(ctx context.Context, records, skipped int64, cp []byte) error {
	in.delta.Records, in.delta.Skipped = records-in.records, skipped-in.skipped
	b := store.Batch{Ingest: []store.IngestStats{in.delta}}
	for _, d := range in.inventory.Changed() {
		// Keyed by address, as the inventory is: following a device across
		// DHCP changes by MAC belongs to the identity stage, and a key that
		// switched from IP to MAC once the MAC was learnt would split one
		// device into two rows.
		b.Devices = append(b.Devices, store.Device{Key: d.IP.String(), IP: d.IP, MAC: d.MAC, Hostname: d.Hostname,
			FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, Score: in.engine.Threat().Score(d.IP, in.last)})
	}
	for _, br := range in.breaches {
		line, err := json.Marshal(br)
		if err != nil {
			return fmt.Errorf("commit %s: breach %s: %w", in.source, br.ID, err)
		}
		b.Breaches = append(b.Breaches, store.Breach{ID: br.ID, Time: br.Time, Model: br.Model, Device: br.Device,
			Score: br.Score, JSON: line})
	}
	if cp != nil {
		b.Checkpoints = []store.Checkpoint{{Key: in.source, Data: cp}}
	}
	// The baselines go with this batch's checkpoint now and then: after a
	// crash, learning resumes from them, and what was learned from the
	// records between that commit and the crash is learned no more (the
	// breaches raised from them are stored).
	if time.Since(in.lastBaseline) >= baselineEvery {
		var snap bytes.Buffer
		if err := in.engine.Baselines().Save(&snap); err != nil {
			return fmt.Errorf("commit %s: %w", in.source, err)
		}
		b.Checkpoints = append(b.Checkpoints, store.Checkpoint{Key: baselineKey(in.source), Data: snap.Bytes()})
		in.lastBaseline = time.Now()
	}
	// The commit must not be abandoned half-way because the server is
	// stopping: it is one short transaction, and abandoning it would only
	// make the next start repeat work.
	if err := in.store.Commit(context.WithoutCancel(ctx), b); err != nil {
		return fmt.Errorf("commit %s: %w", in.source, err)
	}
	in.total = in.total.Add(in.delta, time.Now())
	in.records, in.skipped, in.lastCommit = records, skipped, time.Now()
	in.nBreaches += len(in.breaches)
	in.breaches = in.breaches[:0]
	in.reset()
	if time.Since(in.lastLog) >= in.every {
		in.logProgress()
	}
	return nil
}

func (in *ingest) logProgress() {
	in.lastLog = time.Now()
	var events int64
	for _, n := range in.total.Events {
		events += n
	}
	in.log.Info("ingest", "source", in.source, "records", in.total.Records, "events", events,
		"skipped", in.total.Skipped, "devices", in.inventory.Len(), "breaches", in.nBreaches, "last_event", in.total.LastEvent.Format(time.RFC3339))
}

// servePCAP ingests capture files, committing every few seconds.
func (s *Serve) servePCAP(ctx context.Context, st ingestStore, log *slog.Logger) error {
	abs := make([]string, len(s.PCAPs))
	for i, p := range s.PCAPs {
		a, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		abs[i] = a
	}
	in, err := newIngest(ctx, "pcap:"+abs[0], "pcap", abs, s.Config, st, log, s.LogEvery)
	if err != nil {
		return err
	}
	var prog sensor.Progress
	opt := sensor.Options{Progress: &prog, OnProblem: func(p sensor.Problem) error {
		log.Warn("skipped", "problem", p.Error())
		return nil
	}}
	flush := func() error { return in.commit(ctx, prog.Records.Load(), prog.Skipped.Load(), nil) }
	err = readPCAP(ctx, s.PCAPs, s.Config, opt, func(e event.Event) error {
		in.observe(e)
		if in.due(s.Poll) {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	in.end()
	if err := flush(); err != nil {
		return err
	}
	in.logProgress()
	return nil
}

// serveZeek follows a live Zeek log directory. Each batch of new lines is
// committed with the follower's checkpoint in one transaction, so a
// restart (even after kill -9) resumes exactly after the last committed
// line: nothing is lost and nothing counted twice.
func (s *Serve) serveZeek(ctx context.Context, st store.Store, log *slog.Logger) error {
	abs, err := filepath.Abs(s.ZeekFollow)
	if err != nil {
		return err
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return usageErr("--zeek-follow %s: not a directory", s.ZeekFollow)
	}
	var prog sensor.Progress
	f := zeek.NewFollower(abs, zeek.FollowOptions{Options: sensor.Options{Progress: &prog,
		OnProblem: func(p sensor.Problem) error {
			log.Warn("skipped", "problem", p.Error())
			return nil
		}}})
	if err := f.Resume(ctx, st); err != nil {
		return err
	}
	log.Info("following", "dir", abs, "checkpoint", f.Key())
	in, err := newIngest(ctx, f.Key(), "zeek", []string{abs}, s.Config, st, log, s.LogEvery)
	if err != nil {
		return err
	}
	var lastCP []byte
	for {
		b, err := f.Poll(ctx)
		if err != nil {
			return err
		}
		for _, e := range b.Events {
			in.observe(e)
		}
		records, skipped := prog.Records.Load(), prog.Skipped.Load()
		grew := records != in.records
		if grew || skipped != in.skipped || !bytes.Equal(b.Checkpoint, lastCP) {
			if err := in.commit(ctx, records, skipped, b.Checkpoint); err != nil {
				return err
			}
			lastCP = b.Checkpoint
		}
		if grew {
			continue // a backlog: read on without waiting
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.Poll):
		}
	}
}
