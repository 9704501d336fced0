package product

import (
	"strings"
)

// activeCurrencies holds the ISO 4217 alpha codes a price may be quoted in,
// sorted so that a reader finds a code at a glance (currencyIndex finds
// them for lookups). It is the ISO list of active codes without XTS
// (testing) and XXX (no currency), which cannot price a product, plus codes
// withdrawn since 2021 whose amounts still turn up in supplier feeds (ANG,
// BGN, CUC, HRK, SLL, ZWL): refusing them would drop records whose price is
// still meaningful.
var activeCurrencies = [...]string{
	"AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN",
	"BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV",
	"BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF",
	"CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE",
	"CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD",
	"FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD",
	"HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK",
	"JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
	"KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL",
	"MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN",
	"MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR",
	"PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
	"RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
	"SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS",
	"TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD",
	"USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST",
	"XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR",
	"XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
	"ZWL",
}

// currencyAliases maps currency symbols and non-ISO codes, compared without
// regard to case, to ISO codes. "$" is taken as USD and "¥" is left out
// (JPY or CNY?), because a guess there would silently misprice.
var currencyAliases = [...]struct{ alias, code string }{
	{"$", "USD"}, {"US$", "USD"}, {"€", "EUR"}, {"£", "GBP"},
	{"RUR", "RUB"}, // Yandex Market feeds still use the pre-1998 code
	{"₽", "RUB"}, {"руб", "RUB"}, {"руб.", "RUB"}, {"р.", "RUB"}, {"р", "RUB"},
	{"₴", "UAH"}, {"грн", "UAH"}, {"грн.", "UAH"},
	{"₸", "KZT"}, {"₹", "INR"}, {"₺", "TRY"}, {"zł", "PLN"}, {"Kč", "CZK"},
}

// maxAliasLen is the byte length of the longest alias, "руб.", so that
// longer text skips the alias scan.
const maxAliasLen = 7

// IsCurrency reports whether code is an upper-case ISO 4217 code that
// Normalize accepts.
func IsCurrency(code string) bool {
	_, ok := findCurrency(code, false)
	return ok
}

// lookupCurrency resolves a currency as written in a feed (a code in any
// case, "RUR", or a symbol such as "€") to its ISO code. The returned string
// is taken from the tables, so a lookup never allocates.
func lookupCurrency(s string) (string, bool) {
	s = trimSpace(s)
	if code, ok := findCurrency(s, true); ok {
		return code, true
	}
	if len(s) > maxAliasLen {
		return "", false
	}
	for _, a := range currencyAliases {
		if s == a.alias || strings.EqualFold(s, a.alias) {
			return a.code, true
		}
	}
	return "", false
}

// findCurrency finds s in activeCurrencies through currencyIndex,
// optionally folding ASCII lower case to upper.
func findCurrency(s string, fold bool) (string, bool) {
	if len(s) != 3 {
		return "", false
	}
	n := 0
	for i := 0; i < 3; i++ {
		c := s[i]
		if fold && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return "", false
		}
		n = n*26 + int(c-'A')
	}
	if i := currencyIndex[n]; i > 0 {
		return activeCurrencies[i-1], true
	}
	return "", false
}

// currencyIndex maps every three-letter upper-case code, read as a number
// in base 26, to 1 + its index in activeCurrencies, or to 0 when it is not
// there. Every record looks its currency up: a binary search compared
// strings eight times a record, 1.5% of a first load's worker CPU, where
// this is one read of a 17 KiB table.
var currencyIndex = func() *[26 * 26 * 26]uint8 {
	var t [26 * 26 * 26]uint8
	for i, c := range activeCurrencies {
		t[(int(c[0]-'A')*26+int(c[1]-'A'))*26+int(c[2]-'A')] = uint8(i + 1)
	}
	return &t
}()

// An index into activeCurrencies, plus one, fits currencyIndex's uint8:
// this fails to compile when the list outgrows it.
var _ [255 - len(activeCurrencies)]struct{}
