package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/record"
)

// pairs is a Source of (kind, value) pairs.
type pairs []struct {
	k kind.Kind
	v string
}

func (p pairs) Candidates(ctx context.Context, emit func(kind.Kind, string) error) error {
	for _, c := range p {
		if err := emit(c.k, c.v); err != nil {
			return err
		}
	}
	return nil
}

// kindStore keeps each kind in its own collection, as the KV store does,
// and refuses a record of another kind than the one it is saved as.
type kindStore struct {
	mu    sync.Mutex
	colls map[string]map[string]kind.Record
	gets  map[string]int
}

func (s *kindStore) Get(_ context.Context, k kind.Kind, keys []string) (map[string]kind.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets[k.Name()]++
	out := map[string]kind.Record{}
	for _, key := range keys {
		if r, ok := s.colls[k.Collection()][key]; ok {
			out[key] = r
		}
	}
	return out, nil
}

func (s *kindStore) Save(_ context.Context, k kind.Kind, recs []kind.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		doc, _ := json.Marshal(r)
		back, err := k.Decode(doc)
		if err != nil || back.ID() != r.ID() {
			return fmt.Errorf("a %T saved as %s", r, k.Name())
		}
		if s.colls[k.Collection()] == nil {
			s.colls[k.Collection()] = map[string]kind.Record{}
		}
		s.colls[k.Collection()][r.ID()] = r
	}
	return nil
}

// One source feeds two kinds: each is normalised by its kind, checked and
// saved in its own collection, and counted in its own share of the summary
// (the totals stay what dashboards read).
func TestOneSourceSeveralKinds(t *testing.T) {
	var src pairs
	add := func(k kind.Kind, vs ...string) {
		for _, v := range vs {
			src = append(src, struct {
				k kind.Kind
				v string
			}{k, v})
		}
	}
	add(domainKind{}, "www.a.com", "b.com", "a.com", "localhost", "fresh.com")
	add(numKind{}, "100", "200", "100", "42", "x", "300")
	store := &kindStore{colls: map[string]map[string]kind.Record{
		"vtsync_domains": {"fresh.com": record.Record{Key: "fresh.com", Domain: "fresh.com", VTFound: true, EnrichedTime: t0.Unix()}},
		"vtsync_nums":    {"300": numRecord{Key: "300", Hit: true, Time: t0.Unix()}},
	}, gets: map[string]int{}}
	var mu sync.Mutex
	asked := map[string]int{}
	enr := enrichFunc(func(_ context.Context, k kind.Kind, key string) (kind.Record, error) {
		mu.Lock()
		asked[k.Name()+":"+key]++
		mu.Unlock()
		if k.Name() == "num" {
			return numRecord{Key: key, Hit: key == "200", Time: t0.Unix()}, nil
		}
		return record.Record{Key: key, Domain: key, VTFound: true, EnrichedTime: t0.Unix()}, nil
	})
	opt := opts(t)
	opt.StateDir = t.TempDir()
	s, err := run(t, opt, src, store, enr)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s)
	want := map[string]int{"domain:a.com": 1, "domain:b.com": 1, "num:100": 1, "num:200": 1}
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("looked up %v, want %v", asked, want)
	}
	if s.Candidates != 11 || s.Distinct != 6 || s.Fresh != 2 || s.Due != 4 || s.Found != 3 || s.NotFound != 1 || s.KVWrites != 4 || s.RejectedTotal != 3 {
		t.Errorf("totals %+v", s)
	}
	d, n := s.Kinds["domain"], s.Kinds["num"]
	if d == nil || n == nil || len(s.Kinds) != 2 {
		t.Fatalf("kinds %v, want domain and num", s.Kinds)
	}
	if d.Candidates != 5 || d.Distinct != 3 || d.Fresh != 1 || d.Due != 2 || d.Found != 2 || d.KVWrites != 2 || d.RejectedTotal != 1 {
		t.Errorf("domain share %+v", *d)
	}
	if n.Candidates != 6 || n.Distinct != 3 || n.Fresh != 1 || n.LookedUp != 2 || n.Found != 1 || n.NotFound != 1 || n.Rejected["reserved"] != 1 || n.Rejected["not_a_number"] != 1 {
		t.Errorf("num share %+v", *n)
	}
	if _, ok := store.colls["vtsync_nums"]["200"].(numRecord); !ok || len(store.colls["vtsync_domains"]) != 3 {
		t.Errorf("collections %v", store.colls)
	}
	if store.gets["domain"] != 1 || store.gets["num"] != 1 {
		t.Errorf("freshness checks per kind %v, want one each", store.gets)
	}
}

type enrichFunc func(ctx context.Context, k kind.Kind, key string) (kind.Record, error)

func (f enrichFunc) Enrich(ctx context.Context, k kind.Kind, key string) (kind.Record, error) {
	return f(ctx, k, key)
}
