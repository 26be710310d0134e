// Package arch holds the test that keeps the tree's dependency direction:
// data flows one way (sensor -> event -> baseline -> detect -> breach ->
// incident -> response/report/api), and a package imports only the
// packages its stage may know.
package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-ndr/vigil/internal/testkit"
)

const module = "github.com/vigil-ndr/vigil/"

// allowed maps a package prefix (relative to the module) to the project
// packages its non-test files may import. The longest matching prefix wins.
var allowed = map[string][]string{
	"internal/event":             {},
	"internal/sensor":            {"internal/event", "internal/sensor"},
	"internal/device":            {"internal/event"},
	"internal/config":            {"internal/device", "internal/baseline", "internal/detect", "internal/units"},
	"internal/units":             {},
	"internal/intel":             {"internal/intel"},
	"internal/breach":            {},
	"internal/baseline":          {"internal/units"},
	"internal/detect":            {"internal/event", "internal/baseline", "internal/breach", "internal/intel", "internal/units", "internal/detect"},
	"internal/detect/detecttest": {"internal/"},
	"internal/eval":              {"internal/"},
	"internal/store":             {"internal/event", "internal/store"},
	"internal/testkit":           {"internal/event", "internal/sensor", "internal/testkit"},
	"internal/sim":               {"internal/event", "internal/sensor", "internal/sim", "internal/testkit/pcapgen"},
	"internal/sim/wire":          {"internal/testkit/pcapgen"},
	"internal/sim/simpcap":       {"internal/event", "internal/sim", "internal/testkit/pcapgen"},
	"internal/app":               {"internal/"},
	"cmd/":                       {"internal/app", "internal/config", "internal/sim"},
	"tools/":                     {"internal/"},
	"internal/arch":              {"internal/testkit"},
}

func rule(pkg string) ([]string, bool) {
	best, ok := "", false
	for p := range allowed {
		if strings.HasPrefix(pkg, p) && len(p) > len(best) {
			best, ok = p, true
		}
	}
	return allowed[best], ok
}

func TestImportDirection(t *testing.T) {
	root := testkit.RepoRoot()
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		may, ok := rule(rel)
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			dep, isProject := strings.CutPrefix(ip, module)
			if !isProject {
				continue
			}
			if !ok {
				t.Errorf("%s: package %s has no rule in arch_test.go; add one", path, rel)
				return nil
			}
			if !permitted(dep, may) {
				t.Errorf("%s imports %s, which %s may not depend on (allowed: %v)", path, dep, rel, may)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func permitted(dep string, may []string) bool {
	for _, m := range may {
		if dep == m || strings.HasPrefix(dep, strings.TrimSuffix(m, "/")+"/") || (strings.HasSuffix(m, "/") && strings.HasPrefix(dep, m)) {
			return true
		}
	}
	return false
}
