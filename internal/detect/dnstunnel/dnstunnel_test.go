package dnstunnel

import (
	"testing"

	"github.com/vigil-ndr/vigil/internal/detect/detecttest"
)

func TestFixtures(t *testing.T) { detecttest.Run(t, ID) }
