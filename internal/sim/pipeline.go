package sim

import (
	"context"
	"errors"

	"github.com/vigil-ndr/vigil/internal/event"
)

// GenerateEvents runs Generate and renders every Session with Events,
// the model on one goroutine and the rendering on another, so that the
// two share a multi-core machine. emit is called from one goroutine, with
// events in the order Events gives them session by session.
func GenerateEvents(ctx context.Context, cfg Config, emit func(event.Event) error) (*Truth, error) {
	const batch = 512
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []*Session, 8)
	done := make(chan error, 1)
	go func() {
		var err error
		for b := range ch {
			if err != nil {
				continue // drain so that the producer never blocks
			}
			for _, s := range b {
				if err = Events(s, emit); err != nil {
					cancel()
					break
				}
			}
		}
		done <- err
	}()
	cur := make([]*Session, 0, batch)
	truth, genErr := Generate(ctx, cfg, func(s *Session) error {
		cur = append(cur, s)
		if len(cur) == batch {
			select {
			case ch <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			cur = make([]*Session, 0, batch)
		}
		return nil
	})
	if genErr == nil && len(cur) > 0 {
		ch <- cur
	}
	close(ch)
	if err := <-done; err != nil {
		return nil, err
	}
	if genErr != nil && !errors.Is(genErr, context.Canceled) {
		return nil, genErr
	}
	if genErr != nil {
		return nil, genErr
	}
	return truth, nil
}
