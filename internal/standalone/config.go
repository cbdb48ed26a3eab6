// Package standalone runs vtsync outside Splunk: it decodes a YAML
// configuration into the run's typed settings (package config), resolves
// what a run takes from its environment (the VirusTotal key from an
// environment variable or key file, splunkd clients), builds the run
// through the composition root (wire.Build), and provides the run, export
// and detect commands of the vtsync binary.
//
// # Configuration
//
// Unknown keys are rejected, and every error names the file, line and key;
// one Load reports every error at once. Relative paths resolve against the
// configuration file's directory. The YAML decodes straight into the run's
// typed settings (package config), whose sync parameters have the names,
// defaults and validation of the modular input's parameters: the same
// Validate checks both. Secrets are never written in the
// file: they are named by an environment variable (*_env) or, for the
// VirusTotal key, a file readable by its owner only (chmod 600).
//
//	name: demo                    # input name in logs and summaries; default: the file's base name
//	state_dir: .vtsync            # checkpoints, daily budget, run lock; default .vtsync
//	refresh_days: 7               # a found record older than this is looked up again
//	not_found_refresh_hours: 24   # a "VirusTotal does not know it" record: after this many hours
//	not_found_max_hours: 168      # ... backing off to this while VirusTotal keeps not knowing it
//	young_refresh_days: 0         # a record flagged young on its creation date: after this many days (0: refresh_days)
//	refresh_jitter_percent: 10    # each period shortened by up to this, per domain, against weekly waves
//	retention_days: 30            # records not refreshed for this many days are deleted (0: keep)
//	max_run_seconds: 840          # a run stops looking up, flushes and returns after this
//
//	source:                       # where candidate domains come from
//	  type: file                  # file | splunk (default: the one sub-section given)
//	  file:
//	    path: events.ndjson       # NDJSON, CSV (header row) or a list of domains
//	    format: ndjson            # ndjson | csv | domains; default by extension
//	    domain_field: DestinationHostname  # default: http_host, DestinationHostname, query, ...; "" for no domains
//	    ip_field: DestinationIp   # IP addresses; unset: none collected
//	    hash_field: Hashes        # file hashes (Sysmon Hashes too); unset: none
//	    process_field: Image      # default: process_name, Image, process
//	    host_field: Computer      # default: Computer, host, src_host, ComputerName
//	    time_field: UtcTime       # default: UtcTime, _time, timestamp, time
//	    skip_browsers: true       # leave out events of the detection's browsers (default true)
//	  splunk:
//	    url: https://127.0.0.1:8089
//	    token_env: SPLUNK_TOKEN   # a Splunk authentication token, or:
//	    username: svc_vtsync      #   user name and
//	    password_env: SPLUNK_PASSWORD
//	    ca_file: splunkd-ca.pem   # PEM CA of splunkd's certificate
//	    app: vtsync
//	    search: "| `vtsync_candidates`"
//	    earliest_time: -20m
//	    latest_time: now
//	    domain_field: ut_domain   # "" for no domains
//	    ip_field: dest_ip         # IP addresses; unset: none collected
//	    hash_field: Hashes        # file hashes (Sysmon Hashes too); unset: none
//
//	enrich:
//	  type: virustotal            # virustotal | offline (default virustotal)
//	  virustotal:
//	    api_key_env: VT_API_KEY   # default VT_API_KEY, or:
//	    api_key_file: vt.key      #   a file holding the key, mode 600
//	    vt_api_url: https://www.virustotal.com/api/v3
//	    requests_per_minute: 4
//	    daily_lookup_budget: 500
//	    max_concurrency: 4
//	    proxy_url: http://proxy:3128
//	  offline:
//	    dir: vt                   # saved API responses: <dir>/<domain>.json, <dir>/ip_addresses/<ip>.json, <dir>/files/<hash>.json
//
//	store:
//	  type: embedded              # embedded | kvstore (default embedded)
//	  embedded:
//	    path: vtsync.db           # default: <state_dir>/vtsync.db
//	  kvstore:                    # connection keys default to source.splunk's
//	    url: https://127.0.0.1:8089
//	    collection: vtsync_domains
//	    app: vtsync
//	    token_env: SPLUNK_TOKEN
//	    username: svc_vtsync
//	    password_env: SPLUNK_PASSWORD
//	    ca_file: splunkd-ca.pem
//
//	detect:                       # the detection's macros (detect.Settings), with the app's defaults
//	  max_age_days: 45
//	  max_distinct_hosts: 10
//	  min_positives: 2
//	  popular_max_rank: 100000    # young domains ranked within this are not flagged; 0 = none is popular
//	  free_ca_orgs: [Let's Encrypt]
//	  young_needs_free_ca: false  # true: young only together with a free-CA certificate
//	  flag_not_found: false       # true: flag domains VirusTotal does not know
//	  alert_pending: false        # true: domains not looked up yet count as alerts
//	  browsers: [chrome.exe, iexplore.exe, firefox.exe, opera.exe, microsoftedge.exe, safari, msedge.exe, brave.exe]
package standalone

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/detect"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/params"
)

// Source, enricher and store types.
const (
	SourceFile       = config.SourceFile
	SourceSplunk     = config.SourceSearch
	EnrichVirusTotal = config.EnrichVirusTotal
	EnrichOffline    = config.EnrichOffline
	StoreEmbedded    = config.StoreEmbedded
	StoreKVStore     = config.StoreKVStore
)

// DefaultStateDir is the state directory, relative to the configuration
// file, when state_dir is not set.
const DefaultStateDir = ".vtsync"

// DefaultAPIKeyEnv names the environment variable holding the VirusTotal
// key when neither api_key_env nor api_key_file is set.
const DefaultAPIKeyEnv = "VT_API_KEY"

// Config is a loaded and validated configuration: the run's settings,
// which the modular input's inputs.conf parameters decode into as well,
// and what only standalone mode has (how to reach splunkd, where the keys
// are, the detection's rules). Paths are absolute or relative to the
// working directory (already resolved against the configuration file's
// directory).
type Config struct {
	config.Config // the run's settings; Origin places their errors in File

	File       string       // the configuration file, as given to Load
	APIKeyEnv  string       // environment variable holding the VirusTotal key, or
	APIKeyFile string       // a file holding it, readable by its owner only
	Search     SplunkConn   // source.splunk's splunkd
	KVStore    SplunkConn   // store.kvstore's splunkd (by default source.splunk's)
	Rules      detect.Rules // the detection's macros
}

// SplunkConn is how to reach splunkd. Secrets are named, never held.
type SplunkConn struct {
	URL         string
	TokenEnv    string
	Username    string
	PasswordEnv string
	CAFile      string
	App         string
	key         string // YAML path of the section, for errors
	caKey       string // YAML path of the ca_file in use (the section's, or inherited)
}

// Error is a configuration error: the file, the line (0 when the key is
// absent), the key's dotted path and what is wrong. errors.As finds the
// *params.Error of an inputs.conf parameter in it.
type Error = config.Error

// The YAML document. Every leaf is a scalar's text: resolve reads each
// into its typed setting (config.Config.Set for a sync parameter), and
// every value of the wrong type is reported at its key and line.
type rawConfig struct {
	Name                 string    `yaml:"name"`
	StateDir             string    `yaml:"state_dir"`
	RefreshDays          string    `yaml:"refresh_days"`
	NotFoundRefreshHours string    `yaml:"not_found_refresh_hours"`
	NotFoundMaxHours     string    `yaml:"not_found_max_hours"`
	YoungRefreshDays     string    `yaml:"young_refresh_days"`
	RefreshJitterPercent string    `yaml:"refresh_jitter_percent"`
	RetentionDays        string    `yaml:"retention_days"`
	MaxRunSeconds        string    `yaml:"max_run_seconds"`
	Source               rawSource `yaml:"source"`
	Enrich               rawEnrich `yaml:"enrich"`
	Store                rawStore  `yaml:"store"`
	Detect               rawDetect `yaml:"detect"`
}

type rawSource struct {
	Type   string         `yaml:"type"`
	File   *rawFileSource `yaml:"file"`
	Splunk *rawSplunk     `yaml:"splunk"`
}

type rawFileSource struct {
	Path   string `yaml:"path"`
	Format string `yaml:"format"`
	// DomainField is nil when absent (the default fields) and "" when set
	// empty (no domains), as for the splunk source.
	DomainField  *string `yaml:"domain_field"`
	IPField      string  `yaml:"ip_field"`
	HashField    string  `yaml:"hash_field"`
	ProcessField string  `yaml:"process_field"`
	HostField    string  `yaml:"host_field"`
	TimeField    string  `yaml:"time_field"`
	SkipBrowsers string  `yaml:"skip_browsers"`
}

type rawConn struct {
	URL         string `yaml:"url"`
	TokenEnv    string `yaml:"token_env"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	CAFile      string `yaml:"ca_file"`
	App         string `yaml:"app"`
}

type rawSplunk struct {
	rawConn      `yaml:",inline"`
	Search       string `yaml:"search"`
	EarliestTime string `yaml:"earliest_time"`
	LatestTime   string `yaml:"latest_time"`
	// Kinds holds the field parameter of each registered kind
	// (kind.Param: domain_field, ip_field, ...) by name: absent or null is
	// the parameter's default, "" collects none of that kind.
	Kinds map[string]*string `yaml:",inline"`
}

type rawEnrich struct {
	Type       string      `yaml:"type"`
	VirusTotal *rawVT      `yaml:"virustotal"`
	Offline    *rawOffline `yaml:"offline"`
}

type rawVT struct {
	APIKeyEnv         string `yaml:"api_key_env"`
	APIKeyFile        string `yaml:"api_key_file"`
	VTAPIURL          string `yaml:"vt_api_url"`
	AllowInsecureURL  string `yaml:"allow_insecure_vt_url"`
	RequestsPerMinute string `yaml:"requests_per_minute"`
	DailyLookupBudget string `yaml:"daily_lookup_budget"`
	MaxConcurrency    string `yaml:"max_concurrency"`
	ProxyURL          string `yaml:"proxy_url"`
}

type rawOffline struct {
	Dir string `yaml:"dir"`
}

type rawStore struct {
	Type     string       `yaml:"type"`
	Embedded *rawEmbedded `yaml:"embedded"`
	KVStore  *rawKV       `yaml:"kvstore"`
}

type rawEmbedded struct {
	Path string `yaml:"path"`
}

type rawKV struct {
	rawConn    `yaml:",inline"`
	Collection string `yaml:"collection"`
}

// rawDetect holds the keys of detect.Settings.
type rawDetect struct {
	MaxAgeDays       string   `yaml:"max_age_days"`
	MaxDistinctHosts string   `yaml:"max_distinct_hosts"`
	MinPositives     string   `yaml:"min_positives"`
	PopularMaxRank   string   `yaml:"popular_max_rank"`
	FreeCAOrgs       []string `yaml:"free_ca_orgs"`
	IssuerOrg        string   `yaml:"issuer_org"`
	YoungNeedsFreeCA string   `yaml:"young_needs_free_ca"`
	FlagNotFound     string   `yaml:"flag_not_found"`
	AlertPending     string   `yaml:"alert_pending"`
	Browsers         []string `yaml:"browsers"`
}

// plainSecrets are keys that would put a secret in the file; each is
// refused with a pointer to the keys to use instead.
var plainSecrets = map[string]string{
	"api_key":  "api_key_env (the name of an environment variable holding the key) or api_key_file (a file holding the key, chmod 600)",
	"apikey":   "api_key_env or api_key_file",
	"token":    "token_env (the name of an environment variable holding the token)",
	"password": "password_env (the name of an environment variable holding the password)",
}

// paramKeys maps each sync parameter (params.Args name) to its YAML key.
var paramKeys = map[string]string{
	"search":                  "source.splunk.search",
	"earliest_time":           "source.splunk.earliest_time",
	"latest_time":             "source.splunk.latest_time",
	"ca_file":                 "source.splunk.ca_file",
	"collection":              "store.kvstore.collection",
	"vt_api_url":              "enrich.virustotal.vt_api_url",
	"allow_insecure_vt_url":   "enrich.virustotal.allow_insecure_vt_url",
	"requests_per_minute":     "enrich.virustotal.requests_per_minute",
	"daily_lookup_budget":     "enrich.virustotal.daily_lookup_budget",
	"max_concurrency":         "enrich.virustotal.max_concurrency",
	"proxy_url":               "enrich.virustotal.proxy_url",
	"refresh_days":            "refresh_days",
	"not_found_refresh_hours": "not_found_refresh_hours",
	"not_found_max_hours":     "not_found_max_hours",
	"young_refresh_days":      "young_refresh_days",
	"refresh_jitter_percent":  "refresh_jitter_percent",
	"retention_days":          "retention_days",
	"max_run_seconds":         "max_run_seconds",
}

// yamlKeys is paramKeys with each registered kind's field parameter
// under source.splunk.
func yamlKeys() map[string]string {
	keys := maps.Clone(paramKeys)
	for _, p := range params.FieldParams() {
		keys[p] = "source.splunk." + p
	}
	return keys
}

// Load reads, checks and resolves the configuration file at path. It reads
// no secret: environment variables and key files are read when the
// enricher or a splunkd client is built, so detect and export run without
// them.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return parse(path, data)
}

func parse(file string, data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil, &Error{File: file, Msg: "the file is empty; see the commented example in examples/demo/vtsync.yaml"}
	case err != nil:
		return nil, &Error{File: file, Line: yamlLine(err), Msg: yamlMsg(err)}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty; see the commented example in examples/demo/vtsync.yaml"}
	}
	// A second document would be ignored, and its settings with it.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Error{File: file, Line: next.Line, Msg: "a second YAML document starts here; the configuration is one document: remove this '---' line and merge what follows into the first"}
	case !errors.Is(err, io.EOF):
		return nil, &Error{File: file, Line: yamlLine(err), Msg: yamlMsg(err)}
	}
	root := doc.Content[0]
	for root.Kind == yaml.AliasNode {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: "the file must be a mapping of keys to values; see the commented example in examples/demo/vtsync.yaml"}
	}
	// check reports every unknown, repeated or misshapen key and drops it
	// from the tree, so that the rest is still decoded and validated: one
	// run of vtsync shows every problem of the file.
	sc := &shapeCheck{lines: map[string]int{}, section: map[string]bool{}}
	sc.check(root, reflect.TypeFor[rawConfig](), "")
	lines := sc.lines
	var raw rawConfig
	if err := root.Decode(&raw); err != nil {
		return nil, &Error{File: file, Line: yamlLine(err), Msg: yamlMsg(err)}
	}
	c, err := resolve(file, &raw, lines)
	if len(sc.errs) == 0 {
		return c, err
	}
	all := config.Errors(sc.errs)
	var rest config.Errors
	if errors.As(err, &rest) {
		for _, e := range rest {
			if !sc.follows(e) {
				all = append(all, e)
			}
		}
	}
	for _, e := range all {
		e.File = file
	}
	slices.SortStableFunc(all, func(a, b *Error) int { return a.Line - b.Line })
	return nil, all
}

// shapeCheck walks the YAML tree along the raw structs: every key must be
// a field, every value of the field's kind. It records each key's line,
// and for each key that is unknown, repeated or of the wrong kind it adds
// a problem and removes the key from the tree, so that the rest can be
// decoded.
type shapeCheck struct {
	lines   map[string]int
	errs    []*Error
	dropped []string        // keys removed for their value's kind
	section map[string]bool // sections that lost a key (unknown, a secret): a misspelt setting
}

// follows reports whether a problem Validate found in the pruned tree only
// follows from one check already reported: the setting was removed, or is
// missing from a section where a key was refused (most likely the same
// setting, misspelt).
func (sc *shapeCheck) follows(e *Error) bool {
	for _, d := range sc.dropped {
		if e.Key == d || strings.HasPrefix(e.Key, d+".") {
			return true
		}
	}
	section := ""
	if i := strings.LastIndexByte(e.Key, '.'); i >= 0 {
		section = e.Key[:i]
	}
	_, written := sc.lines[e.Key]
	return sc.section[section] && !written
}

// check checks n against t at path; it reports whether n is of t's kind.
func (sc *shapeCheck) check(n *yaml.Node, t reflect.Type, path string) bool {
	lines := sc.lines
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	isNull := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	fail := func(msg string) bool {
		key := strings.TrimSuffix(path, ".")
		sc.errs = append(sc.errs, &Error{Line: lines[key], Key: key, Msg: msg})
		sc.dropped = append(sc.dropped, key)
		return false
	}
	switch t.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return fail("must be a single value, not a list or a mapping")
		}
	case reflect.Slice:
		if isNull {
			return true
		}
		if n.Kind != yaml.SequenceNode {
			return fail("must be a list, such as [a, b]")
		}
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return fail("must be a list of single values")
			}
		}
	case reflect.Struct:
		if isNull {
			return true
		}
		if n.Kind != yaml.MappingNode {
			return fail("must be a mapping of keys to values")
		}
		fields := yamlFields(t)
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := path + keyName(k.Value)
			if first, dup := lines[key]; dup {
				sc.errs = append(sc.errs, &Error{Line: k.Line, Key: key, Msg: fmt.Sprintf("is set twice (first on line %d)", first)})
				continue
			}
			lines[key] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				sc.section[strings.TrimSuffix(path, ".")] = true
				if hint, secret := plainSecrets[strings.ToLower(k.Value)]; secret {
					sc.errs = append(sc.errs, &Error{Line: k.Line, Key: key, Msg: "secrets are not accepted in the configuration file; use " + hint})
					continue
				}
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				slices.Sort(known)
				sc.errs = append(sc.errs, &Error{Line: k.Line, Key: key, Msg: "unknown key; the keys here are " + strings.Join(known, ", ")})
				continue
			}
			if sc.check(v, ft, key+".") {
				kept = append(kept, k, v)
			}
		}
		n.Content = kept
	}
	return true
}

// keyName returns a key as it appears in messages: quoted when it holds
// anything but letters, digits, '_' and '-', so that a stray control
// character or line break in the file is visible and cannot break a line.
func keyName(k string) string {
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return strconv.Quote(k)
		}
	}
	return k
}

// yamlFields maps the YAML keys of struct type t (inline structs
// flattened) to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("yaml")
		if tag == ",inline" && f.Type.Kind() == reflect.Map {
			// The registered kinds' field parameters.
			for _, p := range params.FieldParams() {
				out[p] = f.Type.Elem()
			}
			continue
		}
		if tag == ",inline" {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name, _, _ := strings.Cut(tag, ","); name != "" {
			out[name] = f.Type
		}
	}
	return out
}

// yamlLine and yamlMsg take yaml.v3's "yaml: line N: msg" apart.
func yamlLine(err error) int {
	var te *yaml.TypeError
	s := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		s = te.Errors[0]
	}
	_, rest, ok := strings.Cut(s, "line ")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(rest[:strings.IndexFunc(rest+":", func(r rune) bool { return r < '0' || r > '9' })])
	return n
}

func yamlMsg(err error) string {
	var te *yaml.TypeError
	s := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		s = te.Errors[0]
	}
	s = strings.TrimPrefix(s, "yaml: ")
	if strings.HasPrefix(s, "line ") {
		if _, rest, ok := strings.Cut(s, ": "); ok {
			s = rest
		}
	}
	return "not valid YAML: " + s
}

func resolve(file string, raw *rawConfig, lines map[string]int) (*Config, error) {
	dir := filepath.Dir(file)
	rel := func(p string) string {
		p = strings.TrimSpace(p)
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c := &Config{Config: *config.Default(), File: file}
	c.Origin = config.Origin{File: file, Keys: yamlKeys(), Lines: lines}
	// set reads the scalars of sync parameters into their typed fields;
	// a key left empty keeps the default.
	set := func(param, text string) {
		if strings.TrimSpace(text) != "" {
			c.Set(param, text)
		}
	}

	c.Name = strings.TrimSpace(raw.Name)
	if c.Name == "" {
		c.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if !params.ValidName(c.Name) {
		c.Refuse("name", "%q is not a name; use letters, digits, '-', '_' and '.'", c.Name)
	}
	c.StateDir = rel(raw.StateDir)
	if c.StateDir == "" {
		c.StateDir = rel(DefaultStateDir)
	}
	set("refresh_days", raw.RefreshDays)
	set("not_found_refresh_hours", raw.NotFoundRefreshHours)
	set("not_found_max_hours", raw.NotFoundMaxHours)
	set("young_refresh_days", raw.YoungRefreshDays)
	set("refresh_jitter_percent", raw.RefreshJitterPercent)
	set("retention_days", raw.RetentionDays)
	set("max_run_seconds", raw.MaxRunSeconds)

	// source
	src := raw.Source
	c.Source.Type = config.SourceType(pick(c, "source", src.Type, map[string]bool{string(SourceFile): src.File != nil, string(SourceSplunk): src.Splunk != nil}, ""))
	switch c.Source.Type {
	case SourceFile:
		f := src.File
		if f == nil || strings.TrimSpace(f.Path) == "" {
			break // Validate: source.file.path is required
		}
		fs := &c.Source.File
		fs.Path = rel(f.Path)
		format, err := filesource.ParseFormat(f.Format, f.Path)
		if err != nil {
			c.Refuse("source.file.format", "%s", err)
		}
		fs.Format = format
		fs.Fields = filesource.Fields{
			IP: strings.TrimSpace(f.IPField), Hash: strings.TrimSpace(f.HashField),
			Process: strings.TrimSpace(f.ProcessField), Host: strings.TrimSpace(f.HostField), Time: strings.TrimSpace(f.TimeField),
		}
		if f.DomainField != nil {
			fs.Fields.Domain = strings.TrimSpace(*f.DomainField)
			fs.Fields.NoDomain = fs.Fields.Domain == "" // set empty: no domains
		}
		fs.SkipBrowsers = boolean(c, "source.file.skip_browsers", f.SkipBrowsers, true)
	case SourceSplunk:
		s := src.Splunk
		if s == nil {
			s = &rawSplunk{}
		}
		c.Search = conn(c, "source.splunk", s.rawConn, rawConn{}, rel)
		set("search", s.Search)
		set("earliest_time", s.EarliestTime)
		set("latest_time", s.LatestTime)
		for _, p := range params.FieldParams() {
			if v := s.Kinds[p]; v != nil {
				c.Set(p, *v) // set empty: none of the kind
			}
		}
		c.Source.CAFile = c.Search.CAFile
	}

	// enrich
	en := raw.Enrich
	c.Enrich.Type = config.EnrichType(pick(c, "enrich", en.Type, map[string]bool{string(EnrichVirusTotal): en.VirusTotal != nil, string(EnrichOffline): en.Offline != nil}, string(EnrichVirusTotal)))
	switch c.Enrich.Type {
	case EnrichVirusTotal:
		v := en.VirusTotal
		if v == nil {
			v = &rawVT{}
		}
		c.APIKeyEnv = strings.TrimSpace(v.APIKeyEnv)
		c.APIKeyFile = rel(v.APIKeyFile)
		switch {
		case c.APIKeyEnv != "" && c.APIKeyFile != "":
			c.Refuse("enrich.virustotal.api_key_file", "set either api_key_env or api_key_file, not both")
		case c.APIKeyEnv == "" && c.APIKeyFile == "":
			c.APIKeyEnv = DefaultAPIKeyEnv
		case c.APIKeyEnv != "" && !validEnvName(c.APIKeyEnv):
			c.Refuse("enrich.virustotal.api_key_env", "%q is not an environment variable name (letters, digits, _); give the variable's name, never the key itself", c.APIKeyEnv)
		}
		set("vt_api_url", v.VTAPIURL)
		set("allow_insecure_vt_url", v.AllowInsecureURL)
		set("requests_per_minute", v.RequestsPerMinute)
		set("daily_lookup_budget", v.DailyLookupBudget)
		set("max_concurrency", v.MaxConcurrency)
		set("proxy_url", v.ProxyURL)
	case EnrichOffline:
		if en.Offline != nil {
			c.Enrich.OfflineDir = rel(en.Offline.Dir)
		}
		c.Enrich.DailyLookupBudget = 0 // nothing to spend
	}

	// store
	st := raw.Store
	c.Store.Type = config.StoreType(pick(c, "store", st.Type, map[string]bool{string(StoreEmbedded): st.Embedded != nil, string(StoreKVStore): st.KVStore != nil}, string(StoreEmbedded)))
	switch c.Store.Type {
	case StoreEmbedded:
		if st.Embedded != nil {
			c.Store.Path = rel(st.Embedded.Path)
		}
		if c.Store.Path == "" {
			c.Store.Path = filepath.Join(c.StateDir, "vtsync.db")
		}
	case StoreKVStore:
		kv := st.KVStore
		if kv == nil {
			kv = &rawKV{}
		}
		var inherit rawConn
		if src.Splunk != nil {
			inherit = src.Splunk.rawConn
		}
		c.KVStore = conn(c, "store.kvstore", kv.rawConn, inherit, rel)
		set("collection", kv.Collection)
	}

	c.Rules = rules(c, raw.Detect)

	// Every problem at once, each at its key and line.
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// pick returns a section's type: its type key, else the one sub-section
// present, else def. A sub-section of another type is an error, so that a
// switch of type never silently leaves settings unused.
func pick(c *Config, section, typ string, present map[string]bool, def string) string {
	typ = strings.ToLower(strings.TrimSpace(typ))
	var given []string
	for name, ok := range present {
		if ok {
			given = append(given, name)
		}
	}
	slices.Sort(given)
	names := make([]string, 0, len(present))
	for name := range present {
		names = append(names, name)
	}
	slices.Sort(names)
	switch {
	case typ != "" && !slices.Contains(names, typ):
		c.Refuse(section+".type", "%q is unknown; the %s types are %s", typ, section, strings.Join(names, " and "))
		return ""
	case typ == "" && len(given) == 1:
		return given[0]
	case typ == "" && len(given) > 1:
		c.Refuse(section+".type", "is required when %s has both %s sections", section, strings.Join(given, " and "))
		return ""
	case typ == "" && def == "":
		c.Refuse(section, "is required: set %s.type and its section (%s)", section, strings.Join(names, " or "))
		return ""
	case typ == "":
		return def
	}
	for _, g := range given {
		if g != typ {
			c.Refuse(section+"."+g, "is set but %s.type is %s; remove it or change the type", section, typ)
		}
	}
	return typ
}

// conn resolves a splunkd connection section; empty keys take inherit's.
func conn(c *Config, key string, r, inherit rawConn, rel func(string) string) SplunkConn {
	or := func(a, b string) string {
		if a = strings.TrimSpace(a); a != "" {
			return a
		}
		return strings.TrimSpace(b)
	}
	sc := SplunkConn{
		URL: or(r.URL, inherit.URL), TokenEnv: or(r.TokenEnv, inherit.TokenEnv),
		Username: or(r.Username, inherit.Username), PasswordEnv: or(r.PasswordEnv, inherit.PasswordEnv),
		CAFile: rel(or(r.CAFile, inherit.CAFile)), App: or(r.App, inherit.App), key: key, caKey: key + ".ca_file",
	}
	if strings.TrimSpace(r.CAFile) == "" && strings.TrimSpace(inherit.CAFile) != "" {
		sc.caKey = "source.splunk.ca_file"
	}
	if sc.URL == "" {
		c.Refuse(key+".url", "is required: splunkd's management URL, such as https://127.0.0.1:8089")
	}
	switch {
	case sc.TokenEnv != "" && (sc.Username != "" || sc.PasswordEnv != ""):
		c.Refuse(key+".token_env", "set either token_env or username and password_env, not both")
	case sc.TokenEnv == "" && (sc.Username == "" || sc.PasswordEnv == ""):
		c.Refuse(key+".token_env", "is required, or username and password_env: how to authenticate to splunkd")
	}
	for _, env := range []struct{ k, v string }{{"token_env", sc.TokenEnv}, {"password_env", sc.PasswordEnv}} {
		if env.v != "" && !validEnvName(env.v) {
			c.Refuse(key+"."+env.k, "%q is not an environment variable name (letters, digits, _); give the variable's name, never the secret itself", env.v)
		}
	}
	if sc.App != "" && !params.ValidName(sc.App) {
		c.Refuse(key+".app", "%q is not an app name", sc.App)
	}
	return sc
}

func rules(c *Config, d rawDetect) detect.Rules {
	r := detect.DefaultRules()
	set := func(key string, values ...string) {
		if err := r.Set(key, values...); err != nil {
			c.Refuse("detect."+key, "%v", err)
		}
	}
	for _, s := range []struct{ key, v string }{
		{"max_age_days", d.MaxAgeDays}, {"max_distinct_hosts", d.MaxDistinctHosts}, {"min_positives", d.MinPositives},
		{"popular_max_rank", d.PopularMaxRank}, {"young_needs_free_ca", d.YoungNeedsFreeCA},
		{"flag_not_found", d.FlagNotFound}, {"alert_pending", d.AlertPending},
	} {
		if strings.TrimSpace(s.v) != "" {
			set(s.key, s.v)
		}
	}
	if s := strings.TrimSpace(d.IssuerOrg); s != "" {
		set("free_ca_orgs", s) // the single-organisation form of free_ca_orgs
	}
	if d.FreeCAOrgs != nil {
		set("free_ca_orgs", d.FreeCAOrgs...)
	}
	if d.Browsers != nil {
		set("browsers", d.Browsers...)
	}
	return r
}

func boolean(c *Config, key, s string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def
	case "true", "yes", "on", "1":
		return true
	case "false", "no", "off", "0":
		return false
	}
	c.Refuse(key, "%q must be true or false", s)
	return def
}

func validEnvName(s string) bool {
	if s == "" || len(s) > 200 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// errorAt returns a configuration error for key, with its line if the file
// has it (for problems found when the configuration is used).
func (c *Config) errorAt(key, format string, args ...any) error {
	return c.Errorf(key, format, args...)
}
