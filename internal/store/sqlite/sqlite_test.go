package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/store"
	"github.com/vigil-ndr/vigil/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := OpenFile(context.Background(), filepath.Join(t.TempDir(), FileName), Options{Now: now})
		require.NoError(t, err)
		return s
	})
}

func TestOpenCreatesDataDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "b c?#%")
	s, err := Open(ctx, dir, Options{})
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, "k", []byte("v")))
	require.NoError(t, s.Close())
	_, err = os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err, "the database lives at DIR/vigil.db, even with URI characters in the path")

	s, err = Open(ctx, dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	cp, ok, err := s.Load(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v", string(cp))
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s, err := OpenFile(ctx, filepath.Join(t.TempDir(), FileName), Options{})
	require.NoError(t, err)
	defer s.Close()
	// Hold several connections at once so that the settings are checked
	// on more than the first one the pool opened.
	var conns []*sql.Conn
	for range 3 {
		c, err := s.db.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	for _, c := range conns {
		for _, tc := range []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"synchronous", "1"}, // NORMAL
			{"foreign_keys", "1"},
			{"busy_timeout", "5000"},
		} {
			var got string
			require.NoError(t, c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got))
			require.Equal(t, tc.want, got, tc.pragma)
		}
		require.NoError(t, c.Close())
	}
	// Foreign keys are enforced, not merely declared.
	_, err = s.db.ExecContext(ctx, `INSERT INTO ingest_paths (source, path) VALUES ('nope', 'x')`)
	require.ErrorContains(t, err, "FOREIGN KEY")
}

// schemaOf returns the schema of the database at file, minus
// schema_migrations' contents, as comparable text.
func schemaOf(t *testing.T, s *Store) string {
	rows, err := s.db.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, text string
		require.NoError(t, rows.Scan(&typ, &name, &text))
		fmt.Fprintf(&b, "%s %s\n%s\n", typ, name, text)
	}
	require.NoError(t, rows.Err())
	return b.String()
}

func versions(t *testing.T, s *Store) []string {
	rows, err := s.db.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v, at int64
		var name string
		require.NoError(t, rows.Scan(&v, &name, &at))
		out = append(out, fmt.Sprintf("%d %s %d", v, name, at))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := embeddedMigrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	require.Equal(t, len(ms), SchemaVersion())
	require.Equal(t, "0001_init.sql", ms[0].name)
}

func TestMigrateFromEveryOlderVersion(t *testing.T) {
	ctx := context.Background()
	ms, err := embeddedMigrations()
	require.NoError(t, err)

	fresh, err := OpenFile(ctx, filepath.Join(t.TempDir(), FileName), Options{Now: fixed(storetest.T0)})
	require.NoError(t, err)
	want := schemaOf(t, fresh)
	require.NoError(t, fresh.Close())

	for from := 0; from < len(ms); from++ {
		t.Run(fmt.Sprintf("from version %d", from), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), FileName)
			old, err := openFile(ctx, file, Options{Now: fixed(storetest.T0)}, ms, from)
			require.NoError(t, err)
			v, err := schemaVersion(ctx, old.db)
			require.NoError(t, err)
			require.Equal(t, from, v)
			require.NoError(t, old.Close())

			s, err := OpenFile(ctx, file, Options{Now: fixed(storetest.T0)})
			require.NoError(t, err)
			defer s.Close()
			v, err = schemaVersion(ctx, s.db)
			require.NoError(t, err)
			require.Equal(t, len(ms), v)
			require.Equal(t, want, schemaOf(t, s))
		})
	}
}

func TestReopenIsNoOp(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), FileName)
	s, err := OpenFile(ctx, file, Options{Now: fixed(storetest.T0)})
	require.NoError(t, err)
	require.NoError(t, s.UpsertDevices(ctx, []store.Device{{Key: "d", Hostname: "h"}}))
	schema, vs := schemaOf(t, s), versions(t, s)
	require.NoError(t, s.Close())

	// A later clock would show in applied_at if anything ran again.
	s, err = OpenFile(ctx, file, Options{Now: fixed(storetest.T0.Add(time.Hour))})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, schema, schemaOf(t, s))
	require.Equal(t, vs, versions(t, s))
	d, ok, err := s.Device(ctx, "d")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "h", d.Hostname)
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), FileName)
	s, err := OpenFile(ctx, file, Options{})
	require.NoError(t, err)
	next := SchemaVersion() + 1
	_, err = s.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)`, next)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	_, err = OpenFile(ctx, file, Options{})
	require.ErrorIs(t, err, ErrSchemaTooNew)
	require.ErrorContains(t, err, file)
	require.ErrorContains(t, err, fmt.Sprintf("schema version %d", next))
	require.ErrorContains(t, err, fmt.Sprintf("up to version %d", SchemaVersion()))
}

func TestRefusesForeignFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE t (x)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = OpenFile(ctx, other, Options{})
	require.ErrorContains(t, err, "not a vigil database")
	require.ErrorContains(t, err, other)

	text := filepath.Join(dir, "text.db")
	require.NoError(t, os.WriteFile(text, []byte(strings.Repeat("not a database\n", 100)), 0o600))
	_, err = OpenFile(ctx, text, Options{})
	require.Error(t, err)
	require.ErrorContains(t, err, text)
}

// testMigrations is a made-up history of three versions, the last of
// which fails half-way.
var testMigrations = fstest.MapFS{
	"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
	"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1);`)},
	"0003_c.sql": {Data: []byte(`CREATE TABLE c (x INTEGER); INSERT INTO nowhere VALUES (1);`)},
}

func TestMigrateSteps(t *testing.T) {
	ctx := context.Background()
	ms, err := loadMigrations(testMigrations)
	require.NoError(t, err)
	require.Len(t, ms, 3)

	file := filepath.Join(t.TempDir(), FileName)
	s, err := openFile(ctx, file, Options{Now: fixed(storetest.T0)}, ms, 1)
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprintf("1 0001_a.sql %d", storetest.T0.UnixNano())}, versions(t, s))
	require.NoError(t, s.Close())

	_, err = openFile(ctx, file, Options{Now: fixed(storetest.T0)}, ms, 3)
	require.ErrorContains(t, err, "migration 0003_c.sql")
	require.ErrorContains(t, err, file)

	// 0002 was applied in its own transaction and stays; 0003 left nothing.
	db, err := sql.Open("sqlite", file)
	require.NoError(t, err)
	defer db.Close()
	v, err := schemaVersion(ctx, db)
	require.NoError(t, err)
	require.Equal(t, 2, v)
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'c'`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM b`).Scan(&n))
	require.Equal(t, 1, n)
}

func TestLoadMigrationsRejects(t *testing.T) {
	cases := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"gap", fstest.MapFS{"0001_a.sql": {}, "0003_c.sql": {}}, "expected version 2"},
		{"duplicate", fstest.MapFS{"0001_a.sql": {}, "0001_b.sql": {}}, "expected version 2"},
		{"not from one", fstest.MapFS{"0002_a.sql": {}}, "expected version 1"},
		{"bad name", fstest.MapFS{"init.sql": {}}, "NNNN_name.sql"},
		{"zero", fstest.MapFS{"0000_a.sql": {}}, "NNNN_name.sql"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadMigrations(tc.fs)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	s, err := OpenFile(ctx, filepath.Join(t.TempDir(), FileName), Options{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Check(ctx))
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// TestConcurrentOpenOfNewFile opens one new database from several
// connections at once (a server starting while a reader polls it): each
// open succeeds, although SQLite answers SQLITE_BUSY at once to all but
// one of them while the first switches the file to WAL.
func TestConcurrentOpenOfNewFile(t *testing.T) {
	for range 10 {
		dir := t.TempDir()
		errs := make(chan error, 6)
		for range cap(errs) {
			go func() {
				s, err := Open(context.Background(), dir, Options{})
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range cap(errs) {
			require.NoError(t, <-errs)
		}
	}
}
