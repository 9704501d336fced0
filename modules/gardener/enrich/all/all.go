// Package all links every built-in enricher. It is only a list of blank
// imports: each enricher registers itself from its init function.
package all

import (
	_ "contextworker/modules/gardener/enrich/attributes" // colour, size, material, weight, volume
	_ "contextworker/modules/gardener/enrich/brand"      // brand normalisation
	_ "contextworker/modules/gardener/enrich/category"   // supplier categories → taxonomy
	_ "contextworker/modules/gardener/enrich/duplicates" // canonical product groups
	_ "contextworker/modules/gardener/enrich/llm"        // optional: fields from an OpenAI-compatible endpoint
	_ "contextworker/modules/gardener/enrich/quality"    // quality flags
)
