package sim

import (
	"context"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	for _, sc := range Scenarios() {
		n := 0
		var last time.Time
		start := time.Now()
		truth, err := Generate(context.Background(), Config{Scenario: sc, Seed: 1, Days: 14, Devices: 60}, func(s *Session) error {
			if s.Start.Before(last) {
				t.Fatalf("out of order %v < %v", s.Start, last)
			}
			last = s.Start
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d sessions in %v", sc, n, time.Since(start))
		for _, b := range truth.Behaviours {
			t.Logf("  %s: %d sessions %v..%v up %d endpoints %d", b.ID, b.Sessions, b.First, b.Last, b.BytesUp, len(b.Endpoints))
		}
	}
}
