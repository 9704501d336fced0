package feed

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Yandex Market Language (YML) is XML with a fixed shape:
//
//	<yml_catalog><shop>
//	  <categories><category id="2" parentId="1">Phones</category>…</categories>
//	  <offers><offer id="7" available="true"><name>…</name><param name="Weight" unit="kg">10</param>…</offer>…</offers>
//	</shop></yml_catalog>
//
// Every <offer> is a record read like an XML record, plus: <param> becomes
// "param:<name>" with its unit appended to the value, <description> keeps
// any markup inside it as text, and "categoryPath" names the offer's
// category from the root down. The category tree is the only state kept
// across records; it grows with the catalogue's categories, not its offers.

// maxCategories bounds the category tree against hostile feeds; real
// catalogues have thousands.
const maxCategories = 1 << 20

// maxCategoryDepth bounds a category path; deeper chains are broken data.
const maxCategoryDepth = 64

// ymlState is what a YML reader adds to an XML reader.
type ymlState struct {
	cats  map[string]ymlCategory
	paths pathCache // categoryPath by category id, built lazily
	// tree is a copy of cats for the offers cut out for Finish, made
	// when the first is handed out, and again should cats change after
	// (dirty). It is not changed once made: Finish reads it on any
	// goroutine. xmlSplit stops cutting offers at the first category
	// after one, so it is copied once or twice per feed.
	tree  *ymlTree
	dirty bool
	// shared: cats is a ymlTree's, which Finish reads on other
	// goroutines (finishSlow's reader): never to be changed.
	shared bool
}

type ymlCategory struct{ name, parent string }

// ymlTree is a category tree no one changes. digest covers all of it
// (treeDigest): offers cut with trees of equal digests finish alike.
type ymlTree struct {
	cats   map[string]ymlCategory
	digest uint64
}

// treeDigest is a digest of a category tree: its categories in id order.
func treeDigest(cats map[string]ymlCategory) uint64 {
	d := xxhash.New()
	var b []byte
	for _, id := range slices.Sorted(maps.Keys(cats)) {
		c := cats[id]
		b = appendLenStr(appendLenStr(appendLenStr(b[:0], id), c.name), c.parent)
		d.Write(b) //nolint:errcheck // a Digest's Write never fails
	}
	return d.Sum64()
}

// appendLenStr appends s to b with its length before it.
func appendLenStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func newYMLState() *ymlState {
	return &ymlState{cats: make(map[string]ymlCategory)}
}

// pathCache holds category paths by category id, up to maxPathCacheBytes
// of them: each path of a hostile tree can be maxCategoryDepth names of
// a field's size. Past that, paths are made again for each offer.
type pathCache struct {
	m     map[string]string
	bytes int
}

const maxPathCacheBytes = 16 << 20

func (c *pathCache) reset() { clear(c.m); c.bytes = 0 }

func newYMLReader(r io.Reader, opts Options, decoded bool) *xmlReader {
	return newXMLSplitReader(r, opts, decoded, "offer", nil, newYMLState())
}

// frozen returns the category tree as it is now, for Finish.
func (y *ymlState) frozen() *ymlTree {
	if y.tree == nil || y.dirty {
		y.tree = &ymlTree{cats: maps.Clone(y.cats), digest: treeDigest(y.cats)}
		y.dirty = false
	}
	return y.tree
}

// child applies the YML rules to a direct child of an offer. It reports
// whether the child's attributes are consumed and must not become fields.
func (y *ymlState) child(f *xmlFrame, t xml.StartElement) bool {
	switch t.Name.Local {
	case "param":
		f.param = true
		for _, a := range t.Attr {
			switch a.Name.Local {
			case "name":
				f.paramName = clean(a.Value, true)
			case "unit":
				f.unit = clean(a.Value, true)
			}
		}
		return true
	case "description":
		f.opaque = 1
	}
	return false
}

// param adds the field of a <param> whose text is v.
func (y *ymlState) param(fields []Field, names *nameCache, f *xmlFrame, v string) []Field {
	name := "param"
	if f.paramName != "" {
		name = names.join("param", ":", f.paramName)
	}
	if f.unit != "" {
		v += " " + f.unit
	}
	return append(fields, Field{Name: name, Value: v})
}

// readCategory records one <category> of the tree.
func (x *xmlReader) readCategory(start xml.StartElement) error {
	var id, parent string
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "id":
			id = clean(a.Value, true)
		case "parentId":
			parent = clean(a.Value, true)
		}
	}
	x.own = x.own[:0]
	depth := 0
	for {
		tok, err := x.dec.Token()
		if err != nil {
			return x.fail(fmt.Sprintf("category %q", id), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > x.maxDepth {
				return malformed(x.op, fmt.Sprintf("category %q", id), fmt.Sprintf("nested deeper than %d elements (Options.MaxDepth)", x.maxDepth))
			}
		case xml.CharData:
			x.own = append(x.own, t...)
		case xml.EndElement:
			if depth > 0 {
				depth--
				break
			}
			// The category tree is shared by every offer, so a broken
			// category fails the feed rather than one offer.
			where := fmt.Sprintf("category %q", id)
			if n, at := x.in.takeBad(); n > 0 {
				return malformed(x.op, where, fmt.Sprintf("invalid UTF-8 at byte %d; set the supplier's encoding", at+x.shift))
			}
			if n, size := x.in.takeOver(); n > 0 {
				return malformed(x.op, where, fmt.Sprintf("the name is %d bytes, over the limit of %d (Options.MaxFieldBytes)", size, x.maxField))
			}
			x.yml.add(id, parent, clean(string(bytes.TrimSpace(x.own)), false))
			return nil
		}
	}
}

func (y *ymlState) add(id, parent, name string) {
	if id == "" || len(y.cats) >= maxCategories || y.shared {
		return
	}
	y.cats[id] = ymlCategory{name: name, parent: parent}
	y.dirty = true
	// Categories normally precede offers; if one arrives late, paths
	// built so far may be stale.
	y.paths.reset()
}

// categoryPath adds "categoryPath" for the offer's first categoryId, when
// that category is in cats; paths caches the paths of cats.
func categoryPath(fields []Field, cats map[string]ymlCategory, paths *pathCache) []Field {
	if len(cats) == 0 {
		return fields
	}
	for _, f := range fields {
		if f.Name == "categoryId" {
			if p := pathOf(f.Value, cats, paths); p != "" {
				fields = append(fields, Field{Name: "categoryPath", Value: p})
			}
			break
		}
	}
	return fields
}

// pathOf returns the names from the root category down to id joined with
// " > ". Broken trees end the path where the chain breaks or loops.
func pathOf(id string, cats map[string]ymlCategory, paths *pathCache) string {
	if p, ok := paths.m[id]; ok {
		return p
	}
	if _, ok := cats[id]; !ok {
		return ""
	}
	var ids, names []string
	for cur := id; cur != "" && len(ids) < maxCategoryDepth && !slices.Contains(ids, cur); {
		c, ok := cats[cur]
		if !ok {
			break
		}
		ids = append(ids, cur)
		if c.name != "" {
			names = append(names, c.name)
		}
		cur = c.parent
	}
	slices.Reverse(names)
	p := strings.Join(names, " > ")
	if n := len(id) + len(p); paths.bytes+n <= maxPathCacheBytes {
		if paths.m == nil {
			paths.m = make(map[string]string)
		}
		paths.m[id] = p
		paths.bytes += n
	}
	return p
}
