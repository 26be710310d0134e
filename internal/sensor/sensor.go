// Package sensor holds what every event source shares: how events and
// problems leave a source, and how its progress is counted. The sources
// themselves live in sensor/pcap (captures and live interfaces) and
// sensor/zeek (Zeek logs).
package sensor

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/vigil-ndr/vigil/internal/event"
)

// Emit receives each event a source produces, in the order produced. The
// event belongs to the receiver from then on. A non-nil error stops the
// source, which returns it.
type Emit func(event.Event) error

// Problem is one bad record that a source skipped: the file, the record's
// position (packet number for captures, line number for logs, both from 1;
// 0 when the problem concerns the whole file), and what was wrong.
type Problem struct {
	File   string
	Record int64
	Err    error
}

// Error formats the problem as "FILE: record N: reason".
func (p Problem) Error() string {
	if p.Record > 0 {
		return fmt.Sprintf("%s: record %d: %v", p.File, p.Record, p.Err)
	}
	return fmt.Sprintf("%s: %v", p.File, p.Err)
}

// Unwrap returns the underlying error.
func (p Problem) Unwrap() error { return p.Err }

// ErrNotInput marks a file that is not a capture or log at all (wrong magic,
// no Zeek header): the run fails at once with exit status 2.
var ErrNotInput = errors.New("not a recognised input")

// Progress counts a source's work. Its fields are updated atomically by the
// source and may be read at any time from another goroutine (the terminal
// progress display).
type Progress struct {
	// BytesTotal is the input size when known up front (0 otherwise).
	BytesTotal atomic.Int64
	// BytesRead counts input bytes consumed so far (compressed bytes for
	// gzip input, so that it compares with BytesTotal).
	BytesRead atomic.Int64
	// Records counts packets or log lines read.
	Records atomic.Int64
	// Events counts events emitted.
	Events atomic.Int64
	// Skipped counts bad records skipped.
	Skipped atomic.Int64
}

// Options are what every source is given.
type Options struct {
	// OnProblem is told of each skipped record; nil ignores them (they are
	// still counted in Progress.Skipped). Returning an error stops the
	// source (that is how --strict works).
	OnProblem func(Problem) error
	// Progress, when non-nil, is updated as the source works.
	Progress *Progress
}

// Report passes p to o.OnProblem and counts it as skipped.
func (o *Options) Report(p Problem) error {
	if o.Progress != nil {
		o.Progress.Skipped.Add(1)
	}
	if o.OnProblem != nil {
		return o.OnProblem(p)
	}
	return nil
}
