package exfil_test

import (
	"testing"

	"github.com/vigil-ndr/vigil/internal/detect/detecttest"
	_ "github.com/vigil-ndr/vigil/internal/detect/exfil"
)

func TestFixtures(t *testing.T) { detecttest.Run(t, "data-to-new-endpoint") }
