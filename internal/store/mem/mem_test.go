package mem_test

import (
	"testing"
	"time"

	"github.com/vigil-ndr/vigil/internal/store"
	"github.com/vigil-ndr/vigil/internal/store/mem"
	"github.com/vigil-ndr/vigil/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		return mem.New(mem.Options{Now: now})
	})
}
