package product

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Options configures a Normalizer.
type Options struct {
	// Mapping overrides DefaultMapping(Format) entry by entry, so a
	// supplier maps only the fields its feed names differently. Map a
	// field to Unmapped ("-") to ignore it. Nil means the defaults alone.
	Mapping Mapping
	// Format is the feed format ("yml", "csv", "xlsx", "json", "xml"...).
	// Only "yml" changes behaviour; see DefaultMapping.
	Format string
	// DefaultCurrency is used when neither the currency field nor the
	// price text names a currency. It must be an ISO 4217 code ("RUR" is
	// read as RUB); "" means none, and such records are rejected.
	DefaultCurrency string
	// CategorySeparator splits the category field into a path. When empty
	// it is chosen per record: ">" if the value contains one, else "/",
	// else "|"; a value with none of them is a one-level path.
	CategorySeparator string
}

// Normalizer turns feed records into Products. Build it with NewNormalizer;
// the zero value is not usable. A Normalizer is immutable, so one may serve
// many goroutines.
type Normalizer struct {
	fields          [numFields]string // feed field per canonical field; "" = unmapped
	attrs           []attrField       // mapped attributes, sorted by key
	yml             bool
	defaultCurrency string
	categorySep     string
	seed            uint64 // of SourceKey
}

type attrField struct{ key, feed string }

// NewNormalizer validates opts and returns a Normalizer for them.
func NewNormalizer(opts Options) (*Normalizer, error) {
	if err := opts.Mapping.Validate(); err != nil {
		return nil, fmt.Errorf("product: new normalizer: %w", err)
	}
	n := &Normalizer{yml: isYML(opts.Format), categorySep: opts.CategorySeparator}
	if opts.DefaultCurrency != "" {
		code, ok := lookupCurrency(opts.DefaultCurrency)
		if !ok {
			return nil, fmt.Errorf("product: new normalizer: default currency %q is not an active ISO 4217 code", opts.DefaultCurrency)
		}
		n.defaultCurrency = code
	}
	m := DefaultMapping(opts.Format)
	for k, v := range opts.Mapping {
		m[k] = v
	}
	for k, v := range m {
		if v == Unmapped {
			continue
		}
		if f, ok := lookupField(k); ok {
			n.fields[f] = v
			continue
		}
		n.attrs = append(n.attrs, attrField{attributeKey(strings.TrimPrefix(k, attributePrefix)), v})
	}
	slices.SortFunc(n.attrs, func(a, b attrField) int { return strings.Compare(a.key, b.key) })
	n.seed = n.sourceSeed()
	return n, nil
}

// MakesAttributes reports whether Normalize may give a Product attributes:
// only through the mapping's attributes and a YML offer's params. When it
// is false every Product it makes has none, and a loader may leave the
// column to its default.
func (n *Normalizer) MakesAttributes() bool { return len(n.attrs) > 0 || n.yml }

// Normalize turns one record into a Product, or returns a *Reject naming
// the first field, in declaration order of Product, that cannot be
// accepted. A zero price is accepted: whether to list such products is the
// caller's policy (see Decimal.IsZero). Normalize never panics.
func (n *Normalizer) Normalize(src Source) (Product, error) { return n.normalizeWith(src, nil) }

// Scratch is what NormalizeReusing reuses from one record to the next.
// The zero value is ready; a goroutine that normalises keeps its own.
type Scratch struct {
	// strs is the array the last Product's CategoryPath and Images share.
	strs []string
	// at is where each canonical field was in the last record (see
	// Positioned).
	at [numFields]int
	// stock is the last Product's Stock.
	stock int64
	// values holds the last record's images values (see Appender).
	values []string
	// keys caches attributeKey of the YML param names met so far (a feed
	// has a few dozen, repeated in every offer), up to maxCachedKeys.
	keys map[string]string
	// attrs is the array the last Product's Attributes share, kept while
	// it holds at most maxKeptAttributes.
	attrs Attributes
}

// maxCachedKeys bounds Scratch.keys, and maxCachedKeyLen the names it
// keeps: a feed with more or longer names is hostile or odd, and its
// names are then worked out each time.
const (
	maxCachedKeys   = 1024
	maxCachedKeyLen = 64
	// maxKeptAttributes bounds the Scratch.attrs array kept for the next
	// record, so that one record with thousands of attributes does not
	// hold its array for the rest of the feed.
	maxKeptAttributes = 256
)

// NormalizeReusing is Normalize for a caller that is done with each
// Product before it normalises the next record with s. The Product's
// CategoryPath and Images share s's array (grown when too short), so do
// its Attributes another, its Stock points into s, an Appender source's images values go into s, and a
// Positioned source's fields are looked for first where they were in the
// record before. The Product's strings are its own, as Normalize's are. A
// first load's producer normalises a typical record without an allocation
// this way.
func (n *Normalizer) NormalizeReusing(src Source, s *Scratch) (Product, error) {
	return n.normalizeWith(src, s)
}

// normalizeWith is Normalize with s, or without one (nil).
func (n *Normalizer) normalizeWith(src Source, s *Scratch) (Product, error) {
	if src == nil {
		return Product{}, reject("record", "is nil")
	}
	var p Product
	if r := n.normalize(src, &p, s); r != nil {
		return Product{}, r
	}
	return p, nil
}

// lookup reads a record's canonical fields: with pos and at, a Positioned
// source and the positions to try first.
type lookup struct {
	src Source
	pos Positioned
	at  *[numFields]int
}

func (n *Normalizer) get(in lookup, f field) string {
	name := n.fields[f]
	if name == "" {
		return ""
	}
	if in.at != nil {
		return in.pos.GetAt(name, &in.at[f])
	}
	return in.src.Get(name)
}

// normalize fills p from src. With s, the category path and the images go
// into its array, and a Positioned src is searched from its positions;
// without, into a new array.
func (n *Normalizer) normalize(src Source, p *Product, s *Scratch) *Reject {
	in := lookup{src: src}
	if s != nil {
		if pos, ok := src.(Positioned); ok {
			in.pos, in.at = pos, &s.at
		}
	}
	var reason string
	if p.SKU, reason = normalizeSKU(n.get(in, fieldSKU)); reason != "" {
		return reject("sku", reason)
	}

	p.Name = cleanText(n.get(in, fieldName))
	if p.Name == "" && n.yml {
		p.Name = ymlName(src)
	}
	if p.Name == "" {
		return reject("name", "missing")
	}
	p.Name = truncateRunes(p.Name, MaxNameLen)
	p.Description = truncateRunes(cleanText(htmlToText(n.get(in, fieldDescription))), MaxDescriptionLen)
	p.Brand = truncateRunes(cleanText(n.get(in, fieldBrand)), MaxBrandLen)

	if g := trimSpace(n.get(in, fieldGTIN)); g != "" {
		if p.GTIN, reason = normalizeGTIN(g); reason != "" {
			return reject("gtin", reason)
		}
	}

	priceText := n.get(in, fieldPrice)
	if trimSpace(priceText) == "" {
		return reject("price", "missing")
	}
	price, hint, err := parsePrice(priceText)
	if err != nil {
		return reject("price", err.Error())
	}
	p.Price = price
	if p.Currency, reason = n.currency(n.get(in, fieldCurrency), hint); reason != "" {
		return reject("currency", reason)
	}

	stockText := trimSpace(n.get(in, fieldStock))
	if stockText == "" && n.yml {
		stockText = trimSpace(src.Get("stock"))
	}
	if stockText != "" {
		v, reason := parseStock(stockText)
		if reason != "" {
			return reject("stock", reason)
		}
		if s != nil {
			s.stock = v
			p.Stock = &s.stock
		} else {
			p.Stock = new(int64)
			*p.Stock = v
		}
	}
	if p.Availability, reason = parseAvailability(n.get(in, fieldAvailability), p.Stock); reason != "" {
		return reject("availability", reason)
	}

	// The category path and the images are gathered in stack buffers and
	// then share one allocation (see ownStrings).
	var catBuf, imgBuf [8]string
	category := appendCategory(catBuf[:0], n.get(in, fieldCategory), n.categorySep)

	if u := n.get(in, fieldURL); trimSpace(u) != "" {
		if p.URL, reason = normalizeURL(u); reason != "" {
			return reject("url", reason)
		}
	}
	images := imgBuf[:0]
	if n.fields[fieldImages] != "" {
		var r *Reject
		var values []string
		if a, ok := src.(Appender); ok && s != nil {
			s.values = a.AppendAll(s.values[:0], n.fields[fieldImages])
			values = s.values
		} else {
			values = src.All(n.fields[fieldImages])
		}
		if images, r = appendImages(images, values); r != nil {
			return r
		}
	}
	if s == nil {
		p.CategoryPath, p.Images = ownStrings(category, images)
	} else {
		s.strs, p.CategoryPath, p.Images = reuseStrings(s.strs, category, images)
	}
	p.Attributes = n.attributes(src, s)
	return nil
}

// ownStrings copies a and b into one new array and returns the copies, so
// that two short slices built in stack buffers cost one allocation.
func ownStrings(a, b []string) ([]string, []string) {
	if len(a)+len(b) == 0 {
		return nil, nil
	}
	_, ca, cb := reuseStrings(make([]string, 0, len(a)+len(b)), a, b)
	return ca, cb
}

// reuseStrings copies a and b into buf's array, grown when too short, and
// returns it and the copies. A copy is nil when empty, and its capacity is
// its length, so that appending to one cannot overwrite the other.
func reuseStrings(buf, a, b []string) ([]string, []string, []string) {
	buf = append(append(buf[:0], a...), b...)
	var ca, cb []string
	if len(a) > 0 {
		ca = buf[:len(a):len(a)]
	}
	if len(b) > 0 {
		cb = buf[len(a):len(buf):len(buf)]
	}
	return buf, ca, cb
}

// normalizeSKU trims s and checks it. A SKU is a key, so it is refused
// rather than repaired: replacing bytes or truncating could merge two
// products into one row.
func normalizeSKU(s string) (string, string) {
	s = trimSpace(s)
	if s == "" {
		return "", "missing"
	}
	if printableASCII(s) {
		// Valid UTF-8 in NFC without control characters, one byte per
		// character: the checks below would pass it unchanged.
		if len(s) > MaxSKULen {
			return "", quote(s) + " is longer than " + strconv.Itoa(MaxSKULen) + " characters"
		}
		return s, ""
	}
	if !utf8.ValidString(s) {
		return "", quote(s) + " is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", fmt.Sprintf("%s contains control character %U", quote(s), r)
		}
	}
	s = norm.NFC.String(s)
	if runeCountAbove(s, MaxSKULen) {
		return "", quote(s) + " is longer than " + strconv.Itoa(MaxSKULen) + " characters"
	}
	return s, ""
}

// printableASCII reports whether s holds only the characters ' ' to '~'.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ymlName builds the name of a YML "vendor.model" offer, which has no
// <name>: "<typePrefix> <vendor> <model>".
func ymlName(src Source) string {
	parts := [3]string{cleanText(src.Get("typePrefix")), cleanText(src.Get("vendor")), cleanText(src.Get("model"))}
	if parts[1] == "" && parts[2] == "" {
		return "" // a type prefix alone does not name a product
	}
	var b strings.Builder
	for _, s := range parts {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// currency picks the currency: the currency field, else the price text's
// hint, else the default.
func (n *Normalizer) currency(field, hint string) (string, string) {
	if field = trimSpace(field); field != "" {
		code, ok := lookupCurrency(field)
		if !ok {
			return "", quote(field) + " is not an active ISO 4217 code"
		}
		return code, ""
	}
	switch {
	case hint != "":
		return hint, ""
	case n.defaultCurrency != "":
		return n.defaultCurrency, ""
	}
	return "", "missing"
}

// parseStock parses a stock count: a non-negative whole number, optionally
// written with a zero fraction ("12.0") as spreadsheets export it.
func parseStock(s string) (int64, string) {
	if v, ok := parseSmallUint(s); ok {
		return v, ""
	}
	t := strings.TrimPrefix(s, "+")
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "−") {
		return 0, quote(s) + " is negative"
	}
	if i := strings.IndexAny(t, ".,"); i >= 0 {
		frac := t[i+1:]
		t = t[:i]
		for j := 0; j < len(frac); j++ {
			if frac[j] < '0' || frac[j] > '9' {
				return 0, quote(s) + " is not an integer"
			}
			if frac[j] != '0' {
				return 0, quote(s) + " is not a whole number"
			}
		}
	}
	if t == "" {
		return 0, quote(s) + " is not an integer"
	}
	var v int64
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, quote(s) + " is not an integer"
		}
		if v > (1<<63-1-int64(c-'0'))/10 {
			return 0, quote(s) + " is too large"
		}
		v = v*10 + int64(c-'0')
	}
	return v, ""
}

// parseSmallUint parses s if it is 1 to 18 ASCII digits, which cannot
// overflow an int64: the common case of parseStock, without its checks.
func parseSmallUint(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseAvailability reads the availability field; when it is empty the
// state follows from the stock count.
func parseAvailability(s string, stock *int64) (Availability, string) {
	t := trimSpace(s)
	if t == "" {
		switch {
		case stock == nil:
			return Unknown, ""
		case *stock > 0:
			return InStock, ""
		default:
			return OutOfStock, ""
		}
	}
	switch Availability(t) { // as we store them: the common spelling
	case InStock, OutOfStock, Preorder:
		return Availability(t), ""
	}
	key := strings.ToLower(t)
	for _, prefix := range [...]string{"https://schema.org/", "http://schema.org/"} {
		key = strings.TrimPrefix(key, prefix)
	}
	if strings.ContainsAny(key, "_-") {
		// Every known value is short: spell it with spaces on the stack.
		var buf [32]byte
		if len(key) <= len(buf) {
			b := buf[:len(key)]
			for i := range len(key) {
				if b[i] = key[i]; b[i] == '_' || b[i] == '-' {
					b[i] = ' '
				}
			}
			return availabilityOf(string(b), s) // no allocation: only compared
		}
		key = strings.Map(func(r rune) rune {
			if r == '_' || r == '-' {
				return ' '
			}
			return r
		}, key)
	}
	return availabilityOf(key, s)
}

// availabilityOf maps a lower-case availability key (separators read as
// spaces) to its state; s is the field as given, for the reason.
func availabilityOf(key, s string) (Availability, string) {
	switch key {
	case "true", "yes", "1", "in stock", "instock", "available", "в наличии", "есть":
		return InStock, ""
	case "false", "no", "0", "out of stock", "outofstock", "oos", "sold out", "soldout", "нет", "нет в наличии":
		return OutOfStock, ""
	case "preorder", "pre order", "backorder", "back order", "под заказ":
		return Preorder, ""
	}
	return "", quote(s) + " is not an availability (want in_stock, out_of_stock or preorder)"
}

// splitCategory splits a category value into its path segments; it returns
// nil when there are none.
func splitCategory(s, sep string) []string { return appendCategory(nil, s, sep) }

// appendCategory appends the path segments of the category value s, split
// at sep or, when sep is empty, at the separator the value uses, to dst.
func appendCategory(dst []string, s, sep string) []string {
	if trimSpace(s) == "" {
		return dst
	}
	if sep == "" {
		switch {
		case strings.IndexByte(s, '>') >= 0:
			sep = ">"
		case strings.IndexByte(s, '/') >= 0:
			sep = "/"
		case strings.IndexByte(s, '|') >= 0:
			sep = "|"
		default:
			return append(dst, cleanText(s))
		}
	}
	for more := true; more; {
		var part string
		part, s, more = strings.Cut(s, sep)
		if seg := cleanText(part); seg != "" {
			dst = append(dst, seg)
		}
	}
	return dst
}

// appendImages appends to dst the image URLs in the image field's values,
// without repeats, refusing the record on the first URL that is not
// absolute http(s). The index in the Reject counts every URL found, in
// order, before de-duplication.
func appendImages(dst []string, values []string) ([]string, *Reject) {
	base := len(dst)
	for _, v := range values {
		dst = splitImages(dst, v)
	}
	images := dst[base:]
	out := images[:0]
	var seen map[string]struct{} // only for long lists, where a scan would be quadratic
	if len(images) > 32 {
		seen = make(map[string]struct{}, len(images))
	}
	for i, img := range images {
		if _, reason := checkHTTPURL(img); reason != "" {
			return dst, reject("images["+strconv.Itoa(i)+"]", reason)
		}
		if seen != nil {
			if _, dup := seen[img]; dup {
				continue
			}
			seen[img] = struct{}{}
		} else if slices.Contains(out, img) {
			continue
		}
		out = append(out, img)
	}
	return dst[:base+len(out)], nil
}

// attributes collects the mapped attributes and, for YML, the params. A
// key given by the mapping takes no params. Repeated values of one key (a
// YML offer may list two colours) are joined with ", ", without repeats.
func (n *Normalizer) attributes(src Source, s *Scratch) Attributes {
	var attrs Attributes
	if s != nil {
		attrs = s.attrs[:0]
	}
	for _, a := range n.attrs {
		for _, v := range src.All(a.feed) {
			attrs = appendAttribute(attrs, a.key, v)
		}
	}
	if e, ok := src.(Enumerator); ok && n.yml {
		attrs = n.appendParams(attrs, e, s)
	}
	if s != nil && cap(attrs) <= maxKeptAttributes {
		s.attrs = attrs[:0]
	}
	return finishAttributes(attrs)
}

// appendParams appends the YML params of e that the mapping does not name
// to attrs and returns attrs. s, when not nil, caches the params'
// attribute keys.
func (n *Normalizer) appendParams(attrs Attributes, e Enumerator, s *Scratch) Attributes {
	ix, ok := e.(Indexed)
	if !ok {
		return n.appendPairs(attrs, e, s)
	}
	for i := range ix.NumPairs() {
		name, v := ix.PairAt(i)
		attrs = n.appendParam(attrs, name, v, s)
	}
	return attrs
}

// appendPairs is appendParams for an Enumerator that is not Indexed. (It
// is apart because the loop body captures attrs, which then costs an
// allocation even on appendParams' other path.)
func (n *Normalizer) appendPairs(attrs Attributes, e Enumerator, s *Scratch) Attributes {
	for name, v := range e.Pairs() {
		attrs = n.appendParam(attrs, name, v, s)
	}
	return attrs
}

// appendParam appends the field name's value v to attrs when name is a
// YML param that the mapping does not name.
func (n *Normalizer) appendParam(attrs Attributes, name, v string, s *Scratch) Attributes {
	rest, ok := strings.CutPrefix(name, ymlParamPrefix)
	if !ok {
		return attrs
	}
	key := s.attributeKey(rest)
	if _, mapped := slices.BinarySearchFunc(n.attrs, key, func(a attrField, k string) int { return strings.Compare(a.key, k) }); mapped {
		return attrs
	}
	return appendAttribute(attrs, key, v)
}

// attributeKey is attributeKey(name), from s's cache when it has it (a
// nil s has none). Lower-casing and normalising a param's name was a
// tenth of a YML offer's normalising.
func (s *Scratch) attributeKey(name string) string {
	if s == nil {
		return attributeKey(name)
	}
	if k, ok := s.keys[name]; ok {
		return k
	}
	k := attributeKey(name)
	if len(s.keys) < maxCachedKeys && len(name) <= maxCachedKeyLen {
		if s.keys == nil {
			s.keys = make(map[string]string)
		}
		s.keys[strings.Clone(name)] = strings.Clone(k)
	}
	return k
}

// joinValue appends v to the attribute value cur unless cur already lists
// it. Once cur is certainly longer than MaxAttributeLen it stops growing,
// which bounds the work a record with thousands of values can cause.
func joinValue(cur, v string) string {
	switch {
	case cur == "":
		return v
	case len(cur) > utf8.UTFMax*MaxAttributeLen:
		return cur
	}
	for part := range strings.SplitSeq(cur, ", ") {
		if part == v {
			return cur
		}
	}
	return cur + ", " + v
}
