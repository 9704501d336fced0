package feedgen

import (
	"bufio"
	"strconv"
)

const xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// xmlEncoder writes <products><product>…</product>…</products>, one child
// element per canonical field. Images repeat <images> directly under
// <product> because the feed reader names nested children "images.image",
// while repeated children keep the name "images" the default mapping wants.
type xmlEncoder struct {
	w   *bufio.Writer
	buf []byte
}

func (e *xmlEncoder) begin() error {
	_, err := e.w.WriteString(xmlDeclaration + "<products>\n")
	return err
}

func (e *xmlEncoder) record(r *record) error {
	b := append(e.buf[:0], "<product>"...)
	b = appendElement(b, "sku", r.sku)
	b = appendElement(b, "name", r.name)
	b = appendElement(b, "description", r.description)
	b = appendElement(b, "brand", r.brand)
	b = appendElement(b, "gtin", r.gtin)
	b = appendElement(b, "price", r.price)
	b = appendElement(b, "currency", r.currency)
	b = strconv.AppendInt(append(b, "<stock>"...), int64(r.stock), 10)
	b = append(b, "</stock>"...)
	b = appendElement(b, "availability", r.availability())
	b = appendElement(b, "category", r.cat.path)
	b = appendElement(b, "url", r.url)
	for _, img := range r.images[:r.nimages] {
		b = appendElement(b, "images", img)
	}
	b = appendElement(b, "color", r.color)
	b = appendElement(b, "size", r.size)
	b = append(b, "</product>\n"...)
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *xmlEncoder) end() error {
	_, err := e.w.WriteString("</products>\n")
	return err
}

// appendElement appends <name>value</name>, or nothing for an empty value.
func appendElement(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(append(append(b, '<'), name...), '>')
	b = appendXMLText(b, value)
	return append(append(append(b, "</"...), name...), '>')
}

// ymlDate is the catalogue date. It is fixed, not the clock, so that output
// stays a function of Options.
const ymlDate = "2024-01-01 00:00"

// ymlEncoder writes a Yandex Market Language catalogue: the shop header, the
// whole (small, fixed) category tree, then one <offer> per record, whose id
// is the SKU and whose categoryId the reader resolves to the category path.
type ymlEncoder struct {
	w   *bufio.Writer
	buf []byte
}

func (e *ymlEncoder) begin() error {
	b := append(e.buf[:0], xmlDeclaration...)
	b = append(b, `<yml_catalog date="`+ymlDate+`">`+"\n<shop>\n"...)
	b = append(b, "<name>Example Shop</name>\n<company>Example Shop Ltd</company>\n<url>https://shop.example/</url>\n"...)
	b = append(b, `<currencies><currency id="EUR" rate="1"/><currency id="USD" rate="0.92"/><currency id="GBP" rate="1.17"/></currencies>`+"\n"...)
	b = append(b, "<categories>\n"...)
	for _, t := range topCategories {
		b = strconv.AppendInt(append(b, `<category id="`...), int64(t.id), 10)
		b = appendXMLText(append(b, `">`...), t.name)
		b = append(b, "</category>\n"...)
	}
	for i := range categories {
		c := &categories[i]
		b = strconv.AppendInt(append(b, `<category id="`...), int64(c.id), 10)
		b = strconv.AppendInt(append(b, `" parentId="`...), int64(c.parent), 10)
		b = appendXMLText(append(b, `">`...), c.leaf)
		b = append(b, "</category>\n"...)
	}
	b = append(b, "</categories>\n<offers>\n"...)
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *ymlEncoder) record(r *record) error {
	b := appendXMLText(append(e.buf[:0], `<offer id="`...), r.sku)
	if r.inStock() {
		b = append(b, `" available="true">`...)
	} else {
		b = append(b, `" available="false">`...)
	}
	b = appendElement(b, "url", r.url)
	b = appendElement(b, "price", r.price)
	b = appendElement(b, "currencyId", r.currency)
	b = strconv.AppendInt(append(b, "<categoryId>"...), int64(r.cat.id), 10)
	b = append(b, "</categoryId>"...)
	for _, img := range r.images[:r.nimages] {
		b = appendElement(b, "picture", img)
	}
	b = appendElement(b, "vendor", r.brand)
	b = appendElement(b, "name", r.name)
	b = appendElement(b, "description", r.description)
	b = appendElement(b, "barcode", r.gtin)
	b = strconv.AppendInt(append(b, "<count>"...), int64(r.stock), 10)
	b = append(b, "</count>"...)
	b = appendXMLText(append(b, `<param name="Color">`...), r.color)
	b = appendXMLText(append(b, `</param><param name="Size">`...), r.size)
	b = append(b, "</param></offer>\n"...)
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *ymlEncoder) end() error {
	_, err := e.w.WriteString("</offers>\n</shop>\n</yml_catalog>\n")
	return err
}
