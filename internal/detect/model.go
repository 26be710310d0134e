// Package detect runs the detection models: it turns each event into a
// baseline.Contact, asks the models that read that kind of event whether
// it completes a breach, then lets the baselines learn from it. It also
// keeps the per-device threat score, applies allowlists and suppresses
// repeats. A model is one package under detect/ that registers itself.
package detect

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ndr/vigil/internal/breach"
	"github.com/vigil-ndr/vigil/internal/event"
)

// Model is one detection. Its exported fields with yaml tags are its
// thresholds: New returns them set to the defaults and the configuration
// file may override them (models.<id>.<key>).
type Model interface {
	Info() Info
	// Validate checks the thresholds only; it does no I/O.
	Validate() error
	// Observe returns the breaches that e completes, if any. c describes
	// the event's device and peer as the baselines knew them before e.
	Observe(c *Context, e event.Event) []breach.Breach
}

// Info describes a model for the registry, `vigil models` and breaches.
type Info struct {
	// ID is the short name used in configuration ("post-to-ip").
	ID string
	// Name is the exact catalogue name ("Category::Name").
	Name string
	// MITRE lists ATT&CK technique IDs.
	MITRE []string
	// Reads lists the kinds of event the model wants.
	Reads []event.Kind
	// Summary says in one line when the model fires.
	Summary string
	// Learning says how the model behaves while baselines are learning
	// and when they are empty (short captures).
	Learning string
	// Cooldown is how long a breach for the same device and endpoint is
	// suppressed after one fires (unless the score rises by 10 or more).
	Cooldown time.Duration
	// New returns the model with its default thresholds.
	New func() Model
}

// DefaultCooldown is the usual suppression period for repeats of one
// breach (same model, device and endpoint).
const DefaultCooldown = 6 * time.Hour

var registry = map[string]Info{}

// Register adds a model to the catalogue; models call it from init.
func Register(i Info) {
	if i.ID == "" || i.Name == "" || i.New == nil {
		panic("detect.Register: model needs ID, Name and New")
	}
	if _, dup := registry[i.ID]; dup {
		panic("detect.Register: duplicate model " + i.ID)
	}
	registry[i.ID] = i
}

// Catalogue returns every registered model, sorted by name.
func Catalogue() []Info {
	out := make([]Info, 0, len(registry))
	for _, i := range registry {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Find returns the model with this ID or exact catalogue name.
func Find(idOrName string) (Info, bool) {
	if i, ok := registry[idOrName]; ok {
		return i, true
	}
	for _, i := range registry {
		if strings.EqualFold(i.Name, idOrName) {
			return i, true
		}
	}
	return Info{}, false
}

// MustFind is Find for names fixed in code.
func MustFind(idOrName string) Info {
	i, ok := Find(idOrName)
	if !ok {
		panic(fmt.Sprintf("detect: no model %q", idOrName))
	}
	return i
}
