// Package zeek reads, writes and follows Zeek logs.
//
// Read turns Zeek log files and directories (TSV or JSON, plain or gzip,
// rotated or not) into Vigil's events, merged in time order, with each TLS
// handshake joined to its leaf certificate from x509.log. Writer writes
// events back as Zeek TSV logs that read back to identical events.
// Follower tails a live Zeek log directory in batches whose checkpoints
// let a caller process each line exactly once across restarts. Parser is
// the line-level parser all three share.
//
// Field mapping follows Zeek's names: a column is found by its #fields
// name, so reordered, missing and unknown columns are fine. Where several
// Zeek versions differ, both forms are read: cert_chain_fps (Zeek 5+) or
// cert_chain_fuids with x509's id (older), ts as epoch seconds or ISO 8601
// (JSON), flat "id.orig_h" or nested "id" keys (JSON).
package zeek
