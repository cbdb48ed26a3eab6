package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/record"
)

// rows is a Source of fixed values; fail, if set, is returned after them.
type rows struct {
	values []string
	fail   error
	calls  int
}

func (s *rows) Candidates(ctx context.Context, emit func(string) error) error {
	s.calls++
	for _, v := range s.values {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(v); err != nil {
			return err
		}
	}
	return s.fail
}

// genRows is a Source of n rows: row i is value(i). It allocates nothing
// per row beyond value's result, for the benchmark.
type genRows struct {
	n     int
	value func(i int) string
}

func (s genRows) Candidates(ctx context.Context, emit func(string) error) error {
	for i := range s.n {
		if err := emit(s.value(i)); err != nil {
			return err
		}
	}
	return nil
}

// memStore is a Store in memory that behaves like the KV store client: it
// refuses more than 1000 documents a Save, keys that are not registered
// domains, and work on a cancelled context.
type memStore struct {
	mu       sync.Mutex
	recs     map[string]record.Record
	gets     int
	getSizes []int
	saves    []int // documents per successful Save
	reqs     int
	// failSave, if set, decides whether Save number n (from 1) fails.
	failSave func(n int) error
	failGet  error
	attempts int
}

func newStore() *memStore { return &memStore{recs: map[string]record.Record{}} }

func (s *memStore) Get(ctx context.Context, domains []string) (map[string]record.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	s.reqs++
	s.getSizes = append(s.getSizes, len(domains))
	if s.failGet != nil {
		return nil, s.failGet
	}
	out := make(map[string]record.Record)
	for _, d := range domains {
		if r, ok := s.recs[d]; ok {
			out[d] = r
		}
	}
	return out, nil
}

func (s *memStore) Save(ctx context.Context, recs []record.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	s.reqs++
	if len(recs) == 0 || len(recs) > 1000 {
		return fmt.Errorf("batch_save of %d documents", len(recs))
	}
	if s.failSave != nil {
		if err := s.failSave(s.attempts); err != nil {
			return err
		}
	}
	for _, r := range recs {
		if r.Key != r.Domain || !domain.Valid(r.Key) || r.EnrichedTime == 0 {
			return fmt.Errorf("bad document %+v", r)
		}
	}
	for _, r := range recs {
		s.recs[r.Key] = r
	}
	s.saves = append(s.saves, len(recs))
	return nil
}

func (s *memStore) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs
}

func (s *memStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.recs))
}

func (s *memStore) put(recs ...record.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.recs[r.Key] = r
	}
}

// vtFake is an Enricher that answers from a function and records every
// call. Domains ending in "-nx.com" are unknown to it.
type vtFake struct {
	mu     sync.Mutex
	calls  map[string]int
	order  []string
	now    int64
	answer func(ctx context.Context, n int, d string) (record.Record, error) // n: call number from 1
}

func newVT(now int64) *vtFake { return &vtFake{calls: map[string]int{}, now: now} }

func (v *vtFake) Enrich(ctx context.Context, d string) (record.Record, error) {
	// Like a real enricher, pass the run's gate before "sending".
	if err := enrich.Gate(ctx); err != nil {
		return record.Record{}, fmt.Errorf("%w (%w)", err, enrich.ErrNotSent)
	}
	v.mu.Lock()
	v.calls[d]++
	v.order = append(v.order, d)
	n := len(v.order)
	v.mu.Unlock()
	if !domain.Valid(d) {
		return record.Record{}, fmt.Errorf("enricher got %q, not a registered domain", d)
	}
	if v.answer != nil {
		return v.answer(ctx, n, d)
	}
	return v.found(d), nil
}

func (v *vtFake) found(d string) record.Record {
	if len(d) > 7 && d[len(d)-7:] == "-nx.com" {
		return record.NotFound(d, v.now)
	}
	p := int64(1)
	return record.Record{Key: d, Domain: d, VTFound: true, LastAnalysisPositive: &p, EnrichedTime: v.now}
}

func (v *vtFake) Calls() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return int64(len(v.order))
}

func (v *vtFake) called() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return maps.Clone(v.calls)
}

var errTransient = errors.New("VirusTotal answered 503 three times")

// checkSummary asserts the summary's arithmetic, which dashboards rely on.
func checkSummary(t *testing.T, s Summary) {
	t.Helper()
	total := 0
	for _, n := range s.Rejected {
		total += n
	}
	switch {
	case total != s.RejectedTotal:
		t.Errorf("rejected_total %d != sum of rejected %d", s.RejectedTotal, total)
	case s.Distinct != s.Fresh+s.Due:
		t.Errorf("distinct %d != fresh %d + due %d", s.Distinct, s.Fresh, s.Due)
	case s.Due != s.LookedUp+s.Deferred:
		t.Errorf("due %d != looked_up %d + deferred %d", s.Due, s.LookedUp, s.Deferred)
	case s.LookedUp != s.Found+s.NotFound+s.Failed:
		t.Errorf("looked_up %d != found %d + not_found %d + failed %d", s.LookedUp, s.Found, s.NotFound, s.Failed)
	case s.Candidates < s.RejectedTotal+s.Distinct:
		t.Errorf("candidates %d < rejected %d + distinct %d", s.Candidates, s.RejectedTotal, s.Distinct)
	case s.Flagged > s.Found:
		t.Errorf("flagged %d > found %d", s.Flagged, s.Found)
	case s.Deferred < 0 || s.Fresh < 0:
		t.Errorf("negative counts: %+v", s)
	}
	if s.Distinct > 0 {
		if want := float64(s.Fresh) / float64(s.Distinct); s.CacheHitRate != want {
			t.Errorf("cache_hit_rate %v, want %v", s.CacheHitRate, want)
		}
	}
	if (s.Status == StatusOK) != (len(s.Errors) == 0 && s.Deferred == 0 && s.Status != StatusSkipped && s.Status != StatusFailed) {
		t.Errorf("status %q with errors %q and %d deferred", s.Status, s.Errors, s.Deferred)
	}
}

func domains(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}
