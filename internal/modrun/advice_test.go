package modrun

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/pipeline"
)

// Every cause of trouble a run can report gets advice that names what to
// change (a parameter, the checkpoint directory, the input's settings),
// but a run stopped by a signal, which needs nothing done; a failed run's
// error gets its advice in the summary's errors too.
func TestAdviceNamesWhatToChange(t *testing.T) {
	w := adviceWords{input: "web", checkpointDir: "/opt/splunk/var/lib/splunk/modinputs/vtsync", maxRunSeconds: 840, dailyBudget: 500}
	names := map[pipeline.Reason]string{
		pipeline.StopKeyRejected:     "api_key in Settings > Data inputs > vtsync > web",
		pipeline.StopQuotaExceeded:   "requests_per_minute or daily_lookup_budget",
		pipeline.StopBudgetSpent:     "daily_lookup_budget",
		pipeline.StopUnreachable:     "vt_api_url, proxy_url",
		pipeline.StopStoreFailed:     "collection parameter",
		pipeline.StopStoreUnread:     "collection parameter",
		pipeline.StopStateFailed:     w.checkpointDir,
		pipeline.StopStateDamaged:    w.checkpointDir,
		pipeline.StopSourceFailed:    "search parameter",
		pipeline.StopNothingToLookUp: "domain_field, ip_field and hash_field",
		pipeline.StopOverlap:         "max_run_seconds",
		pipeline.StopDeadline:        "raise max_run_seconds",
	}
	for r := pipeline.StopKeyRejected; r <= pipeline.StopCancelled; r++ {
		a := w.advice(&pipeline.Stop{Reason: r, Rejected: "ip 2"})
		if want := names[r]; !strings.Contains(a, want) || (want == "") != (a == "") {
			t.Errorf("%s: advice %q, want it to name %q", r, a, want)
		}
	}
	if a := w.advice(&pipeline.Stop{Reason: pipeline.StopNothingToLookUp, Err: errors.New("no row has the field ut_domain; set domain_field")}); a != "" {
		t.Errorf("the source's own words need no advice, got %q", a)
	}
	until := time.Date(2025, 8, 14, 10, 30, 0, 0, time.UTC)
	if a := w.advice(&pipeline.Stop{Reason: pipeline.StopQuotaExceeded, Until: until}); !strings.Contains(a, "no lookups until 2025-08-14 10:30:00 UTC") {
		t.Errorf("held quota: %q", a)
	}

	var logs bytes.Buffer
	stop := &pipeline.Stop{Reason: pipeline.StopKeyRejected, Err: errors.New("VirusTotal rejected the API key (401)")}
	sum := pipeline.Summary{Errors: []string{stop.Error()}, Stops: []*pipeline.Stop{stop, {Reason: pipeline.StopCancelled}}}
	w.advise(slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil)), &sum, stop)
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.HasPrefix(logs.String(), "WARN Input web: VirusTotal rejected the API key: enter a valid api_key") {
		t.Errorf("want one WARN line of advice:\n%s", logs.String())
	}
	if len(sum.Errors) != 2 || !strings.Contains(sum.Errors[1], "enter a valid api_key") {
		t.Errorf("errors %q: want the failure's advice after it", sum.Errors)
	}
}
