package quality_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"contextworker/modules/gardener/enrich"
	"contextworker/modules/gardener/enrich/quality"
)

func stock(n int64) *int64 { return &n }

func TestEnrich(t *testing.T) {
	e, err := quality.Build(quality.Config{MissingImage: true, OutlierMinGroup: 3, ZeroStockDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		p    enrich.Product
		want map[string]string
	}{
		{name: "fine", p: enrich.Product{ImageURLs: []string{"x"}, Stock: stock(3)}, want: map[string]string{}},
		{name: "no image", p: enrich.Product{Stock: stock(3)}, want: map[string]string{quality.FieldMissingImage: "true"}},
		{name: "stock zero first seen now", p: enrich.Product{ImageURLs: []string{"x"}, Stock: stock(0)},
			want: map[string]string{quality.FieldStockZeroSince: `"2026-05-01T12:00:00Z"`}},
		{name: "stock zero since earlier run", p: enrich.Product{ImageURLs: []string{"x"}, Stock: stock(0),
			Stored: map[string]json.RawMessage{quality.FieldStockZeroSince: json.RawMessage(`"2026-01-02T00:00:00Z"`)}},
			want: map[string]string{quality.FieldStockZeroSince: `"2026-01-02T00:00:00Z"`}},
		{name: "stock back", p: enrich.Product{ImageURLs: []string{"x"}, Stock: stock(1),
			Stored: map[string]json.RawMessage{quality.FieldStockZeroSince: json.RawMessage(`"2026-01-02T00:00:00Z"`)}},
			want: map[string]string{}},
		{name: "stock unknown", p: enrich.Product{ImageURLs: []string{"x"}}, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Changed = true
			pl := enrich.NewPipeline(enrich.Step{Name: quality.Name, Version: "1", Enricher: e})
			if _, err := pl.Run(context.Background(), enrich.Run{Now: now}, []*enrich.Product{&p}, nil); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range p.Results() {
				got[r.Field] = string(r.Value)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("results %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s = %s, want %s", k, got[k], v)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg     quality.Config
		wantErr string
	}{
		{quality.Config{OutlierFactor: 0.5, OutlierMinGroup: 3}, "outlier_factor"},
		{quality.Config{OutlierMinGroup: 1}, "outlier_min_group"},
		{quality.Config{OutlierMinGroup: 3, ZeroStockDays: -1}, "zero_stock_days"},
	} {
		if _, err := quality.Build(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Build(%+v) = %v, want %q", tt.cfg, err, tt.wantErr)
		}
	}
}
