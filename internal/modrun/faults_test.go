package modrun

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

// The fault matrix: each case makes VirusTotal or splunkd fail the way it
// does in production and checks, for the run and for the next one where
// the fault is gone:
//
//	(i)   no paid answer is lost: every domain VirusTotal answered (a
//	      domain object or NotFoundError) has its record in the KV store,
//	      at once or after the next run replays the journal;
//	(ii)  no answer is bought twice: VirusTotal answers each domain at most
//	      once over the runs of a case. Failed requests (429, 5xx, HTML or
//	      empty answers, timeouts, resets) are not answers: retrying them
//	      is allowed and is not double spend;
//	(iii) the run ends by itself within its deadline (runWithin's limit,
//	      or max_run_seconds);
//	(iv)  the summary event and a log line say what happened.

const nDomains = 20

type faultCase struct {
	name   string
	splunk []splunktest.Option
	vt     []vttest.Option
	setup  func(e *env)
	// limit: the run's deadline, for cases that run into it on purpose.
	// 0: a safety net only, and the run must end by itself before it.
	limit time.Duration
	check func(t *testing.T, e *env, r result)
	// next: the fault is gone for a second run, which must complete the
	// collection without buying anything again.
	next func(e *env)
}

func TestFaultMatrix(t *testing.T) {
	cases := []faultCase{
		{
			name: "ok",
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				if r.summary.LookedUp != nDomains || r.summary.KVWrites != nDomains {
					t.Errorf("looked_up/kv_writes = %d/%d, want %d", r.summary.LookedUp, r.summary.KVWrites, nDomains)
				}
			},
		},
		{
			name: "quota exceeded mid-run",
			vt:   []vttest.Option{vttest.WithMinuteQuota(8)},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusPartial, pipeline.QuotaExceeded)
				if r.summary.Found+r.summary.NotFound < 8 || r.summary.Deferred+r.summary.Failed == 0 {
					t.Errorf("found+not_found = %d, deferred+failed = %d: want the 8 answers within the quota kept and the rest left for later",
						r.summary.Found+r.summary.NotFound, r.summary.Deferred+r.summary.Failed)
				}
				if e.vt.Rejected() > 4 {
					t.Errorf("VirusTotal answered QuotaExceededError %d times: lookups must stop at the first (at most max_concurrency in flight)", e.vt.Rejected())
				}
				wantLine(t, r, warnOrError, "quota is exceeded")
			},
		},
		{
			name: "quota exceeded on the last lookup",
			setup: func(e *env) {
				e.params["max_concurrency"] = "1" // lookups in candidate order
				e.vt.FailDomain(fmt.Sprintf("fault%d.com", nDomains-1), vttest.QuotaExceeded)
			},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusPartial, pipeline.QuotaExceeded)
				if r.summary.Failed != 1 || r.summary.Deferred != 0 {
					t.Errorf("failed/deferred = %d/%d, want 1/0", r.summary.Failed, r.summary.Deferred)
				}
				wantError(t, r, "quota")
			},
			next: func(e *env) {
				// The next run, minutes later, does not ask VirusTotal again.
				before := e.vt.Requests()
				r := e.run()
				wantStatus(e.t, r, pipeline.StatusPartial, pipeline.QuotaExceeded)
				if e.vt.Requests() != before || r.summary.Deferred != 1 {
					e.t.Errorf("run within the quota hold: %d VirusTotal requests, %d deferred; want none and 1", e.vt.Requests()-before, r.summary.Deferred)
				}
				wantLine(e.t, r, []string{"WARN"}, "quota was exceeded", "no lookups until")
				// 15 minutes later the hold is over.
				quota := keyQuota(e)
				if until, n := quota.Held(time.Now()); n != 1 || time.Until(until) < 13*time.Minute {
					e.t.Fatalf("quota hold %d until %v, want 1 stop, 14 minutes from the run's start", n, until)
				}
				if err := quota.SetHold(1, time.Now().Add(-time.Second)); err != nil {
					e.t.Fatal(err)
				}
			},
		},
		{
			name:  "too many requests",
			setup: func(e *env) { e.vt.FailDomain("fault3.com", vttest.TooManyRequests) },
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				wantAllKept(t, e)
				wantLine(t, r, warnOrError, "fault3.com", "TooManyRequestsError", "retry=1 of=3")
			},
		},
		{
			name: "503 and 504 bursts",
			setup: func(e *env) {
				// The first request of each of the 4 workers fails.
				e.vt.FailNext(vttest.Transient, vttest.DeadlineExceeded, vttest.Transient, vttest.DeadlineExceeded)
			},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				wantAllKept(t, e)
				if r.summary.VTCalls < nDomains+4 {
					t.Errorf("vt_calls = %d, want at least %d (each domain once plus 4 retries)", r.summary.VTCalls, nDomains+4)
				}
				wantLine(t, r, warnOrError, "TransientError", "retry")
				wantLine(t, r, warnOrError, "DeadlineExceededError", "retry")
			},
		},
		{
			name: "503 outage longer than the retries",
			setup: func(e *env) {
				e.vt.FailDomain("fault5.com", vttest.Transient, vttest.Transient, vttest.Transient, vttest.Transient)
			},
			// Less than the backoff of three retries (7 s at least): the
			// client gives up when no time is left for the next attempt.
			limit: 6 * time.Second,
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusPartial || r.summary.Failed != 1 {
					t.Errorf("status %s, failed %d; want partial with fault5.com failed", r.summary.Status, r.summary.Failed)
				}
				wantLine(t, r, warnOrError, "lookups failed", "retried next run")
				wantError(t, r, "fault5.com")
			},
		},
		{
			name:  "timeouts and connection resets",
			setup: func(e *env) { e.vt.FailNext(vttest.Hang, vttest.Reset, vttest.Hang, vttest.Reset) },
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				wantAllKept(t, e)
				wantLine(t, r, warnOrError, "Timeout", "retry")
				wantLine(t, r, warnOrError, "reset", "retry")
			},
		},
		{
			name:  "HTML error pages and empty bodies",
			setup: func(e *env) { e.vt.FailNext(vttest.HTMLError, vttest.EmptyOK, vttest.EmptyError, vttest.HTMLError) },
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				wantAllKept(t, e)
				wantLine(t, r, warnOrError, "HTTP 500", "retry")
				wantLine(t, r, warnOrError, "HTTP 200 with an empty body", "retry")
			},
		},
		{
			// The key is revoked after 5 answers: every later request is
			// refused, those in flight included.
			// One lookup at a time, so that no answer is in flight when the
			// key is revoked (an answer in transit when a run stops is
			// abandoned: see docs/operations.md).
			name: "VirusTotal 401 mid-run",
			setup: func(e *env) {
				e.params["max_concurrency"] = "1"
				e.vt.onPaid = func(n int) {
					if n == 5 {
						e.vt.revoked.Store(true)
					}
				}
			},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusFailed, pipeline.QuotaKeyRejected)
				if r.code == 0 {
					t.Errorf("exit code 0 for a rejected key")
				}
				wantLine(t, r, []string{"ERROR"}, "rejected the API key", "WrongCredentialsError")
				wantLine(t, r, []string{"WARN"}, "api_key", "Settings > Data inputs > vtsync")
				wantError(t, r, "WrongCredentialsError")
				wantError(t, r, "enter a valid api_key")
			},
			next: func(e *env) { e.vt.onPaid = nil; e.vt.revoked.Store(false) },
		},
		{
			name: "VirusTotal rejects the key",
			vt:   []vttest.Option{vttest.WithAPIKey(strings.Repeat("f", 64))},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusFailed, pipeline.QuotaKeyRejected)
				if n := e.vt.Requests(); n > 4 {
					t.Errorf("VirusTotal got %d requests with a rejected key; lookups must stop at the first answer (max_concurrency in flight)", n)
				}
				wantLine(t, r, []string{"WARN"}, "api_key")
				if n := strings.Count(r.stderr, "ERROR "); n != 1 {
					t.Errorf("%d ERROR lines for one rejected key, want 1:\n%s", n, r.stderr)
				}
			},
		},
		{
			name:   "splunkd session expired before the run",
			splunk: []splunktest.Option{splunktest.WithUser("admin", "changeme")},
			setup:  func(e *env) { e.splunk.Expire() },
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusFailed || e.vt.Requests() != 0 {
					t.Errorf("status %s, %d VirusTotal requests; want failed and none", r.summary.Status, e.vt.Requests())
				}
				wantLine(t, r, []string{"ERROR"}, "401", "session key")
				wantError(t, r, "session key")
			},
			next: func(e *env) { login(e) },
		},
		{
			name:   "splunkd session expires mid-run",
			splunk: []splunktest.Option{splunktest.WithUser("admin", "changeme")},
			setup: func(e *env) {
				e.vt.onPaid = func(n int) {
					if n == 5 {
						e.splunk.Expire()
					}
				}
			},
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusPartial || r.summary.KVWrites != 0 {
					t.Errorf("status %s, kv_writes %d; want partial, nothing saved", r.summary.Status, r.summary.KVWrites)
				}
				wantJournaled(t, e, len(e.vt.Paid()))
				wantLine(t, r, []string{"ERROR"}, "saving", "journal", "401")
				wantError(t, r, "stay in the journal")
			},
			next: func(e *env) { e.vt.onPaid = nil; login(e) },
		},
		{
			name:   "KV store initializing for longer than max_run_seconds",
			splunk: []splunktest.Option{splunktest.WithKVInitializing(-1)},
			setup:  func(e *env) { e.params["max_run_seconds"] = "10" },
			limit:  10 * time.Second,
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusPartial || e.vt.Requests() != 0 || r.summary.Deferred != nDomains {
					t.Errorf("status %s, %d VirusTotal requests, deferred %d; want partial, none, %d", r.summary.Status, e.vt.Requests(), r.summary.Deferred, nDomains)
				}
				wantLine(t, r, []string{"ERROR"}, "checking the freshness", "KV Store is initializing")
				wantError(t, r, "freshness check")
			},
			next: func(e *env) { e.splunk.SetKVInitializing(0) },
		},
		{
			name: "KV store restarts during the saves",
			setup: func(e *env) {
				e.vt.onPaid = func(n int) {
					if n == 1 {
						e.splunk.SetKVInitializing(2)
					}
				}
			},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				wantAllKept(t, e)
				wantLine(t, r, []string{"INFO", "WARN"}, "503", "KV Store is initializing", "retrying")
			},
		},
		{
			name: "KV store goes down during the saves, past the deadline",
			setup: func(e *env) {
				e.vt.onPaid = func(n int) {
					if n == 1 {
						e.splunk.SetKVInitializing(-1)
					}
				}
			},
			limit: 8 * time.Second, // room for the key read and the search on a loaded machine
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusPartial || r.summary.KVWrites != 0 {
					t.Errorf("status %s, kv_writes %d; want partial, nothing saved", r.summary.Status, r.summary.KVWrites)
				}
				wantJournaled(t, e, len(e.vt.Paid()))
				wantLine(t, r, []string{"ERROR"}, "saving", "KV store is not ready")
			},
			next: func(e *env) { e.vt.onPaid = nil; e.splunk.SetKVInitializing(0) },
		},
		{
			name:   "batch_save refuses too many documents",
			splunk: []splunktest.Option{splunktest.WithMaxDocumentsPerBatchSave(6)},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				wantAllKept(t, e)
				if sizes := e.splunk.BatchSaveSizes(); len(sizes) < 2 || sizes[0] <= 6 {
					t.Errorf("batch_save sizes %v: want a refused batch of more than 6, then smaller ones", sizes)
				}
				wantLine(t, r, []string{"INFO"}, "refused", "at a time")
			},
		},
		{
			name:   "batch_save refuses too large a request",
			splunk: []splunktest.Option{splunktest.WithMaxBatchSaveBytes(1500)},
			check: func(t *testing.T, e *env, r result) {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				wantAllKept(t, e)
				wantLine(t, r, []string{"INFO"}, "refused", "at a time")
			},
		},
		{
			name:   "batch_save refuses even one record",
			splunk: []splunktest.Option{splunktest.WithMaxBatchSaveBytes(50)},
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusPartial || r.summary.KVWrites != 0 {
					t.Errorf("status %s, kv_writes %d; want partial, nothing saved", r.summary.Status, r.summary.KVWrites)
				}
				wantJournaled(t, e, nDomains)
				wantLine(t, r, []string{"ERROR"}, "max_size_per_batch_save_mb")
			},
		},
		{
			name:   "search ends with FATAL",
			splunk: []splunktest.Option{splunktest.WithExportFatal("Error in 'lookup' command: Could not construct lookup 'nope'.")},
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusPartial {
					t.Errorf("status %s, want partial", r.summary.Status)
				}
				wantAllKept(t, e) // the rows before the failure are real candidates
				wantLine(t, r, []string{"ERROR"}, "reading the source failed", "Could not construct lookup")
				wantError(t, r, "Could not construct lookup")
			},
		},
		{
			name:   "search stream cut mid-line",
			splunk: []splunktest.Option{splunktest.WithExportCut()},
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusPartial || r.summary.Distinct != nDomains-1 {
					t.Errorf("status %s, distinct %d; want partial, %d", r.summary.Status, r.summary.Distinct, nDomains-1)
				}
				wantLine(t, r, []string{"ERROR"}, "reading the source failed", "middle of a record")
				wantLine(t, r, []string{"WARN"}, "the search failed", "check the search parameter")
			},
		},
		{
			name: "no key in storage/passwords",
			setup: func(e *env) {
				e.splunk = splunktest.New(e.t, splunktest.WithCollection(app, collection), splunktest.WithExportRows(rows(nDomains, "fault%d.com")...))
			},
			check: func(t *testing.T, e *env, r result) {
				if r.summary.Status != pipeline.StatusFailed || r.code == 0 || e.vt.Requests() != 0 {
					t.Errorf("status %s, exit %d, %d VirusTotal requests; want failed, non-zero, none", r.summary.Status, r.code, e.vt.Requests())
				}
				wantLine(t, r, []string{"ERROR"}, "no VirusTotal key", "api_key")
				wantError(t, r, "api_key")
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rs := rows(nDomains, "fault%d.com")
			e := newEnv(t, rs, c.splunk, c.vt...)
			known := addKnown(e.vt, rs)
			if c.setup != nil {
				c.setup(e)
			}
			if c.limit == 0 {
				c.runCase(t, e, known)
				return
			}
			// A case that runs into its deadline on purpose waits out
			// backoffs and deadlines: on a synctest bubble's clock, not
			// the machine's.
			e.inMemory()
			synctest.Test(t, func(t *testing.T) { c.runCase(t, e, known) })
		})
	}
}

// runCase runs one case of the fault matrix and, if it has one, the next
// run without the fault.
func (c faultCase) runCase(t *testing.T, e *env, known map[string]bool) {
	limit := c.limit
	if limit == 0 {
		limit = 30 * time.Second
	}
	r := e.runWithin(context.Background(), limit)
	if testing.Verbose() {
		t.Logf("run took %.1fs\n%s", r.summary.Duration, r.stderr)
	}
	if c.limit == 0 && r.cancelled {
		t.Errorf("the run ended only because the test cancelled it at its %s safety deadline; it must end by itself\nstderr:\n%s", limit, r.stderr)
	}
	c.check(t, e, r)
	e.assertKept(known, true)
	e.assertBoughtOnce()
	if c.next == nil {
		return
	}
	c.next(e)
	r = e.run()
	if r.cancelled {
		t.Errorf("the next run ended only because the test cancelled it\nstderr:\n%s", r.stderr)
	}
	wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
	if got := len(e.splunk.Documents(app, collection)); got != nDomains {
		t.Errorf("after the next run the collection holds %d of %d records", got, nDomains)
	}
	wantJournaled(t, e, 0)
	e.assertKept(known, false)
	e.assertBoughtOnce()
}

func wantStatus(t *testing.T, r result, status, quota string) {
	t.Helper()
	if r.summary.Status != status || r.summary.QuotaState != quota {
		t.Errorf("status %s, quota_state %s; want %s, %s\nerrors: %q\nstderr:\n%s", r.summary.Status, r.summary.QuotaState, status, quota, r.summary.Errors, r.stderr)
	}
}

func wantLine(t *testing.T, r result, levels []string, parts ...string) {
	t.Helper()
	if !hasLine(r.stderr, levels, parts...) {
		t.Errorf("no %v line with %q in stderr:\n%s", levels, parts, r.stderr)
	}
}

// wantError checks that the summary's errors mention text.
func wantError(t *testing.T, r result, text string) {
	t.Helper()
	for _, e := range r.summary.Errors {
		if strings.Contains(e, text) {
			return
		}
	}
	t.Errorf("summary errors %q do not mention %q", r.summary.Errors, text)
}

// wantAllKept checks that every domain was answered and stored.
func wantAllKept(t *testing.T, e *env) {
	t.Helper()
	if got := len(e.splunk.Documents(app, collection)); got != nDomains {
		t.Errorf("collection holds %d of %d records", got, nDomains)
	}
}

// wantJournaled checks how many answers wait in the input's journal.
func wantJournaled(t *testing.T, e *env, n int) {
	t.Helper()
	st, err := checkpoint.Open(e.checkpoint, "default")
	if err != nil {
		t.Fatalf("opening the input's state: %v", err)
	}
	defer st.Close()
	if got := st.Len(); got != n {
		t.Errorf("journal holds %d answers, want %d", got, n)
	}
}

// login starts a new splunkd session, as splunkd does for the next run of
// an input, so the next input definition carries a valid session key.
func login(e *env) {
	e.t.Helper()
	resp, err := e.splunk.Client().PostForm(e.splunk.URL()+"/services/auth/login", url.Values{"username": {"admin"}, "password": {"changeme"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login: %s", resp.Status)
	}
}
