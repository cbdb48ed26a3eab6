package modrun

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/pipeline"
)

// adviceWords is what the modular input's advice names: the input, its
// checkpoint directory and max_run_seconds.
type adviceWords struct {
	input         string
	checkpointDir string
	maxRunSeconds int
	dailyBudget   int
}

// advice returns what to do about one cause of a run's trouble, in the
// modular input's words (its parameters, where Splunk keeps them), with
// "" for a cause that needs nothing done.
func (w adviceWords) advice(s *pipeline.Stop) string {
	const store = "check the KV store (splunkd health, `splunk show kvstore-status`) and the collection parameter"
	switch s.Reason {
	case pipeline.StopKeyRejected:
		return "VirusTotal rejected the API key: enter a valid api_key in Settings > Data inputs > vtsync > " + w.input +
			" (Splunk keeps it in storage/passwords); no lookups are made until then"
	case pipeline.StopQuotaExceeded:
		const fit = "lower requests_per_minute or daily_lookup_budget to fit the key's quota (every input and tool using the key shares it), or use a key with a larger quota"
		if !s.Until.IsZero() {
			return fmt.Sprintf("VirusTotal said the API key's quota was exceeded: no lookups until %s; the wait doubles while the quota stays exceeded, up to the next 00:00 UTC, when daily quotas reset. To avoid it, %s",
				s.Until.UTC().Format(time.DateTime+" MST"), fit)
		}
		return "VirusTotal says the API key's quota is exceeded: the key makes no lookups for 15 minutes, twice as long after each further stop in a row, never past the next 00:00 UTC; " + fit
	case pipeline.StopBudgetSpent:
		return fmt.Sprintf("the daily lookup budget (%d) is spent: due indicators wait for the next UTC day; raise daily_lookup_budget if the key's quota allows", w.dailyBudget)
	case pipeline.StopUnreachable:
		return "VirusTotal cannot be reached: check vt_api_url, proxy_url, DNS and the firewall between this search head and VirusTotal"
	case pipeline.StopStoreFailed:
		return "the KV store did not save the records: " + store + "; answers not saved stay in the journal and are saved by the next run"
	case pipeline.StopStoreUnread:
		return "the KV store could not be read: " + store + "; the indicators it could not check wait for the next run"
	case pipeline.StopStateFailed:
		return "the checkpoint directory " + w.checkpointDir + " failed: the run lock, journal and the key's quota live there: it must be a writable directory with free space; check its disk and permissions"
	case pipeline.StopStateDamaged:
		return "the state in the checkpoint directory " + w.checkpointDir + " was damaged (see above): check the disk it is on"
	case pipeline.StopSourceFailed:
		return "the search failed: check the search parameter (and earliest_time, latest_time) and splunkd's search logs"
	case pipeline.StopNothingToLookUp:
		if s.Rejected == "" {
			return "" // the source's error says which fields to set
		}
		return "no candidate value is an indicator (rejected: " + s.Rejected + "): check that " + params.List(params.FieldParams(), "and") + " name the search's fields holding " + params.List(params.FieldHolds(), "and") + ", and the search parameter"
	case pipeline.StopOverlap:
		return "another run of this input is still running: if this happens often, raise the input's interval or lower max_run_seconds"
	case pipeline.StopDeadline:
		return fmt.Sprintf("the run reached max_run_seconds (%d) before it finished: if this happens every run, raise max_run_seconds or shorten the search window (earliest_time)", w.maxRunSeconds)
	}
	return ""
}

// advise logs one WARN line of advice per cause of the run's trouble, and adds
// to a failed run's errors what to do about its error.
func (w adviceWords) advise(log *slog.Logger, sum *pipeline.Summary, runErr error) {
	for _, s := range sum.Stops {
		if a := w.advice(s); a != "" {
			log.Warn(fmt.Sprintf("Input %s: %s.", w.input, a))
		}
	}
	var stop *pipeline.Stop
	if errors.As(runErr, &stop) {
		if a := w.advice(stop); a != "" {
			sum.Errors = append(sum.Errors, a)
		}
	}
}
