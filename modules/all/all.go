// Package all links every built-in module into a binary. It is only a list
// of blank imports: each module registers itself from its init function.
package all

import (
	_ "contextworker/modules/deploy"   // repositories onto target hosts
	_ "contextworker/modules/gardener" // catalogue enrichment
	_ "contextworker/modules/harvest"  // supplier-feed imports
	_ "contextworker/modules/ingest"   // documents into scored SNOs
)
