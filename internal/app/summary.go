package app

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/device"
	"github.com/vigil-ndr/vigil/internal/event"
)

// summary is what a run tells a person at the end: what was read, what it
// became, and where the results are.
type summary struct {
	inputs      []string
	pcap        bool
	bytes       int64
	records     int64
	skipped     int64
	elapsed     time.Duration
	kinds       [event.NumKinds]int64
	first, last time.Time
	devices     []device.Device
	out         string
}

func (s *summary) write(w io.Writer) {
	s.writeRead(w)
	if !s.first.IsZero() {
		fmt.Fprintf(w, "time      %s to %s (%s)\n", s.first.UTC().Format(time.RFC3339), s.last.UTC().Format(time.RFC3339),
			s.last.Sub(s.first).Round(time.Second))
	}
	named := 0
	for _, d := range s.devices {
		if d.Hostname != "" {
			named++
		}
	}
	fmt.Fprintf(w, "devices   %d internal (%d named)\n", len(s.devices), named)
	fmt.Fprintf(w, "breaches  0 (no detection models in this build yet)\n")
	fmt.Fprintf(w, "incidents 0\n")
	fmt.Fprintf(w, "output    %s/{%s}\n", strings.TrimSuffix(s.out, "/"), strings.Join(OutputFiles, ","))
}

// writeRead says what was read and what events it became.
func (s *summary) writeRead(w io.Writer) {
	unit, what := "packets", "capture"
	if !s.pcap {
		unit, what = "log lines", "Zeek input"
	}
	if len(s.inputs) != 1 {
		what += "s"
	}
	rate := ""
	if secs := s.elapsed.Seconds(); secs > 0 {
		rate = fmt.Sprintf(", %s/s", humanBytes(int64(float64(s.bytes)/secs)))
	}
	fmt.Fprintf(w, "read      %d %s, %s, %s %s in %s%s\n", len(s.inputs), what, humanBytes(s.bytes),
		commas(s.records), unit, s.elapsed.Round(time.Millisecond), rate)
	if s.skipped > 0 {
		fmt.Fprintf(w, "skipped   %s bad records (see the messages above; --strict makes them fatal)\n", commas(s.skipped))
	}
	var parts []string
	var n int64
	for _, k := range event.Kinds {
		parts = append(parts, fmt.Sprintf("%s %s", k, commas(s.kinds[k])))
		n += s.kinds[k]
	}
	fmt.Fprintf(w, "events    %s: %s\n", commas(n), strings.Join(parts, ", "))
}
