// Package detect evaluates the app's detection search in Go: over network
// events and the stored records, it finds the registered domains that
// non-browser processes contacted and that are young, use a Let's Encrypt
// certificate while young, or are flagged by antivirus engines. It mirrors
// the app's saved search and macros step for step, with the same defaults,
// so standalone mode and Splunk flag the same domains.
package detect

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/record"
)

// DefaultBrowsers is the browser process list of the blog's detection plus
// current Edge, Brave and Vivaldi names: the app's vtsync_browser_processes
// macro (a test keeps the two in step).
// Matching is on the process base name, case-insensitively.
var DefaultBrowsers = []string{
	"chrome.exe", "iexplore.exe", "firefox.exe", "opera.exe", "microsoftedge.exe", "safari",
	"microsoftedgecp.exe", "msedge.exe", "brave.exe", "vivaldi.exe",
}

// LetsEncrypt is the certificate issuer organisation the detection matches.
// Let's Encrypt's intermediates change (X3, then R3, now R10/R11/E5/E6),
// its organisation name does not.
const LetsEncrypt = "Let's Encrypt"

// Rules are the detection's thresholds and lists; DefaultRules gives the
// app's macro defaults.
type Rules struct {
	MaxAgeDays       float64  // young: at most this many days between registration and first contact (45)
	MaxDistinctHosts int      // domains contacted by more hosts are left out (10)
	MinPositives     int64    // flagged by at least this many engines (2)
	Browsers         []string // processes whose events are left out
	IssuerOrg        string   // certificate issuer organisation of the young-certificate rule
}

// DefaultRules returns the app's defaults: 45 days, 10 hosts, 2 positives,
// DefaultBrowsers, Let's Encrypt.
func DefaultRules() Rules {
	return Rules{MaxAgeDays: 45, MaxDistinctHosts: 10, MinPositives: 2, Browsers: DefaultBrowsers, IssuerOrg: LetsEncrypt}
}

// IsBrowser reports whether process (a base name or an image path) is in
// the rules' browser list.
func (r Rules) IsBrowser(process string) bool {
	p := filesource.ProcessName(process)
	for _, b := range r.Browsers {
		if strings.EqualFold(p, b) {
			return true
		}
	}
	return false
}

// Reasons a domain is flagged (Finding.Why), one per clause of the
// detection's final search.
const (
	WhyLetsEncrypt = "lets_encrypt_young" // issuer organisation matches and age <= MaxAgeDays
	WhyYoung       = "young"              // known creation date and age <= MaxAgeDays
	WhyPositives   = "positives"          // last_analysis_positive >= MinPositives
)

// Finding is one domain the detection shows: flagged, or pending (no record
// yet, so it cannot be judged and must not silently vanish).
type Finding struct {
	Domain    string    `json:"domain"`
	Hosts     []string  `json:"hosts"` // distinct hosts, sorted
	Count     int       `json:"count"` // events
	FirstSeen time.Time `json:"first_seen"`
	AgeDays   *float64  `json:"age_days"` // first seen − WHOIS creation, in days, 2 decimals; nil = unknown
	Issuer    string    `json:"issuer,omitempty"`
	Positives *int64    `json:"positives"`
	Why       []string  `json:"why,omitempty"`
	Pending   bool      `json:"pending,omitempty"`
}

// Stats counts what the detection dropped on the way, for the report.
type Stats struct {
	Events       int // events read
	Browser      int // events of browser processes
	Rejected     int // events whose destination is empty, an IP or not a public name
	Domains      int // distinct registered domains from the remaining events
	TooManyHosts int // domains contacted by more than MaxDistinctHosts hosts
	Popular      int // domains with a popularity rank
	Quiet        int // enriched, not popular, not flagged
	Flagged      int
	Pending      int
}

type seen struct {
	count int
	hosts map[string]struct{}
	first time.Time
}

// Detector aggregates events per registered domain (the search's stats
// step) and then judges each domain against its record. Use New, Add every
// event, then Candidates and Findings. It is not safe for concurrent use.
type Detector struct {
	rules   Rules
	domains map[string]*seen
	stats   Stats
}

// New returns an empty Detector.
func New(rules Rules) *Detector {
	return &Detector{rules: rules, domains: map[string]*seen{}}
}

// Add counts one event: browser processes and destinations without a
// registered domain (empty, IP, junk) are dropped; the rest count towards
// their registered domain's events, distinct hosts and first-seen time.
func (d *Detector) Add(e filesource.Event) {
	d.stats.Events++
	if d.rules.IsBrowser(e.Process) {
		d.stats.Browser++
		return
	}
	dom, reason := domain.Normalize(e.Dest)
	if reason != "" {
		d.stats.Rejected++
		return
	}
	s := d.domains[dom]
	if s == nil {
		s = &seen{hosts: map[string]struct{}{}}
		d.domains[dom] = s
	}
	s.count++
	if h := strings.TrimSpace(e.Host); h != "" {
		s.hosts[h] = struct{}{}
	}
	if !e.Time.IsZero() && (s.first.IsZero() || e.Time.Before(s.first)) {
		s.first = e.Time
	}
}

// Candidates returns, sorted, the domains that pass the host-count filter:
// the ones whose records Findings will ask for.
func (d *Detector) Candidates() []string {
	out := make([]string, 0, len(d.domains))
	for dom, s := range d.domains {
		if len(s.hosts) <= d.rules.MaxDistinctHosts {
			out = append(out, dom)
		}
	}
	slices.Sort(out)
	return out
}

// Findings judges every candidate domain against its record (lookup) and
// returns the flagged ones, then the pending ones (no record). Flagged
// findings come in first-seen order, pending ones by name.
func (d *Detector) Findings(lookup func(domain string) (record.Record, bool)) []Finding {
	st := &d.stats
	*st = Stats{Events: st.Events, Browser: st.Browser, Rejected: st.Rejected, Domains: len(d.domains)}
	var flagged, pending []Finding
	for dom, s := range d.domains {
		if len(s.hosts) > d.rules.MaxDistinctHosts {
			st.TooManyHosts++
			continue
		}
		f := Finding{Domain: dom, Count: s.count, FirstSeen: s.first, Hosts: make([]string, 0, len(s.hosts))}
		for h := range s.hosts {
			f.Hosts = append(f.Hosts, h)
		}
		slices.Sort(f.Hosts)
		rec, ok := lookup(dom)
		if !ok {
			f.Pending = true
			st.Pending++
			pending = append(pending, f)
			continue
		}
		if rec.PopularityRank != nil || rec.PopularityAlexa != nil {
			st.Popular++
			continue
		}
		f.Issuer = rec.CertIssuer
		f.Positives = rec.LastAnalysisPositive
		f.AgeDays = ageDays(s.first, rec.WhoisCreationTime)
		f.Why = d.rules.why(rec, f.AgeDays)
		if len(f.Why) == 0 {
			st.Quiet++
			continue
		}
		st.Flagged++
		flagged = append(flagged, f)
	}
	slices.SortFunc(flagged, func(a, b Finding) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return strings.Compare(a.Domain, b.Domain)
	})
	slices.SortFunc(pending, func(a, b Finding) int { return strings.Compare(a.Domain, b.Domain) })
	return append(flagged, pending...)
}

// Stats returns the counts of the last Findings call (event counts as of
// now).
func (d *Detector) Stats() Stats { return d.stats }

// ageDays is the search's diff_time: (first seen − WHOIS creation) in days,
// rounded to 2 decimals as round(...,2) does, so a threshold compares the
// same value in Go and in SPL. Unknown when either time is.
func ageDays(first time.Time, created *int64) *float64 {
	if first.IsZero() || created == nil {
		return nil
	}
	days := (float64(first.UnixMilli())/1000 - float64(*created)) / 86400
	days = math.Round(days*100) / 100
	return &days
}

func (r Rules) why(rec record.Record, age *float64) []string {
	var why []string
	young := age != nil && *age <= r.MaxAgeDays
	if young && sameOrg(rec.CertIssuerOrg, r.IssuerOrg) {
		why = append(why, WhyLetsEncrypt)
	}
	if young {
		why = append(why, WhyYoung)
	}
	if rec.LastAnalysisPositive != nil && *rec.LastAnalysisPositive >= r.MinPositives {
		why = append(why, WhyPositives)
	}
	return why
}

// sameOrg compares organisation names case-insensitively, reading a
// typographic apostrophe as ASCII ("Let’s Encrypt" = "Let's Encrypt").
func sameOrg(a, b string) bool {
	norm := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\u2019", "'") }
	a, b = norm(a), norm(b)
	return a != "" && strings.EqualFold(a, b)
}

// Evaluate runs the detection over events with the given record lookup.
func Evaluate(events []filesource.Event, lookup func(domain string) (record.Record, bool), rules Rules) []Finding {
	d := New(rules)
	for _, e := range events {
		d.Add(e)
	}
	return d.Findings(lookup)
}
