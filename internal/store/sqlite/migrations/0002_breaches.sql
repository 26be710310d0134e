-- 0002: model breaches.
--
-- One row per breach, keyed by its content-derived ID, so that a replayed
-- record never stores a breach twice. data is the breach's breaches.jsonl
-- line; the other columns are what queries select and sort on.
CREATE TABLE breaches (
	id     TEXT NOT NULL PRIMARY KEY,
	time   INTEGER NOT NULL,
	model  TEXT NOT NULL,
	device TEXT NOT NULL DEFAULT '',
	score  INTEGER NOT NULL,
	data   BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX breaches_by_time ON breaches (time, id);
