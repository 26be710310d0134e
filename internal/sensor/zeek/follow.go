package zeek

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
)

// FollowOptions configure a Follower.
type FollowOptions struct {
	sensor.Options
	// MaxBatch bounds the lines one Poll reads, so that a backlog after a
	// restart comes in batches of bounded size (default 10000).
	MaxBatch int
}

// Batch is what one Poll read: the events of some complete new lines, and
// the checkpoint that covers exactly those lines. A caller that saves the
// checkpoint in the same transaction as the results of handling the events
// gets each line exactly once across crashes: restoring the checkpoint
// re-reads exactly the lines after it.
type Batch struct {
	Events     []event.Event
	Checkpoint []byte
}

// Follower tails a live Zeek log directory. It reads complete new lines
// only (never a partial last line), follows rotation (Zeek renames
// conn.log to conn.<times>.log or compresses it to .log.gz, then starts a
// new conn.log: the rest of the old file is read before the new one), and
// recognises files by device and inode plus a hash of their header, not by
// name, so a truncated or replaced file is read again from its start.
//
// Rotated files it never tracked (archives that were there before it
// started) are ignored. The ssl/x509 join works within the lines it reads;
// the certificate cache is not part of the checkpoint, so right after a
// restart an ssl record whose certificate was logged before it may miss
// its leaf's details. A Follower is not safe for concurrent use.
type Follower struct {
	dir      string
	opt      FollowOptions
	files    []*followed
	certs    *certCache
	hashes   map[hashKey]hashVal
	reported map[hashKey]bool
}

// fileState is one tracked file's position, as the checkpoint holds it.
type fileState struct {
	Name   string   `json:"name"`
	Dev    uint64   `json:"dev"`
	Ino    uint64   `json:"ino"`
	Hash   uint64   `json:"hash"`
	Offset int64    `json:"offset"` // bytes of complete lines consumed (decompressed)
	Line   int64    `json:"line"`   // lines consumed
	Header []string `json:"header,omitempty"`
	Done   bool     `json:"done,omitempty"` // rotated and read to its end
}

type followed struct {
	fileState
	p       *Parser
	current bool
	seen    bool
}

type checkpoint struct {
	Version int         `json:"v"`
	Files   []fileState `json:"files"`
}

type hashKey struct {
	dev, ino uint64
	name     string
	size     int64
	mtime    int64
}

type hashVal struct {
	hash  uint64
	ready bool
	bad   bool
}

// NewFollower returns a follower of the logs in dir, starting at the
// beginning of the current logs unless Restore is called first.
func NewFollower(dir string, opt FollowOptions) *Follower {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 10000
	}
	return &Follower{dir: dir, opt: opt, certs: newCertCache(DefaultCertCache),
		hashes: map[hashKey]hashVal{}, reported: map[hashKey]bool{}}
}

// Key returns the key under which this follower's checkpoint belongs: one
// per followed directory.
func (f *Follower) Key() string {
	abs, err := filepath.Abs(f.dir)
	if err != nil {
		abs = f.dir
	}
	return "zeek-follow:" + abs
}

// Restore sets the follower's position from a checkpoint that a Batch
// gave. Call it before the first Poll.
func (f *Follower) Restore(cp []byte) error {
	var c checkpoint
	if err := json.Unmarshal(cp, &c); err != nil {
		return fmt.Errorf("restore zeek follower checkpoint: %w", err)
	}
	if c.Version != 1 {
		return fmt.Errorf("restore zeek follower checkpoint: unknown version %d", c.Version)
	}
	f.files = f.files[:0]
	for _, s := range c.Files {
		f.files = append(f.files, &followed{fileState: s})
	}
	return nil
}

// Resume restores the checkpoint saved under Key, if there is one.
func (f *Follower) Resume(ctx context.Context, cps Checkpoints) error {
	cp, ok, err := cps.Load(ctx, f.Key())
	if err != nil {
		return fmt.Errorf("load zeek follower checkpoint: %w", err)
	}
	if !ok {
		return nil
	}
	return f.Restore(cp)
}

// Poll reads the complete lines added since the last Poll (at most
// MaxBatch) and returns their events, in time order, with the checkpoint
// after them. It does not wait: with nothing new, the batch is empty.
func (f *Follower) Poll(ctx context.Context) (Batch, error) {
	if err := f.scan(); err != nil {
		return Batch{}, err
	}
	var evs []event.Event
	budget := f.opt.MaxBatch
	for _, st := range f.readOrder() {
		if budget <= 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		n, err := f.read(st, budget, &evs)
		budget -= n
		if err != nil {
			return Batch{}, err
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Base().TS.Before(evs[j].Base().TS) })
	cp, err := f.checkpoint()
	if err != nil {
		return Batch{}, err
	}
	return Batch{Events: evs, Checkpoint: cp}, nil
}

type candidate struct {
	name, path string
	typ        logType
	current    bool
	key        hashKey
	used       bool
}

// scan matches the directory's files to the tracked ones.
func (f *Follower) scan() error {
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		return fmt.Errorf("follow %s: %w", f.dir, err)
	}
	var cands []*candidate
	for _, e := range ents {
		tname, ok := isLogName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		typ := logTypeOf(tname)
		if typ == logOther {
			continue
		}
		path := filepath.Join(f.dir, e.Name())
		fi, err := os.Stat(path)
		if err != nil {
			continue // gone since ReadDir
		}
		dev, ino := fileID(fi)
		k := hashKey{dev: dev, ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		if ino == 0 {
			k.name = e.Name()
		}
		cur := e.Name() == tname+".log" || e.Name() == tname+".json"
		cands = append(cands, &candidate{name: e.Name(), path: path, typ: typ, current: cur, key: k})
	}
	for _, st := range f.files {
		st.seen = false
	}
	// Same inode and same header: the same file, perhaps renamed by
	// rotation.
	for _, c := range cands {
		st := f.byInode(c.key.dev, c.key.ino)
		if st == nil || st.seen {
			continue
		}
		if h := f.hash(c); h.ready && h.hash == st.Hash && (isGzipName(c.name) || c.key.size >= st.Offset) {
			c.used = true
			st.seen, st.current, st.Name = true, c.current, c.name
		}
	}
	// Same header under another inode: a rotated file compressed anew.
	for _, c := range cands {
		if c.used {
			continue
		}
		h := f.hash(c)
		if !h.ready {
			continue
		}
		for _, st := range f.files {
			sameInode := st.Ino != 0 && st.Dev == c.key.dev && st.Ino == c.key.ino
			if !st.seen && st.Hash == h.hash && !sameInode {
				st.seen, st.current, st.Name, st.Dev, st.Ino = true, c.current, c.name, c.key.dev, c.key.ino
				c.used = true
				break
			}
		}
	}
	// Same inode, other content: truncated and rewritten (or the inode was
	// reused by a new file). Read it again from its start once its header
	// is complete.
	for _, c := range cands {
		st := f.byInode(c.key.dev, c.key.ino)
		if c.used || st == nil || st.seen {
			continue
		}
		if h := f.hash(c); h.ready {
			c.used = true
			st.seen, st.current, st.Name = true, c.current, c.name
			f.reset(st, h.hash)
		}
	}
	// New current logs are read from their start; untracked rotated ones
	// are archives from before.
	for _, c := range cands {
		if c.used || !c.current {
			continue
		}
		h := f.hash(c)
		if !h.ready {
			continue
		}
		f.files = append(f.files, &followed{fileState: fileState{Name: c.name, Dev: c.key.dev, Ino: c.key.ino, Hash: h.hash}, current: true, seen: true})
	}
	kept := f.files[:0]
	for _, st := range f.files {
		if st.seen {
			kept = append(kept, st)
		}
	}
	f.files = kept
	return nil
}

func (f *Follower) byInode(dev, ino uint64) *followed {
	if ino == 0 {
		return nil
	}
	for _, st := range f.files {
		if st.Dev == dev && st.Ino == ino {
			return st
		}
	}
	return nil
}

func (f *Follower) reset(st *followed, hash uint64) {
	st.Hash, st.Offset, st.Line, st.Header, st.Done, st.p = hash, 0, 0, nil, false, nil
}

func isGzipName(name string) bool { return filepath.Ext(name) == ".gz" }

// hash returns the hash of a file's header block (its leading '#' lines
// through #types, or its first line for a JSON log), cached by inode, size
// and mtime. A header not yet complete is not ready.
func (f *Follower) hash(c *candidate) hashVal {
	if v, ok := f.hashes[c.key]; ok {
		return v
	}
	v := f.computeHash(c)
	if len(f.hashes) > 4096 {
		clear(f.hashes)
	}
	f.hashes[c.key] = v
	if v.bad && !f.reported[c.key] {
		f.reported[c.key] = true
		_ = f.opt.Report(sensor.Problem{File: c.path, Err: fmt.Errorf("%w: %v", sensor.ErrNotInput, errNotZeek)})
	}
	return v
}

func (f *Follower) computeHash(c *candidate) hashVal {
	r, closer, err := openStream(c.path)
	if err != nil {
		return hashVal{}
	}
	defer closer.Close()
	br := bufio.NewReaderSize(r, 16<<10)
	h := fnv.New64a()
	first := true
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return hashVal{} // EOF or a long line before the header ended: wait
		}
		if first {
			first = false
			if line[0] == '{' {
				h.Write(line)
				return hashVal{hash: h.Sum64(), ready: true}
			}
			if !looksLikeZeek(line) {
				return hashVal{bad: true}
			}
		}
		if line[0] != '#' {
			return hashVal{hash: h.Sum64(), ready: true} // a header without #types
		}
		h.Write(line)
		if bytes.HasPrefix(line, []byte("#types")) {
			return hashVal{hash: h.Sum64(), ready: true}
		}
	}
}

// openStream opens a file, decompressing gzip (recognised by magic).
func openStream(path string) (io.Reader, io.Closer, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(fh, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			fh.Close()
			return nil, nil, err
		}
		return gz, fh, nil
	}
	return br, fh, nil
}

// readOrder lists the files to read: rotated ones first (their lines are
// older), then the current logs, x509 before ssl for the join.
func (f *Follower) readOrder() []*followed {
	out := make([]*followed, 0, len(f.files))
	for _, st := range f.files {
		if !st.Done {
			out = append(out, st)
		}
	}
	rank := func(st *followed) int {
		typ := logTypeOf(logNameType(st.Name))
		r := int(typ)
		if typ == logX509 {
			r = 0
		}
		if st.current {
			r += 100
		}
		return r
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank(out[i]), rank(out[j])
		if ri != rj {
			return ri < rj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// read reads up to budget complete lines of one file from its offset.
func (f *Follower) read(st *followed, budget int, evs *[]event.Event) (int, error) {
	path := filepath.Join(f.dir, st.Name)
	r, closer, err := openStream(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil // rotated away since the scan: next Poll finds it
		}
		return 0, fmt.Errorf("follow %s: %w", path, err)
	}
	defer closer.Close()
	if sk, ok := r.(*bufio.Reader); ok && !isGzipName(st.Name) {
		// Plain file: seek instead of reading through.
		if fh, ok := closer.(*os.File); ok {
			if _, err := fh.Seek(st.Offset, io.SeekStart); err != nil {
				return 0, fmt.Errorf("follow %s: %w", path, err)
			}
			sk.Reset(fh)
		}
	} else if _, err := io.CopyN(io.Discard, r, st.Offset); err != nil {
		return 0, nil // the compressed copy is not complete yet
	}
	if st.p == nil {
		st.p = NewParser(path)
		st.p.certs = f.certs
		for _, h := range st.Header {
			_, _ = st.p.parse([]byte(h))
		}
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	var long []byte
	n := 0
	for n < budget {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		if err != nil {
			// EOF (or a compressed copy still being written) after a
			// partial line or none: the partial line waits.
			if err == io.EOF && !st.current && len(chunk) == 0 && len(long) == 0 {
				st.Done = true
			}
			break
		}
		line := chunk
		if len(long) > 0 {
			line = append(long, chunk...)
			long = long[:0]
		}
		st.Offset += int64(len(line))
		st.Line++
		n++
		line = line[:len(line)-1]
		if len(line) > 0 && line[0] != '#' && f.opt.Progress != nil {
			f.opt.Progress.Records.Add(1)
		}
		ev, err := st.p.Line(line)
		if err != nil {
			if rerr := f.opt.Report(sensor.Problem{File: path, Record: st.Line, Err: err}); rerr != nil {
				return n, rerr
			}
			continue
		}
		if ev != nil {
			*evs = append(*evs, ev)
			if f.opt.Progress != nil {
				f.opt.Progress.Events.Add(1)
			}
		}
	}
	return n, nil
}

func (f *Follower) checkpoint() ([]byte, error) {
	c := checkpoint{Version: 1, Files: make([]fileState, 0, len(f.files))}
	for _, st := range f.files {
		s := st.fileState
		if st.p != nil {
			s.Header = s.Header[:0:0]
			for _, h := range st.p.header {
				s.Header = append(s.Header, string(h))
			}
		}
		c.Files = append(c.Files, s)
	}
	sort.Slice(c.Files, func(i, j int) bool {
		a, b := c.Files[i], c.Files[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Ino < b.Ino
	})
	return json.Marshal(c)
}

// Close releases the follower. It holds no open files between polls.
func (f *Follower) Close() error { return nil }
