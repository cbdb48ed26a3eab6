package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/vtsync/vtsync/internal/budget"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/record"
)

// A quota refusal is a failed lookup even when nothing is left to defer:
// the run is partial and its errors say why.
func TestQuotaOnLastLookupIsPartial(t *testing.T) {
	vt := newVT(t0.Unix())
	vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
		if n == 10 {
			return record.Record{}, fmt.Errorf("429 QuotaExceededError: %w", enrich.ErrQuotaExceeded)
		}
		return vt.found(d), nil
	}
	opt := opts(t)
	opt.MaxConcurrency = 1
	s, err := run(t, opt, &rows{values: domains(10, "last%d.com")}, newStore(), vt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusPartial || s.QuotaState != QuotaExceeded || s.Failed != 1 || s.Deferred != 0 {
		t.Errorf("status %s quota_state %s failed %d deferred %d; want partial, quota_exceeded, 1, 0", s.Status, s.QuotaState, s.Failed, s.Deferred)
	}
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "quota") {
		t.Errorf("errors %q should say the quota was exceeded", s.Errors)
	}
}

// Once a save failed, later batches are not sent: they wait in the journal,
// and a store that is down costs the run one save, not one per batch.
func TestNoSaveAfterFailedSave(t *testing.T) {
	store := newStore()
	store.failSave = func(int) error { return errTransient }
	opt := opts(t)
	opt.BatchSize = 5
	opt.MaxConcurrency = 1
	opt.StateDir = t.TempDir()
	s, _ := run(t, opt, &rows{values: domains(20, "down%d.com")}, store, newVT(t0.Unix()))
	if store.attempts != 1 {
		t.Errorf("%d saves attempted, want 1: later batches stay journaled", store.attempts)
	}
	if s.Status != StatusPartial || s.KVWrites != 0 {
		t.Errorf("status %s kv_writes %d", s.Status, s.KVWrites)
	}
	// Everything fetched is replayed by the next run once the store is back.
	store.failSave = nil
	vt := newVT(t0.Unix())
	s, err := run(t, opt, &rows{values: domains(20, "down%d.com")}, store, vt)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(store.keys()); got != 20 || s.Replayed+int(vt.Calls()) != 20 {
		t.Errorf("store holds %d of 20; replayed %d, looked up %d", got, s.Replayed, vt.Calls())
	}
}

// Lookups that spent their budget and wait for a request slot when
// the quota runs out are called off: at a few requests a minute their slot
// comes long after the 429, and they must not send then.
func TestQuotaStopCallsOffLookupsWaitingForASlot(t *testing.T) {
	var sent, waiting atomic.Int64
	var causes sync.Map
	daily := budget.New(0, nil, nil)
	enr := enrich.Func(func(ctx context.Context, _ kind.Kind, d string) (kind.Record, error) {
		if err := daily.Spend(); err != nil {
			return record.Record{}, fmt.Errorf("%w (%w)", err, enrich.ErrNotSent)
		}
		if d == "w0.com" {
			sent.Add(1)
			// The others are queued on the limiter before this answer.
			for waiting.Load() < 3 {
				runtime.Gosched()
			}
			return record.Record{}, fmt.Errorf("429 QuotaExceededError: %w", enrich.ErrQuotaExceeded)
		}
		waiting.Add(1)
		<-ctx.Done() // the slot never comes in this test
		causes.Store(d, context.Cause(ctx))
		daily.Refund()
		return record.Record{}, fmt.Errorf("no request slot: %w (%w)", ctx.Err(), enrich.ErrNotSent)
	})
	opt := opts(t)
	opt.MaxConcurrency = 4
	opt.Budget = daily
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Run(ctx, opt, &rows{values: domains(4, "w%d.com")}, newStore(), enr)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s)
	if sent.Load() != 1 || s.QuotaState != QuotaExceeded || s.Status != StatusPartial {
		t.Errorf("sent %d, quota_state %s, status %s; want 1, quota_exceeded, partial", sent.Load(), s.QuotaState, s.Status)
	}
	n := 0
	causes.Range(func(d, c any) bool {
		n++
		if !errors.Is(c.(error), enrich.ErrQuotaExceeded) {
			t.Errorf("lookup of %s waiting for a slot ended by %v, want the quota stop", d, c)
		}
		return true
	})
	if n != 3 || s.Deferred != 3 || s.BudgetUsed != 1 {
		t.Errorf("%d waiting lookups called off, %d deferred, budget used %d; want 3, 3 and 1 (the others refunded)", n, s.Deferred, s.BudgetUsed)
	}
}

// After VirusTotal said the quota is exceeded, the next runs make no
// lookups for 15 minutes from the run's start (less a minute, for schedule
// jitter), then twice as long after each further stop in a row, never past
// 00:00 UTC; a run that gets answers again ends the hold.
func TestQuotaStopHoldsLaterRuns(t *testing.T) {
	opt := opts(t)
	opt.StateDir = t.TempDir()
	opt.MaxConcurrency = 1
	store := newStore()
	src := &rows{values: domains(20, "h%d.com")}
	quotaAfter := 0 // answers before the quota runs out; <0: no quota error
	runAt := func(at time.Time) (Summary, int64, string) {
		t.Helper()
		vt := newVT(t0.Unix())
		vt.answer = func(ctx context.Context, n int, d string) (record.Record, error) {
			if quotaAfter >= 0 && n > quotaAfter {
				return record.Record{}, fmt.Errorf("429 QuotaExceededError: %w", enrich.ErrQuotaExceeded)
			}
			return vt.found(d), nil
		}
		var logs bytes.Buffer
		opt.Logger = logging.New(&logs, logging.Info)
		var clock atomic.Int64 // the run's start, then 20 s later: the 429 comes mid-run
		opt.Now = func() time.Time {
			if clock.Add(1) == 1 {
				return at
			}
			return at.Add(20 * time.Second)
		}
		s, err := run(t, opt, src, store, vt)
		if err != nil {
			t.Fatal(err)
		}
		return s, vt.Calls(), logs.String()
	}
	at := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

	quotaAfter = 2
	if s, calls, _ := runAt(at); calls != 3 || s.QuotaState != QuotaExceeded {
		t.Fatalf("first run: %d calls, quota_state %s", calls, s.QuotaState)
	}
	// Within 15 minutes: no lookups, the search still counts what waits.
	s, calls, logs := runAt(at.Add(13*time.Minute + 30*time.Second))
	if calls != 0 || s.QuotaState != QuotaExceeded || s.Status != StatusPartial || s.Deferred != 18 || s.Distinct != 20 {
		t.Errorf("held run: %d calls, summary %+v", calls, s)
	}
	if !strings.Contains(logs, "WARN") || !strings.Contains(logs, "12:14:00 UTC") || len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "12:14:00 UTC") {
		t.Errorf("held run should say until when, in a WARN line and in errors:\n%s%q", logs, s.Errors)
	}
	// The run 15 minutes later, even if it starts 30 s early, sends one
	// request; refused again, the wait doubles.
	quotaAfter = 0
	second := at.Add(14*time.Minute + 30*time.Second)
	if _, calls, _ := runAt(second); calls != 1 {
		t.Errorf("after the hold: %d calls, want 1", calls)
	}
	if _, calls, _ := runAt(second.Add(28 * time.Minute)); calls != 0 {
		t.Errorf("28 minutes after the second stop: %d calls, want 0", calls)
	}
	if _, calls, _ := runAt(second.Add(30 * time.Minute)); calls != 1 {
		t.Errorf("30 minutes after the second stop: %d calls, want 1", calls)
	}
	// The third stop in a row (12:44:30) waits an hour, the fourth two
	// hours, and so on, but never past 00:00 UTC.
	if _, calls, _ := runAt(time.Date(2025, 3, 10, 23, 50, 0, 0, time.UTC)); calls != 1 {
		t.Errorf("third stop: %d calls", calls)
	}
	if _, calls, _ := runAt(time.Date(2025, 3, 10, 23, 59, 59, 0, time.UTC)); calls != 0 {
		t.Errorf("before midnight: %d calls, want 0", calls)
	}
	// The daily quota is back at 00:00 UTC: answers end the hold.
	quotaAfter = -1
	if s, calls, _ := runAt(time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)); calls != 18 || s.QuotaState != QuotaOK || s.Status != StatusOK {
		t.Errorf("after midnight: %d calls, summary %+v", calls, s)
	}
	quotaAfter = 0
	store = newStore() // everything is due again
	if _, calls, _ := runAt(time.Date(2025, 3, 11, 0, 5, 0, 0, time.UTC)); calls != 1 {
		t.Errorf("a new stop: %d calls", calls)
	}
	if _, calls, _ := runAt(time.Date(2025, 3, 11, 0, 20, 0, 0, time.UTC)); calls != 1 {
		t.Errorf("15 minutes after a first stop (the streak restarted): %d calls, want 1", calls)
	}
}

// cancelOnSave cancels the run during its first Save (SIGTERM while a
// replay is being saved) and counts the saves.
type cancelOnSave struct {
	*memStore
	cancel context.CancelFunc
	saves  atomic.Int32
}

func (s *cancelOnSave) Save(ctx context.Context, k kind.Kind, recs []kind.Record) error {
	s.saves.Add(1)
	s.cancel()
	return s.memStore.Save(ctx, k, recs)
}

// A run stopped while it replays a previous run's answers stops replaying:
// the batch being saved completes, the rest stays journaled for the next
// run instead of each batch getting its own grace.
func TestStopDuringReplay(t *testing.T) {
	opt := opts(t)
	opt.StateDir = t.TempDir()
	opt.BatchSize = 100
	st, err := checkpoint.Open(opt.StateDir, opt.Input)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	for i := range 2000 {
		d := fmt.Sprintf("r%05d.com", i)
		recs = append(recs, record.NotFound(d, t0.Unix()))
	}
	if err := st.Journal(journalEntries(recs...)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &cancelOnSave{memStore: newStore(), cancel: cancel}
	s, _ := Run(ctx, opt, &rows{values: []string{"a.com"}}, store, newVT(t0.Unix()))
	if store.saves.Load() != 1 || s.Replayed != 100 {
		t.Errorf("%d saves, replayed %d after the stop; want the one batch being saved", store.saves.Load(), s.Replayed)
	}
	st, err = checkpoint.Open(opt.StateDir, opt.Input)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Len() != 1900 {
		t.Errorf("journal holds %d, want the 1900 answers not replayed", st.Len())
	}
}
