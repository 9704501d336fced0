package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"contextworker/internal/metrics"
	"contextworker/modules/ingest/admission"
	wf "contextworker/workflows/ingest"
)

// documentOutcomes are the outcomes of a newly decided document: the only
// values of the documents counter's outcome label.
var documentOutcomes = []string{wf.StatusAdmitted, wf.StatusQuarantined, wf.StatusDuplicate}

// quarantineReasons are admission's reason codes, a fixed set: the only
// values of the reasons counter's reason label (others count as
// metrics.Overflow).
var quarantineReasons = []admission.Reason{
	admission.Empty, admission.Oversize, admission.InvalidUTF8, admission.Binary, admission.NoHypothesis,
	admission.LowTrust, admission.RateLimited, admission.NearDuplicateFlood, admission.UnresolvedCitations,
}

// Metrics are the ingest module's own metrics. A nil *Metrics records
// nothing (the worker serves no metrics). Labels hold fixed sets only:
// never a tenant, source or SNO id.
type Metrics struct {
	documents *metrics.Counter
	reasons   *metrics.Counter
}

// NewMetrics registers the metrics on r, or returns nil when r is nil.
// Every series of the fixed label sets starts at zero.
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	m := &Metrics{}
	var err error
	if m.documents, err = metrics.NewCounter(r, "ingest_documents_total",
		"Documents decided, by outcome (admitted, quarantined, duplicate); a retry's recorded outcome is not counted again.",
		len(documentOutcomes), "outcome"); err != nil {
		return nil, err
	}
	if m.reasons, err = metrics.NewCounter(r, "ingest_quarantine_reasons_total",
		"Reasons quarantined documents were given, by reason code (a document may have several).",
		len(quarantineReasons), "reason"); err != nil {
		return nil, err
	}
	for _, o := range documentOutcomes {
		m.documents.Add(0, o)
	}
	for _, r := range quarantineReasons {
		m.reasons.Add(0, string(r))
	}
	return m, nil
}

// decided counts the outcomes of newly decided documents.
func (m *Metrics) decided(outs []wf.Outcome) {
	if m == nil {
		return
	}
	for _, o := range outs {
		m.documents.Add(1, o.Status)
		if o.Status == wf.StatusQuarantined {
			for _, r := range o.Reasons {
				m.reasons.Add(1, r)
			}
		}
	}
}
