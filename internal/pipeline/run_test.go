package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/vtsync/vtsync/internal/budget"
	"github.com/vtsync/vtsync/internal/keyquota"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/record"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func opts(*testing.T) Options {
	return Options{Input: "test", Lookups: true, MaxConcurrency: 4, Now: func() time.Time { return t0 }}
}

// testBudget returns the daily budget of opt, as wire builds it.
func testBudget(t *testing.T, opt Options) *budget.Daily {
	t.Helper()
	var store budget.Store
	if opt.StateDir != "" {
		k, err := keyquota.Open(opt.StateDir, "test-key", time.Millisecond, 1)
		if err != nil {
			t.Fatal(err)
		}
		store = k
	}
	return budget.New(opt.DailyLookupBudget, store, opt.Now)
}

// run calls Run with a safety-net timeout.
//
// As the composition root does, a vtFake gets the daily budget of
// opt.DailyLookupBudget, counted in the key's quota file under
// opt.StateDir (or in memory without one), unless opt.Budget is set.
func run(t *testing.T, opt Options, src Source, store Store, enr enrich.Enricher) (Summary, error) {
	t.Helper()
	if v, ok := enr.(*vtFake); ok && opt.Budget == nil {
		b := testBudget(t, opt)
		v.budget, opt.Budget = b, b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Run(ctx, opt, src, store, enr)
	checkSummary(t, s)
	return s, err
}

func TestBatchesAndBoundedStoreRequests(t *testing.T) {
	vals := domains(2500, "Host%d.Example-Site.com")
	for i := range vals {
		vals[i] = fmt.Sprintf("www.d%04d.com", i)
	}
	store, vt := newStore(), newVT(t0.Unix())
	s, err := run(t, opts(t), &rows{values: vals}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if store.gets > 3 {
		t.Errorf("%d Get calls for 2500 distinct domains, want <= 3 (sizes %v)", store.gets, store.getSizes)
	}
	for _, n := range store.saves {
		if n > 1000 {
			t.Errorf("a Save of %d documents", n)
		}
	}
	if got := len(store.keys()); got != 2500 {
		t.Errorf("store holds %d records, want 2500", got)
	}
	if s.Status != StatusOK || s.Candidates != 2500 || s.Distinct != 2500 || s.Due != 2500 || s.Found != 2500 || s.KVWrites != 2500 {
		t.Errorf("summary %+v", s)
	}
	if s.VTCalls != 2500 || s.KVRequests != store.gets+len(store.saves) {
		t.Errorf("vt_calls %d, kv_requests %d; want 2500, %d", s.VTCalls, s.KVRequests, store.gets+len(store.saves))
	}
	if store.keys()[0] != "d0000.com" {
		t.Errorf("stored key %q, want the registered domain d0000.com", store.keys()[0])
	}
}

// flagged counts the found domains that at least one engine rates
// malicious; a domain without analysis stats or unknown to VirusTotal is
// not flagged.
func TestFlaggedCount(t *testing.T) {
	vt := newVT(t0.Unix())
	vt.answer = func(_ context.Context, _ int, d string) (record.Record, error) {
		rec := vt.found(d)
		switch d {
		case "clean.com":
			zero := int64(0)
			rec.LastAnalysisPositive = &zero
		case "unrated.com":
			rec.LastAnalysisPositive = nil
		}
		return rec, nil
	}
	s, err := run(t, opts(t), &rows{values: []string{"bad.com", "worse.com", "clean.com", "unrated.com", "gone-nx.com"}}, newStore(), vt)
	if err != nil || s.Found != 4 || s.NotFound != 1 || s.Flagged != 2 {
		t.Fatalf("err %v, found %d, not found %d, flagged %d; want 4, 1, 2", err, s.Found, s.NotFound, s.Flagged)
	}
}

func TestSmallBatchSize(t *testing.T) {
	store := newStore()
	opt := opts(t)
	opt.BatchSize = 7
	if _, err := run(t, opt, &rows{values: domains(50, "d%d.org")}, store, newVT(t0.Unix())); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range store.saves {
		if n > 7 {
			t.Errorf("Save of %d documents with BatchSize 7", n)
		}
		total += n
	}
	if total != 50 || len(store.saves) != 8 {
		t.Errorf("saves %v, want 7 full batches and one of 1", store.saves)
	}
}

func TestJunkNeverReachesEnricher(t *testing.T) {
	junk := []string{"", "  ", "None", "-", "10.1.2.3", "[::1]:443", "2001:db8::1", "com", "co.uk",
		"wpad", "printer.local", "x.internal", "a..b.com", "bad_label_.com", "evil.com/../x", "a b.com",
		strings.Repeat("a", 300) + ".com", "\x00.com", "host.localhost"}
	vt := newVT(t0.Unix())
	store := newStore()
	s, err := run(t, opts(t), &rows{values: append(junk, "good.com")}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	calls := vt.called()
	if len(calls) != 1 || calls["good.com"] != 1 {
		t.Errorf("enricher called with %v, want good.com only", calls)
	}
	if s.RejectedTotal != len(junk) || s.Candidates != len(junk)+1 {
		t.Errorf("rejected %d of %d candidates (%v), want %d", s.RejectedTotal, s.Candidates, s.Rejected, len(junk))
	}
	for _, reason := range []string{"empty", "ip", "public_suffix", "reserved", "too_long"} {
		if s.Rejected[reason] == 0 {
			t.Errorf("no rejection counted as %q: %v", reason, s.Rejected)
		}
	}
	if keys := store.keys(); len(keys) != 1 {
		t.Errorf("store has %v", keys)
	}
}

func TestEachDomainLookedUpOnce(t *testing.T) {
	variants := []string{"a.com", "WWW.A.COM", "x.y.a.com.", "https://a.com:8443/path", "b.co.uk", "mail.b.co.uk", "c-nx.com"}
	vals := make([]string, 10000)
	for i := range vals {
		vals[i] = variants[i%len(variants)]
	}
	vt := newVT(t0.Unix())
	opt := opts(t)
	opt.MaxConcurrency = 8
	s, err := run(t, opt, &rows{values: vals}, newStore(), vt)
	if err != nil {
		t.Fatal(err)
	}
	calls := vt.called()
	if len(calls) != 3 || calls["a.com"] != 1 || calls["b.co.uk"] != 1 || calls["c-nx.com"] != 1 {
		t.Errorf("calls %v, want a.com, b.co.uk and c-nx.com once each", calls)
	}
	if s.Candidates != 10000 || s.Distinct != 3 || s.Found != 2 || s.NotFound != 1 {
		t.Errorf("summary %+v", s)
	}
}

func TestSecondRunIsServedFromStore(t *testing.T) {
	store := newStore()
	src := &rows{values: append(domains(1500, "d%d.net"), "gone-nx.com")}
	if _, err := run(t, opts(t), src, store, newVT(t0.Unix())); err != nil {
		t.Fatal(err)
	}
	vt := newVT(t0.Unix())
	opt := opts(t)
	opt.Now = func() time.Time { return t0.Add(time.Hour) }
	s, err := run(t, opt, src, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if vt.Calls() != 0 {
		t.Errorf("second run made %d lookups, want 0", vt.Calls())
	}
	if s.Fresh != 1501 || s.Due != 0 || s.CacheHitRate != 1 || s.Status != StatusOK || s.KVWrites != 0 {
		t.Errorf("second run summary %+v", s)
	}
}

func TestOnlyStaleRecordsAreLookedUpAgain(t *testing.T) {
	store := newStore()
	ago := func(d time.Duration) int64 { return t0.Add(-d).Unix() }
	found := func(d string, at int64) record.Record {
		return record.Record{Key: d, Domain: d, VTFound: true, EnrichedTime: at}
	}
	store.put(
		found("fresh.com", ago(6*24*time.Hour)),
		found("stale.com", ago(8*24*time.Hour)),
		record.NotFound("fresh-nx.com", ago(23*time.Hour)),
		record.NotFound("stale-nx.com", ago(25*time.Hour)),
		found("future.com", t0.Add(time.Hour).Unix()), // a clock gone wrong: not trusted
	)
	vt := newVT(t0.Unix())
	opt := opts(t)
	opt.RefreshDays, opt.NotFoundRefreshHours = 7, 24
	s, err := run(t, opt, &rows{values: []string{"fresh.com", "stale.com", "fresh-nx.com", "stale-nx.com", "future.com", "new.com"}}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	calls := vt.called()
	for _, d := range []string{"stale.com", "stale-nx.com", "future.com", "new.com"} {
		if calls[d] != 1 {
			t.Errorf("%s looked up %d times, want 1", d, calls[d])
		}
	}
	if len(calls) != 4 {
		t.Errorf("lookups %v, want only the stale and missing ones", calls)
	}
	if s.Fresh != 2 || s.Due != 4 {
		t.Errorf("fresh %d due %d, want 2 and 4", s.Fresh, s.Due)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if r := store.recs["stale.com"]; r.EnrichedTime != t0.Unix() {
		t.Errorf("stale.com not refreshed: %+v", r)
	}
}

// With not_found_max_hours, the run asks refresh's policy: a domain
// VirusTotal has not known for four days is not due 25 hours after the last
// answer, one unknown for a day is; a new negative answer keeps the time
// VirusTotal first did not know it (not_found_since), a found one drops it.
func TestNotFoundBackoff(t *testing.T) {
	store := newStore()
	ago := func(d time.Duration) int64 { return t0.Add(-d).Unix() }
	long := record.NotFound("long-nx.com", ago(25*time.Hour))
	long.NotFoundSince = ago(4 * 24 * time.Hour)
	store.put(long,
		record.NotFound("day-nx.com", ago(25*time.Hour)),
		record.NotFound("learned.com", ago(25*time.Hour)))
	vt := newVT(t0.Unix())
	opt := opts(t)
	opt.RefreshDays, opt.NotFoundRefreshHours, opt.NotFoundMaxHours = 7, 24, 168
	s, err := run(t, opt, &rows{values: []string{"long-nx.com", "day-nx.com", "learned.com"}}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if calls := vt.called(); len(calls) != 2 || calls["long-nx.com"] != 0 {
		t.Errorf("lookups %v, want day-nx.com and learned.com", calls)
	}
	if s.Fresh != 1 || s.Due != 2 {
		t.Errorf("fresh %d due %d, want 1 and 2", s.Fresh, s.Due)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if r := store.recs["day-nx.com"]; r.EnrichedTime != t0.Unix() || r.NotFoundSince != ago(25*time.Hour) {
		t.Errorf("day-nx.com: %+v, want enriched now and not_found_since its first answer", r)
	}
	if r := store.recs["learned.com"]; !r.VTFound || r.NotFoundSince != 0 {
		t.Errorf("learned.com: %+v, want a found record without not_found_since", r)
	}
}

func TestQuotaExceededKeepsWhatWasFetched(t *testing.T) {
	for _, conc := range []int{1, 8} {
		t.Run(fmt.Sprint("concurrency ", conc), func(t *testing.T) {
			vt := newVT(t0.Unix())
			var quotaAt atomic.Int64
			vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
				if n > 40 {
					quotaAt.CompareAndSwap(0, int64(n))
					return record.Record{}, fmt.Errorf("429 QuotaExceededError: %w", enrich.ErrQuotaExceeded)
				}
				return vt.found(d), nil
			}
			store := newStore()
			opt := opts(t)
			opt.MaxConcurrency = conc
			var logs bytes.Buffer
			opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
			s, err := run(t, opt, &rows{values: domains(500, "q%d.com")}, store, vt)
			if n := strings.Count(logs.String(), "WARN"); n != 1 || !strings.Contains(logs.String(), "quota is exceeded") {
				t.Errorf("want one WARN line about the quota:\n%s", logs.String())
			}
			if stop := s.Stop(StopQuotaExceeded); stop == nil || !errors.Is(stop, enrich.ErrQuotaExceeded) || !stop.Until.IsZero() {
				t.Errorf("stops %v, want the quota stop with its error", s.Stops)
			}
			if !strings.HasPrefix(logs.String(), "INFO") || strings.Count(logs.String(), "INFO") != 2 {
				t.Errorf("want one INFO line at start and one at the end:\n%s", logs.String())
			}
			if err != nil {
				t.Fatalf("Run = %v, want no error for a spent quota", err)
			}
			if s.QuotaState != QuotaExceeded || s.Status != StatusPartial {
				t.Errorf("quota_state %q status %q", s.QuotaState, s.Status)
			}
			if got := len(store.keys()); got != 40 || s.Found != 40 {
				t.Errorf("stored %d, found %d; want the 40 answers fetched before the quota ran out", got, s.Found)
			}
			// In-flight lookups may finish; no new one starts.
			if calls := vt.Calls(); calls > 40+int64(conc) {
				t.Errorf("%d lookups, want at most %d", calls, 40+conc)
			}
			if s.Deferred < 500-40-conc {
				t.Errorf("deferred %d", s.Deferred)
			}
		})
	}
}

func TestUnauthorizedStopsAtOnce(t *testing.T) {
	vt := newVT(t0.Unix())
	var blocked atomic.Int64
	var cause atomic.Value
	vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
		switch {
		case n <= 5:
			return vt.found(d), nil
		case n == 6:
			return record.Record{}, fmt.Errorf("401 WrongCredentialsError: %w", enrich.ErrUnauthorized)
		}
		// Still in flight when the key is rejected: must be cancelled.
		blocked.Add(1)
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		return record.Record{}, ctx.Err()
	}
	// The first five answers arrive before the rejection.
	var done atomic.Int64
	vt2 := enrich.Func(func(ctx context.Context, k kind.Kind, d string) (kind.Record, error) {
		r, err := vt.Enrich(ctx, k, d)
		done.Add(1)
		return r, err
	})
	store := newStore()
	var logs bytes.Buffer
	opt := opts(t)
	opt.MaxConcurrency = 1 // the five successes come first
	opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	s, err := run(t, opt, &rows{values: domains(100, "u%d.com")}, store, vt2)
	var stop *Stop
	if !errors.Is(err, enrich.ErrUnauthorized) || !errors.As(err, &stop) || stop.Reason != StopKeyRejected || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Run = %v, want the key-rejected Stop", err)
	}
	if len(s.Stops) == 0 || s.Stops[0] != stop {
		t.Errorf("stops %v, want the key rejection first", s.Stops)
	}
	if s.Status != StatusFailed || s.QuotaState != QuotaKeyRejected {
		t.Errorf("status %q quota_state %q", s.Status, s.QuotaState)
	}
	if vt.Calls() != 6 || len(store.keys()) != 5 {
		t.Errorf("%d lookups, %d stored; want 6 and the 5 answers fetched before", vt.Calls(), len(store.keys()))
	}
	if !strings.Contains(logs.String(), "ERROR") || !strings.Contains(logs.String(), "rejected the API key") {
		t.Errorf("no ERROR line saying the key was rejected:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "INFO run finished status=failed candidates=100 ") || !strings.Contains(logs.String(), " quota_state=key_rejected duration=") {
		t.Errorf("no run finished line with the summary's key/value pairs:\n%s", logs.String())
	}

	// With lookups in flight, they are cancelled rather than waited for.
	vt.mu.Lock()
	vt.order, vt.calls = nil, map[string]int{}
	vt.mu.Unlock()
	vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
		if n == 4 {
			return record.Record{}, enrich.ErrUnauthorized
		}
		blocked.Add(1)
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		return record.Record{}, ctx.Err()
	}
	opt.MaxConcurrency = 4
	s, err = run(t, opt, &rows{values: domains(100, "v%d.com")}, newStore(), vt)
	if !errors.Is(err, enrich.ErrUnauthorized) {
		t.Fatalf("Run = %v", err)
	}
	if c, _ := cause.Load().(error); !errors.Is(c, enrich.ErrUnauthorized) {
		t.Errorf("in-flight lookups ended by %v, want cancellation caused by the rejected key", c)
	}
	if vt.Calls() > 4+3 || s.LookedUp != int(vt.Calls()) {
		t.Errorf("%d lookups (looked_up %d) after the key was rejected by the 4th", vt.Calls(), s.LookedUp)
	}
}

func TestTransientFailuresAreNotStored(t *testing.T) {
	vt := newVT(t0.Unix())
	vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
		if strings.HasPrefix(d, "flaky") {
			return record.Record{}, errTransient
		}
		return vt.found(d), nil
	}
	store := newStore()
	vals := append(domains(30, "ok%d.com"), domains(5, "flaky%d.com")...)
	var logs bytes.Buffer
	opt := opts(t)
	opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	s, err := run(t, opt, &rows{values: vals}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Failed != 5 || s.Found != 30 || s.Status != StatusPartial || len(store.keys()) != 30 {
		t.Errorf("failed %d found %d status %q stored %d", s.Failed, s.Found, s.Status, len(store.keys()))
	}
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "5 lookups failed") || !strings.Contains(s.Errors[0], errTransient.Error()) {
		t.Errorf("errors %q, want one line counting the failures", s.Errors)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.HasPrefix(line, "INFO") && strings.Contains(line, "flaky") {
			t.Errorf("per-domain INFO line: %s", line)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n > 4 {
		t.Errorf("%d log lines for one run at INFO:\n%s", n, logs.String())
	}

	// Next run: only the failed ones are looked up again.
	vt2 := newVT(t0.Unix())
	if _, err := run(t, opts(t), &rows{values: vals}, store, vt2); err != nil {
		t.Fatal(err)
	}
	if calls := vt2.called(); len(calls) != 5 || calls["flaky0.com"] != 1 {
		t.Errorf("second run lookups %v, want the 5 failed ones", calls)
	}
}

func TestBudgetAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	store := newStore()
	src := &rows{values: domains(50, "b%d.com")}
	opt := opts(t)
	opt.StateDir = dir
	opt.DailyLookupBudget = 30
	opt.MaxConcurrency = 8

	vt := newVT(t0.Unix())
	s, err := run(t, opt, src, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if vt.Calls() != 30 || s.LookedUp != 30 || s.Deferred != 20 || s.QuotaState != QuotaBudgetExhausted || s.BudgetUsed != 30 || s.BudgetLimit != 30 || s.Status != StatusPartial {
		t.Errorf("first run: %d lookups, summary %+v", vt.Calls(), s)
	}

	// Same UTC day: the budget is spent.
	vt = newVT(t0.Unix())
	opt.Now = func() time.Time { return time.Date(2025, 3, 10, 23, 59, 0, 0, time.UTC) }
	s, err = run(t, opt, src, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if vt.Calls() != 0 || s.Fresh != 30 || s.Deferred != 20 || s.QuotaState != QuotaBudgetExhausted {
		t.Errorf("same day: %d lookups, summary %+v", vt.Calls(), s)
	}

	// Next UTC day: the rest.
	vt = newVT(t0.Unix())
	opt.Now = func() time.Time { return time.Date(2025, 3, 11, 0, 1, 0, 0, time.UTC) }
	s, err = run(t, opt, src, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if vt.Calls() != 20 || s.QuotaState != QuotaOK || s.BudgetUsed != 20 || s.Status != StatusOK || len(store.keys()) != 50 {
		t.Errorf("next day: %d lookups, %d stored, summary %+v", vt.Calls(), len(store.keys()), s)
	}
}

func TestBudgetCountsFailedLookups(t *testing.T) {
	vt := newVT(t0.Unix())
	vt.answer = func(context.Context, int, string) (record.Record, error) { return record.Record{}, errTransient }
	opt := opts(t)
	opt.DailyLookupBudget = 3
	s, _ := run(t, opt, &rows{values: domains(10, "f%d.com")}, newStore(), vt)
	if vt.Calls() != 3 || s.Failed != 3 || s.BudgetUsed != 3 || s.QuotaState != QuotaBudgetExhausted {
		t.Errorf("%d lookups, summary %+v", vt.Calls(), s)
	}
}

func TestCancelSavesWhatWasFetched(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	vt := newVT(t0.Unix())
	var answered atomic.Int64
	vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
		if n == 25 {
			cancel(errors.New("SIGTERM"))
		}
		if n > 25 {
			<-ctx.Done()
			return record.Record{}, context.Cause(ctx)
		}
		answered.Add(1)
		return vt.found(d), nil
	}
	store := newStore() // refuses Saves on a cancelled context
	opt := opts(t)
	opt.MaxConcurrency = 2
	opt.BatchSize = 10
	opt.StateDir = t.TempDir()
	s, err := Run(ctx, opt, &rows{values: domains(300, "c%d.com")}, store, vt)
	checkSummary(t, s)
	if err != nil {
		t.Fatalf("Run = %v, want a partial run without error", err)
	}
	if got := len(store.keys()); got != int(answered.Load()) || got < 25 {
		t.Errorf("stored %d of %d answers", got, answered.Load())
	}
	if s.Status != StatusPartial || s.Deferred < 300-25-2 {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(strings.Join(s.Errors, "\n"), "SIGTERM") {
		t.Errorf("errors %q do not say why the run stopped", s.Errors)
	}
	st, err := checkpoint.Open(opt.StateDir, opt.Input)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Len() != 0 {
		t.Errorf("%d records left in the journal after a clean save", st.Len())
	}
}

func TestSaveFailureIsReplayedNextRun(t *testing.T) {
	dir := t.TempDir()
	store := newStore()
	store.failSave = func(n int) error {
		if n == 2 {
			return errors.New("KV store: 503 Service Unavailable")
		}
		return nil
	}
	vt := newVT(t0.Unix())
	opt := opts(t)
	opt.StateDir = dir
	opt.BatchSize = 10
	opt.MaxConcurrency = 1
	src := &rows{values: domains(60, "s%d.com")}
	var logs bytes.Buffer
	opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	s, err := run(t, opt, src, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusPartial || len(s.Errors) == 0 || !strings.Contains(s.Errors[0], "503") {
		t.Errorf("status %q errors %q", s.Status, s.Errors)
	}
	if !strings.Contains(logs.String(), "ERROR") || !strings.Contains(logs.String(), "next run") {
		t.Errorf("log does not say the records are kept:\n%s", logs.String())
	}
	fetched := vt.called()
	if len(fetched) >= 60 {
		t.Errorf("lookups went on (%d) while the store refused writes", len(fetched))
	}
	stored := len(store.keys())
	if stored < 10 || stored >= len(fetched) || s.KVWrites != stored {
		t.Errorf("stored %d (kv_writes %d) of %d fetched, want the first batch and less than all", stored, s.KVWrites, len(fetched))
	}

	store.failSave = nil
	vt2 := newVT(t0.Unix())
	s2, err := run(t, opt, src, store, vt2)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Replayed != len(fetched)-stored {
		t.Errorf("replayed %d, want %d", s2.Replayed, len(fetched)-stored)
	}
	for d := range vt2.called() {
		if fetched[d] > 0 {
			t.Errorf("%s looked up again although its answer was journaled", d)
		}
	}
	if len(store.keys()) != 60 || s2.Status != StatusOK {
		t.Errorf("after the second run: %d stored, status %q", len(store.keys()), s2.Status)
	}
}

// A run whose replay the store still refuses neither searches nor looks
// up: it fails at once, keeping the journal for the next run.
func TestFailedReplayEndsTheRun(t *testing.T) {
	dir := t.TempDir()
	store := newStore()
	store.failSave = func(n int) error { return errors.New("KV store: 503 Service Unavailable") }
	opt := opts(t)
	opt.StateDir = dir
	src := &rows{values: domains(20, "r%d.com")}
	if _, err := run(t, opt, src, store, newVT(t0.Unix())); err != nil {
		t.Fatal(err)
	}
	store.gets = 0
	vt := newVT(t0.Unix())
	s, err := run(t, opt, &rows{values: domains(20, "other%d.com")}, store, vt)
	if err == nil {
		t.Error("a run that could not save its journal returned no error")
	}
	// One read: the replay's check for newer records; no freshness checks.
	// Failed, not partial: it did nothing, and the health alert must see it.
	if s.Status != StatusFailed || s.Candidates != 0 || store.gets != 1 || len(vt.called()) != 0 {
		t.Errorf("status %s, %d candidates, %d store reads, %d lookups; want failed and nothing else",
			s.Status, s.Candidates, store.gets, len(vt.called()))
	}
	store.failSave = nil
	s, _ = run(t, opt, src, store, newVT(t0.Unix()))
	if s.Replayed != 20 || len(store.keys()) != 20 {
		t.Errorf("replayed %d, stored %d; want the 20 journaled answers", s.Replayed, len(store.keys()))
	}
}

func TestStoreGetFailureSpendsNothing(t *testing.T) {
	store := newStore()
	store.failGet = errors.New("KV store: 500")
	vt := newVT(t0.Unix())
	s, err := run(t, opts(t), &rows{values: domains(10, "g%d.com")}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if vt.Calls() != 0 || s.Status != StatusPartial || s.Deferred != 10 || len(s.Errors) != 1 {
		t.Errorf("%d lookups, summary %+v", vt.Calls(), s)
	}
}

func TestSourceFailure(t *testing.T) {
	vt := newVT(t0.Unix())
	store := newStore()
	s, err := run(t, opts(t), &rows{values: domains(20, "p%d.com"), fail: errors.New("FATAL: search aborted")}, store, vt)
	if err != nil {
		t.Fatalf("Run = %v; a search that failed half-way still processes what it gave", err)
	}
	if s.Status != StatusPartial || vt.Calls() != 20 || len(store.keys()) != 20 || !strings.Contains(strings.Join(s.Errors, " "), "search aborted") {
		t.Errorf("%d lookups, summary %+v", vt.Calls(), s)
	}

	s, err = run(t, opts(t), &rows{fail: errors.New("HTTP 400: Unknown search command 'foo'")}, newStore(), vt)
	if err == nil || !strings.Contains(err.Error(), "Unknown search command") || s.Status != StatusFailed {
		t.Errorf("search failing at once: err %v status %q", err, s.Status)
	}
}

func TestLockedStateIsSkipped(t *testing.T) {
	dir := t.TempDir()
	held, err := checkpoint.Open(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	opt := opts(t)
	opt.StateDir = dir
	src := &rows{values: domains(5, "l%d.com")}
	vt := newVT(t0.Unix())
	s, err := run(t, opt, src, newStore(), vt)
	if err != nil {
		t.Fatalf("Run = %v, want a skipped run without error", err)
	}
	if s.Status != StatusSkipped || src.calls != 0 || vt.Calls() != 0 || !strings.Contains(strings.Join(s.Errors, " "), "still running") {
		t.Errorf("status %q, search ran %d times, %d lookups, errors %q", s.Status, src.calls, vt.Calls(), s.Errors)
	}
}

func TestNotCaptainReplaysButDoesNotLookUp(t *testing.T) {
	dir := t.TempDir()
	st, err := checkpoint.Open(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	p := record.NotFound("pending-nx.com", t0.Unix())
	if err := st.Journal(journalEntries(p)); err != nil {
		t.Fatal(err)
	}
	st.Close()

	opt := opts(t)
	opt.StateDir = dir
	opt.Lookups = false
	src := &rows{values: domains(5, "m%d.com")}
	vt := newVT(t0.Unix())
	store := newStore()
	s, err := run(t, opt, src, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusSkipped || s.Role == "" || vt.Calls() != 0 || src.calls != 0 {
		t.Errorf("status %q role %q, %d lookups, %d searches", s.Status, s.Role, vt.Calls(), src.calls)
	}
	if s.Replayed != 1 || len(store.keys()) != 1 {
		t.Errorf("replayed %d, stored %v", s.Replayed, store.keys())
	}
}

func TestProgress(t *testing.T) {
	opt := opts(t)
	var last, calls atomic.Int64
	opt.Progress = func(done, total int) {
		calls.Add(1)
		last.Store(int64(done))
		if done > total {
			t.Errorf("progress %d of %d", done, total)
		}
	}
	if _, err := run(t, opt, &rows{values: domains(40, "r%d.com")}, newStore(), newVT(t0.Unix())); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 40 || last.Load() != 40 {
		t.Errorf("progress called %d times, last done %d; want 40, 40", calls.Load(), last.Load())
	}
}

// TestConcurrentRunIsConsistent runs 8 workers over many domains with
// failures and not-found answers mixed in; -race checks the sharing.
func TestConcurrentRunIsConsistent(t *testing.T) {
	vt := newVT(t0.Unix())
	vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
		if n%17 == 0 {
			return record.Record{}, errTransient
		}
		return vt.found(d), nil
	}
	store := newStore()
	store.put(record.Record{Key: "k0.com", Domain: "k0.com", VTFound: true, EnrichedTime: t0.Unix()})
	vals := append(domains(400, "k%d.com"), domains(100, "k%d-nx.com")...)
	vals = append(vals, vals...)
	opt := opts(t)
	opt.MaxConcurrency = 8
	opt.BatchSize = 250
	opt.StateDir = t.TempDir()
	opt.DailyLookupBudget = 100000
	s, err := run(t, opt, &rows{values: vals}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	for d, n := range vt.called() {
		if n != 1 {
			t.Errorf("%s looked up %d times", d, n)
		}
	}
	if s.Distinct != 500 || s.Fresh != 1 || s.LookedUp != 499 || s.NotFound == 0 || s.Failed == 0 || s.BudgetUsed != 499 {
		t.Errorf("summary %+v", s)
	}
	if len(store.keys()) != 1+s.Found+s.NotFound {
		t.Errorf("stored %d, want %d", len(store.keys()), 1+s.Found+s.NotFound)
	}
}

// A journal replayed after the store got newer records for the same
// domains (another search head cluster member looked them up since) must
// not overwrite them with the older answers.
func TestReplayDoesNotOverwriteNewerRecords(t *testing.T) {
	dir := t.TempDir()
	store := newStore()
	store.failSave = func(n int) error { return errors.New("KV store down") }
	opt := opts(t)
	opt.StateDir = dir
	if _, err := run(t, opt, &rows{values: domains(5, "j%d.com")}, store, newVT(t0.Unix())); err != nil {
		t.Fatal(err)
	}
	store.failSave = nil
	newer := newVT(t0.Unix() + 3600).found("j0.com")
	store.put(newer)
	s, err := run(t, opt, &rows{}, store, newVT(t0.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Replayed != 4 {
		t.Errorf("replayed %d, want the 4 answers not superseded", s.Replayed)
	}
	if got := store.recs["j0.com"].EnrichedTime; got != newer.EnrichedTime {
		t.Errorf("j0.com enriched_time %d, want the newer %d kept", got, newer.EnrichedTime)
	}
	if s, _ := run(t, opt, &rows{}, store, newVT(t0.Unix())); s.Replayed != 0 {
		t.Errorf("the journal still held %d answers after the replay", s.Replayed)
	}
}

// A source whose every value is rejected yields nothing to look up: that
// is said in a WARN line and the summary, and the run is not a plain ok.
func TestAllCandidatesRejectedIsNotSilent(t *testing.T) {
	var logs bytes.Buffer
	opt := opts(t)
	opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	s, err := run(t, opt, &rows{values: []string{"10.0.0.1", "10.0.0.2", "", "wpad"}}, newStore(), newVT(t0.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Status == StatusOK || len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "all 4 candidate values were rejected (ip 2, empty 1, single_label 1)") {
		t.Errorf("summary %+v; want it partial, saying every candidate was rejected and why", s)
	}
	if !strings.Contains(logs.String(), "WARN ") || !strings.Contains(logs.String(), `rejected="ip 2, empty 1, single_label 1"`) {
		t.Errorf("no WARN line with the reasons:\n%s", logs.String())
	}
	if stop := s.Stop(StopNothingToLookUp); stop == nil || stop.Rejected != "ip 2, empty 1, single_label 1" {
		t.Errorf("stops %v, want nothing to look up, with the reasons", s.Stops)
	}
	// No candidate at all (a quiet window) stays ok.
	s, _ = run(t, opts(t), &rows{}, newStore(), newVT(t0.Unix()))
	if s.Status != StatusOK || len(s.Errors) != 0 {
		t.Errorf("no candidates: %+v", s)
	}
}

// emptySource is a source's "read, but no row carries a field it reads".
type emptySource struct{}

func (emptySource) Error() string         { return "no row has the field ut_domain; set domain_field" }
func (emptySource) NothingToLookUp() bool { return true }

// A source read whole that yields nothing to look up (no row carries a
// configured field) is a warning and a partial run, not a failure: the
// WARN line and the summary carry the source's words.
func TestSourceWithNothingToLookUpWarns(t *testing.T) {
	var logs bytes.Buffer
	opt := opts(t)
	opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	s, err := run(t, opt, &rows{fail: fmt.Errorf("reading: %w", emptySource{})}, newStore(), newVT(t0.Unix()))
	if err != nil || s.Status != StatusPartial || len(s.Errors) != 1 ||
		!strings.Contains(s.Errors[0], "the source yields nothing to look up: reading: no row has the field ut_domain; set domain_field") {
		t.Errorf("err %v, summary %+v; want no error, partial, the source's words", err, s)
	}
	if !strings.Contains(logs.String(), "WARN ") || strings.Contains(logs.String(), "ERROR ") || !strings.Contains(logs.String(), "set domain_field") {
		t.Errorf("want a WARN line with the source's words, no ERROR:\n%s", logs.String())
	}
	// Any other source error before a candidate is still a failure.
	s, err = run(t, opts(t), &rows{fail: errors.New("search failed")}, newStore(), newVT(t0.Unix()))
	if stop := (*Stop)(nil); !errors.As(err, &stop) || stop.Reason != StopSourceFailed || s.Status != StatusFailed {
		t.Errorf("a failed source: err %v, status %s", err, s.Status)
	}
}

// The pipeline's messages state facts and give no advice: they name no
// parameter, file or product setting (the edge that runs it advises from
// the run's Stops), and each fault comes back as its typed cause.
func TestMessagesAreFactsWithTypedCauses(t *testing.T) {
	logRun := func(ctx context.Context, src Source, store Store, enr enrich.Enricher) (Summary, string) {
		t.Helper()
		var logs bytes.Buffer
		opt := opts(t)
		opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelDebug, nil))
		s, _ := Run(ctx, opt, src, store, enr)
		checkSummary(t, s)
		out := logs.String() + strings.Join(s.Errors, "\n")
		for _, w := range []string{"KV store", "splunkd", "search", "checkpoint", "max_run_seconds", "Settings", "api_key",
			"requests_per_minute", "daily_lookup_budget", "_field", ".yaml", "check ", "raise ", "lower "} {
			if strings.Contains(out, w) {
				t.Errorf("a pipeline message speaks of %q:\n%s", w, out)
			}
		}
		return s, out
	}
	wantStops := func(name string, s Summary, want ...Reason) {
		t.Helper()
		var got []Reason
		for _, st := range s.Stops {
			got = append(got, st.Reason)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: stops %v, want %v", name, got, want)
		}
	}

	full := newStore()
	full.failSave = func(int) error { return errors.New("write s.db: no space left on device") }
	s, logs := logRun(context.Background(), &rows{values: []string{"a.com"}}, full, newVT(t0.Unix()))
	if !strings.Contains(logs, "saving 1 domain records failed: write s.db: no space left on device") {
		t.Errorf("full disk:\n%s", logs)
	}
	wantStops("full disk", s, StopStoreFailed)

	s, logs = logRun(context.Background(), &rows{fail: errors.New("e.ndjson:3: line too long")}, newStore(), newVT(t0.Unix()))
	if !strings.Contains(logs, "reading the source failed after 0 candidate values: e.ndjson:3: line too long") {
		t.Errorf("failing file:\n%s", logs)
	}
	wantStops("failing file", s, StopSourceFailed)

	// Ctrl-C and the deadline are told apart.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, logs = logRun(ctx, &rows{values: []string{"a.com"}}, newStore(), newVT(t0.Unix()))
	if !strings.Contains(logs, "stopped before it finished") || strings.Contains(logs, "deadline") {
		t.Errorf("interrupted run:\n%s", logs)
	}
	wantStops("interrupted run", s, StopCancelled)
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	s, logs = logRun(dctx, &rows{values: []string{"a.com"}}, newStore(), newVT(t0.Unix()))
	if !strings.Contains(logs, "reached its deadline") {
		t.Errorf("run at its deadline:\n%s", logs)
	}
	wantStops("deadline", s, StopDeadline)

	// A rejected key: the run fails with its typed cause.
	s, _ = logRun(context.Background(), &rows{values: []string{"a.com"}}, newStore(), enrich.Func(func(ctx context.Context, k kind.Kind, d string) (kind.Record, error) {
		return nil, fmt.Errorf("401: %w", enrich.ErrUnauthorized)
	}))
	if s.QuotaState != QuotaKeyRejected {
		t.Errorf("key rejected: quota_state %s", s.QuotaState)
	}
	wantStops("key rejected", s, StopKeyRejected)
}
