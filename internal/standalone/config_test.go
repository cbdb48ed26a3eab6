package standalone

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/detect"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/params"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, "site.yaml", "source:\n  file:\n    path: events.ndjson\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "site" || c.StateDir != filepath.Join(dir, ".vtsync") {
		t.Errorf("name %q state_dir %q", c.Name, c.StateDir)
	}
	f := c.Source.File
	if c.Source.Type != SourceFile || f.Path != filepath.Join(dir, "events.ndjson") || f.Format != filesource.NDJSON || !f.SkipBrowsers {
		t.Errorf("source %+v", c.Source)
	}
	if c.Enrich.Type != EnrichVirusTotal || c.APIKeyEnv != DefaultAPIKeyEnv {
		t.Errorf("enrich %+v, key from %q", c.Enrich, c.APIKeyEnv)
	}
	if c.Store.Type != StoreEmbedded || c.Store.Path != filepath.Join(dir, ".vtsync", "vtsync.db") {
		t.Errorf("store %+v", c.Store)
	}
	// Every sync parameter has the modular input's default.
	want := config.Default()
	want.Name, want.StateDir, want.Source, want.Store, want.Origin = c.Name, c.StateDir, c.Source, c.Store, c.Origin
	if !reflect.DeepEqual(&c.Config, want) {
		t.Errorf("settings %+v, want the modular input's defaults %+v", c.Config, *want)
	}
	if !reflect.DeepEqual(c.Rules, detect.DefaultRules()) {
		t.Errorf("rules %+v", c.Rules)
	}
}

func TestLoadFull(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, "vtsync.yaml", `
name: sensor-1
state_dir: /var/lib/vtsync
refresh_days: 3
not_found_refresh_hours: 12
max_run_seconds: 600
source:
  type: splunk
  splunk:
    url: https://splunk.example.org:8089
    username: svc
    password_env: SPLUNK_PASSWORD
    ca_file: ca.pem
    app: search
    search: index=sysmon EventCode=3
    earliest_time: -1h
    latest_time: now
    domain_field: dest_host
enrich:
  virustotal:
    api_key_file: keys/vt.key
    vt_api_url: https://vt.example.org/api/v3/
    requests_per_minute: 1000
    daily_lookup_budget: 0
    max_concurrency: 16
    proxy_url: http://proxy:3128
store:
  type: kvstore
  kvstore:
    collection: my_domains
detect:
  max_age_days: 30.5
  max_distinct_hosts: 5
  min_positives: 3
  browsers: [chrome.exe]
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s, e := c.Source, c.Enrich
	if s.Search != "search index=sysmon EventCode=3" || s.EarliestTime != "-1h" || s.Fields["domain"] != "dest_host" ||
		c.RefreshDays != 3 || c.NotFoundRefreshHours != 12 || c.MaxRunSeconds != 600 || e.RequestsPerMinute != 1000 ||
		e.DailyLookupBudget != 0 || e.MaxConcurrency != 16 || e.VTAPIURL != "https://vt.example.org/api/v3" ||
		e.ProxyURL != "http://proxy:3128" || c.Store.Collection != "my_domains" || s.CAFile != filepath.Join(dir, "ca.pem") {
		t.Errorf("settings %+v", c.Config)
	}
	if c.StateDir != "/var/lib/vtsync" || c.APIKeyFile != filepath.Join(dir, "keys", "vt.key") || c.APIKeyEnv != "" {
		t.Errorf("state_dir %q key file %q env %q", c.StateDir, c.APIKeyFile, c.APIKeyEnv)
	}
	// The KV store inherits the search's connection.
	kv := c.KVStore
	if kv.URL != "https://splunk.example.org:8089" || kv.Username != "svc" || kv.PasswordEnv != "SPLUNK_PASSWORD" || kv.App != "search" || kv.CAFile != filepath.Join(dir, "ca.pem") {
		t.Errorf("kvstore %+v", kv)
	}
	if c.Rules.MaxAgeDays != 30.5 || c.Rules.MaxDistinctHosts != 5 || c.Rules.MinPositives != 3 || !reflect.DeepEqual(c.Rules.Browsers, []string{"chrome.exe"}) {
		t.Errorf("rules %+v", c.Rules)
	}
}

// TestShippedConfigs keeps the example files loadable.
func TestShippedConfigs(t *testing.T) {
	for _, name := range []string{"vtsync.yaml", "reference.yaml"} {
		if _, err := Load(filepath.Join("..", "..", "examples", "demo", name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	const file = "bad.yaml"
	cases := []struct {
		name, yaml string
		want       []string // every error line, in order
	}{
		{"param, wrapped with line", "source:\n  file:\n    path: e.ndjson\nenrich:\n  virustotal:\n    requests_per_minute: x\n",
			[]string{`bad.yaml:6: enrich.virustotal.requests_per_minute: "x" must be a whole number from 1 to 1000000`}},
		{"param out of range", "refresh_days: 0\nsource:\n  file: {path: e.ndjson}\n",
			[]string{`bad.yaml:1: refresh_days: "0" must be a whole number from 1 to 3650`}},
		{"search macro", "source:\n  splunk:\n    url: https://s:8089\n    token_env: T\n    search: '`m`'\n",
			[]string{"bad.yaml:5: source.splunk.search: starts with a macro; splunkd needs the search to start with 'search ' or '|': write '| `m`' if the macro starts with a generating command such as tstats, else 'search `m`'"}},
		{"unknown key", "source:\n  file:\n    path: e.ndjson\n    pth: x\n",
			[]string{"bad.yaml:4: source.file.pth: unknown key; the keys here are domain_field, format, hash_field, host_field, ip_field, path, process_field, skip_browsers, time_field"}},
		{"unknown top-level key", "sourc: {}\n",
			[]string{"bad.yaml:1: sourc: unknown key; the keys here are detect, enrich, max_run_seconds, name, not_found_max_hours, not_found_refresh_hours, refresh_days, refresh_jitter_percent, retention_days, source, state_dir, store, young_refresh_days"}},
		{"plain api_key", "source: {file: {path: e}}\nenrich:\n  virustotal:\n    api_key: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
			[]string{"bad.yaml:4: enrich.virustotal.api_key: secrets are not accepted in the configuration file; use api_key_env (the name of an environment variable holding the key) or api_key_file (a file holding the key, chmod 600)"}},
		{"plain password", "source:\n  splunk:\n    url: https://s:8089\n    username: u\n    password: hunter2\n",
			[]string{"bad.yaml:5: source.splunk.password: secrets are not accepted in the configuration file; use password_env (the name of an environment variable holding the password)"}},
		{"key in api_key_env", "source: {file: {path: e}}\nenrich:\n  virustotal:\n    api_key_env: 0123456789abcdef-0123\n",
			[]string{`bad.yaml:4: enrich.virustotal.api_key_env: "0123456789abcdef-0123" is not an environment variable name (letters, digits, _); give the variable's name, never the key itself`}},
		{"mapping where a value goes", "name: {a: b}\nsource: {file: {path: e}}\n",
			[]string{"bad.yaml:1: name: must be a single value, not a list or a mapping"}},
		{"value where a section goes", "source: file\n",
			[]string{"bad.yaml:1: source: must be a mapping of keys to values"}},
		{"duplicate key", "source: {file: {path: e}}\nname: a\nname: b\n",
			[]string{"bad.yaml:3: name: is set twice (first on line 2)"}},
		{"no source", "name: x\n",
			[]string{"bad.yaml: source: is required: set source.type and its section (file or splunk)"}},
		{"bad type", "source:\n  type: kafka\n",
			[]string{`bad.yaml:2: source.type: "kafka" is unknown; the source types are file and splunk`}},
		{"bad enrich type", "source: {file: {path: e}}\nenrich:\n  type: magic\n",
			[]string{`bad.yaml:3: enrich.type: "magic" is unknown; the enrich types are offline and virustotal`}},
		{"section of another type", "source: {file: {path: e}}\nenrich:\n  type: offline\n  offline: {dir: vt}\n  virustotal: {requests_per_minute: 4}\n",
			[]string{"bad.yaml:5: enrich.virustotal: is set but enrich.type is offline; remove it or change the type"}},
		{"both sections, no type", "source:\n  file: {path: e}\n  splunk: {url: 'https://s'}\n",
			[]string{"bad.yaml:1: source.type: is required when source has both file and splunk sections"}},
		{"missing path and several errors at once", "name: 'a b'\nsource:\n  file:\n    format: xml\nenrich:\n  offline: {}\n",
			[]string{
				`bad.yaml:1: name: "a b" is not a name; use letters, digits, '-', '_' and '.'`,
				"bad.yaml:3: source.file.path: is required: the events file (NDJSON or CSV export) or list of domains to read",
				"bad.yaml:6: enrich.offline.dir: is required: the directory of saved VirusTotal responses, <dir>/<domain>.json",
			}},
		{"splunk without credentials", "source:\n  splunk:\n    url: https://s:8089\n    username: u\n",
			[]string{"bad.yaml:2: source.splunk.token_env: is required, or username and password_env: how to authenticate to splunkd"}},
		{"bool", "source:\n  file:\n    path: e\n    skip_browsers: maybe\n",
			[]string{`bad.yaml:4: source.file.skip_browsers: "maybe" must be true or false`}},
		{"detect threshold", "source: {file: {path: e}}\ndetect:\n  max_distinct_hosts: -1\n",
			[]string{`bad.yaml:3: detect.max_distinct_hosts: "-1" must be a whole number from 1 to 1000000`}},
		{"max_age_days NaN", "source: {file: {path: e}}\ndetect:\n  max_age_days: NaN\n",
			[]string{`bad.yaml:3: detect.max_age_days: "NaN" must be a number of days from 0 to 36500`}},
		{"max_age_days infinite", "source: {file: {path: e}}\ndetect:\n  max_age_days: +Inf\n",
			[]string{`bad.yaml:3: detect.max_age_days: "+Inf" must be a number of days from 0 to 36500`}},
		{"max_age_days hex float", "source: {file: {path: e}}\ndetect:\n  max_age_days: 0x1p-2\n",
			[]string{`bad.yaml:3: detect.max_age_days: "0x1p-2" must be a number of days from 0 to 36500`}},
		{"second document", "source: {file: {path: e}}\n\n---\nbogus: 1\n",
			[]string{"bad.yaml:3: a second YAML document starts here; the configuration is one document: remove this '---' line and merge what follows into the first"}},
		{"broken second document", "source: {file: {path: e}}\n---\n[\n",
			[]string{"bad.yaml:3: not valid YAML: did not find expected node content"}},
		{"broken YAML", "source:\n  file: [\n",
			[]string{"bad.yaml:2: not valid YAML: did not find expected node content"}},
		{"empty file", "",
			[]string{"bad.yaml: the file is empty; see the commented example in examples/demo/vtsync.yaml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(file, []byte(c.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestLoadOneDocument(t *testing.T) {
	for _, y := range []string{"---\nsource: {file: {path: e}}\n", "source: {file: {path: e}}\n...\n"} {
		if _, err := parse("c.yaml", []byte(y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}

func TestParamErrorUnwraps(t *testing.T) {
	_, err := parse("c.yaml", []byte("max_run_seconds: 5\nsource: {file: {path: e}}\n"))
	var pe *params.Error
	var ce *Error
	if !errors.As(err, &pe) || pe.Param != "max_run_seconds" || !errors.As(err, &ce) || ce.Line != 1 {
		t.Fatalf("err %v: want a *Error on line 1 wrapping *params.Error for max_run_seconds", err)
	}
}

// FuzzLoad checks that no configuration text crashes the loader, and that
// every error it reports names the file.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"vtsync.yaml", "reference.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "examples", "demo", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("source: &a {file: *a}\n"))
	f.Add([]byte("detect: {browsers: [[1], {a: b}]}\n"))
	f.Add([]byte("a: b\n---\nc: d\n"))
	f.Add([]byte("source:\n  file:\n    path: !!binary aGVsbG8=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("fuzz.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line does not name the file: %q", line)
				}
			}
			return
		}
		if c.Source.Type == "" || c.Enrich.Type == "" || c.Store.Type == "" {
			t.Fatalf("loaded without types: %+v", c)
		}
	})
}

// A missing or non-PEM CA file is reported against the ca_file key that
// set it (the KV store's own, or the one it inherits from source.splunk).
func TestCAFileErrorNamesKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "not-a-cert.pem", "hello\n")
	t.Setenv("VTSYNC_TEST_TOKEN", "splunk-token-0123")
	cases := []struct{ yaml, want string }{
		{"source:\n  splunk:\n    url: https://s.example:8089\n    token_env: VTSYNC_TEST_TOKEN\n    ca_file: missing.pem\n",
			":5: source.splunk.ca_file: " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
		{"source:\n  splunk:\n    url: https://s.example:8089\n    token_env: VTSYNC_TEST_TOKEN\n    ca_file: not-a-cert.pem\n",
			":5: source.splunk.ca_file: " + filepath.Join(dir, "not-a-cert.pem") + " holds no PEM certificate"},
		{"source: {file: {path: e.ndjson}}\nstore:\n  kvstore:\n    url: https://s.example:8089\n    token_env: VTSYNC_TEST_TOKEN\n    ca_file: not-a-cert.pem\n",
			":6: store.kvstore.ca_file: "},
		{"source:\n  splunk:\n    url: https://s.example:8089\n    token_env: VTSYNC_TEST_TOKEN\n    ca_file: missing.pem\nstore:\n  kvstore: {collection: c}\n",
			":5: source.splunk.ca_file: "},
	}
	for _, c := range cases {
		path := write(t, dir, "c.yaml", c.yaml)
		cfg, err := Load(path)
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		if cfg.Store.Type == StoreKVStore {
			_, _, err = cfg.OpenStore(context.Background(), slog.New(slog.DiscardHandler), false)
		} else {
			_, err = cfg.NewSource(slog.New(slog.DiscardHandler))
		}
		if err == nil || !strings.Contains(err.Error(), path+c.want) {
			t.Errorf("%q: err = %v, want %q", c.yaml, err, path+c.want)
		}
	}
}

// source.splunk names a field per kind: ip_field and hash_field are read
// as the modular input's parameters, an absent domain_field is the
// default, a domain_field set empty collects no domains, and setting none
// of the three is an error naming source.splunk.domain_field and its line.
func TestLoadKindFields(t *testing.T) {
	dir := t.TempDir()
	base := "source:\n  splunk:\n    url: https://127.0.0.1:8089\n    token_env: T\n"
	c, err := Load(write(t, dir, "kinds.yaml", base+"    ip_field: dest_ip\n    hash_field: Hashes\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Source.Fields; p["domain"] != "ut_domain" || p["ip"] != "dest_ip" || p["file"] != "Hashes" {
		t.Errorf("fields %q", p)
	}
	c, err = Load(write(t, dir, "nodomains.yaml", base+"    domain_field: \"\"\n    ip_field: dest_ip\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Source.Fields; p["domain"] != "" || p["ip"] != "dest_ip" || p["file"] != "" {
		t.Errorf("domain_field set empty: fields %q", p)
	}
	_, err = Load(write(t, dir, "none.yaml", base+"    domain_field: \"\"\n"))
	if err == nil || !strings.Contains(err.Error(), "none.yaml:5: source.splunk.domain_field") || !strings.Contains(err.Error(), "ip_field") {
		t.Errorf("no field of any kind: %v", err)
	}
}

// source.file reads domain_field as source.splunk does: set empty, the
// events file gives no domains, only the kinds whose fields are set; with
// none set, the error names source.file.domain_field and its line.
func TestLoadFileSourceNoDomains(t *testing.T) {
	dir := t.TempDir()
	events := write(t, dir, "events.ndjson", `{"EventID":3,"Image":"a.exe","DestinationHostname":"evil.example","DestinationIp":"45.141.215.19"}
{"EventID":1,"Image":"a.exe","Hashes":"MD5=0123456789abcdef0123456789abcdef"}
`)
	base := "source:\n  file:\n    path: " + filepath.Base(events) + "\n"
	c, err := Load(write(t, dir, "nodomains.yaml", base+"    domain_field: \"\"\n    ip_field: DestinationIp\n    hash_field: Hashes\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Source.File.Fields; !f.NoDomain || f.IP != "DestinationIp" || f.Hash != "Hashes" {
		t.Errorf("domain_field set empty: fields %+v", f)
	}
	src, err := c.NewSource(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := src.Candidates(context.Background(), func(k kind.Kind, v string) error { got = append(got, k.Name()+":"+v); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ip:45.141.215.19", "file:MD5=0123456789abcdef0123456789abcdef"}; !reflect.DeepEqual(got, want) {
		t.Errorf("candidates %q, want %q", got, want)
	}

	// Absent, the default destination fields are read.
	c, err = Load(write(t, dir, "default.yaml", base+"    ip_field: DestinationIp\n"))
	if err != nil || c.Source.File.Fields.NoDomain || c.Source.File.Fields.Domain != "" {
		t.Errorf("domain_field absent: %+v, %v", c.Source.File.Fields, err)
	}

	for name, yml := range map[string]string{
		"none.yaml":  base + "    domain_field: \"\"\n",
		"list.yaml":  "source:\n  file:\n    path: domains.txt\n    domain_field: \"\"\n    ip_field: DestinationIp\n",
		"blank.yaml": base + "    domain_field: \"  \"\n    ip_field: \"\"\n",
	} {
		_, err := Load(write(t, dir, name, yml))
		if err == nil || !strings.Contains(err.Error(), name+":4: source.file.domain_field") {
			t.Errorf("%s: err = %v, want one at source.file.domain_field, line 4", name, err)
		}
	}
}

// Every parameter error of a configuration is reported at once, each at
// its YAML key and line.
func TestLoadReportsEveryParamError(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(write(t, dir, "bad.yaml", "refresh_days: 0\nsource:\n  splunk:\n    url: https://127.0.0.1:8089\n    token_env: T\n    earliest_time: rt-5m\n    ip_field: dest ip\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"bad.yaml:1: refresh_days", "bad.yaml:6: source.splunk.earliest_time", "bad.yaml:7: source.splunk.ip_field"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// One Load reports every error of a file at once, in line order, each at
// its key and line: values of the wrong type (decoding), values Validate
// refuses (the modular input's rules), and settings only the YAML has.
func TestLoadReportsEveryErrorAtItsLine(t *testing.T) {
	yml := `name: a b
refresh_days: x
source:
  splunk:
    url: https://127.0.0.1:8089
    token_env: T
    search: '` + "`m`" + `'
    earliest_time: rt
enrich:
  virustotal:
    requests_per_minute: lots
    allow_insecure_vt_url: perhaps
    api_key_env: 1bad
    vt_api_url: http://vt.example.org/api/v3
store:
  kvstore:
    collection: a-b
detect:
  min_positives: -1
`
	_, err := parse("bad.yaml", []byte(yml))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`bad.yaml:1: name: "a b" is not a name`,
		`bad.yaml:2: refresh_days: "x" must be a whole number from 1 to 3650`,
		"bad.yaml:7: source.splunk.search: starts with a macro",
		`bad.yaml:8: source.splunk.earliest_time: "rt" is not a Splunk time`,
		`bad.yaml:11: enrich.virustotal.requests_per_minute: "lots" must be a whole number from 1 to 1000000`,
		`bad.yaml:12: enrich.virustotal.allow_insecure_vt_url: "perhaps" must be true or false`,
		`bad.yaml:13: enrich.virustotal.api_key_env: "1bad" is not an environment variable name`,
		`bad.yaml:17: store.kvstore.collection: "a-b" is not a collection name`,
		`bad.yaml:19: detect.min_positives: "-1" must be a whole number`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("error %d = %q, want %q...", i+1, got[i], w)
		}
	}
	// Each parameter's error is found as the modular input's would be.
	var pe *params.Error
	if !errors.As(err, &pe) || pe.Param != "refresh_days" {
		t.Errorf("errors.As finds %v, want refresh_days' *params.Error", pe)
	}
}

// Unknown, repeated and misshapen keys are reported with the values that
// do not validate, in one run, each at its line; a setting missing only
// because its key was misspelt or misshapen is not reported again.
func TestLoadReportsKeyMistakesWithTheRest(t *testing.T) {
	yml := `refresh_days: x
refresh_dayz: 3
source:
  file:
    path: events.ndjson
    domain_feld: QueryName
enrich:
  offline: [a]
store:
  embedded:
    path: x.db
    path: y.db
detect:
  min_positives: -1
`
	_, err := parse("bad.yaml", []byte(yml))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`bad.yaml:1: refresh_days: "x" must be a whole number from 1 to 3650`,
		"bad.yaml:2: refresh_dayz: unknown key; the keys here are detect, enrich,",
		"bad.yaml:6: source.file.domain_feld: unknown key; the keys here are ",
		"bad.yaml:8: enrich.offline: must be a mapping of keys to values",
		"bad.yaml:12: store.embedded.path: is set twice (first on line 11)",
		`bad.yaml:14: detect.min_positives: "-1" must be a whole number`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("error %d = %q, want %q...", i+1, got[i], w)
		}
	}
}
