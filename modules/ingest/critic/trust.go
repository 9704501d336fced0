package critic

import (
	"fmt"
	"slices"
	"strings"

	"contextworker/modules/ingest/sno"
)

// Weights weigh the critics in the trust score.
type Weights struct {
	Grounding float64 `yaml:"grounding" json:"grounding"`
	Logic     float64 `yaml:"logic" json:"logic"`
	Novelty   float64 `yaml:"novelty" json:"novelty"`
}

// DefaultWeights are the weights used unless configured otherwise.
var DefaultWeights = Weights{Grounding: 0.4, Logic: 0.3, Novelty: 0.3}

// Presets are named weight sets: exploration favours new ideas,
// verification favours grounded ones.
var Presets = map[string]Weights{
	"default":      DefaultWeights,
	"exploration":  {Grounding: 0.2, Logic: 0.3, Novelty: 0.5},
	"verification": {Grounding: 0.6, Logic: 0.3, Novelty: 0.1},
}

// Preset returns the named weight set.
func Preset(name string) (Weights, error) {
	w, ok := Presets[name]
	if !ok {
		names := make([]string, 0, len(Presets))
		for n := range Presets {
			names = append(names, n)
		}
		slices.Sort(names)
		return Weights{}, fmt.Errorf("unknown weight preset %q (known: %s)", name, strings.Join(names, ", "))
	}
	return w, nil
}

// Validate checks the weights are non-negative with a positive sum.
func (w Weights) Validate() error {
	if w.Grounding < 0 || w.Logic < 0 || w.Novelty < 0 || w.Grounding+w.Logic+w.Novelty <= 0 {
		return fmt.Errorf("weights %+v must be >= 0 with a positive sum", w)
	}
	return nil
}

// Trust is the weighted mean of the critics' scores:
//
//	trust = (w_g·grounding + w_l·logic + w_n·novelty) / (w_g + w_l + w_n)
//
// A critic missing from results counts as 0.
func Trust(w Weights, results []sno.CriticResult) float64 {
	score := func(name string) float64 {
		for _, r := range results {
			if r.Critic == name {
				return r.Score
			}
		}
		return 0
	}
	sum := w.Grounding + w.Logic + w.Novelty
	if sum <= 0 {
		return 0
	}
	return clip((w.Grounding*score(Grounding) + w.Logic*score(Logic) + w.Novelty*score(Novelty)) / sum)
}
