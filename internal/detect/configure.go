package detect

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ndr/vigil/internal/units"
)

// common are the keys every model accepts besides its thresholds.
type common struct {
	Enabled  *bool          `yaml:"enabled"`
	Cooldown units.Duration `yaml:"cooldown"`
}

// Configure builds every registered model with its defaults, then applies
// the configuration's "models" section (a YAML mapping node; the zero Node
// means none): a map from model ID (or catalogue name) to its settings.
// Decoding is strict: an unknown model or key fails with its line.
// Disabled models are left out.
func Configure(models yaml.Node) ([]Configured, error) {
	settings := make(map[string]*yaml.Node)
	switch {
	case models.Kind == 0 || models.Tag == "!!null":
	case models.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("line %d: models: want a mapping from model id to settings", models.Line)
	}
	for j := 0; j+1 < len(models.Content); j += 2 {
		k, n := models.Content[j], models.Content[j+1]
		i, ok := Find(k.Value)
		if !ok {
			return nil, fmt.Errorf("line %d: models: unknown model %q (see `vigil models`)", k.Line, k.Value)
		}
		if _, dup := settings[i.ID]; dup {
			return nil, fmt.Errorf("line %d: models: %s configured twice", k.Line, i.ID)
		}
		settings[i.ID] = n
	}
	var out []Configured
	for _, i := range Catalogue() {
		m := i.New()
		c := Configured{Model: m, Info: i, Cooldown: i.Cooldown}
		if n := settings[i.ID]; n != nil {
			var com common
			if err := decodeStrict(n, m, &com, "models."+i.ID); err != nil {
				return nil, err
			}
			if com.Enabled != nil && !*com.Enabled {
				continue
			}
			if com.Cooldown > 0 {
				c.Cooldown = com.Cooldown.D()
			}
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("models.%s: %w", i.ID, err)
		}
		if c.Cooldown <= 0 {
			c.Cooldown = time.Hour
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeStrict decodes a mapping node into the model and the common keys,
// failing on a key that neither knows.
func decodeStrict(n *yaml.Node, m Model, com *common, where string) error {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return fmt.Errorf("line %d: %s: want a mapping of settings", n.Line, where)
	}
	known := append(Keys(m), "enabled", "cooldown")
	for j := 0; j+1 < len(n.Content); j += 2 {
		k := n.Content[j]
		if !contains(known, k.Value) {
			sort.Strings(known)
			return fmt.Errorf("line %d: %s: unknown key %q (known: %s)", k.Line, where, k.Value, strings.Join(known, ", "))
		}
	}
	if err := n.Decode(m); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := n.Decode(com); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

func flow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		flow(c)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Keys returns the configuration keys of a model's thresholds (its
// exported fields' yaml tags), in field order.
func Keys(m Model) []string {
	var out []string
	t := reflect.TypeOf(m)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// Settings returns a model's thresholds as key: value text, in field
// order (for `vigil models`).
func Settings(m Model) [][2]string {
	var out [][2]string
	v := reflect.ValueOf(m)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface())
		var n yaml.Node
		if err := n.Encode(v.Field(i).Interface()); err == nil {
			flow(&n) // lists and maps on one line
			if b, err := yaml.Marshal(&n); err == nil {
				val = strings.TrimSpace(string(b))
			}
		}
		out = append(out, [2]string{tag, val})
	}
	return out
}
