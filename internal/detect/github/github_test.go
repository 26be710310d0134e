package github_test

import (
	"testing"

	"github.com/vigil-ndr/vigil/internal/detect/detecttest"
	_ "github.com/vigil-ndr/vigil/internal/detect/github"
)

func TestFixtures(t *testing.T) { detecttest.Run(t, "github-download") }
