package pipeline

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/record"
)

// benchStore is a map behind a mutex, without memStore's checks, so that
// the benchmark measures the pipeline.
type benchStore struct {
	mu   sync.Mutex
	recs map[string]record.Record
}

func (s *benchStore) Get(_ context.Context, _ kind.Kind, domains []string) (map[string]kind.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]kind.Record, len(domains))
	for _, d := range domains {
		if r, ok := s.recs[d]; ok {
			out[d] = r
		}
	}
	return out, nil
}

func (s *benchStore) Save(_ context.Context, _ kind.Kind, recs []kind.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.recs[r.ID()] = r.(record.Record)
	}
	return nil
}

// BenchmarkRun streams rows candidate rows over rows/10 distinct domains
// (each row a "www." host name), 90% of them fresh in the store; the rest
// are looked up by an enricher that answers at once. With state, the
// journal and the daily budget are on disk (one commit per lookup,
// shared by workers that finish together).
func BenchmarkRun(b *testing.B) {
	for _, c := range []struct {
		rows  int
		state bool
	}{{100_000, false}, {1_000_000, false}, {100_000, true}} {
		name := fmt.Sprintf("rows=%d", c.rows)
		if c.state {
			name += "/state"
		}
		b.Run(name, func(b *testing.B) { benchRun(b, c.rows, c.state) })
	}
}

func benchRun(b *testing.B, rows int, state bool) {
	distinct := rows / 10
	names := make([]string, distinct)
	hosts := make([]string, distinct)
	base := make(map[string]record.Record, distinct)
	for i := range distinct {
		names[i] = fmt.Sprintf("d%07d.com", i)
		hosts[i] = "www." + names[i]
		if i%10 != 0 { // 90% fresh
			base[names[i]] = record.Record{Key: names[i], Domain: names[i], VTFound: true, EnrichedTime: t0.Unix()}
		}
	}
	src := genRows{n: rows, value: func(i int) string { return hosts[(i*7919)%distinct] }}
	enr := enrich.Func(func(_ context.Context, _ kind.Kind, d string) (kind.Record, error) {
		return record.Record{Key: d, Domain: d, VTFound: true, EnrichedTime: t0.Unix()}, nil
	})
	opt := Options{Input: "bench", Lookups: true, MaxConcurrency: 8, Now: func() time.Time { return t0 }}

	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		store := &benchStore{recs: maps.Clone(base)}
		if state {
			opt.StateDir = b.TempDir()
		}
		b.StartTimer()
		s, err := Run(context.Background(), opt, src, store, enr)
		if err != nil || s.Status != StatusOK || s.Fresh != distinct-distinct/10 || s.LookedUp != distinct/10 {
			b.Fatalf("run: %v %+v", err, s)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
}
