package feedgen

import (
	"math/rand/v2"
	"strconv"
)

// record is one generated product in canonical terms. The encoders render
// it; the tests compare it with what product.Normalize makes of the output.
// Static fields point into the word lists; the dynamic ones are substrings
// of one string built per record, so a record costs a single allocation.
type record struct {
	sku, name, description, brand, gtin string
	price                               string
	priceIsNumber                       bool // false for the "abc" defect, which JSON must quote
	currency                            string
	stock                               int
	cat                                 *category
	url                                 string
	images                              [maxImages]string
	nimages                             int
	color, size                         string
	defect                              defect
}

// inStock is the availability the record states; it follows the stock.
func (r *record) inStock() bool { return r.stock > 0 }

func (r *record) availability() string {
	if r.inStock() {
		return "in_stock"
	}
	return "out_of_stock"
}

const maxImages = 3

// defect is the single thing wrong with a bad record.
type defect int

const (
	noDefect defect = iota
	defectPriceText
	defectPriceNegative
	defectGTINCheck
	defectNameMissing
	defectCurrency
	defectURL
	numDefects
)

// field returns the canonical field product.Normalize names when it
// rejects a record with the defect d.
func (d defect) field() string {
	switch d {
	case defectPriceText, defectPriceNegative:
		return "price"
	case defectGTINCheck:
		return "gtin"
	case defectNameMissing:
		return "name"
	case defectCurrency:
		return "currency"
	case defectURL:
		return "url"
	}
	return ""
}

// stream separates the independent random draws made for one record, so
// that, for example, changing BadShare never shifts a record's content.
type stream uint64

const (
	streamBad stream = iota + 1
	streamDefect
	streamMutate
	streamMutateDelta
	streamContentHi
	streamContentLo
)

// splitmix is the SplitMix64 finaliser: a bijection with full avalanche,
// used to turn (seed, index, stream) into well-spread 64-bit values.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// draw returns a 64-bit value that depends only on seed, i and s. This is
// what lets Record compute record i without generating records 0..i-1.
func draw(seed int64, i int, s stream) uint64 {
	return splitmix(splitmix(uint64(seed)^uint64(s)*0x9e3779b97f4a7c15) ^ uint64(i))
}

// unit maps a draw to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) * 0x1p-53 }

// defectOf returns record i's defect, noDefect for a valid record.
func defectOf(o Options, i int) defect {
	if o.BadShare <= 0 || unit(draw(o.Seed, i, streamBad)) >= o.BadShare {
		return noDefect
	}
	return defect(1 + draw(o.Seed, i, streamDefect)%uint64(numDefects-1))
}

// mutated reports whether Mutate changes record i's price draw.
func mutated(o Options, i int) bool {
	return o.Mutate > 0 && unit(draw(o.Seed, i, streamMutate)) < o.Mutate
}

// skipped reports whether SkipEvery leaves record i out: the k-th, 2k-th…
// record, counting from 1.
func skipped(o Options, i int) bool {
	return o.SkipEvery > 0 && (i+1)%o.SkipEvery == 0
}

// generator builds records. Its buffers are reused from record to record;
// it is not safe for concurrent use.
type generator struct {
	o   Options
	pcg rand.PCG
	rng *rand.Rand
	buf []byte
}

func newGenerator(o Options) *generator {
	g := &generator{o: o, buf: make([]byte, 0, 512)}
	g.rng = rand.New(&g.pcg)
	return g
}

// span is a byte range of generator.buf.
type span struct{ start, end int }

func (g *generator) mark(start int) span { return span{start, len(g.buf)} }

// build fills r with record i. The random draws happen in a fixed order
// whatever the record's defect, so that a defect changes only its own
// field.
func (g *generator) build(i int, r *record) {
	o := g.o
	g.pcg.Seed(draw(o.Seed, i, streamContentHi), draw(o.Seed, i, streamContentLo))
	rng := g.rng

	cat := &categories[rng.IntN(len(categories))]
	brand := brands[rng.IntN(len(brands))]
	adj := adjectives[rng.IntN(len(adjectives))]
	noun := cat.nouns[rng.IntN(len(cat.nouns))]
	series := byte('A' + rng.IntN(26))
	modelNo := 100 + rng.IntN(900)
	feature := features[rng.IntN(len(features))]
	hasGTIN := rng.IntN(10) < 8
	payload := rng.Int64N(1e11) // an EAN-13 is "4", these 11 digits and a check digit
	tier := priceTiers[rng.IntN(len(priceTiers))]
	cents := int64(tier.lo+rng.IntN(tier.hi-tier.lo))*100 + int64(priceEndings[rng.IntN(len(priceEndings))])
	currency := currencies[rng.IntN(len(currencies))]
	stock := rng.IntN(501)
	if rng.IntN(10) == 0 {
		stock = 0 // about a tenth sold out, beyond the 1/501 chance
	}
	nimages := 1 + rng.IntN(maxImages)
	color := colors[rng.IntN(len(colors))]
	size := sizes[rng.IntN(len(sizes))]

	if mutated(o, i) {
		cents += 1 + int64(draw(o.Seed, i, streamMutateDelta)%1000)
		if o.MutateName {
			modelNo++
		}
	}
	d := defectOf(o, i)

	g.buf = g.buf[:0]
	start := 0
	g.buf = append(g.buf, "SKU-"...)
	g.buf = appendPadded(g.buf, int64(i), 8)
	skuSpan := g.mark(start)

	var nameSpan span
	if d != defectNameMissing {
		start = len(g.buf)
		g.buf = append(append(append(append(append(append(append(g.buf,
			brand...), ' '), adj...), ' '), noun...), ' '), series)
		g.buf = strconv.AppendInt(g.buf, int64(modelNo), 10)
		nameSpan = g.mark(start)
	} else {
		brand = "" // YML would otherwise build the name from the vendor
	}

	start = len(g.buf)
	g.buf = append(append(append(append(append(append(append(g.buf,
		adj...), ' '), cat.noun...), " by "...), brandOrStore(brand)...), ". "...), feature...)
	descSpan := g.mark(start)

	var gtinSpan span
	if hasGTIN || d == defectGTINCheck {
		start = len(g.buf)
		g.buf = append(g.buf, '4')
		g.buf = appendPadded(g.buf, payload, 11)
		check := checkDigit(g.buf[start:])
		if d == defectGTINCheck {
			check = (check + 1 + byte(draw(o.Seed, i, streamDefect)>>32%9)) % 10
		}
		g.buf = append(g.buf, '0'+check)
		gtinSpan = g.mark(start)
	}

	var priceSpan span
	switch d {
	case defectPriceText, defectPriceNegative:
	default:
		start = len(g.buf)
		g.buf = strconv.AppendInt(g.buf, cents/100, 10)
		g.buf = append(g.buf, '.')
		g.buf = appendPadded(g.buf, cents%100, 2)
		priceSpan = g.mark(start)
	}

	start = len(g.buf)
	g.buf = append(g.buf, "https://shop.example/p/"...)
	g.buf = append(g.buf, g.buf[skuSpan.start:skuSpan.end]...)
	urlSpan := g.mark(start)

	var imageSpans [maxImages]span
	for k := range nimages {
		start = len(g.buf)
		g.buf = append(g.buf, "https://img.example/p/"...)
		g.buf = append(g.buf, g.buf[skuSpan.start:skuSpan.end]...)
		g.buf = append(g.buf, '/')
		g.buf = strconv.AppendInt(g.buf, int64(k+1), 10)
		g.buf = append(g.buf, ".jpg"...)
		imageSpans[k] = g.mark(start)
	}

	s := string(g.buf)
	sub := func(sp span) string { return s[sp.start:sp.end] }
	*r = record{
		sku:           sub(skuSpan),
		name:          sub(nameSpan),
		description:   sub(descSpan),
		brand:         brand,
		gtin:          sub(gtinSpan),
		price:         sub(priceSpan),
		priceIsNumber: true,
		currency:      currency,
		stock:         stock,
		cat:           cat,
		url:           sub(urlSpan),
		nimages:       nimages,
		color:         color,
		size:          size,
		defect:        d,
	}
	for k := range nimages {
		r.images[k] = sub(imageSpans[k])
	}
	switch d {
	case defectPriceText:
		r.price, r.priceIsNumber = "abc", false
	case defectPriceNegative:
		r.price = "-5"
	case defectCurrency:
		r.currency = "XYZ"
	case defectURL:
		r.url = "ftp://x"
	}
}

func brandOrStore(brand string) string {
	if brand == "" {
		return "Example Shop"
	}
	return brand
}

// appendPadded appends v in decimal, left-padded with zeros to width digits.
func appendPadded(b []byte, v int64, width int) []byte {
	var tmp [20]byte
	digits := strconv.AppendInt(tmp[:0], v, 10)
	for range width - len(digits) {
		b = append(b, '0')
	}
	return append(b, digits...)
}

// checkDigit computes the GS1 mod-10 check digit of the ASCII digits in
// payload: weights 3 and 1 alternate from the rightmost digit, and the check
// digit brings the weighted sum up to a multiple of 10.
func checkDigit(payload []byte) byte {
	sum, w := 0, 3
	for i := len(payload) - 1; i >= 0; i-- {
		sum += int(payload[i]-'0') * w
		w = 4 - w
	}
	return byte((10 - sum%10) % 10)
}
