package harvest

import (
	"testing"

	"contextworker/internal/dev/feedgen"
	"contextworker/modules/harvest/feed"
)

// BenchmarkProducerLoad is the Go side of a first load of 100k generated
// products in each format: reading, normalising and encoding the COPY
// tuples (into nothing). CPU per op; compare the formats.
func BenchmarkProducerLoad(b *testing.B) {
	for _, f := range []struct {
		name string
		opts feed.Options
	}{
		{"csv", feed.Options{Format: feed.CSV}},
		{"xml", feed.Options{Format: feed.XML, RecordElement: "product"}},
		{"yml", feed.Options{Format: feed.YML}},
		{"json", feed.Options{Format: feed.JSON}},
	} {
		b.Run(f.name, func(b *testing.B) {
			data := generated(b, feedgen.Options{N: 100000, Seed: 7, BadShare: 0.01, Format: f.name})
			b.ResetTimer()
			began := cpuTime(b)
			for range b.N {
				p := startFeed(b, data, f.opts, producerOptions{parts: 8, load: true})
				for range p.out {
				}
			}
			b.ReportMetric((cpuTime(b)-began).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}
