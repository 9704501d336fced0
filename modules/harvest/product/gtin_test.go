package product

import "testing"

func TestNormalizeGTIN(t *testing.T) {
	tests := []struct {
		name, in, want, wantReason string
	}{
		{"EAN-8", "96385074", "96385074", ""},
		{"UPC-A", "036000291452", "036000291452", ""},
		{"EAN-13", "4006381333931", "4006381333931", ""},
		{"GTIN-14", "10012345678902", "10012345678902", ""},
		{"spaces and dashes removed", "400-6381 333931", "4006381333931", ""},
		{"no-break space removed", "400\u00a06381333931", "4006381333931", ""},
		{"bad check digit", "4006381333937", "", "check digit is 7, want 1"},
		{"bad check digit EAN-8", "96385070", "", "check digit is 0, want 4"},
		{"too short", "1234567", "", `"1234567" has 7 digits, want 8, 12, 13 or 14`},
		{"eleven digits", "03600029145", "", `"03600029145" has 11 digits, want 8, 12, 13 or 14`},
		{"too long", "123456789012345", "", `"123456789012345" has 15 digits, want 8, 12, 13 or 14`},
		{"letters", "40063813339A1", "", `"40063813339A1" contains a character other than digits, spaces and dashes`},
		{"all zeros", "0000000000000", "", `"0000000000000" is all zeros`},
		{"only dashes", "---", "", `"---" has 0 digits, want 8, 12, 13 or 14`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := normalizeGTIN(tt.in)
			if got != tt.want || reason != tt.wantReason {
				t.Errorf("normalizeGTIN(%q) = %q, %q; want %q, %q", tt.in, got, reason, tt.want, tt.wantReason)
			}
		})
	}
}
