package splunkd

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/splunktest"
)

const coll = "vtsync_domains"

func int64p(v int64) *int64 { return &v }

func testRecords(n int) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		d := fmt.Sprintf("d%04d.example", i)
		recs[i] = record.Record{
			Key: d, Domain: d, VTFound: i%3 != 0,
			LastAnalysisPositive: int64p(int64(i % 7)),
			Categories:           []string{"news"},
			EnrichedTime:         1700000000 + int64(i),
		}
	}
	return recs
}

func TestKVSaveAndGetBounded(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll))
	kv := newClient(t, s).KVStore(coll)
	ctx := context.Background()
	recs := testRecords(2500)
	if err := kv.Save(ctx, recs); err != nil {
		t.Fatal(err)
	}
	sizes := s.BatchSaveSizes()
	total := 0
	for _, n := range sizes {
		if n > MaxBatchSave {
			t.Errorf("batch_save of %d documents", n)
		}
		total += n
	}
	if total != 2500 || len(sizes) != 3 {
		t.Errorf("batch_save sizes %v, want 3 requests for 2500 documents", sizes)
	}
	docs := s.Documents(DefaultApp, coll)
	if len(docs) != 2500 {
		t.Fatalf("%d documents stored, want 2500", len(docs))
	}
	if d := docs["d0004.example"]; d["domain"] != "d0004.example" || d["vt_found"] != true {
		t.Errorf("stored document %v", d)
	}

	// Ask for every saved domain, some twice, plus 300 unknown ones.
	query := make([]string, 0, 3000)
	for _, r := range recs {
		query = append(query, r.Domain)
	}
	query = append(query, recs[0].Domain, recs[1].Domain)
	for i := 0; i < 300; i++ {
		query = append(query, fmt.Sprintf("unknown%d.example", i))
	}
	before := kv.Requests()
	got, err := kv.Get(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Count("batch_find"); n > 5 || n == 0 {
		t.Errorf("%d batch_find requests for 2800 distinct domains, want at most 5", n)
	}
	for _, n := range s.BatchFindSizes() {
		if n > MaxBatchFind {
			t.Errorf("batch_find with %d queries", n)
		}
	}
	if kv.Requests()-before != s.Count("batch_find") {
		t.Errorf("Requests() counted %d, fake saw %d", kv.Requests()-before, s.Count("batch_find"))
	}
	if len(got) != 2500 {
		t.Fatalf("Get returned %d records, want 2500", len(got))
	}
	for _, r := range recs {
		if !reflect.DeepEqual(got[r.Domain], r) {
			t.Fatalf("record %s read back as %+v, want %+v", r.Domain, got[r.Domain], r)
		}
	}
	if kv.Requests() != s.Count("batch_find")+s.Count("batch_save") {
		t.Errorf("Requests() = %d, fake counted %d", kv.Requests(), s.Count("batch_find")+s.Count("batch_save"))
	}
}

func TestKVSaveReplacesWholeDocument(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll))
	kv := newClient(t, s).KVStore(coll)
	ctx := context.Background()
	r := testRecords(1)[0]
	r.Registrar = "Old Registrar"
	if err := kv.Save(ctx, []record.Record{r}); err != nil {
		t.Fatal(err)
	}
	r.Registrar = ""
	if err := kv.Save(ctx, []record.Record{r}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Documents(DefaultApp, coll)[r.Key]["registrar"]; ok {
		t.Error("registrar survived the replacement")
	}
	if err := kv.Save(ctx, []record.Record{{Domain: "nokey.example"}}); err == nil || !strings.Contains(err.Error(), "nokey.example") {
		t.Errorf("record without _key: err = %v", err)
	}
	if err := kv.Save(ctx, nil); err != nil || s.Count("batch_save") != 2 {
		t.Errorf("empty Save sent a request or failed: %v", err)
	}
}

func TestKVSaveSplitsWhenTooManyDocuments(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll), splunktest.WithMaxDocumentsPerBatchSave(300))
	kv := newClient(t, s).KVStore(coll)
	if err := kv.Save(context.Background(), testRecords(2100)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Documents(DefaultApp, coll)); n != 2100 {
		t.Fatalf("%d documents stored, want 2100", n)
	}
	refused := 0
	for _, n := range s.BatchSaveSizes() {
		if n > 300 {
			refused++
		}
	}
	// 1000 and 500 are refused once each; later chunks use the smaller size.
	if refused != 2 {
		t.Errorf("%d refused batches (sizes %v), want 2", refused, s.BatchSaveSizes())
	}
}

func TestKVSaveTooLargeRecord(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll), splunktest.WithMaxBatchSaveBytes(4096))
	kv := newClient(t, s).KVStore(coll)
	recs := testRecords(8)
	recs[5].Registrar = strings.Repeat("x", 5000)
	err := kv.Save(context.Background(), recs)
	if err == nil || !strings.Contains(err.Error(), recs[5].Domain) || !strings.Contains(err.Error(), "max_size_per_batch_save_mb") {
		t.Fatalf("err = %v, want one naming %s and the size limit", err, recs[5].Domain)
	}
	docs := s.Documents(DefaultApp, coll)
	if _, ok := docs[recs[4].Key]; !ok {
		t.Error("records before the oversized one were not saved")
	}
	if _, ok := docs[recs[5].Key]; ok {
		t.Error("oversized record stored")
	}
}

func TestKVInitializingRetried(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll), splunktest.WithKVInitializing(3))
	kv := newClient(t, s).KVStore(coll)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kv.Save(ctx, testRecords(10)); err != nil {
		t.Fatal(err)
	}
	if s.Count("kv_503") != 3 || s.Count("batch_save") != 1 || kv.Requests() != 4 {
		t.Errorf("503s %d, batch_save %d, Requests %d; want 3, 1, 4", s.Count("kv_503"), s.Count("batch_save"), kv.Requests())
	}
	if len(s.Documents(DefaultApp, coll)) != 10 {
		t.Error("records not stored after the KV store became ready")
	}
}

func TestKVInitializingOutlastsDeadline(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll), splunktest.WithKVInitializing(-1))
	kv := newClient(t, s).KVStore(coll)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := kv.Get(ctx, []string{"a.example"})
	if !errors.Is(err, ErrKVNotReady) {
		t.Fatalf("err = %v, want ErrKVNotReady", err)
	}
	if !strings.Contains(err.Error(), "KV store is not ready") || !strings.Contains(err.Error(), "KV Store is initializing") {
		t.Errorf("error %q does not say the KV store is not ready and why", err)
	}
	if s.Count("kv_503") < 2 {
		t.Errorf("only %d attempts before giving up", s.Count("kv_503"))
	}
}

func TestKVCollectionNameEscaped(t *testing.T) {
	const odd = "vt domains/β"
	s := splunktest.New(t, splunktest.WithCollection("my app", odd))
	kv := newClient(t, s, func(c *Config) { c.App = "my app" }).KVStore(odd)
	if err := kv.Save(context.Background(), testRecords(2)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Documents("my app", odd)); n != 2 {
		t.Errorf("%d documents in %q, want 2", n, odd)
	}
	missing := newClient(t, s, func(c *Config) { c.App = "my app" }).KVStore("nope")
	if _, err := missing.Get(context.Background(), []string{"a"}); !IsNotFound(err) {
		t.Errorf("unknown collection: err = %v, want 404", err)
	}
}
