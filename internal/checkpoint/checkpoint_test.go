package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/record"
	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, dir, input string) *State {
	t.Helper()
	s, err := Open(dir, input)
	if err != nil {
		t.Fatalf("Open(%q): %v", input, err)
	}
	return s
}

// entries journals domain records as the pipeline does.
func entries(rs ...record.Record) []Entry {
	es := make([]Entry, len(rs))
	for i, r := range rs {
		doc, _ := json.Marshal(r)
		es[i] = Entry{Kind: "domain", Key: r.Key, Doc: doc}
	}
	return es
}

// pending returns the journaled domain records.
func pending(s *State) ([]record.Record, int, error) {
	es, dropped, err := s.Pending()
	recs := make([]record.Record, len(es))
	for i, e := range es {
		if e.Kind != "domain" || json.Unmarshal(e.Doc, &recs[i]) != nil || recs[i].Key != e.Key {
			return nil, dropped, fmt.Errorf("entry %+v is not the domain record journaled", e)
		}
	}
	return recs, dropped, err
}

func rec(d string, found bool, at int64) record.Record {
	r := record.NotFound(d, at)
	r.VTFound = found
	if found {
		p := int64(3)
		r.LastAnalysisPositive = &p
		r.Categories = []string{"malware"}
	}
	return r
}

func TestJournalSurvivesCloseAndOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "main")
	want := []record.Record{rec("b.com", true, 100), rec("a.org", false, 200), rec("c.net", true, 300)}
	if err := s.Journal(entries(want...)); err != nil {
		t.Fatal(err)
	}
	if err := s.Done("domain", []string{"c.net", "unknown.example"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, "main")
	defer s.Close()
	got, _, err := pending(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "a.org" || got[1].Key != "b.com" {
		t.Fatalf("Pending after reopen = %+v, want a.org and b.com", got)
	}
	if got[1].LastAnalysisPositive == nil || *got[1].LastAnalysisPositive != 3 || got[1].Categories[0] != "malware" || !got[1].VTFound {
		t.Errorf("record fields lost in the journal: %+v", got[1])
	}
	if got[0].VTFound || got[0].EnrichedTime != 200 {
		t.Errorf("negative record changed in the journal: %+v", got[0])
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
}

func TestJournalReplacesSameDomain(t *testing.T) {
	s := open(t, t.TempDir(), "main")
	defer s.Close()
	if err := s.Journal(entries(rec("a.com", false, 1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Journal(entries(rec("a.com", true, 2))); err != nil {
		t.Fatal(err)
	}
	got, _, _ := pending(s)
	if len(got) != 1 || !got[0].VTFound || got[0].EnrichedTime != 2 || s.Len() != 1 {
		t.Fatalf("Pending = %+v (Len %d), want the later a.com record only", got, s.Len())
	}
	if err := s.Journal([]Entry{{Kind: "domain", Doc: []byte("{}")}}); err == nil {
		t.Error("Journal accepted a record without _key")
	}
}

func TestJournalIsBounded(t *testing.T) {
	s := open(t, t.TempDir(), "main")
	defer s.Close()
	if s.limit != MaxPending {
		t.Fatalf("limit = %d, want MaxPending", s.limit)
	}
	s.limit = 50
	recs := make([]record.Record, s.limit)
	for i := range recs {
		recs[i] = rec(fmt.Sprintf("d%06d.com", i), true, 1)
	}
	if err := s.Journal(entries(recs...)); err != nil {
		t.Fatal(err)
	}
	// Replacing a journaled domain is fine; a new one is not.
	if err := s.Journal(entries(recs[:1]...)); err != nil {
		t.Fatalf("re-journal of a known domain: %v", err)
	}
	err := s.Journal(entries(rec("one-more.com", true, 1), rec("x.com", true, 1)))
	if !errors.Is(err, ErrJournalFull) {
		t.Fatalf("Journal beyond the limit = %v, want ErrJournalFull", err)
	}
	if s.Len() != s.limit {
		t.Errorf("Len = %d after a refused Journal, want %d", s.Len(), s.limit)
	}
	if err := s.Done("domain", []string{"d000000.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Journal(entries(rec("one-more.com", true, 1))); err != nil {
		t.Fatalf("Journal after Done freed room: %v", err)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "main")
	start := time.Now()
	_, err := Open(dir, "main")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("second Open blocked %v", waited) // safety net only
	}
	// Another input is independent.
	other := open(t, dir, "other")
	other.Close()
	s.Close()
	s = open(t, dir, "main")
	s.Close()
}

// TestLockAcrossProcesses runs the test binary as a child that holds the
// lock until its stdin closes, then checks the parent cannot open the state
// and can once the child is killed.
func TestLockAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("VTSYNC_CHECKPOINT_HOLDER"); dir != "" {
		s, err := Open(dir, "main")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		defer s.Close()
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n')
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^TestLockAcrossProcesses$")
	cmd.Env = append(os.Environ(), "VTSYNC_CHECKPOINT_HOLDER="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, want locked", line)
	}
	if _, err := Open(dir, "main"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the lock = %v, want ErrLocked", err)
	}
	// A killed holder (a crash) releases the lock.
	cmd.Process.Kill()
	cmd.Wait()
	s := open(t, dir, "main")
	s.Close()
}

func TestFileName(t *testing.T) {
	for _, in := range []string{"main", "a-b_c.1"} {
		if got := FileName(in); got != in+".state.db" {
			t.Errorf("FileName(%q) = %q", in, got)
		}
	}
	seen := map[string]string{}
	for _, in := range []string{"a/b", "a_b", "../x", "..", "", "a b", "a\\b", strings.Repeat("x", 300)} {
		got := FileName(in)
		if strings.ContainsAny(got, `/\ `) || strings.HasPrefix(got, ".") || len(got) > 64+9+len(Suffix) {
			t.Errorf("FileName(%q) = %q: not a safe file name", in, got)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("FileName(%q) = FileName(%q) = %q", in, prev, got)
		}
		seen[got] = in
		if filepath.Base(got) != got {
			t.Errorf("FileName(%q) = %q escapes the directory", in, got)
		}
	}
}

func TestOpenNamesUnusableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, "main"); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("Open under a regular file = %v, want a directory error", err)
	}
}

func FuzzFileName(f *testing.F) {
	for _, s := range []string{"main", "", ".", "..", "../../etc/passwd", "a/b", "a_b", "C:\\x", "vtsync://x", "\x00", "é", strings.Repeat("z", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		got := FileName(input)
		if !strings.HasSuffix(got, Suffix) || strings.HasPrefix(got, ".") || len(got) > 64+9+len(Suffix) {
			t.Fatalf("FileName(%q) = %q", input, got)
		}
		for _, c := range []byte(got) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				t.Fatalf("FileName(%q) = %q has byte %q", input, got, c)
			}
		}
		if FileName(input) != got {
			t.Fatalf("FileName(%q) not deterministic", input)
		}
	})
}

// A damaged journal entry is dropped by Pending, so it neither blocks nor
// counts against the journal's bound on later runs.
func TestPendingDropsUnreadableEntries(t *testing.T) {
	s := open(t, t.TempDir(), "main")
	good := record.NotFound("good.example", 1800000000)
	if err := s.Journal(entries(good, record.NotFound("bad.example", 1800000000))); err != nil {
		t.Fatal(err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJournal).Put(journalKey("domain", "bad.example"), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, dropped, err := pending(s)
	if err != nil || len(recs) != 1 || recs[0].Key != "good.example" || dropped != 1 {
		t.Fatalf("Pending = %v, %d dropped, %v; want the readable record and 1 dropped", recs, dropped, err)
	}
	if n := s.Len(); n != 1 {
		t.Errorf("Len = %d after dropping the damaged entry, want 1", n)
	}
}

// A state file of a version that kept the quota hold in it opens as
// any other: the hold's keys are left unread.
func TestStateWithQuotaHoldOpens(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "main")
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := put(tx.Bucket(bucketMeta), "quota_streak", 2); err != nil {
			return err
		}
		return put(tx.Bucket(bucketMeta), "quota_until", uint64(t0.Unix()))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Journal(entries(rec("kept.example", false, 1))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, "main")
	defer s.Close()
	if s.SetAside != "" || s.Len() != 1 {
		t.Errorf("old state: set aside %q, journal %d; want kept, 1", s.SetAside, s.Len())
	}
}

// A damaged state file is set aside and a new one started: the input keeps
// working, and the State says what happened. Some damage makes bbolt
// panic rather than return an error.
func TestDamagedStateIsSetAside(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"not a state file", func([]byte) []byte { return []byte("hello, this is not a bbolt file at all") }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated to under two pages", func(b []byte) []byte { return b[:6000] }},
		{"pages zeroed", func(b []byte) []byte {
			clear(b[2*4096 : min(4*4096, len(b))])
			return b
		}},
		{"page headers garbled", func(b []byte) []byte {
			for i := 2 * 4096; i < len(b); i += 4096 {
				for j := i; j < i+64 && j < len(b); j++ {
					b[j] = 0xff
				}
			}
			return b
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, "main")
			var recs []record.Record
			for i := range 2000 {
				recs = append(recs, rec(fmt.Sprintf("d%05d.com", i), true, 1))
			}
			if err := s.Journal(entries(recs...)); err != nil {
				t.Fatal(err)
			}
			path := s.Path()
			s.Close()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, c.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}

			s, err = Open(dir, "main")
			if err != nil {
				t.Fatalf("Open of a damaged state: %v, want a new state", err)
			}
			defer s.Close()
			if !strings.Contains(s.SetAside, path+".corrupt-") || !strings.Contains(s.SetAside, "damaged") {
				t.Errorf("SetAside = %q, want the renamed file and why", s.SetAside)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Errorf("set-aside files: %v", aside)
			}
			if pending, _, err := s.Pending(); err != nil || len(pending) != 0 {
				t.Errorf("new state: %d pending, %v", len(pending), err)
			}
			if err := s.Journal(entries(recs[:1]...)); err != nil || s.Len() != 1 {
				t.Errorf("the new state does not work: %v, len %d", err, s.Len())
			}
		})
	}
}

// Runs that find the same damaged state at once: one sets it aside and
// runs, the others find the new state locked; the damaged file is kept.
func TestDamagedStateSetAsideOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName("main"))
	garbage := []byte("hello, this is not a bbolt file at all")
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 4
	var wg sync.WaitGroup
	var opened, locked atomic.Int32
	var mu sync.Mutex
	var winners []*State
	for range n {
		wg.Go(func() {
			s, err := Open(dir, "main")
			switch {
			case err == nil:
				opened.Add(1)
				mu.Lock()
				winners = append(winners, s)
				mu.Unlock()
			case errors.Is(err, ErrLocked):
				locked.Add(1)
			default:
				t.Errorf("Open: %v", err)
			}
		})
	}
	wg.Wait()
	for _, s := range winners {
		defer s.Close()
	}
	if opened.Load() != 1 || locked.Load() != n-1 {
		t.Errorf("%d opened, %d locked; want 1 and %d", opened.Load(), locked.Load(), n-1)
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("set-aside files: %v, want one", aside)
	}
	if b, _ := os.ReadFile(aside[0]); !bytes.Equal(b, garbage) {
		t.Errorf("the set-aside file is not the damaged one")
	}
}

// Entries of different kinds never collide, and a journal written before
// kinds (bare domain keys) reads back as domain entries and clears with
// them.
func TestJournalKeepsKindsApart(t *testing.T) {
	s := open(t, t.TempDir(), "main")
	defer s.Close()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketJournal).Put([]byte("old.example"), []byte(`{"_key":"old.example"}`)); err != nil {
			return err
		}
		return put(tx.Bucket(bucketMeta), keyJournalLen, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Journal([]Entry{
		{Kind: "ip", Key: "8.8.8.8", Doc: []byte(`{"ip":"8.8.8.8"}`)},
		{Kind: "file", Key: "8.8.8.8", Doc: []byte(`{"md5":"x"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := s.Pending()
	if err != nil || len(es) != 3 || s.Len() != 3 {
		t.Fatalf("Pending = %+v, %v (Len %d); want 3 entries", es, err, s.Len())
	}
	kinds := map[string]string{}
	for _, e := range es {
		kinds[e.Kind] = e.Key + " " + string(e.Doc)
	}
	if kinds["domain"] != `old.example {"_key":"old.example"}` || kinds["ip"] != `8.8.8.8 {"ip":"8.8.8.8"}` || kinds["file"] != `8.8.8.8 {"md5":"x"}` {
		t.Errorf("entries by kind = %q", kinds)
	}
	if err := s.Done("ip", []string{"8.8.8.8"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Done("domain", []string{"old.example"}); err != nil {
		t.Fatal(err)
	}
	if es, _, _ := s.Pending(); len(es) != 1 || es[0].Kind != "file" || s.Len() != 1 {
		t.Errorf("after Done of ip and the legacy domain: %+v (Len %d), want the file entry only", es, s.Len())
	}
	if err := s.Journal([]Entry{{Kind: "ip", Key: "a\x00b", Doc: []byte(`{}`)}}); err == nil {
		t.Error("Journal accepted a key with a NUL")
	}
}
