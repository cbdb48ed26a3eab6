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
	live := About{Store: "the KV store collection vtsync_domains", Budget: "enrich.virustotal.daily_lookup_budget in vt.yaml",
		Run: "vtsync run --config vt.yaml", Detect: "vtsync detect --config vt.yaml"}
	cases := []struct {
		name  string
		sum   pipeline.Summary
		about About
		want  string
	}{{
		name: "budget spent",
		sum: pipeline.Summary{
			Input: "demo", Status: "partial", Duration: 1.25, Candidates: 120, Distinct: 30,
			Rejected: map[string]int{"ip": 4, "empty": 2}, RejectedTotal: 6, Fresh: 10, Due: 20, CacheHitRate: 1.0 / 3,
			LookedUp: 15, Found: 12, NotFound: 3, Flagged: 2, Deferred: 5, VTCalls: 16, QuotaState: "budget_exhausted",
			BudgetUsed: 500, BudgetLimit: 500, KVWrites: 15, Errors: []string{"save: disk full"},
		},
		about: live,
		want: `demo: partial in 1.2s
  looked up  15 domains (12 found, 3 unknown to VirusTotal, 0 failed)
  flagged    2 rated malicious by at least one VirusTotal engine
  candidates 120 values: 30 distinct domains, 6 rejected (empty 2, ip 4)
  fresh      10 already in the store (33%), 20 due, 5 deferred to a later run
  cost       16 VirusTotal requests; daily budget 500 of 500 used (UTC day)
  quota      the daily lookup budget is spent
  stored     15 records in the KV store collection vtsync_domains
  error      save: disk full
  next       5 due domains wait for the next UTC day; raise enrich.virustotal.daily_lookup_budget in vt.yaml if the key's quota allows
  next       see what the detection flags: vtsync detect --config vt.yaml
`,
	}, {
		name: "several kinds",
		sum: pipeline.Summary{
			Input: "mixed", Status: "partial", Duration: 2, Candidates: 40, Distinct: 9, Rejected: map[string]int{"private": 3}, RejectedTotal: 3,
			Due: 9, LookedUp: 7, Found: 6, NotFound: 1, Flagged: 2, Deferred: 2, QuotaState: "budget_exhausted", BudgetUsed: 7, BudgetLimit: 7, VTCalls: 7, KVWrites: 7,
			Kinds: map[string]*pipeline.KindSummary{
				"domain": {Distinct: 5, Due: 5, LookedUp: 4, Found: 4, Flagged: 1, Deferred: 1},
				"ip":     {Distinct: 1, Due: 1, LookedUp: 1, Found: 1, Flagged: 1},
				"file":   {Distinct: 3, Due: 3, LookedUp: 2, Found: 1, NotFound: 1, Deferred: 1},
			},
		},
		about: live,
		want: `mixed: partial in 2.0s
  looked up  7 indicators (6 found, 1 unknown to VirusTotal, 0 failed)
  by kind    4 domains (4 found, 1 flagged), 1 IP address (1 found, 1 flagged), 2 files (1 found, 0 flagged)
  flagged    2 rated malicious by at least one VirusTotal engine
  candidates 40 values: 9 distinct indicators, 3 rejected (private 3)
  fresh      0 already in the store (0%), 9 due, 2 deferred to a later run
  cost       7 VirusTotal requests; daily budget 7 of 7 used (UTC day)
  quota      the daily lookup budget is spent
  stored     7 records in the KV store collection vtsync_domains
  next       2 due indicators wait for the next UTC day; raise enrich.virustotal.daily_lookup_budget in vt.yaml if the key's quota allows
  next       see what the detection flags: vtsync detect --config vt.yaml
`,
	}, {
		name: "IP addresses only",
		sum: pipeline.Summary{
			Input: "ips", Status: "ok", Duration: 1, Candidates: 3, Distinct: 2, Rejected: map[string]int{}, Due: 2, LookedUp: 2, Found: 2, QuotaState: "ok", KVWrites: 2,
			Kinds: map[string]*pipeline.KindSummary{"ip": {Distinct: 2, Due: 2, LookedUp: 2, Found: 2}},
		},
		about: live,
		want: `ips: ok in 1.0s
  looked up  2 IP addresses (2 found, 0 unknown to VirusTotal, 0 failed)
  flagged    0 rated malicious by at least one VirusTotal engine
  candidates 3 values: 2 distinct IP addresses, 0 rejected
  fresh      0 already in the store (0%), 2 due, 0 deferred to a later run
  cost       0 VirusTotal requests; daily budget: no cap (0 used today, UTC)
  stored     2 records in the KV store collection vtsync_domains
  next       see what the detection flags: vtsync detect --config vt.yaml
`,
	}, {
		name: "no cap, failed lookups",
		sum: pipeline.Summary{
			Input: "live", Status: "partial", Duration: 3, Candidates: 2, Distinct: 2, Rejected: map[string]int{},
			Due: 2, LookedUp: 2, Found: 1, Failed: 1, VTCalls: 4, QuotaState: "ok", BudgetUsed: 4, KVWrites: 1,
			Errors: []string{"1 lookup failed"}, Purged: 3,
		},
		about: live,
		want: `live: partial in 3.0s
  looked up  2 domains (1 found, 0 unknown to VirusTotal, 1 failed)
  flagged    0 rated malicious by at least one VirusTotal engine
  candidates 2 values: 2 distinct domains, 0 rejected
  fresh      0 already in the store (0%), 2 due, 0 deferred to a later run
  cost       4 VirusTotal requests; daily budget: no cap (4 used today, UTC)
  stored     1 record in the KV store collection vtsync_domains
  purged     3 records not refreshed for retention_days
  error      1 lookup failed
  next       1 lookup failed and will be retried by the next run; add -v to see each failure
  next       see what the detection flags: vtsync detect --config vt.yaml
`,
	}, {
		name: "failed, data in the error",
		sum: pipeline.Summary{
			Input: "demo", Status: "failed", Rejected: map[string]int{}, QuotaState: "ok",
			Errors: []string{"events.ndjson: line 3: \x1b]0;owned\x07\r\nforged"},
		},
		about: About{Store: "the embedded store s.db", Offline: true, Run: "vtsync run --config d.yaml"},
		want: `demo: failed in 0.0s
  error      events.ndjson: line 3: \x1b]0;owned\a\r\nforged
  next       fix what the ERROR lines above say, then run again: vtsync run --config d.yaml
`,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteSummary(&out, c.sum, c.about); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Fatalf("summary:\n%s\nwant:\n%s", out.String(), c.want)
			}
		})
	}
	var out bytes.Buffer
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
