package appcheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/params"
)

func TestCron(t *testing.T) {
	for _, ok := range []string{"*/15 * * * *", "0 * * * *", "10,25,40,55 * * * *", "5-59/15 0-23 1-31 1-12 0-6", "*/5 9-17 * * 1-5"} {
		if err := ValidCron(ok); err != nil {
			t.Errorf("ValidCron(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
		"* * * 13 *", "* * * * 7", "*/0 * * * *", "5-1 * * * *", "* * * JAN *", "* * * * MON", "1,,2 * * * *", "-1 * * * *"} {
		if err := ValidCron(bad); err == nil {
			t.Errorf("ValidCron(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"900", "3.14", "0", "-1", "*/15 * * * *"} {
		if err := validInterval(ok); err != nil {
			t.Errorf("validInterval(%q) = %v", ok, err)
		}
	}
	if err := validInterval("-5"); err == nil {
		t.Error("validInterval(-5) accepted")
	}
}

func newSPL(macros map[string]string) *splChecker {
	x := &splChecker{macros: map[string]macroDef{}, lookup: Collection, saved: map[string]*fieldSet{}}
	for k, v := range macros {
		x.macros[k] = macroDef{definition: v}
	}
	return x
}

func TestAnalyse(t *testing.T) {
	x := newSPL(map[string]string{
		"base":     `sourcetype="vtsync:run" index=main`,
		"gen":      `inputlookup vtsync_domains where vt_found = 1`,
		"m(1)":     `eval y = $f$`,
		"twice":    "`base` | `m(vt_calls)`",
		"selfref":  "`selfref`",
		"n":        "3",
		"needs_ut": "eval list = \"mozilla\" | `ut_parse_extended(domain, list)`",
	})
	x.macros["m(1)"] = macroDef{args: []string{"f"}, definition: "eval y = $f$"}
	for _, tc := range []struct {
		spl, want string // want "" = no error
	}{
		{`sourcetype="vtsync:run" | stats sum(vt_calls) as calls by input | where calls > 1`, ""},
		{"`twice` | table y input", ""},
		{`sourcetype="vtsync:run" | stats count by input | table status`, "table reads status"},
		{`sourcetype="vtsync:run" | timechart count by status | table anything`, ""},
		{`sourcetype="vtsync:run" | timechart count | table anything`, "reads anything"},
		{`sourcetype="vtsync:run" | eval a = 'errors{}' . "x", b = a | fields - a | table b`, ""},
		{`sourcetype="vtsync:run" | eval a = vt_calls | fields - a | table a`, "table reads a"},
		{`sourcetype="vtsync:run" | rename vt_calls AS calls | table vt_calls`, "reads vt_calls"},
		{`sourcetype="vtsync:run" rejected.ip>0 | table rejected.ip`, ""},
		{`sourcetype="vtsync:run" | where len(domain) > 0`, "reads domain"},
		{"| `gen` | where popularity_rank > `n` | sort 0 - enriched_time | head 5", ""},
		{"| `gen` | `needs_ut` | table ut_domain", ""},
		{"| `gen` | where vt_calls > 0", "reads vt_calls"},
		{"| `gen` | lookup vtsync_domains domain AS domain OUTPUT tags AS t | table t", ""},
		{"| `gen` | lookup other domain", "knows only the lookups vtsync_domains, vtsync_files, vtsync_ips, not other"},
		{"| makeresults | eval d = \"1.2.3.4\" | lookup local=true vtsync_ips ip AS d OUTPUT as_owner country | table as_owner country", ""},
		{"| makeresults | eval d = \"1.2.3.4\" | lookup local=true vtsync_ips ip AS d OUTPUT registrar", "outputs registrar, which is not a record field"},
		{"| makeresults | eval h = \"x\" | lookup local=true vtsync_files sha256 AS h OUTPUTNEW popular_threat_label | table popular_threat_label", ""},
		{"| inputlookup vtsync_files where last_analysis_positive > 1 | table sha256 md5", ""},
		{"| inputlookup alexa.csv", "knows only"},
		{"| inputlookup vtsync_domains | stats count", "reads the whole collection"},
		{"| makeresults | eval x = 1 | join x [ search index=main ]", "subsearch"},
		{"| makeresults | append [ search sourcetype=\"vtsync:run\" ", "unbalanced"},
		{"| `selfref`", "expands to itself"},
		{"| `nope`", "not defined"},
		{"| `gen` | eval x = \"unterminated", "unterminated"},
		{"index=main sourcetype=sysmon | stats count", "reads events other than"},
		{"| tstats count where index=main by http_host | table http_host count", ""},
		{"| tstats count from datamodel=Web.Web by Web.site | table Web.site count", ""},
		{"| tstats count from datamodel=Web by Web.site", "datamodel=Web: the app check knows"},
		{"| tstats count from datamodel=Web.Web by Web.process", "tstats by reads Web.process"},
		{"| tstats count from datamodel=Network_Resolution.DNS by DNS.query DNS.src | rename DNS.query AS q, DNS.src AS e | table q e", ""},
		{`| search source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=22 | table QueryName Computer Image`, ""},
		{`| search source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=22 | table http_host`, "table reads http_host"},
		{"| rest splunk_server=local /services/data/inputs/vtsync | table title disabled", ""},
		{"| rest /services/apps/local", "knows no such endpoint"},
		{"| inputlookup vtsync_domains where last_analysis_positive >= 2 | table domain", ""},
		{"| inputlookup vtsync_domains where bogus > 2", "inputlookup where reads bogus"},
		{"| makeresults | eval x = 1 | append [ search sourcetype=\"vtsync:run\" | stats count by input ] | table x input count", ""},
		{"| makeresults | append [ search sourcetype=\"vtsync:run\" | stats count by input ] | table status", "table reads status"},
		{"| makeresults | eval x = 1 | mvexpand x | table x", ""},
		{"| tstats count where index=main user=x by http_host", "tstats where reads user"},
		{"| `gen` | transaction domain", "not known to the app check"},
		{"| `gen` | eval = 1", "not field = expression"},
	} {
		_, err := x.analyse(tc.spl)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.spl, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v; want %q", tc.spl, err, tc.want)
		}
	}
}

// The default candidate search of the input is the vtsync_candidates macro
// used as a generating command, whichever candidate source the switch
// names: every variant must yield the domain field the input reads and the
// fields the detection reads.
func TestEveryCandidateSource(t *testing.T) {
	c := &checker{dir: appDir(t), confs: map[string]*Conf{}}
	x := newSPL(nil)
	var variants []string
	for _, st := range c.conf("default/macros.conf").Stanzas {
		x.macros[st.Name] = macroDef{definition: st.Values["definition"]}
		if strings.HasPrefix(st.Name, sourcePrefix) {
			variants = append(variants, st.Name)
		}
	}
	slices.Sort(variants)
	// The sources the README documents, with the add-on each needs.
	want := []string{"vtsync_candidates_cim_dns", "vtsync_candidates_cim_web", "vtsync_candidates_cim_web_url",
		"vtsync_candidates_http_host", "vtsync_candidates_sysmon"}
	if !slices.Equal(variants, want) {
		t.Fatalf("candidate sources %v, want %v", variants, want)
	}
	if def := x.macros[sourceSwitch].definition; def != "`vtsync_candidates_sysmon`" {
		t.Errorf("default source %s, want raw Sysmon (no acceleration needed)", def)
	}
	if strings.Contains(x.macros["vtsync_candidates_sysmon"].definition, "tstats") {
		t.Error("the raw Sysmon source uses tstats, which cannot see search-time fields")
	}
	domainField := ""
	for _, a := range params.Args() {
		if a.Name == "domain_field" {
			domainField = a.Default
		}
	}
	for _, v := range variants {
		x.macros[sourceSwitch] = macroDef{definition: "`" + v + "`"}
		out, err := x.analyse(params.DefaultSearch)
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		for _, f := range []string{domainField, "event_time", "endpoints", "dc_endpoints", "count"} {
			if !out.has(f) {
				t.Errorf("%s: candidates lack %s", v, f)
			}
		}
		if _, err := x.analyse("| `vtsync_detection`"); err != nil {
			t.Errorf("%s: detection: %v", v, err)
		}
	}
	// A variant reading a field its data does not have is caught.
	x.macros["vtsync_candidates_cim_dns"] = macroDef{definition: strings.Replace(x.macros["vtsync_candidates_cim_dns"].definition, "DNS.src", "DNS.process_name", 1)}
	x.macros[sourceSwitch] = macroDef{definition: "`vtsync_candidates_cim_dns`"}
	if _, err := x.analyse(params.DefaultSearch); err == nil || !strings.Contains(err.Error(), "DNS.process_name") {
		t.Errorf("a CIM DNS source reading DNS.process_name passed: %v", err)
	}
}

// TestKindDetections: the IP and file detections run on every one of their
// candidate sources, and read their own collections' fields.
func TestKindDetections(t *testing.T) {
	c := &checker{dir: appDir(t), confs: map[string]*Conf{}}
	x := newSPL(nil)
	for _, st := range c.conf("default/macros.conf").Stanzas {
		x.macros[st.Name] = macroDef{definition: st.Values["definition"]}
	}
	for _, k := range []struct {
		detection string
		fields    []string
	}{
		{"vtsync_ip_detection", []string{"dest_ip", "status", "alert", "why", "as_owner", "endpoints", "dc_endpoints"}},
		{"vtsync_file_detection", []string{"hash", "images", "status", "alert", "why", "popular_threat_label", "sha256", "md5", "endpoints"}},
	} {
		out, err := x.analyse("| `" + k.detection + "`")
		if err != nil {
			t.Errorf("%s: %v", k.detection, err)
			continue
		}
		for _, f := range k.fields {
			if !out.has(f) {
				t.Errorf("%s lacks %s", k.detection, f)
			}
		}
	}
	// The IP detection leaves out the addresses vtsync never looks up, and
	// the file source splits Sysmon's Hashes into the three lookups.
	if d := x.macros["vtsync_ip_candidates"].definition; !strings.Contains(d, "NOT (`vtsync_ip_not_public`)") {
		t.Error("vtsync_ip_candidates keeps private addresses")
	}
	for _, h := range []string{"SHA256=[0-9a-f]{64}", "SHA1=[0-9a-f]{40}", "MD5=[0-9a-f]{32}"} {
		if !strings.Contains(x.macros["vtsync_file_candidates_sysmon"].definition, h) {
			t.Errorf("the Sysmon file source does not read %s from Hashes", h)
		}
	}
	for _, on := range []string{"sha256 AS sha256", "sha1 AS sha1", "md5 AS md5"} {
		if !strings.Contains(x.macros["vtsync_file_detection"].definition, "lookup local=true vtsync_files "+on) {
			t.Errorf("the file detection does not look up %s", on)
		}
	}
}
