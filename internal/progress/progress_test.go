package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/pipeline"
)

func TestLine(t *testing.T) {
	cases := []struct {
		done, total int
		elapsed     time.Duration
		want        string
	}{
		{0, 10, 0, "[>                             ] 0/10 lookups"},
		{5, 10, 10 * time.Second, "[===============>              ] 5/10 lookups  0.5/s  ETA 10s"},
		{10, 10, 4 * time.Second, "[==============================] 10/10 lookups  2.5/s"},
		{12, 10, time.Second, "[==============================] 10/10 lookups  10.0/s"},
		{3, 0, time.Second, "3 lookups"},
	}
	for _, c := range cases {
		if got := Line(c.done, c.total, c.elapsed); got != c.want {
			t.Errorf("Line(%d, %d, %v) = %q, want %q", c.done, c.total, c.elapsed, got, c.want)
		}
	}
}

func TestBarThrottleAndLogLines(t *testing.T) {
	var out bytes.Buffer
	b := New(&out)
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	b.Update(0, 4)
	now = now.Add(10 * time.Millisecond)
	b.Update(1, 4) // throttled
	if strings.Contains(out.String(), "1/4") {
		t.Fatalf("redraw not throttled: %q", out.String())
	}
	now = now.Add(time.Second)
	b.Update(4, 4) // the last update is always drawn
	if !strings.HasSuffix(out.String(), "4/4 lookups  4.0/s") {
		t.Fatalf("final draw missing: %q", out.String())
	}
	out.Reset()
	b.Writer().Write([]byte("INFO a log line\n"))
	if got, want := out.String(), "\r\x1b[KINFO a log line\n\r\x1b[K[==============================] 4/4 lookups  4.0/s"; got != want {
		t.Fatalf("log line through the bar:\n got %q\nwant %q", got, want)
	}
	out.Reset()
	b.Done()
	b.Writer().Write([]byte("INFO after\n"))
	if got, want := out.String(), "\r\x1b[KINFO after\n"; got != want {
		t.Fatalf("after Done: got %q, want %q", got, want)
	}
}

func TestWriteSummary(t *testing.T) {
	var out bytes.Buffer
	WriteSummary(&out, pipeline.Summary{
		Input: "demo", Status: "partial", Duration: 1.25, Candidates: 120, Distinct: 30,
		Rejected: map[string]int{"ip": 4, "empty": 2}, RejectedTotal: 6, Fresh: 10, Due: 20, CacheHitRate: 1.0 / 3,
		LookedUp: 15, Found: 12, NotFound: 3, Deferred: 5, VTCalls: 16, QuotaState: "budget_exhausted",
		BudgetUsed: 500, BudgetLimit: 500, KVWrites: 15, Errors: []string{"save: disk full"},
	})
	want := `demo: partial in 1.2s
  candidates  120 values, 30 distinct domains, 6 rejected (empty 2, ip 4)
  cache       10 fresh (33% hit), 20 due
  lookups     15 (12 found, 3 not found, 0 failed), 5 deferred, 16 API calls
  quota       budget_exhausted, 500 of 500 today
  stored      15 records
  error       save: disk full
`
	if out.String() != want {
		t.Fatalf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
	if IsTerminal(&out) {
		t.Fatal("a buffer is not a terminal")
	}
}

func TestBarDoneResetsRate(t *testing.T) {
	var out bytes.Buffer
	b := New(&out)
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	b.Update(0, 4)
	now = now.Add(2 * time.Second)
	b.Update(4, 4)
	b.Done()
	// The next run (vtsync run --every) starts 15 minutes later: its rate
	// counts from its own start, not the first run's.
	now = now.Add(15 * time.Minute)
	out.Reset()
	b.Update(0, 10)
	now = now.Add(5 * time.Second)
	b.Update(5, 10)
	if !strings.HasSuffix(out.String(), "5/10 lookups  1.0/s  ETA 5s") {
		t.Fatalf("second run's bar: %q, want a rate of 1.0/s and ETA 5s", out.String())
	}
}
