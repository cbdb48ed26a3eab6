// Package pipeline runs one sync: candidates → normalised indicators of
// each kind → freshness check → enrichment → store, and reports a Summary.
// It knows indicator kinds only through internal/kind, and its stages only
// through the interfaces below; it knows nothing of Splunk or VirusTotal.
// Its log lines and Summary.Errors state facts; why a run stopped or
// failed comes back as typed causes (Stop, Summary.Stops), from which the
// edge that runs it (the modular input, the CLI) gives advice in its own
// words.
package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
)

// Source streams candidate values (not yet normalised) to emit, each with
// the kind it is a candidate of, one call per value; a multi-value field
// gives one call per value. It returns emit's error if emit fails.
//
// A source read whole whose records carry none of the fields it reads
// (the search's rows lack every configured field) returns an error with a
// method NothingToLookUp() bool that returns true: Run reports it as a
// warning that the source yields nothing to look up, with status partial,
// not as a failure. The error's text says what to change.
type Source interface {
	Candidates(ctx context.Context, emit func(k kind.Kind, raw string) error) error
}

// nothingToLookUp reports whether err says the source was read but yields
// nothing to look up (see Source).
func nothingToLookUp(err error) bool {
	var e interface{ NothingToLookUp() bool }
	return errors.As(err, &e) && e.NothingToLookUp()
}

// Store is where records live (a KV store collection per kind, or the
// embedded store in standalone mode).
type Store interface {
	// Get returns the stored records of kind k for those of keys that have
	// one. Implementations bound the number of requests: never one per key.
	Get(ctx context.Context, k kind.Kind, keys []string) (map[string]kind.Record, error)
	// Save upserts records of kind k by _key, in as few requests as the
	// backend's limits allow.
	Save(ctx context.Context, k kind.Kind, recs []kind.Record) error
}

// Purger is a Store that can delete the records of a kind not refreshed
// since a time (enriched_time earlier than before), in bounded requests,
// and report how many it deleted. Run calls it after the lookups when
// Options.RetentionDays is set, for each kind the run met.
type Purger interface {
	Purge(ctx context.Context, k kind.Kind, before time.Time) (int, error)
}

// Summary is the run summary event (sourcetype vtsync:run). Its JSON field
// names are read by the app's dashboards and alerts: keep them stable.
type Summary struct {
	Input         string         `json:"input"`
	ServerHost    string         `json:"server_host,omitempty"` // splunkd's server_host ("host" would clash with the event's host field)
	Status        string         `json:"status"`                // ok, partial, failed, skipped
	Role          string         `json:"role,omitempty"`
	StartTime     int64          `json:"start_time"`
	Candidates    int            `json:"candidates"`
	Distinct      int            `json:"distinct_domains"`
	Rejected      map[string]int `json:"rejected"`
	RejectedTotal int            `json:"rejected_total"`
	Fresh         int            `json:"fresh"`
	Due           int            `json:"due"`
	LookedUp      int            `json:"looked_up"`
	Found         int            `json:"found"`
	NotFound      int            `json:"not_found"`
	Flagged       int            `json:"flagged"` // found indicators at least one VirusTotal engine rates malicious
	Failed        int            `json:"failed"`
	Deferred      int            `json:"deferred"`
	Replayed      int            `json:"replayed"`
	QuotaState    string         `json:"quota_state"` // ok, budget_exhausted, quota_exceeded, key_rejected
	BudgetUsed    int            `json:"budget_used_today"`
	BudgetLimit   int            `json:"budget_limit"`
	VTCalls       int64          `json:"vt_calls"`
	KVWrites      int            `json:"kv_writes"`
	KVRequests    int            `json:"kv_requests"`
	Purged        int            `json:"purged"` // records not refreshed for retention_days, deleted by this run
	Duration      float64        `json:"duration_seconds"`
	CacheHitRate  float64        `json:"cache_hit_rate"`
	Errors        []string       `json:"errors,omitempty"`
	// Kinds breaks the counts down per indicator kind ("domain", "ip",
	// "file"); the fields above are their totals (distinct_domains counts
	// the distinct indicators of every kind).
	Kinds map[string]*KindSummary `json:"kinds,omitempty"`
	// Stops are the run's causes of trouble, the one that stopped its
	// lookups first (see Stop): the edge that runs the pipeline advises
	// from them. Not part of the event.
	Stops []*Stop `json:"-"`
}

// KindSummary is one kind's share of a run's counts.
type KindSummary struct {
	Candidates    int            `json:"candidates"`
	Distinct      int            `json:"distinct"`
	Rejected      map[string]int `json:"rejected"`
	RejectedTotal int            `json:"rejected_total"`
	Fresh         int            `json:"fresh"`
	Due           int            `json:"due"`
	LookedUp      int            `json:"looked_up"`
	Found         int            `json:"found"`
	NotFound      int            `json:"not_found"`
	Flagged       int            `json:"flagged"`
	Failed        int            `json:"failed"`
	Deferred      int            `json:"deferred"`
	Replayed      int            `json:"replayed"`
	KVWrites      int            `json:"kv_writes"`
}

// Budget is the daily lookup budget the enricher spends (internal/budget),
// as the run reports it.
type Budget interface {
	// Used returns the lookups spent today.
	Used() int
}

// Options configure one run. Zero values take the documented defaults.
type Options struct {
	Input                string // input name, for logs and the summary
	RefreshDays          int    // found records older than this are due (default 7)
	NotFoundRefreshHours int    // negative records older than this are due (default 24)
	// The rest of the refresh policy (internal/refresh), off at zero:
	// not_found_max_hours, young_refresh_days, refresh_jitter_percent.
	NotFoundMaxHours     int
	YoungRefreshDays     int
	RefreshJitterPercent int
	RetentionDays        int // records not refreshed for this many days are deleted (Purger); 0 = keep
	MaxConcurrency       int // lookups in flight (default 4)
	DailyLookupBudget    int // lookups per UTC day; 0 = no cap
	BatchSize            int // documents per Store.Save (default and maximum 1000)
	// Lookups false: this process must not spend quota (a search head
	// cluster member that is not the captain); it still replays its
	// journal and reports.
	Lookups  bool
	StateDir string // checkpoint_dir: journal and run lock; "" = no state
	// Budget is the daily lookup budget the enricher was built with, for
	// the summary's budget_used_today (nil: 0). The enricher spends it;
	// the run learns that it is spent from the enricher's errors
	// (enrich.ErrBudgetSpent).
	Budget Budget
	// Logger gets the run's log lines: short messages with key/value
	// pairs, facts without advice (nil: none).
	Logger   *slog.Logger
	Progress func(done, total int) // optional, called as lookups finish
	Now      func() time.Time      // optional clock for tests
}
