package app

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
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
	breaches    []breach.Breach
	allowed     int
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
	s.writeBreaches(w)
	fmt.Fprintf(w, "incidents 0\n")
	fmt.Fprintf(w, "output    %s/{%s}\n", strings.TrimSuffix(s.out, "/"), strings.Join(OutputFiles, ","))
}

// writeBreaches counts breaches by model, loudest first.
func (s *summary) writeBreaches(w io.Writer) {
	allowed := ""
	if s.allowed > 0 {
		allowed = fmt.Sprintf(", %d more suppressed by the allowlist", s.allowed)
	}
	fmt.Fprintf(w, "breaches  %d%s\n", len(s.breaches), allowed)
	type row struct {
		model   string
		n, top  int
		devices map[string]bool
	}
	rows := map[string]*row{}
	for _, b := range s.breaches {
		r := rows[b.Model]
		if r == nil {
			r = &row{model: b.Model, devices: map[string]bool{}}
			rows[b.Model] = r
		}
		r.n++
		r.top = max(r.top, b.Score)
		r.devices[b.Device.String()] = true
	}
	list := make([]*row, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].top != list[j].top {
			return list[i].top > list[j].top
		}
		return list[i].model < list[j].model
	})
	for _, r := range list {
		fmt.Fprintf(w, "          %3d  %-62s %4d on %d device(s)\n", r.top, r.model, r.n, len(r.devices))
	}
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
