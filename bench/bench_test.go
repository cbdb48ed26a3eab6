package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/refresh"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/vt"
	"github.com/vtsync/vtsync/internal/vttest"
)

func TestMaxInWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s ...float64) []time.Time {
		var ts []time.Time
		for _, x := range s {
			ts = append(ts, t0.Add(time.Duration(x*float64(time.Second))))
		}
		return ts
	}
	for _, c := range []struct {
		times []time.Time
		want  int
	}{
		{nil, 0},
		{at(0), 1},
		{at(0, 15.25, 30.5, 45.75, 61), 4}, // the Q=4 limiter's spacing: never 5 in a minute
		{at(0, 15, 30, 45, 60), 5},         // the window is closed: 60 s apart share it
		{at(60, 0, 45, 15, 30), 5},         // order does not matter
		{at(0, 1, 2, 100, 101), 3},
	} {
		if got := maxInWindow(c.times, time.Minute); got != c.want {
			t.Errorf("maxInWindow(%v) = %d, want %d", c.times, got, c.want)
		}
	}
	if g := minGap(at(0, 10, 12.5, 30)); g != 2500*time.Millisecond {
		t.Errorf("minGap = %s, want 2.5s", g)
	}
}

func TestWorkersFor(t *testing.T) {
	for _, c := range []struct {
		q    int
		lat  time.Duration
		want int
	}{
		{4, 300 * time.Millisecond, 5},         // 1 in flight + 4
		{1000, 300 * time.Millisecond, 9},      // 5 + 4
		{30000, 300 * time.Millisecond, 188},   // 150 + 38
		{30000, 50 * time.Millisecond, 25 + 7}, // 25 + 7
	} {
		if got := workersFor(c.q, c.lat); got != c.want {
			t.Errorf("workersFor(%d, %s) = %d, want %d", c.q, c.lat, got, c.want)
		}
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/vtsync/vtsync/internal/domain
BenchmarkNormalize/mix-2         	 1000000	      1043 ns/op	     123 B/op	       2 allocs/op
pkg: github.com/vtsync/vtsync/internal/vt
BenchmarkMap-2   	   30000	     40000 ns/op	 700.50 MB/s	   449.6 ns/row	   9000 B/op	      80 allocs/op
PASS
`
	got := parseBench(out)
	want := []benchLine{
		{pkg: "internal/domain", name: "BenchmarkNormalize/mix-2", iters: "1000000", nsOp: "1043", bytesOp: "123", allocsOp: "2"},
		{pkg: "internal/vt", name: "BenchmarkMap-2", iters: "30000", nsOp: "40000", mbS: "700.50", bytesOp: "9000", allocsOp: "80", other: []string{"449.6 ns/row"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parseBench:\n got %+v\nwant %+v", got, want)
	}
}

func TestWriteSections(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.md")
	os.WriteFile(p, []byte("# B\nintro\n<!-- bench:day -->\nold\n<!-- /bench:day -->\nanalysis\n"), 0o644)
	if err := writeSections(p, map[string]string{"day": "new table"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if want := "# B\nintro\n<!-- bench:day -->\nnew table\n<!-- /bench:day -->\nanalysis\n"; string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
	if err := writeSections(p, map[string]string{"scale": "x"}); err == nil {
		t.Fatal("a missing section must be an error, not dropped results")
	}
}

// The bench splunkd's export must read through the real client exactly as
// splunkd's would: every row, every value, in order.
func TestScaleExportThroughRealClient(t *testing.T) {
	c := scaleCase{rows: 3000, distinct: 700}
	var want []string
	scaleRows(c)(func(f map[string]string) { want = append(want, f["query"]) })
	sp, err := startSplunkd(scaleRows(c))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	client, err := splunkd.New(splunkd.Config{BaseURL: sp.url, SessionKey: benchSessionKey})
	if err != nil {
		t.Fatal(err)
	}
	src := &splunkd.SearchSource{Client: client, Search: "index=dns", Fields: []splunkd.Field{{Name: "query", Param: "domain_field", Kind: domainkind.Kind{}}}}
	var got []string
	if err := src.Candidates(context.Background(), func(_ kind.Kind, v string) error { got = append(got, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("export rows differ: got %d values, want %d", len(got), len(want))
	}
	distinct := map[string]bool{}
	for _, h := range got {
		d, _ := domain.Normalize(h)
		distinct[d] = true
	}
	if len(distinct) != c.distinct {
		t.Fatalf("%d distinct domains in the rows, want every one of %d", len(distinct), c.distinct)
	}
}

// The bench splunkd keeps splunkd's limits and auth, and round-trips
// records through the real KV client.
func TestBenchSplunkdKV(t *testing.T) {
	sp, err := startSplunkd(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ctx := context.Background()
	client, _ := splunkd.New(splunkd.Config{BaseURL: sp.url, SessionKey: benchSessionKey})
	kv := client.KVStore("vtsync_domains")
	recs := make([]record.Record, 2500)
	for i := range recs {
		recs[i] = record.NotFound(fmt.Sprintf("d%04d.com", i), 1700000000)
	}
	if err := kv.Save(ctx, kindRecords(recs)); err != nil {
		t.Fatal(err)
	}
	keys := []string{"d0000.com", "d2499.com", "absent.com"}
	got, err := kv.Get(ctx, domainkind.Kind{}, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["d2499.com"].Enriched() != 1700000000 {
		t.Fatalf("Get = %+v", got)
	}
	if n := sp.saves.Load(); n != 3 {
		t.Fatalf("%d batch_save requests for 2500 records, want 3", n)
	}
	bad, _ := splunkd.New(splunkd.Config{BaseURL: sp.url, SessionKey: "wrong"})
	if _, err := bad.KVStore("vtsync_domains").Get(ctx, domainkind.Kind{}, keys); err == nil {
		t.Fatal("a wrong session key was accepted")
	}
}

func benchRecords(n int) []record.Record {
	var rs []record.Record
	for i := range n {
		var r record.Record
		json.Unmarshal(storedRecord(i, time.Unix(1772000000, 0)), &r)
		rs = append(rs, r)
	}
	return rs
}

// BenchmarkBatchSaveEncode is the body of one full KV batch_save: 1000
// records, encoded as splunkd.KVStore does (encoding/json).
func BenchmarkBatchSaveEncode(b *testing.B) {
	recs := benchRecords(1000)
	body, _ := json.Marshal(recs)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// BenchmarkKVStore is one batch_find of 1000 keys (all present) and one
// batch_save of 1000 records through the real client over loopback HTTP.
func BenchmarkKVStore(b *testing.B) {
	sp, err := startSplunkd(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	recs := benchRecords(1000)
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Key
		sp.put(r.Key, storedRecord(i, time.Unix(1772000000, 0)))
	}
	client, _ := splunkd.New(splunkd.Config{BaseURL: sp.url, SessionKey: benchSessionKey})
	kv := client.KVStore("vtsync_domains")
	ctx := context.Background()
	b.Run("get-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got, err := kv.Get(ctx, domainkind.Kind{}, keys); err != nil || len(got) != len(keys) {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("save-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := kv.Save(ctx, kindRecords(recs)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSearchSource is the export stream read through the real client
// and splunkd.SearchSource: per row, HTTP + JSON + field extraction.
func BenchmarkSearchSource(b *testing.B) {
	c := scaleCase{rows: 100000, distinct: 10000}
	sp, err := startSplunkd(scaleRows(c))
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	client, _ := splunkd.New(splunkd.Config{BaseURL: sp.url, SessionKey: benchSessionKey})
	src := &splunkd.SearchSource{Client: client, Search: "index=dns", Fields: []splunkd.Field{{Name: "query", Param: "domain_field", Kind: domainkind.Kind{}}}}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := src.Candidates(context.Background(), func(kind.Kind, string) error { n++; return nil }); err != nil || n != c.rows {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.rows), "ns/row")
}

// BenchmarkEnrich is one VirusTotal lookup answered with the ~15 KB
// object, through vt-go and vt.Map, over loopback HTTP (pacing out of the
// way). Server time is included: it shares the CPU.
func BenchmarkEnrich(b *testing.B) {
	fake, err := startVT()
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	fake.AddDomain("example.com", vtAttributes(2, time.Unix(1772000000, 0)))
	enr, err := vt.New(vt.Config{APIKey: vttest.APIKey, BaseURL: fake.url, RequestsPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := enr.Enrich(ctx, domainkind.Kind{}, "example.com"); err != nil || !r.Found() {
			b.Fatal(err)
		}
	}
}

// The weeks model: fixed periods are within their own bounds (the bound
// check agrees with the real policy), a policy that refreshes later than
// refresh_days is caught, the not-found backoff saves lookups, and the
// same seed gives the same weeks.
func TestWeeksModel(t *testing.T) {
	c := worldDefaults(true)
	c.days, c.gainOld = 21, 0.05
	w := buildWorld(c)
	fixed := simulate(w, "fixed", refresh.Fixed(7, 24))
	ext, _ := externalPerDay(w)
	s := summarise(w, ext, fixed)
	if s.beyond != 0 || s.beyondFixed != 0 {
		t.Errorf("fixed periods: %d detections later than today's bounds, %d later than fixed periods; want 0", s.beyond, s.beyondFixed)
	}
	if s.detected == 0 || len(fixed.rules[ruleMalicious].delays) == 0 || len(fixed.rules[ruleYoung].delays) == 0 {
		t.Fatalf("no detections to measure: %+v", s)
	}
	lookups := 0
	for _, n := range fixed.calls {
		lookups += n
	}
	if lookups == 0 || lookups >= sum(ext) {
		t.Errorf("%d lookups against %d external calls", lookups, sum(ext))
	}
	late := summarise(w, ext, simulate(w, "late", refresh.Fixed(30, 24)))
	if late.beyond == 0 {
		t.Error("refresh_days 30 shows no detection later than a 7-day bound: the check cannot fail")
	}
	backoff := simulate(w, "backoff", refresh.Policy{RefreshDays: 7, NotFoundHours: 24, NotFoundMaxHours: 168})
	if b := summarise(w, ext, backoff); b.avg4 >= s.avg4 || b.beyond != 0 {
		t.Errorf("backoff: %.0f lookups a day against %.0f, %d later than today's bounds", b.avg4, s.avg4, b.beyond)
	}
	again := simulate(buildWorld(c), "fixed", refresh.Fixed(7, 24))
	if fmt.Sprint(again.calls) != fmt.Sprint(fixed.calls) {
		t.Error("the same seed gave different lookups")
	}
	for r, ids := range w.runs {
		seen := map[int32]bool{}
		for _, i := range ids {
			if seen[i] {
				t.Fatalf("run %d lists site %d twice: the external lookup would count it twice", r, i)
			}
			seen[i] = true
		}
	}
}

func sum(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}

func TestFenwick(t *testing.T) {
	f := newFenwick(5)
	for i, w := range []float64{1, 0, 2, 3, 0} {
		f.set(i, w)
	}
	if f.total() != 6 {
		t.Fatalf("total %v", f.total())
	}
	for _, c := range []struct {
		x    float64
		want int
	}{{0, 0}, {0.99, 0}, {1, 2}, {2.5, 2}, {3, 3}, {5.99, 3}} {
		if got := f.find(c.x); got != c.want {
			t.Errorf("find(%v) = %d, want %d", c.x, got, c.want)
		}
	}
	f.set(2, 0)
	if got := f.find(1.5); got != 3 {
		t.Errorf("after zeroing 2, find(1.5) = %d, want 3", got)
	}
}

// The summary is written from the scenarios' results: one row per pacing
// quota, the weeks' ratio, peak and delays, the scale targets.
func TestSummary(t *testing.T) {
	defer func(p []pacingResult, s []scaleResult, w *weeksResult) { lastPacing, lastScale, lastWeeks = p, s, w }(lastPacing, lastScale, lastWeeks)
	w, err := runWeeks(context.Background(), true, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	lastWeeks = w
	lastPacing = []pacingResult{
		{pacingCase: pacingCase{q: 4, lat: 300 * time.Millisecond, lookups: 10}, looked: 10, sustained: 3.69, maxWindow: 4},
		{pacingCase: pacingCase{q: 1000, lat: 50 * time.Millisecond, lookups: 1100}, looked: 1100, sustained: 975, maxWindow: 975},
		{pacingCase: pacingCase{q: 1000, lat: 300 * time.Millisecond, lookups: 1100}, looked: 1100, sustained: 940, maxWindow: 975},
	}
	lastScale = []scaleResult{{report: childReport{Summary: pipeline.Summary{Candidates: 1000000, Distinct: 50000, Status: pipeline.StatusOK}, VmHWMkB: 23 << 10},
		user: 5 * time.Second, finds: 50}}
	got := summary()
	for _, want := range []string{
		"| VT pacing, Q = 4/min, L = 300ms, 10 lookups each | never exceeded | 0.922 · Q, 0 × 429, at most 4 requests in any 60 s (limiter interval 16.25s)",
		"| VT pacing, Q = 1000/min, L = 50ms and 300ms, 1100 lookups each | ≥ 0.95 · Q sustained, no 429 | 0.975 · Q and 0.940 · Q",
		"| **no** |", // 0.940 < 0.95
		"VT lookups, days 1–28", "the peak day after the first week", "young ", "malicious ", "not found ",
		"| 23.0 MB (1000000 rows, 50000 domains) | yes |", "| 5µs (50000 domains) | yes |", "1 per 20000 candidates",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

// kindRecords widens domain records to what a store saves.
func kindRecords(recs []record.Record) []kind.Record {
	out := make([]kind.Record, len(recs))
	for i, r := range recs {
		out[i] = r
	}
	return out
}
