package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// OutputFiles are the JSONL files `vigil analyze --out DIR` writes, in the
// order of the contract in DESIGN.md. Every one is written, empty when
// there is nothing to say, so consumers never have to test for absence.
var OutputFiles = []string{"devices.jsonl", "breaches.jsonl", "incidents.jsonl", "actions.jsonl", "ai.jsonl"}

// writeJSONL writes one JSON object per line, in the order given (callers
// sort), atomically: a reader never sees a half-written file.
func writeJSONL[T any](dir, name string, rows []T) error {
	path := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			tmp.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
