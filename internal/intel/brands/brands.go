// Package brands is reference data about well-known, frequently
// impersonated brands: their distinctive names and the registrable domains
// that legitimately belong to them, plus the combosquatting terms that
// look-alike domains add to a brand ("login", "secure", "verify"). The list
// is compiled in from brands.yaml, which says where it comes from.
//
// The doppelganger model uses it to tell a brand's own domains
// (login.microsoftonline.com) from imitations (login.micros0ft-online.com).
package brands

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ndr/vigil/internal/intel/domain"
)

//go:embed brands.yaml
var builtin []byte

// Brand is one organisation that phishing and typosquatting imitate.
type Brand struct {
	// Name is the brand as an analyst knows it ("Microsoft").
	Name string `yaml:"name"`
	// Importance is 0–1: how much an imitation of it matters.
	Importance float64 `yaml:"importance"`
	// Tokens are distinctive names of the brand ("paypal", "office365"),
	// lower case.
	Tokens []string `yaml:"tokens"`
	// Words are names that are also ordinary words or very short ("apple",
	// "outlook", "ups"): they need a combosquatting term beside them.
	Words []string `yaml:"words"`
	// Domains are the brand's legitimate registrable domains.
	Domains []string `yaml:"domains"`
	// Intl is true when the brand owns its names under country-code
	// suffixes (google.de, amazon.co.uk).
	Intl bool `yaml:"intl"`
}

// Catalog is a parsed brand list. It is immutable once built.
type Catalog struct {
	// Brands in file order.
	Brands []Brand
	// ComboTerms are the combosquatting terms ("login", "verify"), lower
	// case, deduplicated.
	ComboTerms []string
	// FillerTerms are common parts of names ("www", "app", "my") that mark
	// where a brand name ends without being combosquatting terms.
	FillerTerms []string
	owner       map[string]int // registrable domain -> index in Brands
	intl        map[string]int // name of an Intl brand -> index in Brands
}

type file struct {
	ComboTerms  []string `yaml:"combo_terms"`
	FillerTerms []string `yaml:"filler_terms"`
	Brands      []Brand  `yaml:"brands"`
}

// Default returns the compiled-in catalogue.
var Default = sync.OnceValue(func() *Catalog {
	c, err := Parse(builtin)
	if err != nil {
		panic("brands: built-in list: " + err.Error())
	}
	return c
})

// Parse reads a brand list in the format of brands.yaml. Unknown keys, a
// domain claimed by two brands, or a name that is not a DNS label fail.
// Domains are reduced to their registrable domain (eTLD+1).
func Parse(b []byte) (*Catalog, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode brand list: %w", err)
	}
	if len(f.Brands) == 0 {
		return nil, errors.New("brand list has no brands")
	}
	c := &Catalog{owner: make(map[string]int), intl: make(map[string]int)}
	seen := make(map[string]bool)
	terms := func(in []string, what string) ([]string, error) {
		var out []string
		for _, t := range in {
			t = strings.ToLower(strings.TrimSpace(t))
			if !isLabel(t) {
				return nil, fmt.Errorf("%s %q: not a DNS label", what, t)
			}
			if seen[t] {
				return nil, fmt.Errorf("%s %q: listed twice", what, t)
			}
			seen[t] = true
			out = append(out, t)
		}
		return out, nil
	}
	var err error
	if c.ComboTerms, err = terms(f.ComboTerms, "combo term"); err != nil {
		return nil, err
	}
	if c.FillerTerms, err = terms(f.FillerTerms, "filler term"); err != nil {
		return nil, err
	}
	for i, br := range f.Brands {
		if br.Name == "" {
			return nil, fmt.Errorf("brand %d: no name", i+1)
		}
		if br.Importance <= 0 || br.Importance > 1 {
			return nil, fmt.Errorf("brand %s: importance must be in (0, 1], got %g", br.Name, br.Importance)
		}
		if len(br.Domains) == 0 {
			return nil, fmt.Errorf("brand %s: no domains", br.Name)
		}
		if br.Tokens, err = names(br.Name, br.Tokens); err != nil {
			return nil, err
		}
		if br.Words, err = names(br.Name, br.Words); err != nil {
			return nil, err
		}
		var doms []string
		for _, d := range br.Domains {
			d = domain.Registrable(domain.Normalize(d))
			if d == "" || !strings.Contains(d, ".") || domain.IsAddr(d) {
				return nil, fmt.Errorf("brand %s: %q is not a domain", br.Name, d)
			}
			if j, dup := c.owner[d]; dup {
				if j != len(c.Brands) {
					return nil, fmt.Errorf("brand %s: domain %s already belongs to %s", br.Name, d, c.Brands[j].Name)
				}
				continue
			}
			c.owner[d] = len(c.Brands)
			doms = append(doms, d)
		}
		br.Domains = doms
		if br.Intl {
			for _, n := range append(append([]string(nil), br.Tokens...), br.Words...) {
				c.intl[n] = len(c.Brands)
			}
		}
		c.Brands = append(c.Brands, br)
	}
	return c, nil
}

func names(brand string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, n := range in {
		n = strings.ToLower(strings.TrimSpace(n))
		if !isLabel(n) {
			return nil, fmt.Errorf("brand %s: name %q is not a DNS label", brand, n)
		}
		out = append(out, n)
	}
	return out, nil
}

func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Owner returns the brand that a registrable domain legitimately belongs
// to: one of its listed domains, or, for an Intl brand, one of its names
// under a country-code suffix ("google.com.br").
func (c *Catalog) Owner(registrable string) (*Brand, bool) {
	if i, ok := c.owner[registrable]; ok {
		return &c.Brands[i], true
	}
	if len(c.intl) == 0 {
		return nil, false
	}
	label, suffix, ok := strings.Cut(registrable, ".")
	if !ok {
		return nil, false
	}
	i, ok := c.intl[label]
	if !ok || !CountrySuffix(suffix) {
		return nil, false
	}
	return &c.Brands[i], true
}

// CountrySuffix reports whether a public suffix ends in a two-letter
// country-code top-level domain ("de", "co.uk", "com.br").
func CountrySuffix(suffix string) bool {
	tld := suffix[strings.LastIndexByte(suffix, '.')+1:]
	return len(tld) == 2 && tld[0] >= 'a' && tld[0] <= 'z' && tld[1] >= 'a' && tld[1] <= 'z'
}

// Len returns the number of brands.
func (c *Catalog) Len() int { return len(c.Brands) }
