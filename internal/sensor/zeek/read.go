package zeek

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

// Stats says what a Read did besides emitting events.
type Stats struct {
	// Files counts the log files read.
	Files int
	// Records counts data lines (header lines excluded).
	Records int64
	// Events counts events emitted.
	Events int64
	// Skipped counts bad lines skipped (each also reported as a Problem).
	Skipped int64
	// OtherFiles counts, by log type, the files in the directories read
	// whose type Vigil does not map (weird, notice, files, ...).
	OtherFiles map[string]int
}

// Read reads Zeek logs and emits their events. Each path is a log file or a
// directory of logs; a directory's logs are recognised by name, grouped by
// type, and a type's rotated files are read in time order. The events of
// all logs are merged in timestamp order (each log is only roughly ordered,
// so the output is too; it is deterministic). A file that is not a Zeek log
// fails the run at once with an error wrapping sensor.ErrNotInput; bad
// lines are reported through opt.OnProblem and skipped.
func Read(ctx context.Context, paths []string, opt sensor.Options, emit sensor.Emit) error {
	_, err := ReadStats(ctx, paths, opt, emit)
	return err
}

// ReadStats is Read, also returning what it counted.
func ReadStats(ctx context.Context, paths []string, opt sensor.Options, emit sensor.Emit) (Stats, error) {
	st := Stats{OtherFiles: map[string]int{}}
	groups, err := collect(paths, &st, opt.Progress)
	if err != nil {
		return st, err
	}
	r := &reader{opt: &opt, stats: &st}
	var streams []*typeStream
	for _, g := range groups {
		ss, err := r.streams(g)
		if err != nil {
			return st, err
		}
		streams = append(streams, ss...)
	}
	err = r.merge(ctx, streams, emit)
	for _, s := range streams {
		s.close()
	}
	return st, err
}

// group is the logs of one directory (or the loose files given), by type.
type group struct {
	files map[logType][]string
}

func collect(paths []string, st *Stats, prog *sensor.Progress) ([]group, error) {
	loose := group{files: map[logType][]string{}}
	var groups []group
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if !fi.IsDir() {
			typ := logTypeOf(logNameType(filepath.Base(p)))
			loose.files[typ] = append(loose.files[typ], p)
			if prog != nil {
				prog.BytesTotal.Add(fi.Size())
			}
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		g := group{files: map[logType][]string{}}
		for _, e := range ents {
			name, ok := isLogName(e.Name())
			if !ok || e.IsDir() {
				continue
			}
			typ := logTypeOf(name)
			if typ == logOther {
				st.OtherFiles[name]++
				continue
			}
			full := filepath.Join(p, e.Name())
			g.files[typ] = append(g.files[typ], full)
			if prog != nil {
				if info, err := e.Info(); err == nil {
					prog.BytesTotal.Add(info.Size())
				}
			}
		}
		groups = append(groups, g)
	}
	if len(loose.files) > 0 {
		groups = append(groups, loose)
	}
	return groups, nil
}

type reader struct {
	opt   *sensor.Options
	stats *Stats
}

// x509Lookahead is how far past an ssl record's time the x509 log is read
// before the record is joined to its certificate: Zeek logs a certificate
// a little after the handshake's first packet (the ssl record's ts).
const x509Lookahead = 5 * time.Minute

// streams orders each type's files and builds one stream per type, the
// ssl stream joined to the x509 one through a bounded certificate cache.
func (r *reader) streams(g group) ([]*typeStream, error) {
	certs := newCertCache(DefaultCertCache)
	var out []*typeStream
	byType := map[logType]*typeStream{}
	for typ := logOther; typ <= logDHCP; typ++ {
		files := g.files[typ]
		if len(files) == 0 {
			continue
		}
		ordered, err := r.order(files)
		if err != nil {
			return nil, err
		}
		s := &typeStream{r: r, typ: typ, files: ordered, certs: certs}
		byType[typ] = s
		out = append(out, s)
	}
	if s := byType[logSSL]; s != nil {
		s.x509 = byType[logX509]
	}
	return out, nil
}

// order sorts one type's files by the time of their first record, so that
// rotated files are read oldest first whatever their naming scheme. It
// also checks each file is a Zeek log before any event leaves.
func (r *reader) order(files []string) ([]string, error) {
	type keyed struct {
		path string
		ts   time.Time
	}
	ks := make([]keyed, 0, len(files))
	for _, f := range files {
		src, err := r.open(f, true)
		if err != nil {
			return nil, err
		}
		var ts time.Time
		if ev, err := src.next(); err == nil {
			ts = ev.Base().TS
		}
		src.close()
		ks = append(ks, keyed{f, ts})
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if !ks[i].ts.Equal(ks[j].ts) {
			return ks[i].ts.Before(ks[j].ts)
		}
		return ks[i].path < ks[j].path
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.path
	}
	return out, nil
}

// fileSource reads one file's events (not joined).
type fileSource struct {
	r     *reader
	path  string
	f     *os.File
	lr    lineReader
	p     *Parser
	quiet bool // peeking: report nothing, count nothing
}

func (r *reader) open(path string, quiet bool) (*fileSource, error) {
	var prog *sensor.Progress
	if !quiet {
		prog = r.opt.Progress
	}
	f, br, err := openLog(path, prog)
	if err != nil {
		return nil, err
	}
	if !quiet {
		r.stats.Files++
	}
	return &fileSource{r: r, path: path, f: f, lr: lineReader{br: br}, p: NewParser(path), quiet: quiet}, nil
}

func (s *fileSource) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// next returns the file's next event, or io.EOF.
func (s *fileSource) next() (event.Event, error) {
	for {
		line, err := s.lr.next()
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			if s.quiet {
				return nil, io.EOF
			}
			// A gzip that ends early: keep what came before.
			if rerr := s.report(s.lr.line+1, fmt.Errorf("read: %w", err)); rerr != nil {
				return nil, rerr
			}
			return nil, io.EOF
		}
		data := len(line) > 0 && line[0] != '#'
		if data && !s.quiet {
			s.r.stats.Records++
			if s.r.opt.Progress != nil {
				s.r.opt.Progress.Records.Add(1)
			}
		}
		ev, err := s.p.parse(line)
		if err != nil {
			if s.quiet {
				continue
			}
			if rerr := s.report(s.lr.line, err); rerr != nil {
				return nil, rerr
			}
			continue
		}
		if ev != nil {
			return ev, nil
		}
	}
}

func (s *fileSource) report(line int64, err error) error {
	s.r.stats.Skipped++
	return s.r.opt.Report(sensor.Problem{File: s.path, Record: line, Err: err})
}

// typeStream reads one log type's files in order. The x509 stream keeps
// the records it read ahead (for the ssl join) in pending until they are
// emitted.
type typeStream struct {
	r     *reader
	typ   logType
	files []string
	idx   int
	cur   *fileSource
	certs *certCache

	x509    *typeStream  // ssl only
	pending []*certEntry // x509 only
	last    *certEntry   // x509 only: the entry of the event next returned
	eof     bool
}

func (s *typeStream) close() {
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
}

// raw returns the next event of the type's files, unjoined.
func (s *typeStream) raw() (event.Event, error) {
	for !s.eof {
		if s.cur == nil {
			if s.idx >= len(s.files) {
				s.eof = true
				break
			}
			src, err := s.r.open(s.files[s.idx], false)
			s.idx++
			if err != nil {
				return nil, err
			}
			s.cur = src
		}
		ev, err := s.cur.next()
		if err == io.EOF {
			s.close()
			continue
		}
		if err != nil {
			return nil, err
		}
		return ev, nil
	}
	return nil, io.EOF
}

// fill reads x509 records into the certificate cache until one is later
// than until.
func (s *typeStream) fill(until time.Time) error {
	for {
		if n := len(s.pending); n > 0 && s.pending[n-1].ev.TS.After(until) {
			return nil
		}
		ev, err := s.raw()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		x := ev.(*event.X509)
		s.pending = append(s.pending, s.certs.add(s.cur.p.certKey, x, s.cur.p.present.has(fUID)))
	}
}

// next returns the stream's next event, joined when it is a TLS one.
func (s *typeStream) next() (event.Event, error) {
	switch s.typ {
	case logX509:
		if len(s.pending) == 0 {
			if err := s.fill(time.Time{}); err != nil {
				return nil, err
			}
			if len(s.pending) == 0 {
				return nil, io.EOF
			}
		}
		e := s.pending[0]
		s.pending[0] = nil
		s.pending = s.pending[1:]
		s.last = e // marked emitted when merge hands it on
		return e.ev, nil
	case logSSL:
		ev, err := s.raw()
		if err != nil {
			return nil, err
		}
		t := ev.(*event.TLS)
		if s.x509 != nil {
			if err := s.x509.fill(t.TS.Add(x509Lookahead)); err != nil {
				return nil, err
			}
		}
		s.cur.p.certs = s.certs
		s.cur.p.completeTLS(t)
		return t, nil
	}
	return s.raw()
}

// merge emits the streams' events in timestamp order (ties by stream).
func (r *reader) merge(ctx context.Context, streams []*typeStream, emit sensor.Emit) error {
	h := &mergeHeap{}
	for i, s := range streams {
		ev, err := s.next()
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			return err
		}
		h.items = append(h.items, mergeItem{ev: ev, ts: ev.Base().TS, idx: i, entry: s.last})
	}
	heap.Init(h)
	n := 0
	for h.Len() > 0 {
		if n++; n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		top := &h.items[0]
		ev := top.ev
		if top.entry != nil {
			top.entry.emitted = true
		}
		s := streams[top.idx]
		nxt, err := s.next()
		switch {
		case errors.Is(err, io.EOF):
			heap.Pop(h)
		case err != nil:
			return err
		default:
			top.ev, top.ts, top.entry = nxt, nxt.Base().TS, s.last
			heap.Fix(h, 0)
		}
		r.stats.Events++
		if r.opt.Progress != nil {
			r.opt.Progress.Events.Add(1)
		}
		if err := emit(ev); err != nil {
			return err
		}
	}
	return ctx.Err()
}

type mergeItem struct {
	ev    event.Event
	ts    time.Time
	idx   int
	entry *certEntry // for x509 events: marked emitted once handed on
}

type mergeHeap struct{ items []mergeItem }

func (h *mergeHeap) Len() int { return len(h.items) }
func (h *mergeHeap) Less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	if !a.ts.Equal(b.ts) {
		return a.ts.Before(b.ts)
	}
	return a.idx < b.idx
}
func (h *mergeHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap) Push(x any)    { h.items = append(h.items, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	n := len(h.items)
	it := h.items[n-1]
	h.items = h.items[:n-1]
	return it
}
