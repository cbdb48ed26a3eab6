package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/record"
)

// domainKind is the domain kind as the pipeline sees it, over
// internal/domain and internal/record, so that these tests do not depend on
// a kind package.
type domainKind struct{}

func (domainKind) Name() string       { return "domain" }
func (domainKind) Collection() string { return "vtsync_domains" }
func (domainKind) Normalize(raw string) (string, string) {
	d, reason := domain.Normalize(raw)
	return d, string(reason)
}
func (domainKind) Path(key string) string { return "domains/" + key }
func (domainKind) Map(string, []byte, time.Time) (kind.Record, error) {
	return nil, errors.New("not used by the pipeline")
}
func (domainKind) NotFound(key string, now time.Time) kind.Record {
	return record.NotFound(key, now.Unix())
}
func (domainKind) Decode(doc []byte) (kind.Record, error) {
	var r record.Record
	err := json.Unmarshal(doc, &r)
	return r, err
}
func (domainKind) Fields() []kind.Field { return nil }
func (domainKind) Param() kind.Param    { return kind.Param{Name: "domain_field"} }

// numKind is a second kind: keys are decimal numbers, and numbers below
// 100 never reach the enricher ("reserved").
type numKind struct{}

type numRecord struct {
	Key  string `json:"_key"`
	Hit  bool   `json:"vt_found"`
	Time int64  `json:"enriched_time"`
}

func (r numRecord) ID() string      { return r.Key }
func (r numRecord) Found() bool     { return r.Hit }
func (r numRecord) Enriched() int64 { return r.Time }

func (numKind) Name() string       { return "num" }
func (numKind) Collection() string { return "vtsync_nums" }
func (numKind) Normalize(raw string) (string, string) {
	var n int
	if _, err := fmt.Sscan(raw, &n); err != nil || fmt.Sprint(n) != raw {
		return "", "not_a_number"
	}
	if n < 100 {
		return "", "reserved"
	}
	return raw, ""
}
func (numKind) Path(key string) string { return "nums/" + key }
func (numKind) Map(string, []byte, time.Time) (kind.Record, error) {
	return nil, errors.New("not used by the pipeline")
}
func (numKind) NotFound(key string, now time.Time) kind.Record {
	return numRecord{Key: key, Time: now.Unix()}
}
func (numKind) Decode(doc []byte) (kind.Record, error) {
	var r numRecord
	err := json.Unmarshal(doc, &r)
	return r, err
}
func (numKind) Fields() []kind.Field { return nil }
func (numKind) Param() kind.Param    { return kind.Param{Name: "num_field"} }

func init() {
	kind.Register(domainKind{})
	kind.Register(numKind{})
}

// journalEntries journals domain records as the pipeline does.
func journalEntries(rs ...record.Record) []checkpoint.Entry {
	es := make([]checkpoint.Entry, len(rs))
	for i, r := range rs {
		doc, _ := json.Marshal(r)
		es[i] = checkpoint.Entry{Kind: "domain", Key: r.Key, Doc: doc}
	}
	return es
}

// asRecords converts what the pipeline hands a store to domain records.
func asRecords(recs []kind.Record) []record.Record {
	out := make([]record.Record, len(recs))
	for i, r := range recs {
		out[i] = r.(record.Record)
	}
	return out
}

// rows is a Source of fixed values; fail, if set, is returned after them.
type rows struct {
	values []string
	fail   error
	calls  int
}

func (s *rows) Candidates(ctx context.Context, emit func(kind.Kind, string) error) error {
	s.calls++
	for _, v := range s.values {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(domainKind{}, v); err != nil {
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

func (s genRows) Candidates(ctx context.Context, emit func(kind.Kind, string) error) error {
	for i := range s.n {
		if err := emit(domainKind{}, s.value(i)); err != nil {
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

func (s *memStore) Get(ctx context.Context, k kind.Kind, domains []string) (map[string]kind.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if k.Name() != "domain" {
		return nil, fmt.Errorf("memStore holds domains, not %s", k.Name())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	s.reqs++
	s.getSizes = append(s.getSizes, len(domains))
	if s.failGet != nil {
		return nil, s.failGet
	}
	out := make(map[string]kind.Record)
	for _, d := range domains {
		if r, ok := s.recs[d]; ok {
			out[d] = r
		}
	}
	return out, nil
}

func (s *memStore) Save(ctx context.Context, k kind.Kind, krecs []kind.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k.Name() != "domain" {
		return fmt.Errorf("memStore holds domains, not %s", k.Name())
	}
	recs := asRecords(krecs)
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
	budget enrich.Budget // spent before each call, as a real enricher does
	mu     sync.Mutex
	calls  map[string]int
	order  []string
	now    int64
	answer func(ctx context.Context, n int, d string) (record.Record, error) // n: call number from 1
}

func newVT(now int64) *vtFake { return &vtFake{calls: map[string]int{}, now: now} }

func (v *vtFake) Enrich(ctx context.Context, k kind.Kind, d string) (kind.Record, error) {
	if k.Name() != "domain" {
		return nil, fmt.Errorf("vtFake looks up domains, not %s", k.Name())
	}
	r, err := v.enrich(ctx, d)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (v *vtFake) enrich(ctx context.Context, d string) (record.Record, error) {
	// Like a real enricher, spend the budget it was built with before
	// "sending".
	if v.budget != nil {
		if err := v.budget.Spend(); err != nil {
			return record.Record{}, fmt.Errorf("%w (%w)", err, enrich.ErrNotSent)
		}
	}
	if err := ctx.Err(); err != nil { // a lookup called off before it sent
		if v.budget != nil {
			v.budget.Refund()
		}
		return record.Record{}, fmt.Errorf("%w (%w)", context.Cause(ctx), enrich.ErrNotSent)
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
