package zeek

import (
	"context"
	"sync"
)

// Checkpoints stores a follower's position between runs as opaque bytes
// under a key. The embedded store implements it; a caller that wants
// exactly-once processing saves a Batch's Checkpoint in the same
// transaction as the results of handling the Batch's events.
type Checkpoints interface {
	// Load returns the checkpoint saved under key, and false when there is
	// none.
	Load(ctx context.Context, key string) ([]byte, bool, error)
	// Save replaces the checkpoint under key. It must not keep cp.
	Save(ctx context.Context, key string, cp []byte) error
}

// MemCheckpoints is a Checkpoints in memory, for tests and for runs that
// need no persistence. The zero value is ready to use.
type MemCheckpoints struct {
	mu sync.Mutex
	m  map[string][]byte
}

// Load implements Checkpoints.
func (c *MemCheckpoints) Load(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp, ok := c.m[key]
	return append([]byte(nil), cp...), ok, nil
}

// Save implements Checkpoints.
func (c *MemCheckpoints) Save(_ context.Context, key string, cp []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	c.m[key] = append([]byte(nil), cp...)
	return nil
}

var _ Checkpoints = (*MemCheckpoints)(nil)
