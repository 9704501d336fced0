package enrich

// ResetForTest forgets the results recorded on p, so that a benchmark can
// run a pipeline over the same products again.
func ResetForTest(p *Product) { p.results = nil }
