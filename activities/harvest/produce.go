package harvest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
)

// item is one feed row on its way to PostgreSQL: values to copy, a reject,
// or the error that ended the feed. An item with neither values nor a
// reject is a valid row that needs no writing (stored, unchanged).
type item struct {
	row int64
	// valid: the row passed validation. Its tuple is nil when there is
	// nothing to write (stored and unchanged, or replayed).
	valid bool
	tuple tuple
	// blk holds tuple when an arena encoded it (nil for slim rows): the
	// COPY stream releases it once it has read the tuple.
	blk *block
	// sku of a valid row, for slim rows staged late.
	sku string
	// hk is the content hash's key (hashKey) of a normalised valid row; 0
	// when the row was found unchanged by its source key, not normalised.
	hk uint64
	// same: stored, active and equal (so it has no tuple yet)
	same bool
	rej  *reject
	err  error
	// retro: a slim row staged late for an earlier, unchanged occurrence
	// of a SKU the feed repeats.
	retro bool
}

type producerOptions struct {
	parts uint32
	// done: rows an earlier attempt staged. They are read and normalised
	// again (replayed), so that duplicate detection and the record of
	// which stored products the feed names are exact, but not emitted.
	done     doneRows
	skuField string
	// load: rows go to a first load's table (loadColumns), not to the
	// staging table (stageColumns).
	load bool
	// noAttributes: the normaliser makes no attributes (MakesAttributes),
	// and a first load leaves them to the column's default, '{}', rather
	// than have PostgreSQL parse a '{}' of every row (loadColumnsOf).
	noAttributes bool
	// existing is the supplier's active products; the producer marks those
	// the feed names. Nil for a first load.
	existing *existingSet
	// keyer is the feed's reader when it keys records by their text
	// (startProducer sets it): their source keys are TextSourceKey's, and
	// a re-harvest finds an unchanged one's product by that key alone.
	keyer feed.RawKeyer
}

// producer parses the feed in one goroutine and normalises it in
// GOMAXPROCS workers, then puts the rows back in feed order: staging
// checkpoints are feed-order prefixes. Parsing, normalising and loading
// (PostgreSQL) all overlap.
type producer struct {
	out  chan []item
	dups atomic.Bool
	// dupSKUs lists, once each, the SKUs a first load's feed names more
	// than once (by SKU keys: a collision may add one that is not), up to
	// maxDupSKUs of them. Written by sequence only; read after out is
	// closed.
	dupSKUs []string
	// sequence's own, to find the SKU of a record found unchanged by its
	// text (which was not finished) when the feed repeats it (skuOf).
	split feed.Splitter
	norm  *product.Normalizer
	fin   feed.Finisher
}

// maxDupSKUs bounds dupSKUs (128-byte SKUs at most: 2 MiB). Sealing finds
// the duplicates of a feed that repeats more SKUs by sorting the load.
const maxDupSKUs = 1 << 14

// A chunk of raw records goes from the reader to a normalising worker. It
// ends at chunkSize records or once its records hold chunkBytes, so the
// chunks in flight (a few dozen) cost a bounded amount of memory whatever
// the feed holds: each record is bounded by max_record_bytes.
const (
	chunkSize  = 256
	chunkBytes = 1 << 20
)

// Rejects keep an excerpt of their row and of their reason, not the row.
const (
	maxRejectRaw    = 1 << 10
	maxRejectReason = 1 << 10
)

// boundHint names the setting behind a record refused by a bound.
func boundHint(err error) string {
	switch {
	case errors.Is(err, feed.ErrTooLarge):
		return " (modules.harvest.max_field_bytes, max_record_bytes)"
	case errors.Is(err, feed.ErrTooDeep):
		return " (modules.harvest.max_depth)"
	}
	return ""
}

// recordBytes estimates the memory a record holds.
func recordBytes(rec feed.Record) int {
	n := len(rec.Raw)
	for _, f := range rec.Fields {
		n += len(f.Name) + len(f.Value) + 32
	}
	return n
}

// rawItem is a record as read, before normalisation: finished (rec), or
// still to finish (raw, when split) by the normalising worker.
type rawItem struct {
	rec   feed.Record
	raw   feed.RawRecord
	split bool
	bad   *feed.RecordError
	err   error
}

type job struct {
	seq   int
	items []rawItem
}

// result is a normalised chunk. For each valid item, keys holds its SKU
// keys and found the index of its stored product (-1: none), for sequence.
type result struct {
	seq   int
	items []item
	keys  []skuKeys
	found []int
	// raw is the chunk as read, for a re-harvest of a feed keyed by its
	// records' texts: sequence finishes a record found unchanged by its
	// text again should the feed repeat its SKU. Nil otherwise, so that
	// no other chunk is kept until sequence takes it.
	raw []rawItem
	// ordered: the SKUs of the valid items not stored (found -1) strictly
	// increase, from first. Told here, where they were just made, sequence
	// need not compare each with the one before (a cache miss apiece).
	ordered bool
	first   string
}

// newNormalizer builds one normaliser per worker, so workers share nothing.
type newNormalizer func() (*product.Normalizer, error)

func startProducer(ctx context.Context, r feed.Reader, mk newNormalizer, o producerOptions) (*producer, error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	norms := make([]*product.Normalizer, workers)
	for i := range norms {
		n, err := mk()
		if err != nil {
			return nil, err
		}
		norms[i] = n
	}
	p := &producer{out: make(chan []item, 8)}
	jobs := make(chan job, 2*workers)
	results := make(chan result, 2*workers)
	// A reader that can split its records (CSV) leaves finishing them to
	// the workers: its goroutine, which every record passes through, is
	// the bound of a re-harvest, whose workers have little else to do.
	split, _ := r.(feed.Splitter)
	// One that keys records by their text (XML, YML) lets a re-harvest
	// find an unchanged record's product without finishing it at all.
	if o.keyer, _ = r.(feed.RawKeyer); o.keyer != nil && o.existing != nil {
		o.existing.indexSources()
		var err error
		if p.norm, err = mk(); err != nil {
			return nil, err
		}
		p.split = split
	}
	go read(ctx, r, split, jobs)
	var wg sync.WaitGroup
	for _, norm := range norms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc scratch
			for j := range jobs {
				res := normalise(j, norm, o, split, &sc)
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	go p.sequence(ctx, results, o)
	return p, nil
}

// read splits the feed into chunks of records, in order: raw records to
// finish when split is r.
func read(ctx context.Context, r feed.Reader, split feed.Splitter, jobs chan<- job) {
	defer close(jobs)
	seq := 0
	chunk := make([]rawItem, 0, chunkSize)
	size := 0
	send := func() bool {
		size = 0
		if len(chunk) == 0 {
			return true
		}
		select {
		case jobs <- job{seq: seq, items: chunk}:
			seq++
			chunk = make([]rawItem, 0, chunkSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		var rec feed.Record
		var raw feed.RawRecord
		var err error
		if split != nil {
			raw, err = split.NextRaw()
		} else {
			rec, err = r.Next()
		}
		// errors.AsType: errors.As would put its target on the heap, a
		// small allocation per record.
		recErr, bad := errors.AsType[*feed.RecordError](err)
		switch {
		case err == nil && split != nil:
			chunk = append(chunk, rawItem{raw: raw, split: true})
			size += raw.Size()
		case err == nil:
			chunk = append(chunk, rawItem{rec: rec})
			size += recordBytes(rec)
		case errors.Is(err, io.EOF):
			send()
			return
		case bad:
			chunk = append(chunk, rawItem{bad: recErr})
		default:
			chunk = append(chunk, rawItem{err: err})
			send()
			return
		}
		if (len(chunk) == chunkSize || size >= chunkBytes) && !send() {
			return
		}
	}
}

// scratch is the memory a normalising goroutine reuses from one record to
// the next: the Finisher whose Fields live until the next record (nothing
// keeps them longer), and the normaliser's (the category path and images
// of the record's product, which is done with before the next, and where
// the record's fields were).
type scratch struct {
	fin  feed.Finisher
	norm product.Scratch
	// stored is a re-harvest's chunk's records by SKU in the existing set
	// (lookUpStored).
	stored []storedLookup
}

// storedLookup is a re-harvest's record's source key and the stored
// product of its SKU.
type storedLookup struct {
	// source is the record's fields' source key (SourceKey), text its
	// text's (TextSourceKey) when the reader is a RawKeyer (hasText).
	source, text uint64
	hasText      bool
	// byText: found unchanged by its text's key, not finished; its sku
	// is not known.
	byText bool
	sku    string // "": none valid, not looked up
	k      skuKeys
	e      int // -1: none
}

// stores is the source key a record's product is stored with: its text's
// when it has one. A record keyed by its fields (stored by a worker that
// did not key texts) is still found unchanged by them, but a product
// written again is stored with the text's key.
func (l *storedLookup) stores() uint64 {
	if l.hasText {
		return l.text
	}
	return l.source
}

// normalise normalises a chunk; split finishes its raw records.
func normalise(j job, norm *product.Normalizer, o producerOptions, split feed.Splitter, sc *scratch) result {
	res := result{seq: j.seq, items: make([]item, len(j.items)), keys: make([]skuKeys, len(j.items)), found: make([]int, len(j.items))}
	var ar arena
	stored := lookUpStored(j, norm, o, split, sc, &ar)
	if stored != nil && o.keyer != nil {
		res.raw = j.items // only then may sequence need to finish one (skuOf)
	}
	for i := range j.items {
		raw := &j.items[i]
		var at *storedLookup
		if stored != nil {
			at = &stored[i]
			// Unchanged: its fields are not needed again.
			switch {
			case at.byText:
				res.items[i], res.keys[i], res.found[i] = item{row: raw.raw.Row, valid: true, same: true}, at.k, at.e
				continue
			case raw.err == nil && raw.bad == nil && at.e >= 0 && o.existing.unchanged(at.e, at.source):
				res.items[i], res.keys[i], res.found[i] = item{row: raw.rec.Row, valid: true, sku: at.sku, same: true}, at.k, at.e
				continue
			}
		}
		var text storedLookup // a first load's record keyed by its text
		cut := false
		if at == nil && raw.split && o.keyer != nil {
			// Its values are found once, for the key and the Finish.
			if cutter, ok := o.keyer.(feed.Cutter); ok {
				cutter.Cut(&raw.raw, &sc.fin)
				cut = true
			}
			if t, context, ok := o.keyer.RawKey(raw.raw); ok {
				text = storedLookup{text: norm.TextSourceKey(t, context), hasText: true, e: -1}
				at = &text
			}
		}
		if raw.split && (stored == nil || raw.err == nil && raw.bad == nil) {
			finishRaw(raw, split, &sc.fin) // (again, for a re-harvest: its Fields were the Finisher's)
		}
		if cut {
			raw.raw = raw.raw.Uncut() // its ends were the Finisher's
		}
		res.found[i] = -1
		switch {
		case raw.err != nil:
			res.items[i] = item{err: raw.err}
		case raw.bad != nil:
			res.items[i] = item{row: raw.bad.Row, rej: &reject{row: raw.bad.Row,
				reason: truncate("unreadable record: "+raw.bad.Err.Error()+boundHint(raw.bad.Err), maxRejectReason), raw: kept(raw.bad.Raw, maxRejectRaw)}}
		default:
			// The record where the job holds it: a copy handed to the
			// normaliser as its Source would go to the heap.
			res.items[i], res.keys[i], res.found[i] = normaliseRecord(&j.items[i].rec, norm, o, &ar, &sc.norm, at)
		}
	}
	res.ordered, res.first = increasing(res)
	return res
}

// finishRaw finishes a split record: its record, or why it has none.
func finishRaw(raw *rawItem, split feed.Splitter, fin *feed.Finisher) {
	rec, err := split.Finish(raw.raw, fin)
	if recErr, bad := errors.AsType[*feed.RecordError](err); bad {
		raw.bad = recErr
	} else if err != nil {
		raw.err = err
	}
	raw.rec = rec
}

// lookUpStored finds, for a re-harvest, the stored product of each record
// of the chunk by its SKU, and the record's source key: first every
// record's keys, then every lookup in one tight loop. Each lookup misses
// the cache (the existing set is tens of MB at a million products); alone
// in a loop their misses overlap, while spread one a record over the
// normalising they did not: about 0.2 s of CPU in a shuffled feed's
// unchanged re-harvest at a million products. Split records are finished
// here, and again by normalise when they are not found unchanged: their
// Fields live in the Finisher only until its next Finish (their values
// stay). Nil for a first load.
func lookUpStored(j job, norm *product.Normalizer, o producerOptions, split feed.Splitter, sc *scratch, ar *arena) []storedLookup {
	if o.existing == nil {
		return nil
	}
	stored := sc.stored[:0]
	field := norm.SKUField()
	for i := range j.items {
		raw := &j.items[i]
		l := storedLookup{e: -1}
		if raw.split && o.keyer != nil {
			if t, context, ok := o.keyer.RawKey(raw.raw); ok {
				l.text, l.hasText = norm.TextSourceKey(t, context), true
			}
		}
		stored = append(stored, l)
	}
	// Records keyed by their text are looked up by it first: one found is
	// unchanged, and is not finished.
	for i := range stored {
		if l := &stored[i]; l.hasText {
			if l.e = o.existing.findSource(l.text); l.e >= 0 {
				x := o.existing.at(l.e)
				l.byText, l.k = true, skuKeys{key: x.key, check: x.check}
			}
		}
	}
	for i := range j.items {
		raw, l := &j.items[i], &stored[i]
		if l.byText {
			continue
		}
		if raw.split {
			finishRaw(raw, split, &sc.fin)
		}
		if raw.err == nil && raw.bad == nil {
			l.source = sourceKeyOf(&raw.rec, norm, ar)
			if sku, ok := norm.SKU(raw.rec.Get(field)); ok {
				l.sku, l.k = sku, keysOf(sku)
			}
		}
	}
	for i := range stored {
		if l := &stored[i]; !l.byText && l.sku != "" {
			l.e = o.existing.find(l.k)
		}
	}
	sc.stored = stored
	return stored
}

// sourceKeyOf returns the source key of rec's fields.
func sourceKeyOf(rec *feed.Record, norm *product.Normalizer, ar *arena) uint64 {
	key := norm.SourceKey(ar.key)
	for _, f := range rec.Fields {
		key.Add(f.Name, f.Value)
	}
	ar.key = key.Buf()
	return key.Sum()
}

// skuOf finishes a record found unchanged by its text again, for its SKU.
// Its text is that of a stored product's record, so it has one.
func (p *producer) skuOf(raw feed.RawRecord) (string, bool) {
	rec, err := p.split.Finish(raw, &p.fin)
	if err != nil {
		return "", false
	}
	sku, ok := p.norm.SKU(rec.Get(p.norm.SKUField()))
	return strings.Clone(sku), ok
}

// increasing reports whether the SKUs of res's valid items not stored
// strictly increase, and the first of them.
func increasing(res result) (bool, string) {
	var first, last string
	n := 0
	for i, it := range res.items {
		if !it.valid || res.found[i] >= 0 {
			continue
		}
		if n > 0 && it.sku <= last {
			return false, ""
		}
		if n == 0 {
			first = it.sku
		}
		last = it.sku
		n++
	}
	return true, first
}

// normaliseRecord turns one record into an item: a reject, or a valid row
// with its keys, the index of its stored product (-1: none) and the tuple
// to write.
func normaliseRecord(rec *feed.Record, norm *product.Normalizer, o producerOptions, ar *arena, ns *product.Scratch, stored *storedLookup) (item, skuKeys, int) {
	it := item{row: rec.Row}
	var source uint64
	if stored != nil {
		source = stored.stores()
	} else {
		source = sourceKeyOf(rec, norm, ar)
	}
	// prod is done with before the next record: its category path and
	// images may share ns's array.
	prod, err := norm.NormalizeReusing(rec, ns)
	if err != nil {
		it.rej = &reject{row: rec.Row, sku: kept(rec.Get(o.skuField), 128), reason: truncate(err.Error(), maxRejectReason), raw: kept(rec.Raw, maxRejectRaw)}
		return it, skuKeys{}, -1
	}
	hash, hk := prod.StoredHash() // an array: a string would cost an allocation per row
	k := keysOf(prod.SKU)
	it.valid, it.sku, it.hk = true, prod.SKU, hk
	e := -1
	switch {
	case stored != nil && stored.sku == prod.SKU:
		e = stored.e
	case o.existing != nil:
		e = o.existing.find(k)
	}
	if e >= 0 && o.existing.sameContent(e, hk, &prod) {
		it.same = true // most likely not written at all (see sequence)
	}
	switch {
	case o.done.has(rec.Row), it.same:
		// replayed (only its keys matter), or no tuple yet
	case o.load:
		if o.noAttributes && len(prod.Attributes) > 0 {
			// MakesAttributes said none: they would be lost. A bug, which
			// a retry would meet again.
			it = item{row: rec.Row, err: nonRetryable(ErrTypeBadConfig, "stage: row %d has attributes, which its normaliser said it never makes", rec.Row)}
			return it, skuKeys{}, -1
		}
		start := ar.end()
		ar.b = loadTuple(ar.b, rec.Row, &prod, hash[:], sourceKey(source, hk), !o.noAttributes)
		it.tuple, it.blk = ar.add(start)
	default:
		start := ar.end()
		ar.b = stageTuple(ar.b, rec.Row, int32(k.key%uint64(o.parts)), &prod, hash[:], sourceKey(source, hk))
		it.tuple, it.blk = ar.add(start)
	}
	return it, k, e
}

// sequence restores feed order, decides which valid rows need writing, and
// notes duplicate SKUs and the stored products the feed names.
//
// A row of a stored, active product with an equal content hash is not
// written at all, unless its SKU occurs twice in the feed: then every
// occurrence is staged (the earlier unchanged ones slim: row and SKU only),
// and the merge keeps the last one and rejects the others.
func (p *producer) sequence(ctx context.Context, results <-chan result, o producerOptions) {
	defer close(p.out)
	ex := o.existing
	var seen keySet                      // SKUs not stored
	listed := make(map[skuKeys]struct{}) // SKUs in dupSKUs
	pending := make(map[int]result)
	next := 0
	for res := range results {
		pending[res.seq] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			// out filters the chunk in place: it holds at most the items
			// read so far, until a slim row staged late would make it
			// overtake them; then it moves to an array of its own.
			out, shared := r.items[:0], true
			// The chunk's new SKUs continue the increasing run so far: they
			// go to the run without a comparison each.
			run := r.ordered && seen.continues(r.first)
			for i, it := range r.items {
				if !it.valid {
					if it.err != nil || !o.done.has(it.row) {
						out = append(out, it)
					}
					continue
				}
				replay := o.done.has(it.row)
				k := r.keys[i]
				if idx := r.found[i]; idx >= 0 {
					e := ex.at(idx)
					part := int32(k.key % uint64(o.parts))
					switch {
					case e.first == 0:
						e.first = it.row
						e.skipped = it.same // nothing to write
					default:
						p.dups.Store(true)
						if it.sku == "" && (e.skipped || it.same) && !replay {
							// Found unchanged by its text, so not finished:
							// the slim rows need its SKU.
							var known bool
							if it.sku, known = p.skuOf(r.raw[i].raw); !known {
								it = item{err: fmt.Errorf("stage: row %d: a record found unchanged by its text has no SKU", it.row)}
								break
							}
						}
						if e.skipped && !replay {
							// The first occurrence was not staged: stage it
							// slim now, so the merge sees every occurrence.
							if shared && len(out) >= i {
								// in place, the slim row and then item i
								// would overwrite item i+1 before it is read
								out, shared = append(make([]item, 0, len(r.items)+8), out...), false
							}
							out = append(out, item{row: e.first, valid: true, retro: true, tuple: slimTuple(e.first, part, it.sku)})
						}
						e.skipped = false
						if it.same && !replay {
							it.tuple = slimTuple(it.row, part, it.sku)
						}
					}
				} else {
					// A re-harvest must know of duplicates before merging;
					// a first load names them to sealing, which removes the
					// superseded rows of those SKUs alone before building
					// its primary key (not by sorting the whole load).
					if run {
						seen.appendInOrder(k, it.sku)
					} else if seen.addSKU(k, it.sku) {
						p.dups.Store(true)
						if _, ok := listed[k]; o.load && !ok && len(listed) < maxDupSKUs {
							listed[k] = struct{}{}
							p.dupSKUs = append(p.dupSKUs, strings.Clone(it.sku))
						}
					}
				}
				if !replay {
					out = append(out, it)
				}
			}
			if len(out) == 0 {
				continue
			}
			select {
			case p.out <- out:
			case <-ctx.Done():
				return
			}
		}
	}
}

// skuKeys identifies a SKU: a 64-bit FNV-1a hash (the staging partition and
// the lookup key) and an independent 32-bit check. Two SKUs are taken for
// one only when all 96 bits agree.
type skuKeys struct {
	key   uint64
	check uint32
}

func keysOf[T string | []byte](sku T) skuKeys {
	// FNV-1a 64 and FNV-1 32, inlined: hash/fnv allocates per call.
	const (
		off64, prime64 = 14695981039346656037, 1099511628211
		off32, prime32 = 2166136261, 16777619
	)
	k, c := uint64(off64), uint32(off32)
	for i := 0; i < len(sku); i++ {
		k ^= uint64(sku[i])
		k *= prime64
		c *= prime32
		c ^= uint32(sku[i])
	}
	return skuKeys{key: k, check: c}
}

// hashKey is the first 64 bits of a hex content hash; 0 if it is not one.
func hashKey[T string | []byte](contentHash T) uint64 {
	if len(contentHash) < 16 {
		return 0
	}
	var v uint64
	for i := range 16 {
		c := contentHash[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0
		}
		v = v<<4 | uint64(c)
	}
	return v
}

// loadColumns are a first load's columns, in CopyFrom order; the load table's
// defaults fill in tenant and supplier, and sealing adds the run, the times
// and active (loadConstants).
var loadColumns = []string{"feed_row", "sku", "name", "description", "brand", "gtin", "price", "currency",
	"stock", "availability", "category_path", "product_url", "image_urls", "attributes", "content_hash", "source_key"}

// loadColumnsOf is loadColumns, without attributes when the normaliser
// makes none (the column's default, '{}', then fills them in).
func loadColumnsOf(attributes bool) []string {
	if attributes {
		return loadColumns
	}
	return slices.DeleteFunc(slices.Clone(loadColumns), func(c string) bool { return c == "attributes" })
}

// stageColumns are the staging table's columns, in CopyFrom order.
var stageColumns = []string{"row_no", "part", "sku", "name", "description", "brand", "gtin", "price", "currency",
	"stock", "availability", "category_path", "product_url", "image_urls", "attributes", "content_hash", "unchanged", "source_key"}
