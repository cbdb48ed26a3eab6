package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/vtsync/vtsync/internal/budget"
	"log/slog"
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

// A run whose key's quota is held (VirusTotal said it was exceeded in an
// earlier run: internal/keyquota) sends nothing: the search still counts
// what waits, every due indicator is deferred, and the run says until
// when, in a WARN line and in its errors.
func TestQuotaHoldDefersEveryLookup(t *testing.T) {
	until := time.Date(2025, 3, 10, 12, 14, 0, 0, time.UTC)
	var asked atomic.Int64
	enr := enrich.Func(func(ctx context.Context, _ kind.Kind, d string) (kind.Record, error) {
		asked.Add(1)
		return nil, &enrich.HeldError{Until: until, Streak: 2}
	})
	var logs bytes.Buffer
	opt := opts(t)
	opt.Logger = slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
	store := newStore()
	fresh := newVT(t0.Unix())
	for _, d := range domains(2, "h%d.com") {
		store.put(fresh.found(d))
	}
	s, err := run(t, opt, &rows{values: domains(20, "h%d.com")}, store, enr)
	if err != nil {
		t.Fatal(err)
	}
	if s.LookedUp != 0 || s.QuotaState != QuotaExceeded || s.Status != StatusPartial || s.Deferred != 18 || s.Distinct != 20 {
		t.Errorf("held run: summary %+v", s)
	}
	if asked.Load() > int64(opt.MaxConcurrency) {
		t.Errorf("%d lookups tried after the first said the quota is held", asked.Load())
	}
	if !strings.Contains(logs.String(), "WARN") || !strings.Contains(logs.String(), "12:14:00 UTC") || len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "12:14:00 UTC") {
		t.Errorf("held run should say until when, in a WARN line and in errors:\n%s%q", logs.String(), s.Errors)
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
