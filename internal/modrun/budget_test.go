package modrun

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/vtsync/vtsync/internal/pipeline"
)

// A run that reaches max_run_seconds with domains still queued on the rate
// limiter spends the daily budget only on requests it sent, and reports the
// rest as deferred, not failed: they are looked up by the next run.
func TestDeadlineSpendsBudgetOnlyOnSentRequests(t *testing.T) {
	t.Parallel()
	rs := rows(60, "slow%d.com")
	e := newEnv(t, rs, nil)
	addKnown(e.vt, rs)
	e.params["requests_per_minute"] = "120" // one request every ~0.5 s
	e.params["max_run_seconds"] = "10"
	e.params["daily_lookup_budget"] = "500"
	// The run waits on the rate limiter and its deadline: on a synctest
	// bubble's clock, not the machine's.
	e.inMemory()
	synctest.Test(t, func(t *testing.T) { checkDeadlineSpend(t, e) })
}

func checkDeadlineSpend(t *testing.T, e *env) {
	r := e.runWithin(t.Context(), time.Minute)
	s := r.summary
	sent := int(s.VTCalls)
	if sent == 0 || sent >= 40 {
		t.Fatalf("vt_calls = %d, want some but far fewer than the 60 due in 10 s at 120/min", sent)
	}
	if s.BudgetUsed != sent {
		t.Errorf("budget_used_today = %d, want %d: only requests sent are spent", s.BudgetUsed, sent)
	}
	if s.Failed != 0 || s.LookedUp != s.Found+s.NotFound || s.Deferred != s.Due-s.LookedUp || s.Deferred < 20 {
		t.Errorf("looked_up/found/not_found/failed/deferred = %d/%d/%d/%d/%d, want no failures and the rest deferred",
			s.LookedUp, s.Found, s.NotFound, s.Failed, s.Deferred)
	}
	if s.Status != pipeline.StatusPartial {
		t.Errorf("status %s, want partial", s.Status)
	}
	if n := len(e.splunk.Documents(app, collection)); n != s.LookedUp {
		t.Errorf("%d documents stored, want the %d looked up", n, s.LookedUp)
	}
}
