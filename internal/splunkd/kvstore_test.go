package splunkd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
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
	if err := saveDomains(kv, ctx, recs); err != nil {
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
	got, err := getDomains(kv, ctx, query)
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
	if err := saveDomains(kv, ctx, []record.Record{r}); err != nil {
		t.Fatal(err)
	}
	r.Registrar = ""
	if err := saveDomains(kv, ctx, []record.Record{r}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Documents(DefaultApp, coll)[r.Key]["registrar"]; ok {
		t.Error("registrar survived the replacement")
	}
	if err := saveDomains(kv, ctx, []record.Record{{Domain: "nokey.example"}}); err == nil || !strings.Contains(err.Error(), "no _key") {
		t.Errorf("record without _key: err = %v", err)
	}
	if err := saveDomains(kv, ctx, nil); err != nil || s.Count("batch_save") != 2 {
		t.Errorf("empty Save sent a request or failed: %v", err)
	}
}

func TestKVSaveSplitsWhenTooManyDocuments(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll), splunktest.WithMaxDocumentsPerBatchSave(300))
	kv := newClient(t, s).KVStore(coll)
	if err := saveDomains(kv, context.Background(), testRecords(2100)); err != nil {
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
	err := saveDomains(kv, context.Background(), recs)
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
	if err := saveDomains(kv, ctx, testRecords(10)); err != nil {
		t.Fatal(err)
	}
	if s.Count("kv_503") != 3 || s.Count("batch_save") != 1 || kv.Requests() != 4 {
		t.Errorf("503s %d, batch_save %d, Requests %d; want 3, 1, 4", s.Count("kv_503"), s.Count("batch_save"), kv.Requests())
	}
	if len(s.Documents(DefaultApp, coll)) != 10 {
		t.Error("records not stored after the KV store became ready")
	}
}

// A KV store that stays initializing is retried with backoff until the
// deadline, then reported. (A synctest bubble: the backoff and the deadline
// run on its clock, so the test neither waits nor depends on the machine's
// speed.)
func TestKVInitializingOutlastsDeadline(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll), splunktest.WithKVInitializing(-1))
	synctest.Test(t, func(t *testing.T) {
		kv := newClient(t, s, func(c *Config) {
			c.HTTPClient = &http.Client{Transport: s.Transport()}
			c.RetryBase = 500 * time.Millisecond // the default
		}).KVStore(coll)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := getDomains(kv, ctx, []string{"a.example"})
		if !errors.Is(err, ErrKVNotReady) {
			t.Fatalf("err = %v, want ErrKVNotReady", err)
		}
		if !strings.Contains(err.Error(), "KV store is not ready") || !strings.Contains(err.Error(), "KV Store is initializing") {
			t.Errorf("error %q does not say the KV store is not ready and why", err)
		}
		// 500 ms doubling: attempts at about 0, 0.5, 1.5, 3.5 and 7.5 s.
		if n := s.Count("kv_503"); n < 4 {
			t.Errorf("only %d attempts in 10 s before giving up", n)
		}
	})
}

func TestKVCollectionNameEscaped(t *testing.T) {
	const odd = "vt domains/β"
	s := splunktest.New(t, splunktest.WithCollection("my app", odd))
	kv := newClient(t, s, func(c *Config) { c.App = "my app" }).KVStore(odd)
	if err := saveDomains(kv, context.Background(), testRecords(2)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Documents("my app", odd)); n != 2 {
		t.Errorf("%d documents in %q, want 2", n, odd)
	}
	missing := newClient(t, s, func(c *Config) { c.App = "my app" }).KVStore("nope")
	if _, err := getDomains(missing, context.Background(), []string{"a"}); !IsNotFound(err) {
		t.Errorf("unknown collection: err = %v, want 404", err)
	}
}

// Documents come back in whatever form the KV store or outputlookup left
// them: every readable form counts as stored, and one unreadable document
// is skipped with a WARN (its domain is looked up again) without losing
// the other records of the answer.
func TestKVGetLenientAndSkipsUnreadable(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll))
	s.PutDocument(DefaultApp, coll, map[string]any{"_key": "a.example", "domain": "a.example", "vt_found": 1,
		"last_analysis_positive": 6.0, "categories": "malware", "enriched_time": 1.8e9})
	s.PutDocument(DefaultApp, coll, map[string]any{"_key": "bad.example", "domain": "bad.example", "vt_found": "maybe", "enriched_time": 1})
	s.PutDocument(DefaultApp, coll, map[string]any{"_key": "c.example", "domain": "c.example", "vt_found": "false", "enriched_time": "1800000001"})
	var logs bytes.Buffer
	kv := newClient(t, s, func(c *Config) { c.Logger = testLogger(&logs, slog.LevelInfo) }).KVStore(coll)
	got, err := getDomains(kv, context.Background(), []string{"a.example", "bad.example", "c.example", "d.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]record.Record{
		"a.example": {Key: "a.example", Domain: "a.example", VTFound: true, LastAnalysisPositive: int64p(6),
			Categories: []string{"malware"}, EnrichedTime: 1800000000},
		"c.example": {Key: "c.example", Domain: "c.example", EnrichedTime: 1800000001},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get = %+v\nwant %+v", got, want)
	}
	if l := logs.String(); !strings.HasPrefix(l, "WARN") || !strings.Contains(l, "bad.example") || !strings.Contains(l, "vt_found") || strings.Count(l, "\n") != 1 {
		t.Errorf("log %q: want one WARN naming bad.example and the unreadable field", l)
	}
}

// BenchmarkKVFindAnswer is the client's share of a freshness read: one
// batch_find answer of 1000 records, shaped as vtsync stores them and as
// the KV store returns them (with _user), decoded into the result map.
func BenchmarkKVFindAnswer(b *testing.B) {
	answer := []byte("[")
	keys := make([]string, MaxBatchFind)
	for i := range keys {
		keys[i] = fmt.Sprintf("host%d.example.com", i)
		if i > 0 {
			answer = append(answer, ',')
		}
		answer = fmt.Appendf(answer, `[{"_key":%q,"domain":%q,"vt_found":true,"whois_creation_date":"2023-04-05","whois_creation_time":1680652800,"last_analysis_positive":%d,"last_analysis_suspicious":0,"last_analysis_time":1771827200,"cert_issuer":"C=US, O=Let's Encrypt, CN=R10","cert_issuer_org":"Let's Encrypt","cert_not_before":1758844800,"categories":["business","information technology"],"reputation":0,"registrar":"NameCheap, Inc.","enriched_time":1771913600,"_user":"nobody"}]`, keys[i], keys[i], i%3)
	}
	answer = append(answer, ']')
	kv := (&Client{log: slog.New(slog.DiscardHandler)}).KVStore(coll)
	b.SetBytes(int64(len(answer)))
	b.ReportAllocs()
	for b.Loop() {
		out := make(map[string]kind.Record)
		if err := kv.readFound(domainkind.Kind{}, answer, keys, out); err != nil || len(out) != len(keys) {
			b.Fatal(len(out), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/record")
}

// TestKVPurge: records not refreshed since the cutoff are deleted in
// bounded requests (a page of keys read, exactly those deleted), newer
// ones and ones without enriched_time stay, and the count is exact.
func TestKVPurge(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll))
	kv := newClient(t, s).KVStore(coll)
	ctx := context.Background()
	const cutoff = 1700000000
	var recs []record.Record
	for i := range 2300 {
		d := fmt.Sprintf("old%04d.example", i)
		recs = append(recs, record.Record{Key: d, Domain: d, VTFound: true, EnrichedTime: cutoff - 1 - int64(i)})
	}
	for i := range 40 {
		d := fmt.Sprintf("new%04d.example", i)
		recs = append(recs, record.Record{Key: d, Domain: d, VTFound: true, EnrichedTime: cutoff + int64(i)})
	}
	// Keys interleaved with the old ones, at the cutoff exactly: kept.
	for i := range 30 {
		d := fmt.Sprintf("old%04d.keep", i*70)
		recs = append(recs, record.Record{Key: d, Domain: d, VTFound: true, EnrichedTime: cutoff})
	}
	if err := saveDomains(kv, ctx, recs); err != nil {
		t.Fatal(err)
	}
	s.PutDocument(DefaultApp, coll, map[string]any{"_key": "noenrich.example", "domain": "noenrich.example"})
	gets, dels := s.Count("kv_get"), s.Count("kv_delete")
	n, err := kv.Purge(ctx, time.Unix(cutoff, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2300 {
		t.Errorf("Purge deleted %d, want 2300", n)
	}
	docs := s.Documents(DefaultApp, coll)
	if len(docs) != 40+30+1 {
		t.Errorf("%d documents left, want 71", len(docs))
	}
	for k, d := range docs {
		if strings.HasPrefix(k, "old") && strings.HasSuffix(k, ".example") {
			t.Fatalf("stale record %s kept: %v", k, d)
		}
	}
	// 2300 stale records: pages of 1000, 1000, 300 — one read and one
	// delete each.
	if g, d := s.Count("kv_get")-gets, s.Count("kv_delete")-dels; g != 3 || d != 3 {
		t.Errorf("%d reads and %d deletes, want 3 and 3", g, d)
	}
	// Nothing left to delete: one read, no delete.
	if n, err := kv.Purge(ctx, time.Unix(cutoff, 0)); n != 0 || err != nil {
		t.Errorf("second Purge = %d, %v", n, err)
	}
}

func TestKVPurgeBoundedPerRun(t *testing.T) {
	s := splunktest.New(t, splunktest.WithCollection(DefaultApp, coll))
	kv := newClient(t, s).KVStore(coll)
	kv.purgePage, kv.purgePages = 10, 3
	ctx := context.Background()
	n := 10*3 + 10
	recs := make([]record.Record, n)
	for i := range recs {
		d := fmt.Sprintf("d%06d.example", i)
		recs[i] = record.Record{Key: d, Domain: d, EnrichedTime: 1000}
	}
	if err := saveDomains(kv, ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := kv.Purge(ctx, time.Unix(2000, 0))
	if err != nil || got != 30 {
		t.Fatalf("Purge = %d, %v; want 30 (3 pages of 10; the rest next run)", got, err)
	}
	if left := len(s.Documents(DefaultApp, coll)); left != 10 {
		t.Fatalf("%d left, want 10", left)
	}
}
