// Package config is one run's settings, typed: where the candidates come
// from, what enriches them, where the records go, and the refresh,
// retention, budget, pacing, deadline and cluster policy. Two thin decoders
// fill it — inputs.conf parameters (FromInputs, here) and the standalone
// YAML file (package standalone) — and the same Validate checks it,
// reporting every problem at once, each at its parameter or at its YAML
// key and line. The parameter table (package params) stays the source of
// the names, defaults and documentation.
package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/params"
)

// SourceType says where the candidates come from.
type SourceType string

// EnrichType says what looks the candidates up.
type EnrichType string

// StoreType says where the records are kept.
type StoreType string

// The types, named as the YAML's type keys name them.
const (
	SourceSearch     SourceType = "splunk"     // a Splunk search (splunkd's search/jobs/export)
	SourceFile       SourceType = "file"       // an events file or a list of domains
	EnrichVirusTotal EnrichType = "virustotal" // VirusTotal API v3
	EnrichOffline    EnrichType = "offline"    // a folder of saved VirusTotal answers
	StoreKVStore     StoreType  = "kvstore"    // splunkd's KV store collections
	StoreEmbedded    StoreType  = "embedded"   // a bbolt file, no server
)

// Config is one run's settings. Decoders start from Default and set what
// their input holds; Validate then checks every setting.
type Config struct {
	Name     string // the input's name, in logs and summaries
	StateDir string // checkpoint_dir, or state_dir: run lock, journal, the key's quota file
	Source   Source
	Enrich   Enrich
	Store    Store

	RefreshDays          int // refresh_days
	NotFoundRefreshHours int // not_found_refresh_hours
	NotFoundMaxHours     int // not_found_max_hours
	YoungRefreshDays     int // young_refresh_days; 0: off
	RefreshJitterPercent int // refresh_jitter_percent
	RetentionDays        int // retention_days; 0: keep
	MaxRunSeconds        int // max_run_seconds: the run's deadline
	SHCLookup            string

	// Origin places each setting where it was written, for errors.
	Origin Origin

	refused []*Error        // values a decoder could not read
	bad     map[string]bool // their settings, which Validate checks no further
}

// Source is where the candidates come from.
type Source struct {
	Type SourceType
	// A Splunk search (SourceSearch): search, earliest_time, latest_time,
	// and Fields, the result field of each kind by kind name, set by the
	// kind's field parameter (kind.Param; "" or absent collects none of
	// that kind).
	Search       string
	EarliestTime string
	LatestTime   string
	Fields       map[string]string
	CAFile       string // ca_file: PEM CA of splunkd's certificate ("": system roots)
	// An events file or a list of domains (SourceFile).
	File FileSource
}

// FileSource is an events file (NDJSON or CSV) or a list of domains.
type FileSource struct {
	Path         string
	Format       filesource.Format
	Fields       filesource.Fields
	SkipBrowsers bool // leave out the network events of the detection's browsers
}

// Enrich is what looks the candidates up.
type Enrich struct {
	Type EnrichType
	// APIKey is api_key as inputs.conf holds it: "", params.Mask, or a key
	// typed in to be moved to storage/passwords. The key a run uses comes
	// resolved, as a dependency of the composition root (package wire).
	APIKey             string
	VTAPIURL           string
	AllowInsecureVTURL bool
	RequestsPerMinute  int
	DailyLookupBudget  int // 0: no cap
	MaxConcurrency     int // lookups in flight, whatever the enricher
	ProxyURL           string
	OfflineDir         string // EnrichOffline: <dir>/<domain>.json, <dir>/ip_addresses/, <dir>/files/
}

// Store is where the records are kept.
type Store struct {
	Type       StoreType
	Collection string // the domain kind's KV collection
	Path       string // StoreEmbedded: the bbolt file
}

// Default returns the settings of a search → VirusTotal → KV store run with
// every parameter at its documented default (params.Args).
func Default() *Config {
	c := &Config{
		Source: Source{Type: SourceSearch, Fields: map[string]string{}},
		Enrich: Enrich{Type: EnrichVirusTotal},
		Store:  Store{Type: StoreKVStore},
	}
	for _, a := range params.Args() {
		if a.Default != "" {
			c.Set(a.Name, a.Default)
		}
	}
	if c.refused != nil {
		panic("config: a documented default does not read: " + Errors(c.refused).Error())
	}
	return c
}

// intParams are the whole-number parameters and their ranges.
var intParams = []struct {
	name     string
	min, max int
	field    func(*Config) *int
}{
	{"requests_per_minute", 1, 1000000, func(c *Config) *int { return &c.Enrich.RequestsPerMinute }},
	{"daily_lookup_budget", 0, 1000000000, func(c *Config) *int { return &c.Enrich.DailyLookupBudget }},
	{"max_concurrency", 1, 1000, func(c *Config) *int { return &c.Enrich.MaxConcurrency }},
	{"refresh_days", 1, 3650, func(c *Config) *int { return &c.RefreshDays }},
	{"not_found_refresh_hours", 1, 87600, func(c *Config) *int { return &c.NotFoundRefreshHours }},
	{"not_found_max_hours", 1, 87600, func(c *Config) *int { return &c.NotFoundMaxHours }},
	{"young_refresh_days", 0, 3650, func(c *Config) *int { return &c.YoungRefreshDays }},
	{"refresh_jitter_percent", 0, 50, func(c *Config) *int { return &c.RefreshJitterPercent }},
	{"retention_days", 0, 36500, func(c *Config) *int { return &c.RetentionDays }},
	{"max_run_seconds", 10, 86400, func(c *Config) *int { return &c.MaxRunSeconds }},
}

// strParams are the parameters held as text, with the field they fill.
var strParams = map[string]func(*Config) *string{
	"search":        func(c *Config) *string { return &c.Source.Search },
	"earliest_time": func(c *Config) *string { return &c.Source.EarliestTime },
	"latest_time":   func(c *Config) *string { return &c.Source.LatestTime },
	"collection":    func(c *Config) *string { return &c.Store.Collection },
	"api_key":       func(c *Config) *string { return &c.Enrich.APIKey },
	"vt_api_url":    func(c *Config) *string { return &c.Enrich.VTAPIURL },
	"proxy_url":     func(c *Config) *string { return &c.Enrich.ProxyURL },
	"ca_file":       func(c *Config) *string { return &c.Source.CAFile },
	"shc_lookup":    func(c *Config) *string { return &c.SHCLookup },
}

// Set reads text, the value of the inputs.conf parameter param (a
// params.Args name) as either decoder found it, into its typed field. A
// value of the wrong type (a number that is not one, a boolean that is
// not one) is refused: Validate reports it, naming param. Text is taken as
// it is (trimmed); the decoders apply defaults. Set panics on a name that
// is not a parameter: that is a programming error.
func (c *Config) Set(param, text string) {
	text = strings.TrimSpace(text)
	if k, ok := kind.OfParam(param); ok {
		if c.Source.Fields == nil {
			c.Source.Fields = map[string]string{}
		}
		c.Source.Fields[k.Name()] = text
		c.clear(param)
		return
	}
	if f, ok := strParams[param]; ok {
		*f(c) = text
		c.clear(param)
		return
	}
	for _, p := range intParams {
		if p.name != param {
			continue
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			c.Refuse(param, "%q must be a whole number from %d to %d", text, p.min, p.max)
			return
		}
		*p.field(c) = n
		c.clear(param)
		return
	}
	if param == "allow_insecure_vt_url" {
		switch strings.ToLower(text) {
		case "true", "1", "yes", "t", "y":
			c.Enrich.AllowInsecureVTURL = true
		case "false", "0", "no", "f", "n":
			c.Enrich.AllowInsecureVTURL = false
		default:
			c.Refuse(param, "%q must be true or false", text)
			return
		}
		c.clear(param)
		return
	}
	panic("config: unknown parameter " + param)
}

// Refuse records that setting (a parameter, or a key only the YAML has)
// could not be read: Validate reports msg with every other problem and
// checks that setting no further.
func (c *Config) Refuse(setting, format string, args ...any) {
	if c.bad == nil {
		c.bad = map[string]bool{}
	}
	c.bad[setting] = true
	c.refused = append(c.refused, &Error{Setting: setting, Msg: fmt.Sprintf(format, args...)})
}

// clear forgets an earlier refusal of setting, when a later value replaces it.
func (c *Config) clear(setting string) {
	if !c.bad[setting] {
		return
	}
	delete(c.bad, setting)
	c.refused = slices.DeleteFunc(c.refused, func(e *Error) bool { return e.Setting == setting })
}

// FromInputs decodes an inputs.conf stanza's parameters (absent or empty
// values take the default; unknown names, such as the implicit interval,
// index, sourcetype, host and disabled, are ignored), with name the
// input's name and stateDir its checkpoint directory, and validates it:
// the error is Errors, every problem at once in parameter order, each
// naming its parameter. FromInputs does no I/O.
func FromInputs(name, stateDir string, raw map[string]string) (*Config, error) {
	c := Default()
	c.Name, c.StateDir = name, stateDir
	for _, a := range params.Args() {
		s, ok := raw[a.Name]
		switch {
		case !ok:
		case a.Name == "api_key" || isFieldParam(a.Name):
			c.Set(a.Name, s) // set empty: none of the kind (domain_field's default is not); no key typed in
		case strings.TrimSpace(s) != "":
			c.Set(a.Name, s)
		}
	}
	return c, c.Validate()
}

// Validate checks every setting, reports every problem at once (Errors,
// each placed by Origin) and puts the search in the form splunkd takes.
// Settings a decoder refused are reported as refused and checked no
// further.
func (c *Config) Validate() error {
	errs := slices.Clone(c.refused)
	bad := maps.Clone(c.bad)
	add := func(setting, format string, args ...any) {
		errs = append(errs, &Error{Setting: setting, Msg: fmt.Sprintf(format, args...)})
	}
	ok := func(settings ...string) bool {
		for _, s := range settings {
			if bad[s] {
				return false
			}
		}
		return true
	}
	addErr := func(err error) {
		var pe *params.Error
		if errors.As(err, &pe) {
			add(pe.Param, "%s", pe.Msg)
		}
	}

	// The source.
	switch c.Source.Type {
	case SourceSearch:
		if ok("search") {
			s, err := params.NormalizeSearch(c.Source.Search)
			addErr(err)
			if err == nil {
				c.Source.Search = s
			}
		}
		for _, t := range []struct{ name, v string }{{"earliest_time", c.Source.EarliestTime}, {"latest_time", c.Source.LatestTime}} {
			if ok(t.name) {
				addErr(params.ValidTime(t.name, t.v))
			}
		}
		var names []string
		set := false
		for _, k := range kind.ByParam() {
			p := k.Param()
			names = append(names, p.Name)
			if v := c.Source.Fields[k.Name()]; v != "" {
				set = true
				if !params.ValidName(v) {
					add(p.Name, "%q is not a field name: %s (for example %s)", v, params.NameRule, p.Example)
				}
			}
		}
		if !set && len(names) > 0 {
			add(names[0], "is empty and %s: nothing would be looked up; name the result field of at least one kind", params.NoneSet(names[1:]))
		}
	case SourceFile:
		f := c.Source.File
		switch fl := f.Fields; {
		case f.Path == "":
			if ok("source.file.path") {
				add("source.file.path", "is required: the events file (NDJSON or CSV export) or list of domains to read")
			}
		case fl.NoDomain && f.Format == filesource.Domains:
			add("source.file.domain_field", "is empty (no domains), but %s is read as a list of domains; set source.file.format to ndjson or csv, or remove domain_field", f.Path)
		case fl.NoDomain && fl.IP == "" && fl.Hash == "":
			add("source.file.domain_field", "is empty (no domains) and neither source.file.ip_field nor source.file.hash_field is set: nothing would be read; name the field of at least one kind")
		}
	case "":
	default:
		add("source.type", "%q is unknown; the source types are file and splunk", c.Source.Type)
	}

	// The store.
	switch c.Store.Type {
	case StoreKVStore:
		if !params.ValidCollection(c.Store.Collection) {
			add("collection", "%q is not a collection name: %s (for example vtsync_domains)", c.Store.Collection, params.CollectionRule)
		}
	case StoreEmbedded:
		if c.Store.Path != "" && c.StateDir != "" && filepath.Clean(c.Store.Path) == filepath.Join(c.StateDir, checkpoint.FileName(c.Name)) {
			add("store.embedded.path", "%q is the state file of input %q (run lock, journal, budget); choose another file", c.Store.Path, c.Name)
		}
	case "":
	default:
		add("store.type", "%q is unknown; the store types are embedded and kvstore", c.Store.Type)
	}

	// The enricher.
	switch e := &c.Enrich; e.Type {
	case EnrichVirusTotal:
		if e.APIKey != "" && e.APIKey != params.Mask && ok("api_key") && !ValidAPIKey(e.APIKey) {
			add("api_key", "%s", APIKeyRule)
		}
		if ok("vt_api_url") {
			u, err := httpURL("vt_api_url", e.VTAPIURL)
			if err == nil {
				e.VTAPIURL = strings.TrimRight(e.VTAPIURL, "/")
				u, _ = url.Parse(e.VTAPIURL)
			}
			addErr(err)
			switch {
			case err != nil:
			case !strings.HasSuffix(u.Path, "/api/v3") || u.RawQuery != "" || u.Fragment != "":
				// Any other path makes every lookup a 404, which reads as
				// "domain not found" and would be stored as such.
				add("vt_api_url", "%q is not the base URL of VirusTotal API v3: its path must end in /api/v3, with no query (the default is %s)", e.VTAPIURL, defaultOf("vt_api_url"))
			case u.Scheme == "http" && !isLoopback(u.Hostname()) && !e.AllowInsecureVTURL && ok("allow_insecure_vt_url"):
				// Every request carries the key in its x-apikey header.
				add("vt_api_url", "%q is plain http:// to a host that is not loopback: the VirusTotal key would travel unencrypted; use https://, or set allow_insecure_vt_url = true if this is a proxy on a network you trust", e.VTAPIURL)
			}
		}
		if e.ProxyURL != "" && ok("proxy_url") {
			if _, err := httpURL("proxy_url", e.ProxyURL); err != nil {
				addErr(err)
			} else {
				e.ProxyURL = strings.TrimRight(e.ProxyURL, "/")
			}
		}
	case EnrichOffline:
		if c.Enrich.OfflineDir == "" && ok("enrich.offline.dir") {
			add("enrich.offline.dir", "is required: the directory of saved VirusTotal responses, <dir>/<domain>.json")
		}
	case "":
	default:
		add("enrich.type", "%q is unknown; the enrich types are offline and virustotal", c.Enrich.Type)
	}

	// The numbers, then what holds between them.
	for _, p := range intParams {
		if n := *p.field(c); ok(p.name) && (n < p.min || n > p.max) {
			add(p.name, "%q must be a whole number from %d to %d", strconv.Itoa(n), p.min, p.max)
			bad = mark(bad, p.name)
		}
	}
	if ok("retention_days", "refresh_days") && c.RetentionDays != 0 && c.RetentionDays <= c.RefreshDays {
		add("retention_days", "%d must be 0 (keep every record) or more than refresh_days (%d): a record deleted before it is due for a refresh is bought again at its next contact", c.RetentionDays, c.RefreshDays)
	}
	if c.SHCLookup != "captain" && c.SHCLookup != "all" {
		add("shc_lookup", "%q must be captain or all", c.SHCLookup)
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int { return order(a.Setting) - order(b.Setting) })
	for _, e := range errs {
		c.Origin.place(e)
	}
	if c.Origin.File != "" {
		slices.SortStableFunc(errs, func(a, b *Error) int { return a.Line - b.Line })
	}
	return Errors(errs)
}

// isFieldParam reports whether param is a kind's field parameter.
func isFieldParam(param string) bool {
	_, ok := kind.OfParam(param)
	return ok
}

func mark(m map[string]bool, s string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[s] = true
	return m
}

// order is a setting's place in parameter order; settings that are not
// parameters come first, as the YAML's sections do.
func order(setting string) int {
	for i, a := range params.Args() {
		if a.Name == setting {
			return i + 1
		}
	}
	return 0
}

func defaultOf(param string) string {
	for _, a := range params.Args() {
		if a.Name == param {
			return a.Default
		}
	}
	return ""
}

// Errorf returns an error about setting, placed by c's Origin: for
// problems found once the configuration is used (a missing file, an
// unset environment variable).
func (c *Config) Errorf(setting, format string, args ...any) error {
	e := &Error{Setting: setting, Msg: fmt.Sprintf(format, args...)}
	c.Origin.place(e)
	return e
}

// APIKeyRule is what ValidAPIKey refuses, for messages.
const APIKeyRule = "is not a VirusTotal API key (expected 64 hexadecimal characters); paste the key from your VirusTotal API key page"

// ValidAPIKey reports whether s has the form of a VirusTotal API key.
func ValidAPIKey(s string) bool {
	if len(s) < 32 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// isLoopback reports whether host (from a URL, without brackets) is the
// local machine: localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func httpURL(name, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Never echo the value: a proxy URL may carry a password.
		return nil, &params.Error{Param: name, Msg: "is not an http(s) URL such as https://host:port/path"}
	}
	if u.User != nil && name != "proxy_url" {
		return nil, &params.Error{Param: name, Msg: "must not carry a user name or password"}
	}
	return u, nil
}

// typicalLatency is a VirusTotal answer's usual round trip, for Warnings.
const typicalLatency = 300 * time.Millisecond

// Warning is advice on a valid but self-defeating setting, for the run's
// log: a short message and its key/value pairs.
type Warning struct {
	Msg  string
	Args []any
}

// Warnings returns advice on valid but self-defeating settings: today, a
// max_concurrency too low to reach requests_per_minute (each request in
// flight takes about typicalLatency). docs/operations.md says what to do.
func (c *Config) Warnings() []Warning {
	e := c.Enrich
	if e.Type != EnrichVirusTotal {
		return nil
	}
	reach := float64(e.MaxConcurrency) * float64(time.Minute) / float64(typicalLatency)
	if float64(e.RequestsPerMinute) <= reach {
		return nil
	}
	need := int(math.Ceil(float64(e.RequestsPerMinute)*typicalLatency.Minutes())) + 2
	return []Warning{{Msg: "max_concurrency too low for requests_per_minute",
		Args: []any{"max_concurrency", e.MaxConcurrency, "reachable_per_minute", int(reach), "requests_per_minute", e.RequestsPerMinute, "suggested_max_concurrency", need}}}
}
