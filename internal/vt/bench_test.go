package vt

import (
	"context"
	"testing"

	"github.com/vtsync/vtsync/internal/vttest"
)

// BenchmarkEnrich measures one found lookup end to end through vt-go and
// the fake (gzip included), without sockets; pacing is set out of the way.
func BenchmarkEnrich(b *testing.B) {
	srv := vttest.NewInMemory()
	if err := srv.AddFile(conformanceDir + "/opencti_vt_test_domain.json"); err != nil {
		b.Fatal(err)
	}
	e, err := newEnricher(Config{APIKey: vttest.APIKey, BaseURL: srv.URL(), RequestsPerMinute: 1 << 30}, srv.Transport())
	if err != nil {
		b.Fatal(err)
	}
	benchEnrich(b, e)
}

// BenchmarkEnrichHTTP is BenchmarkEnrich over loopback HTTP.
func BenchmarkEnrichHTTP(b *testing.B) {
	srv := vttest.New()
	defer srv.Close()
	if err := srv.AddFile(conformanceDir + "/opencti_vt_test_domain.json"); err != nil {
		b.Fatal(err)
	}
	e, err := New(Config{APIKey: vttest.APIKey, BaseURL: srv.URL(), RequestsPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	benchEnrich(b, e)
}

func benchEnrich(b *testing.B, e *Enricher) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := enrichDomain(e, ctx, "tawuhoju.com"); err != nil || !r.VTFound {
			b.Fatal(r, err)
		}
	}
}
