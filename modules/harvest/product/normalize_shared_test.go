package product

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"contextworker/modules/harvest/feed"
)

// TestNormalizeSharedSlices checks that the category path and the images,
// which share one allocation, cannot overwrite each other.
func TestNormalizeSharedSlices(t *testing.T) {
	n := newNormalizer(t, Options{DefaultCurrency: "EUR"})
	p, err := n.Normalize(record{
		"sku": {"A"}, "name": {"B"}, "price": {"1"}, "category": {"X/Y"},
		"images": {"https://x.example/1.jpg https://x.example/2.jpg"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = append(p.CategoryPath, "Z")
	if want := []string{"https://x.example/1.jpg", "https://x.example/2.jpg"}; !slices.Equal(p.Images, want) {
		t.Errorf("Images = %q after appending to CategoryPath, want %q", p.Images, want)
	}
}

// TestNormalizeReusing normalises records one after another with one
// Scratch and checks each Product, and each reject, against Normalize's;
// that the Scratch's array is reused once it is large enough; and that the
// two slices in it cannot overwrite each other.
func TestNormalizeReusing(t *testing.T) {
	n := newNormalizer(t, Options{DefaultCurrency: "EUR"})
	var many []string
	for i := range 12 {
		many = append(many, fmt.Sprintf("https://x.example/%d.jpg", i))
	}
	recs := []record{
		{"sku": {"A"}, "name": {"B"}, "price": {"1"}, "category": {"X/Y/Z"},
			"images": {"https://x.example/1.jpg https://x.example/2.jpg"}},
		{"sku": {"C"}, "name": {"D"}, "price": {"2"}},
		{"sku": {"E"}, "name": {"F"}, "price": {"3"}, "images": {"https://x.example/3.jpg"}},
		{"sku": {"G"}, "name": {"H"}, "price": {"4"}, "category": {"Q"}},
		{"sku": {"I"}, "price": {"5"}, "category": {"R/S"}},
		{"sku": {"J"}, "name": {"K"}, "price": {"6"}, "category": {"1/2/3/4/5/6/7/8/9/10"},
			"images": {strings.Join(many, " ")}},
		{"sku": {"L"}, "name": {"M"}, "price": {"7"}, "category": {"T/U"},
			"images": {"https://x.example/4.jpg"}},
	}
	var s Scratch
	for i, rec := range recs {
		before := s.strs
		want, wantErr := n.Normalize(rec)
		got, err := n.NormalizeReusing(rec, &s)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("record %d: error %v, Normalize's %v", i, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d: %+v, Normalize's %+v", i, got, want)
		}
		if err == nil && got.Hash() != want.Hash() {
			t.Errorf("record %d: hash differs from Normalize's", i)
		}
		if used := len(got.CategoryPath) + len(got.Images); used > 0 && used <= cap(before) && &s.strs[:1][0] != &before[:1][0] {
			t.Errorf("record %d: a new array for %d strings, where the scratch holds %d", i, used, cap(before))
		}
		if len(got.CategoryPath) > 0 && len(got.Images) > 0 {
			images := slices.Clone(got.Images)
			_ = append(got.CategoryPath, "appended")
			if !slices.Equal(got.Images, images) {
				t.Errorf("record %d: Images = %q after appending to CategoryPath, want %q", i, got.Images, images)
			}
		}
	}
	if cap(s.strs) < 22 {
		t.Errorf("the scratch holds %d strings; the widest record needed 22", cap(s.strs))
	}
	if _, err := n.NormalizeReusing(nil, &s); err == nil {
		t.Error("a nil record was accepted")
	}
}

// TestNormalizeReusingPositioned: records of a CSV feed (Positioned
// sources) whose empty values move the other fields about, and whose
// header repeats a name, normalise with one Scratch, its positions kept
// from record to record, exactly as Normalize makes them without.
func TestNormalizeReusingPositioned(t *testing.T) {
	for _, header := range []string{
		"sku,name,description,brand,gtin,price,currency,stock,category,url,images",
		"sku,name,description,brand,gtin,price,currency,stock,category,url,images,name,price",
	} {
		t.Run(header, func(t *testing.T) {
			extra := strings.Repeat(",", strings.Count(header, ",")-10)
			rows := []string{
				"A1,Lamp,A lamp,Acme,4006381333931,9.99,EUR,3,Home/Light,https://x.example/a,https://x.example/a.jpg",
				"A2,,no name,Acme,,1.00,EUR,,Home,,",
				",Nameless,,,,2.00,EUR,1,,,",
				"A4,Chair,,,,3.50,,7,Home/Seat,https://x.example/c,",
				"A5,Desk,A desk,,4006381333931,,EUR,2,,,https://x.example/d.jpg https://x.example/e.jpg",
				"A6,Bed,,Zed,,12,USD,,Home/Sleep,,",
				"A7,Lamp,A lamp,Acme,4006381333931,9.99,EUR,3,Home/Light,https://x.example/a,https://x.example/a.jpg",
			}
			if extra != "" {
				rows[3] += ",Other chair,4.50"
				for i := range rows {
					if i != 3 {
						rows[i] += extra
					}
				}
				// The second name column is the 8th field of one record,
				// and of the next, whose first name column is filled: its
				// name is the first, not what is where the last one was.
				rows = append(rows, "A8,,d,b,,1.00,EUR,1,Home,,,Second,", "A9,First,d,b,,2.00,EUR,3,,,,Second,")
			}
			r, err := feed.Open(strings.NewReader(header+"\n"+strings.Join(rows, "\n")+"\n"), feed.Options{Format: feed.CSV})
			if err != nil {
				t.Fatal(err)
			}
			n := newNormalizer(t, Options{Format: "csv"})
			var s Scratch
			for i := 0; ; i++ {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) {
					if i != len(rows) {
						t.Fatalf("%d records of %d", i, len(rows))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				want, wantErr := n.Normalize(rec)
				got, err := n.NormalizeReusing(&rec, &s)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
					t.Errorf("record %d: %+v %v; Normalize's %+v %v", i+1, got, err, want, wantErr)
				}
			}
		})
	}
}

// TestNormalizeReusingAllocatesNothing: a typical CSV record (stock,
// category path, images, plain text) normalises with a warm Scratch
// without a single allocation: what a first load's producer does a million
// times.
func TestNormalizeReusingAllocatesNothing(t *testing.T) {
	const csv = "sku,name,description,brand,gtin,price,currency,stock,availability,category,url,images\n" +
		"A1,Desk Lamp,A lamp for the desk.,Acme,4006381333931,19.90,EUR,12,in_stock,Home > Light,https://x.example/a," +
		"https://x.example/a.jpg https://x.example/b.jpg\n"
	r, err := feed.Open(strings.NewReader(csv), feed.Options{Format: feed.CSV})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	n := newNormalizer(t, Options{Format: "csv"})
	var s Scratch
	want, err := n.Normalize(rec)
	if err != nil || want.Stock == nil || len(want.CategoryPath) != 2 || len(want.Images) != 2 {
		t.Fatalf("the record normalises to %+v, %v: not a typical product", want, err)
	}
	var got Product
	allocs := testing.AllocsPerRun(100, func() {
		got, err = n.NormalizeReusing(&rec, &s)
	})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v %v; Normalize's %+v", got, err, want)
	}
	if allocs != 0 {
		t.Errorf("%v allocations a record", allocs)
	}
}

// TestNormalizeReusingYMLParams: a YML offer's params, one of them given
// twice, become its sorted attributes in the Scratch's array, without an
// allocation once the Scratch is warm. The record's value walks its
// fields with Pairs, the pointer with PairAt: the same product.
func TestNormalizeReusingYMLParams(t *testing.T) {
	const yml = `<?xml version="1.0" encoding="UTF-8"?>
<yml_catalog date="2024-01-01 00:00"><shop><offers>
<offer id="A1" available="true"><name>Desk Lamp</name><price>19.90</price><currencyId>EUR</currencyId>` +
		`<param name="Weight">1 kg</param><param name="Colour">red</param><param name="Size">L</param>` +
		`<param name="Colour">red</param><param name="Material">oak</param><param name=" Size ">L</param></offer>
</offers></shop></yml_catalog>`
	r, err := feed.Open(strings.NewReader(yml), feed.Options{Format: feed.YML})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	n := newNormalizer(t, Options{Format: "yml"})
	want := Attributes{{"colour", "red"}, {"material", "oak"}, {"size", "L"}, {"weight", "1 kg"}}
	p, err := n.Normalize(rec)
	if err != nil || !reflect.DeepEqual(p.Attributes, want) {
		t.Fatalf("Normalize: attributes %v, %v; want %v", p.Attributes, err, want)
	}
	var s Scratch
	var got Product
	allocs := testing.AllocsPerRun(100, func() {
		got, err = n.NormalizeReusing(&rec, &s)
	})
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("%+v %v; Normalize's %+v", got, err, p)
	}
	if allocs != 0 {
		t.Errorf("%v allocations a record", allocs)
	}
	if len(s.attrs) != 0 || cap(s.attrs) == 0 || &s.attrs[:1][0] != &got.Attributes[0] {
		t.Errorf("the attributes do not share the Scratch's array")
	}
}
