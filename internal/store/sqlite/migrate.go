package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema, one numbered file per version:
// 0001_init.sql, 0002_xxx.sql, ... A released file is never edited; a
// change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew marks a database written by a newer Vigil than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// migration is one numbered schema step.
type migration struct {
	version int
	name    string // file name, for errors and schema_migrations
	sql     string
}

// loadMigrations reads every *.sql file at the root of fsys and checks
// that their numbers run 1, 2, 3, ... without gaps or duplicates.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: path.Base(name), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (versions must run 1, 2, 3, ... once each)", m.name, i+1)
		}
	}
	return ms, nil
}

// embeddedMigrations returns the migrations built into the binary.
func embeddedMigrations() ([]migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return loadMigrations(sub)
}

// SchemaVersion returns the newest schema version this binary knows.
func SchemaVersion() int {
	ms, err := embeddedMigrations()
	if err != nil {
		// The embedded files are checked by the tests; a broken set
		// cannot ship.
		panic(err)
	}
	return len(ms)
}

// schemaVersion returns the highest applied version (0 for none).
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrate brings the database at file up to version target, applying each
// missing migration in its own transaction, in order. It is a no-op on a
// database that is already there, and refuses one whose version is newer
// than the migrations it is given.
func migrate(ctx context.Context, db *sql.DB, file string, ms []migration, target int, now time.Time) error {
	// A file with tables but no schema_migrations was not made by Vigil:
	// refuse it rather than add our tables beside someone else's.
	var hasTable, others int
	err := db.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE name = 'schema_migrations'),
		count(*) FILTER (WHERE name <> 'schema_migrations')
		FROM sqlite_schema WHERE type = 'table'`).Scan(&hasTable, &others)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	if hasTable == 0 && others > 0 {
		return fmt.Errorf("open %s: not a vigil database (it has tables but no schema_migrations)", file)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("open %s: create schema_migrations: %w", file, err)
	}
	cur, err := schemaVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("open %s: read schema version: %w", file, err)
	}
	if cur > len(ms) {
		return fmt.Errorf("open %s: schema version %d, but this vigil knows only up to version %d; use a newer vigil: %w",
			file, cur, len(ms), ErrSchemaTooNew)
	}
	for _, m := range ms {
		if m.version <= cur || m.version > target {
			continue
		}
		if err := applyMigration(ctx, db, m, now); err != nil {
			return fmt.Errorf("open %s: migration %s: %w", file, m.name, err)
		}
	}
	return nil
}

// applyMigration runs one migration and records it, in one transaction.
// The version is read again inside the transaction (which holds the write
// lock from its start) so that two processes opening the same new file
// do not both apply it.
func applyMigration(ctx context.Context, db *sql.DB, m migration, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if cur >= m.version {
		return nil
	}
	if cur != m.version-1 {
		return fmt.Errorf("database is at version %d, cannot apply version %d", cur, m.version)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, now.UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}
