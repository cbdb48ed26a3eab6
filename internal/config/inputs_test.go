package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/params"
)

// parse decodes inputs.conf parameters as the modular input does.
func parse(raw map[string]string) (*Config, error) { return FromInputs("t", "/state", raw) }

func TestDefaults(t *testing.T) {
	c, err := parse(map[string]string{"interval": "900", "index": "main", "host": "$decideOnStartup", "disabled": "0"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Name: "t", StateDir: "/state",
		Source: Source{Type: SourceSearch, Search: params.DefaultSearch, EarliestTime: "-20m", LatestTime: "now", Fields: map[string]string{"domain": "ut_domain"}},
		Enrich: Enrich{Type: EnrichVirusTotal, VTAPIURL: "https://www.virustotal.com/api/v3", RequestsPerMinute: 4,
			DailyLookupBudget: 500, MaxConcurrency: 4},
		Store:       Store{Type: StoreKVStore, Collection: "vtsync_domains"},
		RefreshDays: 7, NotFoundRefreshHours: 24, NotFoundMaxHours: 168, RefreshJitterPercent: 10, RetentionDays: 30,
		SHCLookup: "captain", MaxRunSeconds: 840}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestEveryArgHasAValidDefault(t *testing.T) {
	raw := map[string]string{}
	for _, a := range params.Args() {
		raw[a.Name] = a.Default
	}
	if _, err := parse(raw); err != nil {
		t.Errorf("the documented defaults do not validate: %v", err)
	}
}

func TestErrorsNameTheParameter(t *testing.T) {
	key := strings.Repeat("ab", 32)
	cases := []struct {
		param, value string
	}{
		{"requests_per_minute", "0"},
		{"requests_per_minute", "four"},
		{"daily_lookup_budget", "-1"},
		{"max_concurrency", "1001"},
		{"refresh_days", "1.5"},
		{"not_found_refresh_hours", "0"},
		{"max_run_seconds", "5"},
		{"vt_api_url", "ftp://mirror.example/api"},
		{"vt_api_url", "https://user:" + key + "@vt.example/api/v3"},
		{"earliest_time", "-20x"},
		{"latest_time", "rt"},
		{"proxy_url", "proxy.example:3128"},
		{"domain_field", "ut domain"},
		{"collection", "vtsync/domains"},
		{"shc_lookup", "leader"},
		{"api_key", "not-a-key"},
		{"search", "`vtsync_candidates`"},
		{"retention_days", "-1"},
		{"retention_days", "7"}, // not more than refresh_days (7)
	}
	for _, c := range cases {
		_, err := parse(map[string]string{c.param: c.value})
		var pe *params.Error
		if !errors.As(err, &pe) || pe.Param != c.param || !strings.Contains(err.Error(), "parameter "+c.param) {
			t.Errorf("%s=%q: error %v does not name %s", c.param, c.value, err, c.param)
			continue
		}
		if strings.Contains(err.Error(), key) {
			t.Errorf("%s: the error echoes a secret: %v", c.param, err)
		}
	}
}

func TestKeysAndMask(t *testing.T) {
	key := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, v := range []string{key, params.Mask, ""} {
		c, err := parse(map[string]string{"api_key": " " + v + " "})
		if err != nil || c.Enrich.APIKey != v {
			t.Errorf("api_key %q: got %q, %v", v, c.Enrich.APIKey, err)
		}
	}
	c, err := parse(map[string]string{"proxy_url": "http://user:secret@proxy.example:3128/"})
	if err != nil || c.Enrich.ProxyURL != "http://user:secret@proxy.example:3128" {
		t.Errorf("a proxy URL with credentials is allowed: %q, %v", c.Enrich.ProxyURL, err)
	}
}

// Times pass through as written: splunkd reads them.
func TestTimesPassThrough(t *testing.T) {
	c, err := parse(map[string]string{"earliest_time": "-1d@d+8h", "latest_time": "2024-05-01T00:00:00Z"})
	if err != nil || c.Source.EarliestTime != "-1d@d+8h" || c.Source.LatestTime != "2024-05-01T00:00:00Z" {
		t.Errorf("times %q %q, %v", c.Source.EarliestTime, c.Source.LatestTime, err)
	}
}

func TestSearchIsNormalised(t *testing.T) {
	c, err := parse(map[string]string{"search": "index=main sourcetype=sysmon"})
	if err != nil || c.Source.Search != "search index=main sourcetype=sysmon" {
		t.Errorf("search %q, %v", c.Source.Search, err)
	}
}

func TestWarningsOnConcurrencyBelowRate(t *testing.T) {
	c, _ := parse(map[string]string{"requests_per_minute": "1000", "max_concurrency": "4"})
	w := c.Warnings()
	if len(w) != 1 || !strings.Contains(w[0].Msg, "max_concurrency") || !slices.Contains(w[0].Args, any("suggested_max_concurrency")) || w[0].Args[len(w[0].Args)-1] != 7 {
		t.Errorf("warnings = %+v", w)
	}
	for _, raw := range []map[string]string{{}, {"requests_per_minute": "1000", "max_concurrency": "7"}} {
		if c, _ := parse(raw); len(c.Warnings()) != 0 {
			t.Errorf("%v: unexpected warnings %+v", raw, c.Warnings())
		}
	}
}

// A vt_api_url that is not the API v3 base turns every lookup into a 404,
// which would be stored as "not found": refuse it up front.
func TestVTAPIURLMustBeTheV3Base(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.virustotal.com/api/v3":  "https://www.virustotal.com/api/v3",
		"https://www.virustotal.com/api/v3/": "https://www.virustotal.com/api/v3",
		"http://127.0.0.1:8080/vt/api/v3":    "http://127.0.0.1:8080/vt/api/v3",
	} {
		c, err := parse(map[string]string{"vt_api_url": in})
		if err != nil || c.Enrich.VTAPIURL != want {
			t.Errorf("vt_api_url=%q: got %q, %v; want %q", in, c.Enrich.VTAPIURL, err, want)
		}
	}
	for _, in := range []string{
		"https://www.virustotal.com",
		"https://www.virustotal.com/",
		"https://www.virustotal.com/api",
		"https://www.virustotal.com/api/v2",
		"https://www.virustotal.com/api/v3/domains",
		"https://www.virustotal.com/api/v3x",
		"https://www.virustotal.com/vtapi/v2",
		"https://proxy.example/api/v3?key=1",
		"https://proxy.example/api/v3#frag",
	} {
		_, err := parse(map[string]string{"vt_api_url": in})
		var pe *params.Error
		if !errors.As(err, &pe) || pe.Param != "vt_api_url" ||
			!strings.Contains(err.Error(), "/api/v3") || !strings.Contains(err.Error(), "https://www.virustotal.com/api/v3") {
			t.Errorf("vt_api_url=%q: got %v, want an error naming vt_api_url and showing the default", in, err)
		}
	}
}

// Every request carries the key: plain http:// goes only to loopback,
// unless allow_insecure_vt_url says so.
func TestPlainHTTPVTURL(t *testing.T) {
	for _, c := range []struct {
		url, allow string
		ok         bool
	}{
		{"http://vt-proxy.example/api/v3", "", false},
		{"http://10.0.0.5:8080/api/v3", "false", false},
		{"HTTP://vt-proxy.example/api/v3", "no", false},
		{"http://localhost.evil.example/api/v3", "", false},
		{"http://vt-proxy.example/api/v3", "true", true},
		{"http://10.0.0.5:8080/api/v3", "1", true},
		{"http://127.0.0.1:8080/api/v3", "", true},
		{"http://127.3.4.5/api/v3", "", true},
		{"http://[::1]:9/api/v3", "", true},
		{"http://LocalHost:9/api/v3", "", true},
		{"https://vt-proxy.example/api/v3", "", true},
	} {
		_, err := parse(map[string]string{"vt_api_url": c.url, "allow_insecure_vt_url": c.allow})
		if c.ok {
			if err != nil {
				t.Errorf("%s allow=%q: %v", c.url, c.allow, err)
			}
			continue
		}
		var pe *params.Error
		if !errors.As(err, &pe) || pe.Param != "vt_api_url" || !strings.Contains(err.Error(), "allow_insecure_vt_url") || !strings.Contains(err.Error(), "unencrypted") {
			t.Errorf("%s allow=%q: %v; want it refused, naming allow_insecure_vt_url", c.url, c.allow, err)
		}
	}
	if _, err := parse(map[string]string{"allow_insecure_vt_url": "maybe"}); err == nil || !strings.Contains(err.Error(), "parameter allow_insecure_vt_url") {
		t.Errorf("allow_insecure_vt_url=maybe: %v", err)
	}
}

// Collection names follow one rule, and the refusal states it.
func TestCollectionRule(t *testing.T) {
	for _, ok := range []string{"vtsync_domains", "a", "VT2", "x_" + strings.Repeat("a", 98)} {
		if c, err := parse(map[string]string{"collection": ok}); err != nil || c.Store.Collection != ok {
			t.Errorf("collection %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"vtsync-domains", "vtsync.domains", "_vtsync", "2vtsync", "vt sync", "vtsync/domains", "dömains", "x" + strings.Repeat("a", 100)} {
		_, err := parse(map[string]string{"collection": bad})
		if err == nil || !strings.Contains(err.Error(), params.CollectionRule) || !strings.Contains(err.Error(), "parameter collection") {
			t.Errorf("collection %q: %v; want a refusal stating the rule", bad, err)
		}
	}
}

func TestRetentionDays(t *testing.T) {
	for _, c := range []struct {
		raw  map[string]string
		want int
		err  string
	}{
		{map[string]string{"retention_days": "0"}, 0, ""},
		{map[string]string{"retention_days": "8"}, 8, ""},
		{map[string]string{"retention_days": "30", "refresh_days": "30"}, 0, "more than refresh_days (30)"},
		{map[string]string{"retention_days": "90", "refresh_days": "30"}, 90, ""},
		// A refresh_days that is not a number is reported once, not also
		// as a retention_days problem.
		{map[string]string{"retention_days": "8", "refresh_days": "x"}, 0, `parameter refresh_days: "x" must be a whole number from 1 to 3650`},
	} {
		cfg, err := parse(c.raw)
		if c.err == "" && (err != nil || cfg.RetentionDays != c.want) || c.err != "" && (err == nil || err.Error() != c.err && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v: %d, %v; want %d, %q", c.raw, cfg.RetentionDays, err, c.want, c.err)
		}
		if c.raw["refresh_days"] == "x" && strings.Contains(err.Error(), "retention_days") {
			t.Errorf("%v: %v reports retention_days too", c.raw, err)
		}
	}
}

// Every problem is reported at once, each naming its parameter, in
// parameter order, on one line.
func TestInputsReportEveryError(t *testing.T) {
	_, err := parse(map[string]string{"earliest_time": "rt-5m", "max_concurrency": "0", "shc_lookup": "some", "ip_field": "dest ip",
		"requests_per_minute": "lots", "allow_insecure_vt_url": "perhaps", "collection": "a-b"})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want Errors", err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Setting)
		if e.File != "" || e.Line != 0 || !strings.HasPrefix(e.Error(), "parameter "+e.Setting+": ") {
			t.Errorf("%q: an inputs.conf error names its parameter only", e.Error())
		}
	}
	want := []string{"earliest_time", "ip_field", "collection", "allow_insecure_vt_url", "requests_per_minute", "max_concurrency", "shc_lookup"}
	if !slices.Equal(names, want) {
		t.Errorf("errors for %q, want %q: %v", names, want, err)
	}
	var pe *params.Error
	if !errors.As(err, &pe) || pe.Param != "earliest_time" || strings.Contains(err.Error(), "\n") {
		t.Errorf("errors.As finds %v; message %q must be one line", pe, err)
	}
	if _, err := parse(nil); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// A YAML origin places every error at its key and line, in line order,
// one per line; a setting absent from the file is placed at its section.
func TestOriginPlacesErrors(t *testing.T) {
	c := Default()
	c.Origin = Origin{File: "c.yaml",
		Keys:  map[string]string{"requests_per_minute": "enrich.virustotal.requests_per_minute", "earliest_time": "source.splunk.earliest_time"},
		Lines: map[string]int{"refresh_days": 9, "enrich": 3, "enrich.virustotal": 4, "source": 6, "source.splunk": 7, "source.splunk.earliest_time": 8}}
	c.Set("requests_per_minute", "x")
	c.Set("refresh_days", "0")
	c.Set("earliest_time", "rt")
	c.Refuse("name", "%q is not a name", "a b")
	err := c.Validate()
	want := []string{
		`c.yaml:4: enrich.virustotal.requests_per_minute: "x" must be a whole number from 1 to 1000000`,
		"c.yaml:8: source.splunk.earliest_time: ",
		`c.yaml:9: refresh_days: "0" must be a whole number from 1 to 3650`,
		`c.yaml: name: "a b" is not a name`,
	}
	lines := strings.Split(fmtErr(err), "\n")
	if len(lines) != 4 {
		t.Fatalf("errors:\n%v", err)
	}
	// "name" is not in the file: line 0 sorts first.
	lines = append(lines[1:], lines[0])
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d = %q, want %q...", i, lines[i], w)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A value read again replaces an earlier refusal.
func TestSetReplacesRefusal(t *testing.T) {
	c := Default()
	c.Set("refresh_days", "x")
	c.Set("refresh_days", "3")
	if err := c.Validate(); err != nil || c.RefreshDays != 3 {
		t.Errorf("refresh_days %d, %v", c.RefreshDays, err)
	}
}

// FuzzFromInputs checks that no parameter value crashes the decoder or
// Validate, and that every error it reports names a parameter on one line.
func FuzzFromInputs(f *testing.F) {
	f.Add("refresh_days", "x", "retention_days", "3")
	f.Add("vt_api_url", "http://user@h/api/v3", "allow_insecure_vt_url", "maybe")
	f.Add("search", "`m`", "earliest_time", "rt-5m")
	f.Add("domain_field", "", "ip_field", "")
	f.Fuzz(func(t *testing.T, p1, v1, p2, v2 string) {
		raw := map[string]string{p1: v1, p2: v2}
		_, err := parse(raw)
		if err == nil {
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("%v: err %v is not Errors", raw, err)
		}
		for _, e := range es {
			if !isParam(e.Setting) || !strings.HasPrefix(e.Error(), "parameter "+e.Setting+": ") {
				t.Fatalf("%v: error %q names no parameter", raw, e.Error())
			}
		}
	})
}
