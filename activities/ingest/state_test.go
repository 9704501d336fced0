package ingest

import (
	"context"
	"slices"
	"testing"
)

// TestForEachVector reads float4[] values back from PostgreSQL through the
// binary decoder and compares them with what was sent.
func TestForEachVector(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		sql     string
		want    []float32
		wantErr bool
	}{
		{"values", `SELECT 's', $1::float4[]`, []float32{1.5, -2, 0, 3.25e-7}, false},
		{"empty", `SELECT 's', '{}'::float4[]`, []float32{}, false},
		{"a NULL element", `SELECT 's', '{1,NULL}'::float4[]`, nil, true},
		{"two dimensions", `SELECT 's', '{{1,2},{3,4}}'::float4[]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []any
			if len(tt.want) > 0 {
				args = append(args, tt.want)
			}
			rows, err := db.Query(ctx, tt.sql, args...)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]float32
			err = forEachVector(rows, func(keys []string, v []float32) {
				if len(keys) != 1 || keys[0] != "s" {
					t.Errorf("keys %q", keys)
				}
				got = append(got, v)
			})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, decoded %v", got)
				}
				return
			}
			if err != nil || len(got) != 1 || !slices.Equal(got[0], tt.want) {
				t.Fatalf("got %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}
