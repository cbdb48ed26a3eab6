package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/record"
)

// purgingStore is a memStore that also deletes by enriched_time, as the KV
// store client and the embedded store do.
type purgingStore struct {
	*memStore
	calls  int
	before time.Time
	err    error
}

func (p *purgingStore) Purge(ctx context.Context, k kind.Kind, before time.Time) (int, error) {
	if k.Name() != "domain" {
		return 0, errors.New("purgingStore holds domains only")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.before = before
	if p.err != nil {
		return 0, p.err
	}
	n := 0
	for k, r := range p.recs {
		if r.EnrichedTime > 0 && r.EnrichedTime < before.Unix() {
			delete(p.recs, k)
			n++
		}
	}
	return n, nil
}

func TestRetentionPurgesAfterTheLookups(t *testing.T) {
	store := &purgingStore{memStore: newStore()}
	day := int64(86400)
	for _, r := range []struct {
		d   string
		age int64 // days since enriched
	}{{"old1.com", 40}, {"old2.com", 31}, {"recent.com", 29}, {"contacted-old.com", 45}} {
		store.recs[r.d] = record.Record{Key: r.d, Domain: r.d, VTFound: true, EnrichedTime: t0.Unix() - r.age*day}
	}
	opt := opts(t)
	opt.RetentionDays = 30
	// contacted-old.com is stale, looked up again this run: refreshed, kept.
	s, err := run(t, opt, &rows{values: []string{"contacted-old.com", "new.com"}}, store, newVT(t0.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Purged != 2 || store.calls != 1 || !store.before.Equal(t0.Add(-30*24*time.Hour)) {
		t.Fatalf("purged %d in %d calls before %v; summary %+v", s.Purged, store.calls, store.before, s)
	}
	for _, d := range []string{"recent.com", "contacted-old.com", "new.com"} {
		if _, ok := store.recs[d]; !ok {
			t.Errorf("%s was deleted", d)
		}
	}
	if s.Status != StatusOK {
		t.Errorf("status %s", s.Status)
	}

	// retention_days 0 keeps everything: no purge at all.
	opt.RetentionDays = 0
	if s, _ := run(t, opt, &rows{values: []string{"new.com"}}, store, newVT(t0.Unix())); s.Purged != 0 || store.calls != 1 {
		t.Fatalf("retention 0: purged %d, %d calls", s.Purged, store.calls)
	}
}

func TestRetentionFailureIsNotFatal(t *testing.T) {
	store := &purgingStore{memStore: newStore(), err: errors.New("KV store answered 500")}
	opt := opts(t)
	opt.RetentionDays = 30
	s, err := run(t, opt, &rows{values: []string{"a.com"}}, store, newVT(t0.Unix()))
	if err != nil || s.Status != StatusPartial || s.Found != 1 || len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "retention") {
		t.Fatalf("summary %+v, err %v", s, err)
	}
}

func TestRetentionSkippedWhenTheRunIsStopped(t *testing.T) {
	store := &purgingStore{memStore: newStore()}
	opt := opts(t)
	opt.RetentionDays = 30
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Run(ctx, opt, &rows{values: []string{"a.com"}}, store, newVT(t0.Unix()))
	if store.calls != 0 {
		t.Fatalf("a cancelled run purged (%d calls)", store.calls)
	}
}
