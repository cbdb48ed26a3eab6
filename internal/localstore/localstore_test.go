package localstore

import (
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	bolt "go.etcd.io/bbolt"

	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func i64(v int64) *int64 { return &v }

// full returns a record with every field set, including the characters a
// CSV writer must quote.
func full() record.Record {
	return record.Record{
		Key: "cdn-telemetry-sync.com", Domain: "cdn-telemetry-sync.com", VTFound: true,
		WhoisCreationDate: "2025-03-05", WhoisCreationTime: i64(1741132800),
		LastAnalysisPositive: i64(3), LastAnalysisSuspicious: i64(1), LastAnalysisTime: i64(1741900000),
		CertIssuer: "C=US, O=Let's Encrypt, CN=R10", CertIssuerOrg: "Let's Encrypt", CertNotBefore: i64(1741140000),
		Categories:      []string{"malware", "newly registered websites"},
		PopularityAlexa: i64(0), PopularityRank: i64(120000), Reputation: i64(-12),
		Registrar: `NameCheap, Inc. "NC"`, Tags: []string{"self-signed", "dga"}, EnrichedTime: 1741950000,
	}
}

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state", "vtsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	a := full()
	b := record.NotFound("unknown-thing.top", 1741950001)
	if err := saveDomains(s, ctx, []record.Record{a, b}); err != nil {
		t.Fatal(err)
	}
	got, err := getDomains(s, ctx, []string{"cdn-telemetry-sync.com", "unknown-thing.top", "absent.example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Get returned %d records, want 2 (absent domains are left out): %v", len(got), got)
	}
	if !reflect.DeepEqual(got[a.Key], a) || !reflect.DeepEqual(got[b.Key], b) {
		t.Fatalf("round trip changed records:\n got %+v\nwant %+v\n got %+v\nwant %+v", got[a.Key], a, got[b.Key], b)
	}

	// Save is an upsert by _key.
	a2 := a
	a2.LastAnalysisPositive = i64(9)
	if err := saveDomains(s, ctx, []record.Record{a2}); err != nil {
		t.Fatal(err)
	}
	got, _ = getDomains(s, ctx, []string{a.Key})
	if *got[a.Key].LastAnalysisPositive != 9 {
		t.Fatalf("upsert did not replace the record: %+v", got[a.Key])
	}
	if n, _ := s.Len(); n != 2 {
		t.Fatalf("Len = %d after an upsert, want 2", n)
	}

	// Records survive a reopen.
	path := s.Path()
	s.Close()
	ro, err := OpenReadOnly(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err = getDomains(ro, ctx, []string{b.Key})
	if err != nil || !reflect.DeepEqual(got[b.Key], b) {
		t.Fatalf("after reopen: %v %+v", err, got)
	}
}

func TestSaveRejectsMissingKey(t *testing.T) {
	s := open(t)
	err := saveDomains(s, context.Background(), []record.Record{full(), {Domain: "nokey.com"}})
	if err == nil || !strings.Contains(err.Error(), "no _key") {
		t.Fatalf("err = %v, want one naming the record without _key", err)
	}
	if n, _ := s.Len(); n != 0 {
		t.Fatalf("a refused batch stored %d records; want all or none", n)
	}
}

func TestAllSortedAndStops(t *testing.T) {
	s := open(t)
	var recs []record.Record
	for _, d := range []string{"zz.com", "aa.net", "mm.org", "ab.io"} {
		recs = append(recs, record.NotFound(d, 1))
	}
	if err := saveDomains(s, context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s.All(func(r record.Record) error { keys = append(keys, r.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"aa.net", "ab.io", "mm.org", "zz.com"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("All order = %v, want %v", keys, want)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := s.All(func(record.Record) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("All did not stop at fn's error: err=%v calls=%d", err, n)
	}
}

func TestOpenReadOnlyMissing(t *testing.T) {
	_, err := OpenReadOnly(filepath.Join(t.TempDir(), "nope.db"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.db") || !strings.Contains(err.Error(), "vtsync run") {
		t.Fatalf("err = %v, want one naming the file and saying to run first", err)
	}
}

func TestLockedByWriter(t *testing.T) {
	defer func(w time.Duration) { sharedWait = w }(sharedWait)
	sharedWait = 100 * time.Millisecond
	s := open(t) // Open holds the lock until Close
	var said []string
	_, err := OpenReadOnly(s.Path(), func(msg string) { said = append(said, msg) })
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want 'in use' while a writer holds the file", err)
	}
	if len(said) != 1 || !strings.Contains(said[0], "saving") || !strings.Contains(said[0], s.Path()) {
		t.Fatalf("waiting messages %q, want one naming the file and saying a run is saving", said)
	}
}

// A run's Shared store holds no lock between its calls: readers open the
// file between two Saves, and a Save waits for a reader to finish.
func TestSharedLetsReadersIn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "vtsync.db")
	s, err := OpenShared(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := full(), record.NotFound("unknown-thing.top", 1741950001)
	if err := saveDomains(s, ctx, []record.Record{a}); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, func(msg string) { t.Errorf("reader waited: %s", msg) })
	if err != nil {
		t.Fatalf("reader during a run: %v", err)
	}
	if got, err := getDomains(ro, ctx, []string{a.Key}); err != nil || !reflect.DeepEqual(got[a.Key], a) {
		t.Fatalf("reader: %v %+v", err, got)
	}
	saved := make(chan error, 1)
	go func() { saved <- saveDomains(s, ctx, []record.Record{b}) }()
	// The Save must still be waiting while the reader is open. The pause
	// only gives a Save that did not wait the time to show it; it is no
	// measure of speed.
	select {
	case err := <-saved:
		t.Fatalf("Save returned (err %v) while a reader still had the store open; it must wait for the reader", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-saved:
		if err != nil {
			t.Fatalf("Save after the reader closed: %v", err)
		}
	case <-time.After(sharedWait / 2): // safety net only; Save gives up after sharedWait
		t.Fatal("Save still waiting after the reader closed")
	}
	got, err := getDomains(s, ctx, []string{a.Key, b.Key, "absent.example"})
	if err != nil || len(got) != 2 || !reflect.DeepEqual(got[b.Key], b) {
		t.Fatalf("Get: %v %+v", err, got)
	}
}

// A reader that finds a run's transaction in progress waits for it and
// says why.
func TestReaderWaitsForSave(t *testing.T) {
	w := open(t) // stands for a Shared store's transaction in progress
	path := w.Path()
	var said []string
	ro, err := OpenReadOnly(path, func(msg string) {
		said = append(said, msg)
		w.Close() // the transaction ends
	})
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	ro.Close()
	if len(said) != 1 || !strings.Contains(said[0], "waiting up to 30s") {
		t.Fatalf("waiting messages %q", said)
	}
}

func TestConcurrentSaveGet(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const workers, per = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range per {
				d := fmt.Sprintf("w%d-d%d.com", w, i)
				if err := saveDomains(s, ctx, []record.Record{record.NotFound(d, int64(i+1))}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err := getDomains(s, ctx, []string{fmt.Sprintf("w%d-d%d.com", w, i)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, _ := s.Len(); n != workers*per {
		t.Fatalf("Len = %d, want %d", n, workers*per)
	}
}

func TestExportCSVGolden(t *testing.T) {
	s := open(t)
	nf := record.NotFound("zq3x9-relay.top", 1741950002)
	minimal := record.Record{Key: "old-vendor.com", Domain: "old-vendor.com", VTFound: true, EnrichedTime: 1741950003}
	if err := saveDomains(s, context.Background(), []record.Record{nf, full(), minimal}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := s.ExportCSV(&buf)
	if err != nil || n != 3 {
		t.Fatalf("ExportCSV = %d, %v", n, err)
	}
	golden := filepath.Join("testdata", "export.csv.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("CSV differs from %s (go test -update to accept):\n%s", golden, buf.String())
	}
}

// TestCSVRowMatchesJSON pins CSVRow to record.Fields: every cell must hold
// the record's JSON value of the same field, so the export cannot drift
// from the KV contract when a field is added.
func TestCSVRowMatchesJSON(t *testing.T) {
	r := full()
	r.NotFoundSince = 1741000000 // every field set, whether or not a found record has it
	row := make([]string, len(record.Fields))
	CSVRow(r, row)
	raw, _ := json.Marshal(r)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != len(record.Fields) {
		t.Fatalf("record has %d JSON fields, record.Fields lists %d", len(m), len(record.Fields))
	}
	for i, f := range record.Fields {
		var want string
		switch v := m[f].(type) {
		case string:
			want = v
		case float64:
			want = strconv.FormatInt(int64(v), 10)
		case bool:
			want = map[bool]string{true: "1", false: "0"}[v]
		case []any:
			var parts []string
			for _, p := range v {
				parts = append(parts, p.(string))
			}
			want = strings.Join(parts, "\n")
		default:
			t.Fatalf("field %s: unexpected JSON type %T", f, v)
		}
		if row[i] != want {
			t.Errorf("cell %d (%s) = %q, want %q", i, f, row[i], want)
		}
	}
	// The cells read back through a CSV reader unchanged (quoting of
	// commas, quotes, apostrophes and newlines).
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(row)
	cw.Flush()
	back, err := csv.NewReader(&buf).Read()
	if err != nil || !reflect.DeepEqual(back, row) {
		t.Fatalf("CSV round trip: %v\n got %q\nwant %q", err, back, row)
	}
}

// An unreadable record is treated as missing, not as a failure of the whole
// read: the pipeline then looks that one domain up again and rewrites it.
func TestUnreadableRecordIsMissing(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if err := saveDomains(s, ctx, []record.Record{full()}); err != nil {
		t.Fatal(err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put([]byte("broken.example"), []byte(`{"enriched_time":"soon"`))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := getDomains(s, ctx, []string{"cdn-telemetry-sync.com", "broken.example"})
	if err != nil || len(got) != 1 || got["cdn-telemetry-sync.com"].Domain == "" {
		t.Errorf("got %v, %v; want the readable record only", got, err)
	}
}

func TestPurge(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	cutoff := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	recs := []record.Record{
		{Key: "old.com", Domain: "old.com", VTFound: true, EnrichedTime: cutoff.Unix() - 1},
		{Key: "older.com", Domain: "older.com", EnrichedTime: cutoff.Unix() - 86400*90},
		{Key: "edge.com", Domain: "edge.com", VTFound: true, EnrichedTime: cutoff.Unix()},
		{Key: "new.com", Domain: "new.com", VTFound: true, EnrichedTime: cutoff.Unix() + 5},
		{Key: "unstamped.com", Domain: "unstamped.com", VTFound: true},
	}
	if err := saveDomains(s, ctx, recs); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, domainkind.Kind{}, cutoff)
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2", n, err)
	}
	got, err := getDomains(s, ctx, []string{"old.com", "older.com", "edge.com", "new.com", "unstamped.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["edge.com"].Key == "" || got["new.com"].Key == "" || got["unstamped.com"].Key == "" {
		t.Fatalf("left: %v", got)
	}
	if n, err := s.Purge(ctx, domainkind.Kind{}, cutoff); n != 0 || err != nil {
		t.Fatalf("second Purge = %d, %v", n, err)
	}
}

func TestSharedPurge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vtsync.db")
	sh, err := OpenShared(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := saveDomains(sh, ctx, []record.Record{{Key: "a.com", Domain: "a.com", EnrichedTime: 10}, {Key: "b.com", Domain: "b.com", EnrichedTime: 1000}}); err != nil {
		t.Fatal(err)
	}
	if n, err := sh.Purge(ctx, domainkind.Kind{}, time.Unix(100, 0)); n != 1 || err != nil {
		t.Fatalf("Shared.Purge = %d, %v", n, err)
	}
}
