package extract

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Citation is one citation found in a sentence.
type Citation struct {
	// SourceID names what is cited: "ref:3", "cite:smith-2023",
	// "doi:10.1000/xyz" or "url:https://…".
	SourceID string
	// Resolved says whether the citation points at something that can be
	// looked up: a numbered or author-year entry of the document's
	// reference list, a DOI of valid syntax (10.NNNN/…), or an http(s)
	// URL whose host is a domain name. Nothing is fetched: resolvable is
	// a property of the text, not a proof that the source exists.
	Resolved bool
	// Confidence is how much the citation backs its sentence: by kind
	// (DOI 0.9, URL 0.8, author-year 0.7, numbered 0.6) when resolved,
	// 0.2 when not.
	Confidence float64
}

var (
	numbered   = regexp.MustCompile(`\[(\d{1,4}(?:\s*[,–-]\s*\d{1,4})*)\]`)
	authorYear = regexp.MustCompile(`\(([A-Z][\p{L}'-]+)(?: et al\.?| and [A-Z][\p{L}'-]+| & [A-Z][\p{L}'-]+)?,? ((?:19|20)\d\d)[a-z]?\)`)
	doiRef     = regexp.MustCompile(`(?i)(?:\bdoi:\s*|https?://(?:dx\.)?doi\.org/)([^\s,;)\]]+)`)
	urlRef     = regexp.MustCompile(`https?://[^\s<>"\])]+`)
	doiSyntax  = regexp.MustCompile(`^10\.\d{4,9}/[-._;()/:A-Za-z0-9]+$`)
	hostSyntax = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	refEntry   = regexp.MustCompile(`(?m)^\s*(?:\[(\d{1,4})\]|(\d{1,4})\.)\s+\S`)
)

// maxCitationsPerSentence bounds the work a hostile sentence can cause.
const maxCitationsPerSentence = 32

// References is a document's reference list, parsed once.
type References struct {
	text    string
	numbers map[int]bool
}

// NewReferences parses refs (the text after a References heading,
// possibly empty).
func NewReferences(refs string) *References {
	return &References{text: refs, numbers: refNumbers(refs)}
}

// Citations returns the citations in sentence, resolved against refs (the
// document's reference list, possibly empty).
func Citations(sentence, refs string) []Citation {
	return NewReferences(refs).Citations(sentence)
}

// Citations returns the citations in sentence, resolved against r.
func (r *References) Citations(sentence string) []Citation {
	refs := r.text
	var out []Citation
	add := func(id string, resolved bool, conf float64) {
		if len(out) >= maxCitationsPerSentence {
			return
		}
		for _, c := range out {
			if c.SourceID == id {
				return
			}
		}
		if !resolved {
			conf = 0.2
		}
		out = append(out, Citation{SourceID: id, Resolved: resolved, Confidence: conf})
	}
	// Each pattern runs only on sentences holding its telltale character:
	// most sentences cite nothing, and the regexps are the extractor's cost.
	if strings.IndexByte(sentence, '[') >= 0 {
		for _, m := range numbered.FindAllStringSubmatch(sentence, maxCitationsPerSentence) {
			for _, n := range expandNumbers(m[1]) {
				add("ref:"+strconv.Itoa(n), r.numbers[n], 0.6)
			}
		}
	}
	if strings.IndexByte(sentence, '(') < 0 && strings.IndexByte(sentence, ':') < 0 {
		return out
	}
	for _, m := range authorYear.FindAllStringSubmatch(sentence, maxCitationsPerSentence) {
		ok := refs != "" && strings.Contains(refs, m[1]) && strings.Contains(refs, m[2])
		add("cite:"+strings.ToLower(m[1])+"-"+m[2], ok, 0.7)
	}
	dois := doiRef.FindAllStringSubmatchIndex(sentence, maxCitationsPerSentence)
	for _, m := range dois {
		d := strings.TrimRight(sentence[m[2]:m[3]], ".")
		add("doi:"+strings.ToLower(d), doiSyntax.MatchString(d), 0.9)
	}
	for _, loc := range urlRef.FindAllStringIndex(sentence, maxCitationsPerSentence) {
		if inside(loc, dois) {
			continue
		}
		raw := strings.TrimRight(sentence[loc[0]:loc[1]], ".,;:")
		u, err := url.Parse(raw)
		ok := err == nil && hostSyntax.MatchString(strings.ToLower(u.Hostname()))
		add("url:"+raw, ok, 0.8)
	}
	return out
}

func inside(loc []int, spans [][]int) bool {
	for _, s := range spans {
		if loc[0] >= s[0] && loc[0] < s[1] {
			return true
		}
	}
	return false
}

// refNumbers returns the numbers of the reference list's entries ("[3] …"
// or "3. …" at the start of a line).
func refNumbers(refs string) map[int]bool {
	out := map[int]bool{}
	// refEntry's matches, found by hand (the regexp was a tenth of the
	// extractor's time): leftmost first, each searched from the end of
	// the one before, at most 10000.
	for pos, found := 0, 0; pos <= len(refs) && found < 10000; {
		n, end, ok := refEntryAt(refs, pos)
		if !ok {
			// no match starts at pos: try the next line start
			i := strings.IndexByte(refs[pos:], '\n')
			if i < 0 {
				break
			}
			pos += i + 1
			continue
		}
		out[n] = true
		found++
		pos = end
	}
	return out
}

// refEntryAt matches refEntry, `(?m)^\s*(?:\[(\d{1,4})\]|(\d{1,4})\.)\s+\S`,
// at p: the entry's number and where the match ends.
func refEntryAt(s string, p int) (n, end int, ok bool) {
	if p > 0 && s[p-1] != '\n' {
		return 0, 0, false // ^ holds at line starts only
	}
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
	i := p
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	bracket := i < len(s) && s[i] == '['
	if bracket {
		i++
	}
	j := i
	for j < len(s) && j-i < 4 && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	closer := byte('.')
	if bracket {
		closer = ']'
	}
	if j == i || j >= len(s) || s[j] != closer {
		return 0, 0, false
	}
	n, _ = strconv.Atoi(s[i:j])
	k := j + 1
	for k < len(s) && isSpace(s[k]) {
		k++
	}
	if k == j+1 || k >= len(s) {
		return 0, 0, false
	}
	_, size := utf8.DecodeRuneInString(s[k:])
	return n, k + size, true
}

// expandNumbers turns "1, 3-5" into 1, 3, 4, 5; a range spans at most 50.
func expandNumbers(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.ReplaceAll(strings.TrimSpace(part), "–", "-"), "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a || b-a > 50 {
				b = a
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out
}
