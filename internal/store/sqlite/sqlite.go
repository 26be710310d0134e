// Package sqlite is Vigil's embedded store: one SQLite file, vigil.db, in
// the data directory (--data DIR). It uses the pure-Go modernc.org/sqlite
// driver, so the binary needs no C toolchain; DECISION.md says why that
// driver. The schema comes from numbered migrations embedded in the binary.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	msqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/vigil-ndr/vigil/internal/store"
)

// FileName is the database's name inside the data directory.
const FileName = "vigil.db"

// Options configure a Store.
type Options struct {
	// Now stamps updated_at and applied_at; nil means time.Now. Tests
	// pass a fixed clock so that results are deterministic.
	Now func() time.Time
	// BusyTimeout is how long a write waits for another process holding
	// the database; 0 means 5 s.
	BusyTimeout time.Duration
}

// Store is a store.Store on one SQLite file, safe for concurrent use.
// Reads run in parallel (WAL); writes are serialised in the process and
// each is one transaction.
type Store struct {
	db   *sql.DB
	file string
	now  func() time.Time

	// wmu serialises writers in this process, so that they queue on a
	// mutex instead of sleeping in SQLite's busy handler.
	wmu sync.Mutex

	upsertDevice, upsertIngest, addPath, addEvents, saveCheckpoint *sql.Stmt
	loadCheckpoint, getDevice                                      *sql.Stmt
}

// Open opens (creating it and the directory when needed) the database
// DIR/vigil.db and brings its schema up to date.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName), opts)
}

// OpenFile opens (creating it when needed) the database at file and
// brings its schema up to date. It refuses a file that is not a Vigil
// database, and one whose schema is newer than this binary knows (the
// error wraps ErrSchemaTooNew).
func OpenFile(ctx context.Context, file string, opts Options) (*Store, error) {
	ms, err := embeddedMigrations()
	if err != nil {
		return nil, err
	}
	return openFile(ctx, file, opts, ms, len(ms))
}

// openFile opens file and migrates it to version target of ms; tests use
// it to build databases at older versions.
func openFile(ctx context.Context, file string, opts Options, ms []migration, target int) (*Store, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	// synchronous=NORMAL is safe here because the journal is a WAL: a
	// commit is durable once written to the WAL, which is fsynced at each
	// checkpoint rather than at each commit. A power loss can therefore
	// lose the last few transactions but never corrupts the file, and
	// since each batch carries its own checkpoint the source simply reads
	// those records again. A process crash (kill -9) loses nothing: the
	// WAL write has reached the OS before Commit returns.
	// busy_timeout comes first: the pragmas run in order, and setting the
	// journal mode takes a lock that another process's commit may hold.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// IMMEDIATE takes the write lock at BEGIN, so a write transaction
	// never fails half-way with SQLITE_BUSY when it upgrades its lock.
	q.Set("_txlock", "immediate")
	// Refuse double-quoted string literals and SQL that can corrupt
	// the file on purpose.
	q.Set("_dqs", "0")
	q.Set("_defensive", "1")
	// A file: URI escapes '?', '#' and '%' in the path, which a plain
	// name would let the driver misread as parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, file: file, now: now}
	// Two processes opening a new file at once can meet while one switches
	// it to WAL; SQLite then answers SQLITE_BUSY at once rather than wait
	// (its deadlock avoidance), so opening retries for up to busy.
	for deadline := time.Now().Add(busy); ; {
		err := s.init(ctx, ms, target)
		if err == nil {
			return s, nil
		}
		if !isBusy(err) || time.Now().After(deadline) || ctx.Err() != nil {
			db.Close()
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Store) init(ctx context.Context, ms []migration, target int) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("open %s: %w", s.file, err)
	}
	if mode != "wal" {
		return fmt.Errorf("open %s: journal mode is %q, want wal", s.file, mode)
	}
	if err := migrate(ctx, s.db, s.file, ms, target, s.now().UTC()); err != nil {
		return err
	}
	if target < len(ms) {
		return nil // an old schema for tests: the statements may not fit it
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.upsertDevice, upsertDeviceSQL},
		{&s.upsertIngest, upsertIngestSQL},
		{&s.addPath, `INSERT INTO ingest_paths (source, path) VALUES (?, ?) ON CONFLICT DO NOTHING`},
		{&s.addEvents, `INSERT INTO ingest_events (source, kind, count) VALUES (?, ?, ?)
			ON CONFLICT (source, kind) DO UPDATE SET count = count + excluded.count`},
		{&s.saveCheckpoint, `INSERT INTO checkpoints (source, data, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (source) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`},
		{&s.loadCheckpoint, `SELECT data FROM checkpoints WHERE source = ?`},
		{&s.getDevice, `SELECT ` + deviceCols + ` FROM devices WHERE key = ?`},
	} {
		st, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("open %s: prepare: %w", s.file, err)
		}
		*p.stmt = st
	}
	return nil
}

// upsertDeviceSQL merges one observation by the rules on store.Device
// (store.Merge is the reference; the contract tests hold them equal).
// In DO UPDATE, bare column names are the stored row's values before the
// update, so every CASE sees the old last_seen.
const upsertDeviceSQL = `INSERT INTO devices (key, ip, mac, hostname, first_seen, last_seen, score)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (key) DO UPDATE SET
	first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
	last_seen  = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen),
	ip         = CASE WHEN excluded.ip <> '' AND (` + newerSQL + ` OR ip = '') THEN excluded.ip ELSE ip END,
	mac        = CASE WHEN excluded.mac <> '' AND (` + newerSQL + ` OR mac = '') THEN excluded.mac ELSE mac END,
	hostname   = CASE WHEN excluded.hostname <> '' AND (` + newerSQL + ` OR hostname = '') THEN excluded.hostname ELSE hostname END,
	score      = CASE WHEN ` + newerSQL + ` THEN excluded.score ELSE score END`

// newerSQL is true when the observation is at least as new as the stored
// row; an unknown (NULL) time is older than any known one.
const newerSQL = `(last_seen IS NULL OR excluded.last_seen >= last_seen)`

const upsertIngestSQL = `INSERT INTO ingest (source, kind, records, skipped, first_event, last_event, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (source) DO UPDATE SET
	kind        = CASE WHEN excluded.kind <> '' THEN excluded.kind ELSE kind END,
	records     = records + excluded.records,
	skipped     = skipped + excluded.skipped,
	first_event = coalesce(min(first_event, excluded.first_event), first_event, excluded.first_event),
	last_event  = coalesce(max(last_event, excluded.last_event), last_event, excluded.last_event),
	updated_at  = excluded.updated_at`

const deviceCols = `key, ip, mac, hostname, first_seen, last_seen, score`

// File returns the database's path as given to OpenFile.
func (s *Store) File() string { return s.file }

// Load returns the checkpoint saved under key.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	var b []byte
	err := s.loadCheckpoint.QueryRowContext(ctx, key).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load checkpoint %s from %s: %w", key, s.file, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, true, nil
}

// Save replaces the checkpoint saved under key, in its own transaction.
func (s *Store) Save(ctx context.Context, key string, cp []byte) error {
	return s.Commit(ctx, store.Batch{Checkpoints: []store.Checkpoint{{Key: key, Data: cp}}})
}

// UpsertDevices merges ds into the inventory in one transaction.
func (s *Store) UpsertDevices(ctx context.Context, ds []store.Device) error {
	return s.Commit(ctx, store.Batch{Devices: ds})
}

// ListDevices returns every device sorted by key.
func (s *Store) ListDevices(ctx context.Context) ([]store.Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list devices in %s: %w", s.file, err)
	}
	defer rows.Close()
	out := []store.Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices in %s: %w", s.file, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices in %s: %w", s.file, err)
	}
	return out, nil
}

// Device returns the device stored under key.
func (s *Store) Device(ctx context.Context, key string) (store.Device, bool, error) {
	d, err := scanDevice(s.getDevice.QueryRowContext(ctx, key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Device{}, false, nil
	}
	if err != nil {
		return store.Device{}, false, fmt.Errorf("device %s in %s: %w", key, s.file, err)
	}
	return d, true, nil
}

func scanDevice(r interface{ Scan(...any) error }) (store.Device, error) {
	var (
		d           store.Device
		ip          string
		first, last sql.NullInt64
	)
	if err := r.Scan(&d.Key, &ip, &d.MAC, &d.Hostname, &first, &last, &d.Score); err != nil {
		return d, err
	}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return d, fmt.Errorf("device %s: bad ip %q: %w", d.Key, ip, err)
		}
		d.IP = a
	}
	d.FirstSeen, d.LastSeen = fromNanos(first), fromNanos(last)
	return d, nil
}

// ListBreaches returns every breach by time, then ID.
func (s *Store) ListBreaches(ctx context.Context) ([]store.Breach, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, time, model, device, score, data FROM breaches ORDER BY time, id`)
	if err != nil {
		return nil, fmt.Errorf("list breaches in %s: %w", s.file, err)
	}
	defer rows.Close()
	var out []store.Breach
	for rows.Next() {
		var (
			b      store.Breach
			ts     int64
			device string
		)
		if err := rows.Scan(&b.ID, &ts, &b.Model, &device, &b.Score, &b.JSON); err != nil {
			return nil, fmt.Errorf("list breaches in %s: %w", s.file, err)
		}
		b.Time = time.Unix(0, ts).UTC()
		if device != "" {
			b.Device, _ = netip.ParseAddr(device)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list breaches in %s: %w", s.file, err)
	}
	return out, nil
}

// Commit applies b in one transaction: all of it, or on any error none.
func (s *Store) Commit(ctx context.Context, b store.Batch) error {
	if len(b.Devices) == 0 && len(b.Breaches) == 0 && len(b.Ingest) == 0 && len(b.Checkpoints) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.commit(ctx, b); err != nil {
		return fmt.Errorf("commit to %s: %w", s.file, err)
	}
	return nil
}

func (s *Store) commit(ctx context.Context, b store.Batch) error {
	now := s.now().UTC().UnixNano()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if len(b.Devices) > 0 {
		st := tx.StmtContext(ctx, s.upsertDevice)
		for i, d := range b.Devices {
			d, err := d.Normalize()
			if err != nil {
				return fmt.Errorf("device %d: %w", i, err)
			}
			if _, err := st.ExecContext(ctx, d.Key, addrText(d.IP), d.MAC, d.Hostname,
				nanos(d.FirstSeen), nanos(d.LastSeen), d.Score); err != nil {
				return fmt.Errorf("device %s: %w", d.Key, err)
			}
		}
	}
	for i, br := range b.Breaches {
		br, err := br.Normalize()
		if err != nil {
			return fmt.Errorf("breach %d: %w", i, err)
		}
		data := br.JSON
		if data == nil {
			data = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO breaches (id, time, model, device, score, data)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			br.ID, nanos(br.Time), br.Model, addrText(br.Device), br.Score, data); err != nil {
			return fmt.Errorf("breach %s: %w", br.ID, err)
		}
	}
	for i, in := range b.Ingest {
		in, err := in.Normalize()
		if err != nil {
			return fmt.Errorf("ingest %d: %w", i, err)
		}
		if err := s.addIngest(ctx, tx, in, now); err != nil {
			return fmt.Errorf("ingest %s: %w", in.Source, err)
		}
	}
	if len(b.Checkpoints) > 0 {
		st := tx.StmtContext(ctx, s.saveCheckpoint)
		for i, cp := range b.Checkpoints {
			if cp.Key == "" {
				return fmt.Errorf("checkpoint %d without key: %w", i, store.ErrInvalid)
			}
			data := cp.Data
			if data == nil {
				data = []byte{} // NOT NULL: an empty checkpoint is still one
			}
			if _, err := st.ExecContext(ctx, cp.Key, data, now); err != nil {
				return fmt.Errorf("checkpoint %s: %w", cp.Key, err)
			}
		}
	}
	return tx.Commit()
}

func (s *Store) addIngest(ctx context.Context, tx *sql.Tx, in store.IngestStats, now int64) error {
	if _, err := tx.StmtContext(ctx, s.upsertIngest).ExecContext(ctx, in.Source, in.Kind, in.Records, in.Skipped,
		nanos(in.FirstEvent), nanos(in.LastEvent), now); err != nil {
		return err
	}
	if len(in.Paths) > 0 {
		st := tx.StmtContext(ctx, s.addPath)
		for _, p := range in.Paths {
			if _, err := st.ExecContext(ctx, in.Source, p); err != nil {
				return err
			}
		}
	}
	if len(in.Events) > 0 {
		st := tx.StmtContext(ctx, s.addEvents)
		for k, n := range in.Events { // order is irrelevant: each row is one sum
			if _, err := st.ExecContext(ctx, in.Source, k, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// IngestStats returns the bookkeeping of every source, sorted by source.
func (s *Store) IngestStats(ctx context.Context) ([]store.IngestStats, error) {
	// One read transaction, so that the three tables agree with each other.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("ingest stats from %s: %w", s.file, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	out, err := readIngest(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("ingest stats from %s: %w", s.file, err)
	}
	return out, nil
}

func readIngest(ctx context.Context, tx *sql.Tx) ([]store.IngestStats, error) {
	rows, err := tx.QueryContext(ctx, `SELECT source, kind, records, skipped, first_event, last_event, updated_at
		FROM ingest ORDER BY source`)
	if err != nil {
		return nil, err
	}
	out := []store.IngestStats{}
	idx := map[string]int{}
	for rows.Next() {
		var (
			in               store.IngestStats
			first, last, upd sql.NullInt64
		)
		if err := rows.Scan(&in.Source, &in.Kind, &in.Records, &in.Skipped, &first, &last, &upd); err != nil {
			rows.Close()
			return nil, err
		}
		in.FirstEvent, in.LastEvent, in.UpdatedAt = fromNanos(first), fromNanos(last), fromNanos(upd)
		in.Events = map[string]int64{}
		idx[in.Source] = len(out)
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT source, path FROM ingest_paths ORDER BY source, path`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var src, p string
		if err := rows.Scan(&src, &p); err != nil {
			rows.Close()
			return nil, err
		}
		out[idx[src]].Paths = append(out[idx[src]].Paths, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT source, kind, count FROM ingest_events`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var src, k string
		var n int64
		if err := rows.Scan(&src, &k, &n); err != nil {
			return nil, err
		}
		out[idx[src]].Events[k] = n
	}
	return out, rows.Err()
}

// Check runs SQLite's integrity check and returns an error naming the
// first problems when the file is damaged.
func (s *Store) Check(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("check %s: %w", s.file, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("check %s: %w", s.file, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check %s: %w", s.file, err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("check %s: integrity check failed: %v", s.file, msgs)
	}
	return nil
}

// Close closes the database. A clean close checkpoints the WAL into the
// main file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.file, err)
	}
	return nil
}

// nanos returns t as nanoseconds since 1970, or NULL for the zero time.
// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	const sqliteBusy = 5 // SQLITE_BUSY; extended codes keep it in the low byte
	var se *msqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqliteBusy
	}
	return false
}

func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

var _ store.Store = (*Store)(nil)
