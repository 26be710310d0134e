package app

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/vigil-ndr/vigil/internal/sensor"
)

// progressLine redraws one status line on a terminal while a long offline
// run works: bytes read of the total, events per second, and the time
// left. It stays silent when the output is not a terminal (CI, pipes,
// redirects), so logs are never littered with carriage returns.
type progressLine struct {
	w     io.Writer
	p     *sensor.Progress
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
}

// startProgress begins redrawing on w every interval if w is a terminal;
// the returned function stops it and clears the line.
func startProgress(w io.Writer, p *sensor.Progress) func() {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	pl := &progressLine{w: w, p: p, start: time.Now(), stop: make(chan struct{})}
	pl.done.Add(1)
	go pl.run(250 * time.Millisecond)
	return func() {
		close(pl.stop)
		pl.done.Wait()
		fmt.Fprint(pl.w, "\r\033[K")
	}
}

func (pl *progressLine) run(every time.Duration) {
	defer pl.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-pl.stop:
			return
		case <-t.C:
			fmt.Fprint(pl.w, "\r\033[K"+progressText(pl.p, time.Since(pl.start)))
		}
	}
}

// progressText renders the status: "12.3 MB / 44.2 MB (28%)  1,204,113
// events  310,022 ev/s  ETA 4s".
func progressText(p *sensor.Progress, elapsed time.Duration) string {
	read, total := p.BytesRead.Load(), p.BytesTotal.Load()
	events := p.Events.Load()
	secs := elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	s := humanBytes(read)
	if total > 0 {
		s += fmt.Sprintf(" / %s (%d%%)", humanBytes(total), read*100/max(total, 1))
	}
	s += fmt.Sprintf("  %s events  %s ev/s", commas(events), commas(int64(float64(events)/secs)))
	if total > 0 && read > 0 && read < total {
		left := time.Duration(float64(elapsed) * float64(total-read) / float64(read))
		s += "  ETA " + left.Round(time.Second).String()
	}
	if sk := p.Skipped.Load(); sk > 0 {
		s += fmt.Sprintf("  %s skipped", commas(sk))
	}
	return s
}

// humanBytes formats a byte count in decimal units (as file managers do).
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// commas formats an integer with thousands separators.
func commas(n int64) string {
	if n < 0 {
		return "-" + commas(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
