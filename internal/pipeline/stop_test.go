package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/enrich"
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
