package harvest

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"contextworker/internal/dev/feedgen"
	"contextworker/modules/harvest/feed"
)

// BenchmarkProducerUnchangedMillion is the Go side of an unchanged
// re-harvest of a million products (an existing set no cache holds), for
// a feed in SKU order and a shuffled one: CPU per op.
func BenchmarkProducerUnchangedMillion(b *testing.B) {
	sorted := generated(b, feedgen.Options{N: 1000000, Seed: 7, BadShare: 0.01, Format: "csv"})
	lines := bytes.SplitAfter(bytes.Clone(sorted), []byte("\n"))
	body := lines[1:]
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
	shuffled := bytes.Join(lines, nil)
	csv := feed.Options{Format: feed.CSV}
	b.Run("sorted", func(b *testing.B) { benchUnchanged(b, sorted, csv) })
	b.Run("shuffled", func(b *testing.B) { benchUnchanged(b, shuffled, csv) })
	b.Run("json", func(b *testing.B) {
		json := generated(b, feedgen.Options{N: 1000000, Seed: 7, BadShare: 0.01, Format: "json"})
		benchUnchanged(b, json, feed.Options{Format: feed.JSON})
	})
	b.Run("xml", func(b *testing.B) {
		xml := generated(b, feedgen.Options{N: 1000000, Seed: 7, BadShare: 0.01, Format: "xml"})
		benchUnchanged(b, xml, feed.Options{Format: feed.XML, RecordElement: "product"})
	})
	b.Run("yml", func(b *testing.B) {
		yml := generated(b, feedgen.Options{N: 1000000, Seed: 7, BadShare: 0.01, Format: "yml"})
		benchUnchanged(b, yml, feed.Options{Format: feed.YML})
	})
}

func benchUnchanged(b *testing.B, data []byte, opts feed.Options) {
	var first []item
	for c := range startFeed(b, data, opts, producerOptions{parts: 8}).out {
		first = append(first, c...)
	}
	ex := existingOf(b, first, true)
	first = nil
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		forgetSeen(ex)
		began := cpuTime(b)
		p := startFeed(b, data, opts, producerOptions{parts: 8, existing: ex})
		for range p.out {
		}
		cpu += cpuTime(b) - began
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}
