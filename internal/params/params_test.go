package params

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	p, err := Parse(map[string]string{"interval": "900", "index": "main", "host": "$decideOnStartup", "disabled": "0"})
	if err != nil {
		t.Fatal(err)
	}
	want := Params{Search: DefaultSearch, EarliestTime: "-20m", LatestTime: "now", DomainField: "ut_domain",
		Collection: "vtsync_domains", VTAPIURL: "https://www.virustotal.com/api/v3", RequestsPerMinute: 4,
		DailyLookupBudget: 500, MaxConcurrency: 4, RefreshDays: 7, NotFoundRefreshHours: 24,
		NotFoundMaxHours: 168, RefreshJitterPercent: 10, RetentionDays: 30,
		SHCLookup: "captain", MaxRunSeconds: 840}
	if p != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", p, want)
	}
}

func TestEveryArgHasDocsAndAValidDefault(t *testing.T) {
	raw := map[string]string{}
	for _, a := range Args {
		if a.Title == "" || a.Description == "" || (a.DataType != "string" && a.DataType != "number" && a.DataType != "boolean") {
			t.Errorf("parameter %s lacks a title, description or data type", a.Name)
		}
		raw[a.Name] = a.Default
	}
	if _, err := Parse(raw); err != nil {
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
		_, err := Parse(map[string]string{c.param: c.value})
		var pe *Error
		if !errors.As(err, &pe) || pe.Param != c.param || !strings.Contains(err.Error(), c.param) {
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
	for _, v := range []string{key, Mask, ""} {
		p, err := Parse(map[string]string{"api_key": " " + v + " "})
		if err != nil || p.APIKey != v {
			t.Errorf("api_key %q: got %q, %v", v, p.APIKey, err)
		}
	}
	p, err := Parse(map[string]string{"proxy_url": "http://user:secret@proxy.example:3128/"})
	if err != nil || p.ProxyURL != "http://user:secret@proxy.example:3128" {
		t.Errorf("a proxy URL with credentials is allowed: %q, %v", p.ProxyURL, err)
	}
}

func TestNormalizeSearch(t *testing.T) {
	cases := map[string]string{
		"index=main sourcetype=sysmon":  "search index=main sourcetype=sysmon",
		"  search index=main ":          "search index=main",
		"SEARCH index=main":             "SEARCH index=main",
		"| tstats count by http_host":   "| tstats count by http_host",
		"|`vtsync_candidates`":          "|`vtsync_candidates`",
		"searchindex=main":              "search searchindex=main",
		"index=main | search `mymacro`": "search index=main | search `mymacro`",
		"search\tindex=main":            "search\tindex=main",
		"search\nindex=main":            "search\nindex=main",
		"Search\r\nindex=main":          "Search\r\nindex=main",
		"search":                        "search",
		"search_index=main":             "search search_index=main",
		"search|head 1":                 "search search|head 1",
	}
	for in, want := range cases {
		got, err := NormalizeSearch(in)
		if err != nil || got != want {
			t.Errorf("NormalizeSearch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "`vtsync_candidates`"} {
		if _, err := NormalizeSearch(in); err == nil {
			t.Errorf("NormalizeSearch(%q) should be refused", in)
		}
	}
}

func TestWarningsOnConcurrencyBelowRate(t *testing.T) {
	p, _ := Parse(map[string]string{"requests_per_minute": "1000", "max_concurrency": "4"})
	w := p.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "max_concurrency") || !strings.Contains(w[0], "raise max_concurrency to about 7") {
		t.Errorf("warnings = %q", w)
	}
	for _, raw := range []map[string]string{{}, {"requests_per_minute": "1000", "max_concurrency": "7"}} {
		if p, _ := Parse(raw); len(p.Warnings()) != 0 {
			t.Errorf("%v: unexpected warnings %q", raw, p.Warnings())
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
		p, err := Parse(map[string]string{"vt_api_url": in})
		if err != nil || p.VTAPIURL != want {
			t.Errorf("vt_api_url=%q: got %q, %v; want %q", in, p.VTAPIURL, err, want)
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
		_, err := Parse(map[string]string{"vt_api_url": in})
		var pe *Error
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
		p, err := Parse(map[string]string{"vt_api_url": c.url, "allow_insecure_vt_url": c.allow})
		if c.ok {
			if err != nil {
				t.Errorf("%s allow=%q: %v", c.url, c.allow, err)
			}
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Param != "vt_api_url" || !strings.Contains(err.Error(), "allow_insecure_vt_url") || !strings.Contains(err.Error(), "unencrypted") {
			t.Errorf("%s allow=%q: %v (%+v); want it refused, naming allow_insecure_vt_url", c.url, c.allow, err, p)
		}
	}
	if _, err := Parse(map[string]string{"allow_insecure_vt_url": "maybe"}); err == nil || !strings.Contains(err.Error(), "allow_insecure_vt_url") {
		t.Errorf("allow_insecure_vt_url=maybe: %v", err)
	}
}

// Collection names follow one rule, and the refusal states it.
func TestCollectionRule(t *testing.T) {
	for _, ok := range []string{"vtsync_domains", "a", "VT2", "x_" + strings.Repeat("a", 98)} {
		if p, err := Parse(map[string]string{"collection": ok}); err != nil || p.Collection != ok {
			t.Errorf("collection %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"vtsync-domains", "vtsync.domains", "_vtsync", "2vtsync", "vt sync", "vtsync/domains", "dömains", "x" + strings.Repeat("a", 100)} {
		_, err := Parse(map[string]string{"collection": bad})
		if err == nil || !strings.Contains(err.Error(), CollectionRule) || !strings.Contains(err.Error(), "parameter collection") {
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
	} {
		p, err := Parse(c.raw)
		if c.err == "" && (err != nil || p.RetentionDays != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v: %d, %v; want %d, %q", c.raw, p.RetentionDays, err, c.want, c.err)
		}
	}
}

// Every problem is reported at once, each naming its parameter.
func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse(map[string]string{"earliest_time": "rt-5m", "max_concurrency": "0", "shc_lookup": "some", "ip_field": "dest ip"})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want Errors", err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Param)
	}
	if want := []string{"earliest_time", "ip_field", "max_concurrency", "shc_lookup"}; !slices.Equal(names, want) {
		t.Errorf("errors for %q, want %q: %v", names, want, err)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Param != "earliest_time" || strings.Contains(err.Error(), "\n") {
		t.Errorf("errors.As finds %v; message %q must be one line", pe, err)
	}
	if _, err := Parse(nil); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
