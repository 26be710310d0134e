package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/sensor/zeek"
)

// Convert decodes captures and writes Zeek TSV logs.
type Convert struct {
	PCAPs   []string
	ZeekOut string
	Config  config.Config
	Strict  bool
	Stdout  io.Writer
	Stderr  io.Writer
}

// Run performs the conversion.
func (c *Convert) Run(ctx context.Context) error {
	if len(c.PCAPs) == 0 {
		return usageErr("give --pcap FILE...")
	}
	if c.ZeekOut == "" {
		return usageErr("--zeek-out DIR is required")
	}
	total, err := inputSize(c.PCAPs)
	if err != nil {
		return usageErr("%v", err)
	}
	w, err := zeek.NewWriter(c.ZeekOut)
	if err != nil {
		return classify(err)
	}
	var prog sensor.Progress
	prog.BytesTotal.Store(total)
	opt, problems := reportProblems(c.Stderr, c.Strict, &prog)
	var kinds [event.NumKinds]int64
	started := time.Now()
	stop := startProgress(c.Stderr, &prog)
	err = readPCAP(ctx, c.PCAPs, c.Config, opt, func(e event.Event) error {
		kinds[e.Kind()]++
		return w.Write(e)
	})
	stop()
	if cerr := w.Close(); err == nil {
		err = cerr
	} else if cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return classify(err)
	}
	problems.finish()
	s := summary{inputs: c.PCAPs, pcap: true, bytes: prog.BytesRead.Load(), records: prog.Records.Load(),
		skipped: prog.Skipped.Load(), elapsed: time.Since(started), kinds: kinds}
	s.writeRead(c.Stdout)
	fmt.Fprintf(c.Stdout, "wrote     Zeek logs to %s\n", c.ZeekOut)
	return nil
}
