// Package all links every built-in enricher. It is only a list of blank
// imports: each enricher registers itself from its init function.
package all

import (
	_ "contextworker/internal/enrich/attributes" // colour, size, material, weight, volume
	_ "contextworker/internal/enrich/brand"      // brand normalisation
	_ "contextworker/internal/enrich/category"   // supplier categories → taxonomy
	_ "contextworker/internal/enrich/duplicates" // canonical product groups
	_ "contextworker/internal/enrich/llm"        // optional: fields from an OpenAI-compatible endpoint
	_ "contextworker/internal/enrich/quality"    // quality flags
)
