package standalone

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/pipeline"
)

// advice returns what to do about one cause of a run's trouble, in this
// configuration's words (its YAML keys, its file, its store), with the
// level to log it at; "" for a cause that needs nothing done.
func (c *Config) advice(s *pipeline.Stop) string {
	in := " in " + c.File
	switch s.Reason {
	case pipeline.StopKeyRejected:
		fix := "set environment variable " + c.APIKeyEnv + " to a valid key (enrich.virustotal.api_key_env" + in + ")"
		if c.APIKeyFile != "" {
			fix = "put a valid key in " + c.APIKeyFile + " (enrich.virustotal.api_key_file" + in + ")"
		}
		return "VirusTotal rejected the API key: " + fix
	case pipeline.StopQuotaExceeded:
		fit := "lower enrich.virustotal.requests_per_minute or enrich.virustotal.daily_lookup_budget" + in + " to fit the key's quota (every tool using the key shares it), or use a key with a larger quota"
		if !s.Until.IsZero() {
			return fmt.Sprintf("VirusTotal said the API key's quota was exceeded: no lookups until %s; the wait doubles while the quota stays exceeded, up to the next 00:00 UTC. To avoid it, %s",
				s.Until.UTC().Format(time.DateTime+" MST"), fit)
		}
		return "VirusTotal says the API key's quota is exceeded: the key makes no lookups for 15 minutes, twice as long after each further stop in a row, never past the next 00:00 UTC; " + fit
	case pipeline.StopBudgetSpent:
		return fmt.Sprintf("the daily lookup budget (%d) is spent: due indicators wait for the next UTC day; raise enrich.virustotal.daily_lookup_budget%s if the key's quota allows", c.Enrich.DailyLookupBudget, in)
	case pipeline.StopUnreachable:
		return "VirusTotal cannot be reached: check enrich.virustotal.vt_api_url and proxy_url" + in + ", DNS and the firewall between this host and VirusTotal"
	case pipeline.StopStoreFailed, pipeline.StopStoreUnread:
		what := "did not save the records"
		if s.Reason == pipeline.StopStoreUnread {
			what = "could not be read"
		}
		if c.Store.Type == StoreKVStore {
			return "the KV store collection " + c.Store.Collection + " " + what + ": check splunkd at " + c.KVStore.URL + " (its KV store status) and store.kvstore.collection" + in
		}
		return "the embedded store " + c.Store.Path + " " + what + ": check the disk of " + filepath.Dir(c.Store.Path) + " (space, permissions) and store.embedded.path" + in
	case pipeline.StopStateFailed:
		return "the state directory " + c.StateDir + " (state_dir" + in + ") failed: the run lock, journal and the key's quota live there: it must be a writable directory with free space"
	case pipeline.StopStateDamaged:
		return "the state in " + c.StateDir + " (state_dir" + in + ") was damaged (see above): check the disk it is on"
	case pipeline.StopSourceFailed:
		if c.Source.Type == SourceSplunk {
			return "the search failed: check source.splunk.search" + in + " and splunkd at " + c.Search.URL
		}
		what := "the events file "
		if c.Source.File.Format == filesource.Domains {
			what = "the domain list "
		}
		return "reading " + what + c.Source.File.Path + " failed: check the file and source.file" + in
	case pipeline.StopNothingToLookUp:
		if s.Rejected == "" {
			return "" // the source's error says which keys to set
		}
		section := "source.file"
		if c.Source.Type == SourceSplunk {
			section = "source.splunk"
		}
		return "no candidate value is an indicator (rejected: " + s.Rejected + "): check that " + section + "." + params.List(params.FieldParams(), "and") + in + " name the fields holding " + params.List(params.FieldHolds(), "and")
	case pipeline.StopOverlap:
		return "another run of this configuration is still running: if this happens often, run less often (--every) or lower max_run_seconds" + in
	case pipeline.StopDeadline:
		fix := "raise max_run_seconds" + in
		if c.Source.Type == SourceSplunk {
			fix += " or shorten source.splunk.earliest_time"
		}
		return fmt.Sprintf("the run reached max_run_seconds (%d) before it finished: if this happens every run, %s", c.MaxRunSeconds, fix)
	}
	return ""
}

// advise logs one WARN line of advice per cause of the run's trouble, and adds
// to a failed run's errors what to do about its error.
func (c *Config) advise(log *slog.Logger, sum *pipeline.Summary, runErr error) {
	for _, s := range sum.Stops {
		if a := c.advice(s); a != "" {
			log.Warn(a + ".")
		}
	}
	var stop *pipeline.Stop
	if errors.As(runErr, &stop) {
		if a := c.advice(stop); a != "" {
			sum.Errors = append(sum.Errors, a)
		}
	}
}
