// Package detect evaluates the app's three detections in Go, over events
// and the stored records: the registered domains that non-browser
// processes contacted and that are young (unless popular), that engines
// call malicious (whatever their popularity) or, when switched on, that
// VirusTotal does not know; the public IP addresses that non-browser
// processes contacted (Sysmon EventCode 3) and the process images (by the
// hashes of Sysmon EventCode 1) that engines call malicious or, switched
// on, VirusTotal does not know. Each lists the indicators not looked up
// yet. One table (Settings) holds the thresholds, lists and switches that
// the app's macros hold too, so standalone mode and Splunk flag the same
// indicators, for the same reasons in the same words.
package detect

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/filesource"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/record"
)

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

// Rules a finding matched (Finding.Rules), in the order the detection's
// SPL lists its reasons.
const (
	RuleYoung     = "young"     // known creation date, 0 <= age <= MaxAgeDays, not popular
	RuleFreeCA    = "free_ca"   // young, with a certificate from a free CA
	RuleMalicious = "malicious" // last_analysis_positive >= MinPositives, whatever the popularity
	RuleNotFound  = "not_found" // VirusTotal does not know it (with FlagNotFound)
)

// Finding statuses.
const (
	StatusFlagged = "flagged" // a rule matched
	StatusPending = "pending" // no record yet: cannot be judged, must not vanish
	StatusClear   = "clear"   // looked up, no rule matched (listed with Detector.KeepClear)
)

// Finding is one indicator a detection shows: flagged, or pending (no
// record yet, so it cannot be judged and must not silently vanish), or with
// Detector.KeepClear clear. Kind says which detection: the fields after
// Positives belong to one kind each.
type Finding struct {
	Kind      string    `json:"kind"`      // KindDomain, KindIP or KindFile
	Indicator string    `json:"indicator"` // the registered domain, the IP address, or the image's hash looked up (its strongest)
	Status    string    `json:"status"`    // StatusFlagged, StatusPending or StatusClear
	Alert     bool      `json:"alert"`     // the saved search alerts on it: flagged, or pending with AlertPending
	Rules     []string  `json:"rules"`     // Rule* codes matched; empty when pending
	Reasons   []string  `json:"reasons"`   // in words, as the detection's SPL writes them
	Hosts     []string  `json:"endpoints"` // distinct endpoints that made the contact (or ran the image), sorted
	Count     int       `json:"count"`     // events
	FirstSeen time.Time `json:"first_seen"`
	Positives *int64    `json:"positives"` // engines calling it malicious; nil = unknown

	// Domains.
	AgeDays        *float64 `json:"age_days"` // first seen − WHOIS creation, in days, 2 decimals; nil = unknown
	PopularityRank *int64   `json:"popularity_rank"`
	Issuer         string   `json:"cert_issuer"`
	// IP addresses.
	ASOwner string `json:"as_owner"`
	Country string `json:"country"`
	// Process images.
	ThreatLabel string   `json:"threat_label"` // VirusTotal's popular_threat_label
	Images      []string `json:"images"`       // the process images (paths) with this hash, sorted
	SHA256      string   `json:"sha256"`
	SHA1        string   `json:"sha1"`
	MD5         string   `json:"md5"`
}

// Stats counts what the detections dropped on the way, for the report.
// The first fields are the domain detection's.
type Stats struct {
	Events       int // domain events read
	Browser      int // events of browser processes
	Rejected     int // events whose destination is empty, an IP or not a public name
	Domains      int // distinct registered domains from the remaining events
	TooManyHosts int // domains contacted by more than MaxDistinctHosts endpoints
	PopularYoung int // young domains the popularity threshold kept from being flagged
	Quiet        int // looked up, no rule matched
	Flagged      int
	Pending      int

	IP   KindStats // the IP address detection's
	File KindStats // the process image detection's
}

// KindStats counts what the IP address or the process image detection
// dropped on the way.
type KindStats struct {
	Events   int // values read (IP addresses, or Hashes)
	Other    int // of events of another Sysmon event code than the detection's (3 network connection, 1 process creation)
	Browser  int // of browser processes (IP addresses only)
	Rejected int // not a public IP address; no file hash (only IMPHASH, malformed, empty)
	Distinct int // distinct IP addresses or image hashes from the remaining events
	Quiet    int // looked up, no rule matched
	Flagged  int
	Pending  int
}

type seen struct {
	count int
	hosts map[string]struct{}
	first time.Time
}

// add counts event e: its host (the machine that made the contact) and time.
func (s *seen) add(e filesource.Event) {
	s.count++
	if h := strings.TrimSpace(e.Host); h != "" {
		s.hosts[h] = struct{}{}
	}
	if !e.Time.IsZero() && (s.first.IsZero() || e.Time.Before(s.first)) {
		s.first = e.Time
	}
}

// finding starts the finding of indicator from what was seen of it.
func (s *seen) finding(kind, indicator string) Finding {
	f := Finding{Kind: kind, Indicator: indicator, Count: s.count, FirstSeen: s.first, Hosts: make([]string, 0, len(s.hosts))}
	for h := range s.hosts {
		f.Hosts = append(f.Hosts, h)
	}
	slices.Sort(f.Hosts)
	return f
}

// seenFile is what was seen of one process image hash.
type seenFile struct {
	seen
	hashes filekind.Hashes // the first of each algorithm the events gave
	images map[string]struct{}
}

// Detector aggregates events per indicator (the searches' stats steps) and
// then judges each indicator against its record. Use New, Add every event,
// then the candidates of each kind and Findings. It is not safe for
// concurrent use.
type Detector struct {
	// KeepClear makes Findings list the indicators no rule flagged too,
	// with StatusClear and the reasons they were not flagged (vtsync
	// detect --all).
	KeepClear bool

	rules   Rules
	domains map[string]*seen
	ips     map[string]*seen
	files   map[string]*seenFile
	stats   Stats
}

// New returns an empty Detector.
func New(rules Rules) *Detector {
	return &Detector{rules: rules, domains: map[string]*seen{}, ips: map[string]*seen{}, files: map[string]*seenFile{}}
}

// Add counts one event towards the detection of its kind (Event.Kind; a
// value without a kind is a destination host name).
func (d *Detector) Add(e filesource.Event) {
	switch e.Kind {
	case KindIP:
		d.addIP(e)
	case KindFile:
		d.addFile(e)
	default:
		d.addDomain(e)
	}
}

// addDomain counts a destination host name: browser processes and
// destinations without a registered domain (empty, IP, junk) are dropped;
// the rest count towards their registered domain's events, distinct
// endpoints (the event's host: the machine that made the contact) and
// first-seen time.
func (d *Detector) addDomain(e filesource.Event) {
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
	s.add(e)
}

// DomainCandidates returns, sorted, the domains that pass the host-count
// filter: the ones whose records Findings will ask for.
func (d *Detector) DomainCandidates() []string {
	out := make([]string, 0, len(d.domains))
	for dom, s := range d.domains {
		if len(s.hosts) <= d.rules.MaxDistinctHosts {
			out = append(out, dom)
		}
	}
	slices.Sort(out)
	return out
}

// Lookups read the stored records the detections judge against, one
// function per kind; a detection whose function is nil is not run (it has
// no findings). File is asked for each hash of an image, SHA-256 first,
// then SHA-1, then MD5, as the app's detection reads vtsync_files.
type Lookups struct {
	Domain func(domain string) (record.Record, bool)
	IP     func(ip string) (ipkind.Record, bool)
	File   func(hash string) (filekind.Record, bool)
}

// Findings judges every candidate against its record and returns, per
// detection (domains, IP addresses, process images), the flagged ones in
// first-seen order, then the pending ones (no record) by name, then with
// KeepClear the clear ones by name.
func (d *Detector) Findings(l Lookups) []Finding {
	return slices.Concat(d.domainFindings(l.Domain), d.ipFindings(l.IP), d.fileFindings(l.File))
}

// order sorts a detection's findings: flagged by first contact, then
// pending and clear ones by name.
func order(flagged, pending, clear []Finding) []Finding {
	slices.SortFunc(flagged, func(a, b Finding) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return strings.Compare(a.Indicator, b.Indicator)
	})
	byName := func(a, b Finding) int { return strings.Compare(a.Indicator, b.Indicator) }
	slices.SortFunc(pending, byName)
	slices.SortFunc(clear, byName)
	return slices.Concat(flagged, pending, clear)
}

func (d *Detector) domainFindings(lookup func(domain string) (record.Record, bool)) []Finding {
	if lookup == nil {
		return nil
	}
	st := &d.stats
	st.Domains, st.TooManyHosts, st.PopularYoung, st.Quiet, st.Flagged, st.Pending = len(d.domains), 0, 0, 0, 0, 0
	var flagged, pending, clear []Finding
	for dom, s := range d.domains {
		if len(s.hosts) > d.rules.MaxDistinctHosts {
			st.TooManyHosts++
			continue
		}
		f := s.finding(KindDomain, dom)
		rec, ok := lookup(dom)
		if !ok {
			f.Status, f.Alert = StatusPending, d.rules.AlertPending
			f.Rules, f.Reasons = []string{}, []string{ReasonPending}
			st.Pending++
			pending = append(pending, f)
			continue
		}
		f.Issuer = rec.CertIssuer
		f.Positives = rec.LastAnalysisPositive
		f.PopularityRank = rec.PopularityRank
		if rec.VTFound {
			f.AgeDays = ageDays(s.first, rec.WhoisCreationTime)
		}
		var suppressed bool
		f.Rules, f.Reasons, suppressed = d.rules.Judge(rec, f.AgeDays)
		if suppressed {
			st.PopularYoung++
		}
		if len(f.Rules) == 0 {
			st.Quiet++
			if d.KeepClear {
				f.Status, f.Reasons = StatusClear, d.rules.Explain(rec, f.AgeDays)
				clear = append(clear, f)
			}
			continue
		}
		f.Status, f.Alert = StatusFlagged, true
		st.Flagged++
		flagged = append(flagged, f)
	}
	return order(flagged, pending, clear)
}

// Stats returns the counts of the last Findings call (event counts as of
// now).
func (d *Detector) Stats() Stats { return d.stats }

// ageDays is the search's age_days: (first seen − WHOIS creation) in days,
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

// ReasonPending is the reason given for a domain without a record.
const ReasonPending = "not looked up by vtsync yet"

// Judge applies the rules to a domain's record and its age in days (nil =
// unknown). It returns the rules matched and their reasons in words,
// exactly as the vtsync_detection macro writes them, and whether the
// popularity threshold kept the young rule from matching.
func (r Rules) Judge(rec record.Record, age *float64) (rules, reasons []string, popularYoung bool) {
	rules, reasons = []string{}, []string{}
	popular := rec.PopularityRank != nil && *rec.PopularityRank <= r.PopularMaxRank
	org := CertOrg(rec)
	freeCA := org != "" && slices.ContainsFunc(r.FreeCAOrgs, func(o string) bool { return sameOrg(o, org) })
	young := rec.VTFound && age != nil && *age >= 0 && *age <= r.MaxAgeDays && (freeCA || !r.YoungNeedsFreeCA)
	if young && popular {
		young, popularYoung = false, true
	}
	if young {
		rules = append(rules, RuleYoung)
		reasons = append(reasons, "registered "+strconv.FormatFloat(*age, 'f', 2, 64)+" days before first contact")
		if freeCA {
			rules = append(rules, RuleFreeCA)
			reasons = append(reasons, "new domain with a certificate from "+org)
		}
	}
	rules, reasons = r.judgeVerdict(rules, reasons, rec.VTFound, rec.LastAnalysisPositive, "")
	return rules, reasons, popularYoung
}

// judgeVerdict appends the rules every detection shares, on VirusTotal's
// verdict: malicious (with the threat label, when there is one, in
// brackets, as the file detection's SPL writes it) and not found.
func (r Rules) judgeVerdict(rules, reasons []string, found bool, positives *int64, label string) ([]string, []string) {
	if p := positives; p != nil && *p >= r.MinPositives {
		rules = append(rules, RuleMalicious)
		why := engines(*p) + " it malicious"
		if label != "" {
			why += " (" + label + ")"
		}
		reasons = append(reasons, why)
	}
	if !found && r.FlagNotFound {
		rules = append(rules, RuleNotFound)
		reasons = append(reasons, "unknown to VirusTotal")
	}
	return rules, reasons
}

// explainVerdict says in words why the verdict flagged nothing.
func (r Rules) explainVerdict(found bool, positives *int64) []string {
	switch p := positives; {
	case !found:
		return []string{"unknown to VirusTotal (flag_not_found is off)"}
	case p != nil && *p > 0:
		return []string{fmt.Sprintf("%s it malicious: fewer than min_positives %d", engines(*p), r.MinPositives)}
	}
	return []string{"no engine calls it malicious"}
}

// Explain says in words why no rule flagged a domain with record rec and
// age (nil = unknown), for findings with StatusClear.
func (r Rules) Explain(rec record.Record, age *float64) []string {
	if !rec.VTFound {
		return []string{"unknown to VirusTotal (flag_not_found is off)"}
	}
	var why []string
	days := func(v float64) string { return strconv.FormatFloat(math.Abs(v), 'f', 2, 64) }
	_, _, popularYoung := r.Judge(rec, age)
	switch {
	case age == nil:
		why = append(why, "no WHOIS creation date: age unknown")
	case popularYoung:
		why = append(why, fmt.Sprintf("registered %s days before first contact, but ranked %d (popular: within popular_max_rank %d)",
			days(*age), *rec.PopularityRank, r.PopularMaxRank))
	case *age < 0:
		why = append(why, fmt.Sprintf("registered %s days after first contact (re-registered): not young", days(*age)))
	case *age > r.MaxAgeDays:
		why = append(why, fmt.Sprintf("registered %s days before first contact: older than max_age_days %s", days(*age), r.MacroValue("max_age_days")))
	default:
		why = append(why, fmt.Sprintf("registered %s days before first contact, certificate not from a free CA (young_needs_free_ca is on)", days(*age)))
	}
	if p := rec.LastAnalysisPositive; p != nil && *p > 0 {
		why = append(why, fmt.Sprintf("%s it malicious: fewer than min_positives %d", engines(*p), r.MinPositives))
	}
	return why
}

// engines is "1 engine calls" or "<n> engines call", as the SPL writes it.
func engines(n int64) string {
	if n == 1 {
		return "1 engine calls"
	}
	return strconv.FormatInt(n, 10) + " engines call"
}

// CertOrg returns the record's certificate issuer organisation as the
// detection compares it: cert_issuer_org, else the O= of cert_issuer,
// lower-case, a typographic apostrophe read as ASCII.
func CertOrg(rec record.Record) string {
	org := strings.TrimSpace(rec.CertIssuerOrg)
	if org == "" {
		for _, part := range strings.Split(rec.CertIssuer, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "O="); ok {
				org = strings.TrimSpace(v)
				break
			}
		}
	}
	return strings.ToLower(strings.ReplaceAll(org, "\u2019", "'"))
}

// sameOrg compares organisation names case-insensitively, reading a
// typographic apostrophe as ASCII ("Let’s Encrypt" = "Let's Encrypt").
func sameOrg(a, b string) bool {
	norm := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\u2019", "'") }
	a, b = norm(a), norm(b)
	return a != "" && strings.EqualFold(a, b)
}

// Evaluate runs the detections over events with the given record lookups.
func Evaluate(events []filesource.Event, l Lookups, rules Rules) []Finding {
	d := New(rules)
	for _, e := range events {
		d.Add(e)
	}
	return d.Findings(l)
}
