package app

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-ndr/vigil/internal/config"
	"github.com/vigil-ndr/vigil/internal/detect"
	"github.com/vigil-ndr/vigil/internal/units"
)

// Models prints the model catalogue with the thresholds in effect.
type Models struct {
	Config config.Config
	JSON   bool
	Stdout io.Writer
}

// modelRow is one model in `vigil models --json`.
type modelRow struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	MITRE    []string          `json:"mitre"`
	Enabled  bool              `json:"enabled"`
	Summary  string            `json:"summary"`
	Learning string            `json:"learning"`
	Cooldown string            `json:"cooldown"`
	Settings map[string]string `json:"settings"`
}

// Run prints the catalogue.
func (m *Models) Run() error {
	configured, err := m.Config.DetectModels()
	if err != nil {
		return usageErr("%v", err)
	}
	byID := map[string]detect.Configured{}
	for _, c := range configured {
		byID[c.Info.ID] = c
	}
	var rows []modelRow
	for _, i := range detect.Catalogue() {
		r := modelRow{ID: i.ID, Name: i.Name, MITRE: i.MITRE, Summary: i.Summary, Learning: i.Learning, Settings: map[string]string{}}
		c, on := byID[i.ID]
		r.Enabled = on
		model := i.New()
		r.Cooldown = units.Duration(i.Cooldown).String()
		if on {
			model, r.Cooldown = c.Model, units.Duration(c.Cooldown).String()
		}
		for _, kv := range detect.Settings(model) {
			r.Settings[kv[0]] = kv[1]
		}
		rows = append(rows, r)
	}
	if m.JSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	w := m.Stdout
	for _, r := range rows {
		state := ""
		if !r.Enabled {
			state = "  [disabled]"
		}
		fmt.Fprintf(w, "%s%s\n", r.Name, state)
		fmt.Fprintf(w, "  id        %s\n", r.ID)
		fmt.Fprintf(w, "  mitre     %s\n", strings.Join(r.MITRE, ", "))
		fmt.Fprintf(w, "  fires     %s\n", r.Summary)
		fmt.Fprintf(w, "  learning  %s\n", r.Learning)
		var kv []string
		for _, s := range detect.Settings(firstModel(byID, r.ID)) {
			kv = append(kv, s[0]+"="+s[1])
		}
		kv = append(kv, "cooldown="+r.Cooldown)
		fmt.Fprintf(w, "  settings  %s\n\n", strings.Join(kv, " "))
	}
	b := m.Config.Baseline
	fmt.Fprintf(w, "baseline: learning_period=%s prevalence_window=%s rare_fraction=%g new_age=%s timezone=%s\n",
		b.LearningPeriod, b.Window, b.RareFraction, b.NewAge, b.Timezone)
	fmt.Fprintf(w, "scoring:  half_life=%s (device score = noisy-OR of decayed breach scores, one per model and endpoint)\n",
		m.Config.Scoring.HalfLife)
	return nil
}

func firstModel(by map[string]detect.Configured, id string) detect.Model {
	if c, ok := by[id]; ok {
		return c.Model
	}
	i, _ := detect.Find(id)
	return i.New()
}
