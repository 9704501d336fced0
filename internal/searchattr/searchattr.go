// Package searchattr names the custom search attributes every module sets,
// so runs of all modules filter alike in the Temporal Web UI and CLI. The
// dev server registers them (see Names); production namespaces need them
// created once with `temporal operator search-attribute create`.
package searchattr

import "go.temporal.io/sdk/temporal"

// The keys. All are Keyword attributes.
var (
	Tenant   = temporal.NewSearchAttributeKeyKeyword("TenantId")
	Supplier = temporal.NewSearchAttributeKeyKeyword("SupplierCode")
	Module   = temporal.NewSearchAttributeKeyKeyword("Module")
	// Source is where an ingested document came from (ingest module).
	Source = temporal.NewSearchAttributeKeyKeyword("Source")
)

// Names lists the attributes with their types, as the dev server's
// --search-attribute flag takes them.
var Names = []string{"TenantId=Keyword", "SupplierCode=Keyword", "Module=Keyword", "Source=Keyword"}
