// Package params defines the vtsync input parameters (the inputs.conf
// contract): their names, documentation and defaults, and the rules of a
// single value (a search, a time, a field or collection name). The
// modular-input scheme, README/inputs.conf.spec and the standalone YAML
// configuration are all derived from the table in this package; package
// config holds the typed settings and validates them.
package params

import (
	"fmt"
	"strings"

	"github.com/vtsync/vtsync/internal/kind"
	_ "github.com/vtsync/vtsync/internal/kind/all" // the kinds whose field parameters are parameters
)

// Mask is the value that replaces api_key in inputs.conf once the key is
// kept in storage/passwords.
const Mask = "********"

// DefaultSearch is the default candidate search: the app's macro, written
// so that what splunkd receives starts with "|" (the macro expands to a
// generating tstats command).
const DefaultSearch = "| `vtsync_candidates`"

// vtDefaultURL is the default vt_api_url.
const vtDefaultURL = "https://www.virustotal.com/api/v3"

// Arg documents one parameter.
type Arg struct {
	Name        string
	Title       string
	Description string
	DataType    string // string | number | boolean
	Default     string
	Required    bool
}

// Args returns the ordered parameter table: the search and its window,
// the field parameter of every registered kind (kind.Param, in their
// order), then the rest.
func Args() []Arg {
	kinds := kind.ByParam()
	out := make([]Arg, 0, len(before)+len(kinds)+len(after))
	for _, a := range before {
		if a.Name == "search" {
			a.Description = fmt.Sprintf(a.Description, List(FieldParams(), "and"))
		}
		out = append(out, a)
	}
	for _, k := range kinds {
		p := k.Param()
		out = append(out, Arg{Name: p.Name, Title: p.Title, Description: p.Description, DataType: "string", Default: p.Default})
	}
	return append(out, after...)
}

// FieldParams returns the field parameter names of the registered kinds,
// in their order: domain_field, ip_field, hash_field.
func FieldParams() []string {
	var out []string
	for _, k := range kind.ByParam() {
		out = append(out, k.Param().Name)
	}
	return out
}

// FieldHolds returns what the registered kinds' fields hold (kind.Param's
// Holds), in parameter order: host names, IP addresses, file hashes.
func FieldHolds() []string {
	var out []string
	for _, k := range kind.ByParam() {
		out = append(out, k.Param().Holds)
	}
	return out
}

// List joins words for a message: "a", "a and b", "a, b and c" (with
// conj "and"; "or" for alternatives).
func List(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// NoneSet says that none of names is set: "x is not set", "neither x nor
// y is set", "none of x, y or z is set".
func NoneSet(names []string) string {
	switch len(names) {
	case 0:
		return "no other field parameter exists"
	case 1:
		return names[0] + " is not set"
	case 2:
		return "neither " + names[0] + " nor " + names[1] + " is set"
	}
	return "none of " + List(names, "or") + " is set"
}

// before are the parameters ahead of the kinds' field parameters.
var before = []Arg{
	{Name: "search", Title: "Candidate search", DataType: "string", Default: DefaultSearch,
		Description: "SPL whose result rows carry the candidate indicators, in the fields named by %s. It must start with 'search ' or '|'; a bare query such as 'index=main ...' is sent as 'search index=main ...'. Start a macro with '| ' when it expands to a generating command such as tstats."},
	{Name: "earliest_time", Title: "Earliest time", DataType: "string", Default: "-20m",
		Description: "Start of the search window, as a Splunk time: relative such as -20m or -1d@d, now, epoch seconds, or 05/01/2024:00:00:00. Real-time (rt) times are refused."},
	{Name: "latest_time", Title: "Latest time", DataType: "string", Default: "now",
		Description: "End of the search window, as a Splunk time such as now or -5m@m (see earliest_time)."},
}

// after are the parameters after the kinds' field parameters.
var after = []Arg{
	{Name: "collection", Title: "KV store collection", DataType: "string", Default: "vtsync_domains",
		Description: "KV store collection that receives one record per registered domain: " + CollectionRule + " (IP addresses go to vtsync_ips, file hashes to vtsync_files)."},
	{Name: "api_key", Title: "VirusTotal API key", DataType: "string", Default: "",
		Description: "VirusTotal API key. Entered once: the first run moves it to storage/passwords (realm vtsync, user = input name) and replaces it here with ********."},
	{Name: "vt_api_url", Title: "VirusTotal API URL", DataType: "string", Default: vtDefaultURL,
		Description: "Base URL of VirusTotal API v3 (for proxies, mirrors and tests); it must end in /api/v3. Plain http:// is accepted only to a loopback host (the key would travel in clear) unless allow_insecure_vt_url is true."},
	{Name: "allow_insecure_vt_url", Title: "Allow plain-HTTP VirusTotal URL", DataType: "boolean", Default: "false",
		Description: "true lets vt_api_url be plain http:// to a host other than loopback, sending the VirusTotal key unencrypted (a proxy on a trusted network). Leave false otherwise."},
	{Name: "requests_per_minute", Title: "Requests per minute", DataType: "number", Default: "4",
		Description: "VirusTotal requests per minute, never exceeded, by all inputs using the same key together. 4 for a public key; premium keys set more."},
	{Name: "daily_lookup_budget", Title: "Daily lookup budget", DataType: "number", Default: "500",
		Description: "VirusTotal requests per UTC day, retries included, by all inputs using the same key together (0 = no cap)."},
	{Name: "max_concurrency", Title: "Maximum concurrency", DataType: "number", Default: "4",
		Description: "VirusTotal requests in flight at once. To reach requests_per_minute it needs about requests_per_minute/200 + 2 (answers take about 0.3 s)."},
	{Name: "refresh_days", Title: "Refresh after days", DataType: "number", Default: "7",
		Description: "A found record older than this many days is looked up again."},
	{Name: "not_found_refresh_hours", Title: "Refresh not-found after hours", DataType: "number", Default: "24",
		Description: "A record of an indicator VirusTotal does not know is looked up again after this many hours."},
	{Name: "not_found_max_hours", Title: "Not-found backoff cap, hours", DataType: "number", Default: "168",
		Description: "Backoff for indicators VirusTotal keeps not knowing: above not_found_refresh_hours, an indicator VirusTotal has not known for a time d is asked again d later (24 h, 24 h, 48 h, 96 h, ...), at most this many hours later. Costs detection delay: an indicator VirusTotal learns is seen up to this many hours late instead of not_found_refresh_hours. Equal to not_found_refresh_hours: no backoff."},
	{Name: "young_refresh_days", Title: "Refresh young domains after days", DataType: "number", Default: "0",
		Description: "Above refresh_days: a found record the detection's young rule flags on its creation date alone (created at most 45 days before, not ranked within 100,000) is looked up again after this many days, or when its young window closes if sooner. Costs detection delay: a young domain that turns malicious is flagged malicious up to this many days late (it stays flagged young meanwhile). 0: off."},
	{Name: "refresh_jitter_percent", Title: "Refresh jitter, percent", DataType: "number", Default: "10",
		Description: "Shortens each record's refresh period by 0 to this many percent, drawn from its key and enriched_time (every run agrees), so that indicators looked up together do not come due together week after week. Never delays a refresh; costs about half this percentage in extra lookups of found records."},
	{Name: "retention_days", Title: "Retention, days", DataType: "number", Default: "30",
		Description: "Records not refreshed for this many days (enriched_time) are deleted at the end of a run, so that the collections do not keep indicators nobody meets any more; counted as purged in the run summary. 0 keeps every record. Must be more than refresh_days."},
	{Name: "proxy_url", Title: "HTTPS proxy", DataType: "string", Default: "",
		Description: "HTTPS proxy URL for VirusTotal requests (splunkd's proxy settings do not cover add-ons). Empty: the HTTPS_PROXY environment variable."},
	{Name: "ca_file", Title: "splunkd CA file", DataType: "string", Default: "",
		Description: "PEM file of the CA that signed splunkd's certificate. Empty: system roots; a loopback server_uri also accepts splunkd's self-signed certificate."},
	{Name: "shc_lookup", Title: "Search head cluster lookups", DataType: "string", Default: "captain",
		Description: "In a search head cluster, which members spend VirusTotal quota: captain (only the captain) or all."},
	{Name: "max_run_seconds", Title: "Run deadline", DataType: "number", Default: "840",
		Description: "A run stops looking up, flushes and exits after this many seconds."},
}

// Error is a problem that names the parameter.
type Error struct {
	Param string
	Msg   string
}

func (e *Error) Error() string { return fmt.Sprintf("parameter %s: %s", e.Param, e.Msg) }

// Default returns the documented default of parameter name ("" for an
// unknown name).
func Default(name string) string {
	for _, a := range Args() {
		if a.Name == name {
			return a.Default
		}
	}
	return ""
}

// NormalizeSearch returns the SPL to send to splunkd: it must start with
// the search command (search followed by white space) or "|"; a bare query
// is prefixed with "search ". A leading macro
// is refused, because splunkd only accepts it once written as "| `m`" (a
// generating macro) or "search `m`".
func NormalizeSearch(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", &Error{"search", "is empty; give the SPL whose results carry the candidate domains"}
	case strings.HasPrefix(s, "|"):
		return s, nil
	case strings.HasPrefix(s, "`"):
		return "", &Error{"search", "starts with a macro; splunkd needs the search to start with 'search ' or '|': write '| " + s + "' if the macro starts with a generating command such as tstats, else 'search " + s + "'"}
	case hasSearchCommand(s):
		return s, nil
	}
	return "search " + s, nil
}

// hasSearchCommand reports whether s starts with the search command: the
// word search (in any case) alone or followed by white space.
func hasSearchCommand(s string) bool {
	const cmd = "search"
	if len(s) < len(cmd) || !strings.EqualFold(s[:len(cmd)], cmd) {
		return false
	}
	if len(s) == len(cmd) {
		return true
	}
	switch s[len(cmd)] {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// NameRule is what ValidName accepts, for messages.
const NameRule = "1 to 200 characters, each an ASCII letter, digit, _, - or ."

// CollectionRule is what ValidCollection accepts, for messages and the
// parameter's documentation.
const CollectionRule = "1 to 100 characters, each an ASCII letter, digit or _, starting with a letter"

// ValidCollection reports whether s is usable as a KV store collection
// name. The name is a collections.conf stanza, a path segment of the
// storage/collections REST endpoints and, as the lookup definition, a
// name in SPL (| lookup <name> ...). Splunk's documented rule for names a
// search uses (field names: letters, digits and underscores, starting with
// a letter) holds in all three places; '-' and '.' do not ('.' separates
// the KV store's namespaces, '-' is an operator in SPL), so both are
// refused rather than failing later in splunkd or in the detection.
func ValidCollection(s string) bool {
	if s == "" || len(s) > 100 || !isLetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isLetter(c) || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// ValidName reports whether s is usable as a Splunk object name (a field,
// app or input name): 1 to 200 letters, digits, '_', '-', '.'.
func ValidName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
