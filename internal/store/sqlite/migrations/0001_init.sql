-- 0001: the first schema: devices, checkpoints and ingest bookkeeping.
--
-- Times are INTEGER nanoseconds since 1970 in UTC; NULL means unknown.
-- Tables are STRICT so that a wrong type is an error, not a silent
-- conversion, and WITHOUT ROWID where the primary key is the only way rows
-- are looked up (no second b-tree to keep).

-- devices is the inventory: one row per stable device key (the MAC when
-- known, else the IP). The merge rules live in store.Device.
CREATE TABLE devices (
	key        TEXT NOT NULL PRIMARY KEY,
	ip         TEXT NOT NULL DEFAULT '',
	mac        TEXT NOT NULL DEFAULT '',
	hostname   TEXT NOT NULL DEFAULT '',
	first_seen INTEGER,
	last_seen  INTEGER,
	score      REAL NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- checkpoints holds one opaque checkpoint per source key.
CREATE TABLE checkpoints (
	source     TEXT NOT NULL PRIMARY KEY,
	data       BLOB NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- ingest is the bookkeeping of each source key; its paths and its event
-- counts by kind are in the two tables after it.
CREATE TABLE ingest (
	source      TEXT NOT NULL PRIMARY KEY,
	kind        TEXT NOT NULL DEFAULT '',
	records     INTEGER NOT NULL DEFAULT 0,
	skipped     INTEGER NOT NULL DEFAULT 0,
	first_event INTEGER,
	last_event  INTEGER,
	updated_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE ingest_paths (
	source TEXT NOT NULL REFERENCES ingest (source) ON DELETE CASCADE,
	path   TEXT NOT NULL,
	PRIMARY KEY (source, path)
) STRICT, WITHOUT ROWID;

CREATE TABLE ingest_events (
	source TEXT NOT NULL REFERENCES ingest (source) ON DELETE CASCADE,
	kind   TEXT NOT NULL,
	count  INTEGER NOT NULL,
	PRIMARY KEY (source, kind)
) STRICT, WITHOUT ROWID;
