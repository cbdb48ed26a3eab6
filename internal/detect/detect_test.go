package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/record"
)

var t0 = time.Date(2025, 3, 14, 14, 0, 0, 0, time.UTC)

func i64(v int64) *int64 { return &v }

// created returns a creation time that many days before t0.
func created(days float64) *int64 { return i64(t0.Unix() - int64(days*86400)) }

func ev(host, proc, dest string, at time.Duration) filesource.Event {
	return filesource.Event{Time: t0.Add(at), Host: host, Process: proc, Dest: dest}
}

func le(cn string) record.Record {
	return record.Record{VTFound: true, CertIssuer: "C=US, O=Let's Encrypt, CN=" + cn, CertIssuerOrg: "Let's Encrypt"}
}

func with(r record.Record, f func(*record.Record)) record.Record { f(&r); return r }

func TestRules(t *testing.T) {
	one := []filesource.Event{ev("ws1", "powershell.exe", "evil.example.com", 0)}
	def := DefaultRules()
	strict := def
	strict.YoungNeedsFreeCA = true
	notFound := def
	notFound.FlagNotFound = true
	noPopular := def
	noPopular.PopularMaxRank = 0
	young := func(days float64) func(*record.Record) {
		return func(r *record.Record) { r.WhoisCreationTime = created(days) }
	}
	cases := []struct {
		name    string
		rules   Rules
		events  []filesource.Event
		rec     *record.Record // record of example.com; nil = none
		want    []string       // Rules of the single finding; nil = no finding
		reasons []string       // when set, the finding's reasons
		pend    bool
	}{
		{"LE, CN R10, 10 days", def, one, ptr(with(le("R10"), young(10))),
			[]string{RuleYoung, RuleFreeCA}, []string{"registered 10.00 days before first contact", "new domain with a certificate from let's encrypt"}, false},
		{"LE, CN E5, org lower-case", def, one, ptr(with(le("E5"), func(r *record.Record) {
			r.CertIssuerOrg = "let's encrypt"
			r.WhoisCreationTime = created(3)
		})), []string{RuleYoung, RuleFreeCA}, nil, false},
		{"LE, typographic apostrophe", def, one, ptr(with(le("R11"), func(r *record.Record) {
			r.CertIssuerOrg = "Let\u2019s Encrypt"
			r.WhoisCreationTime = created(3)
		})), []string{RuleYoung, RuleFreeCA}, nil, false},
		{"LE from the issuer's O= only", def, one, ptr(record.Record{VTFound: true, CertIssuer: "C=US, O=Let's Encrypt, CN=R10", WhoisCreationTime: created(3)}),
			[]string{RuleYoung, RuleFreeCA}, nil, false},
		{"age exactly 45 days", def, one, ptr(with(le("R10"), young(45))), []string{RuleYoung, RuleFreeCA}, nil, false},
		{"age 45.004 rounds to 45.00 as SPL round(,2)", def, one, ptr(with(le("R10"), young(45.004))), []string{RuleYoung, RuleFreeCA}, nil, false},
		{"age 45.01 days", def, one, ptr(with(le("R10"), young(45.01))), nil, nil, false},
		{"age 0: registered the day of the contact", def, one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(0)}),
			[]string{RuleYoung}, []string{"registered 0.00 days before first contact"}, false},
		{"negative age: re-registered after the contact, not young", def, one, ptr(with(le("R10"), young(-1))), nil, nil, false},
		{"young, other issuer", def, one, ptr(record.Record{VTFound: true, CertIssuerOrg: "Google Trust Services", WhoisCreationTime: created(20)}),
			[]string{RuleYoung}, nil, false},
		{"young, look-alike issuer Fake Encrypt", def, one, ptr(record.Record{VTFound: true, CertIssuer: "C=US, O=Fake Encrypt, CN=R22", CertIssuerOrg: "Fake Encrypt", WhoisCreationTime: created(20)}),
			[]string{RuleYoung}, nil, false},
		{"old X3 CN without LE org is not the free-CA rule", def, one, ptr(record.Record{VTFound: true, CertIssuer: "CN=Let's Encrypt Authority X3", WhoisCreationTime: created(5)}),
			[]string{RuleYoung}, nil, false},
		{"young_needs_free_ca: young, other issuer, not flagged", strict, one, ptr(record.Record{VTFound: true, CertIssuerOrg: "Google Trust Services", WhoisCreationTime: created(20)}),
			nil, nil, false},
		{"young_needs_free_ca: young with LE, flagged", strict, one, ptr(with(le("R10"), young(20))), []string{RuleYoung, RuleFreeCA}, nil, false},
		{"LE, unknown age", def, one, ptr(le("R10")), nil, nil, false},
		{"LE, old", def, one, ptr(with(le("R10"), young(400))), nil, nil, false},
		{"2 positives, old", def, one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(3000), LastAnalysisPositive: i64(2)}),
			[]string{RuleMalicious}, []string{"2 engines call it malicious"}, false},
		{"1 positive", def, one, ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(1)}), nil, nil, false},
		{"positives and young", def, one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(1), LastAnalysisPositive: i64(7)}),
			[]string{RuleYoung, RuleMalicious}, nil, false},
		{"malicious with an Umbrella rank: flagged whatever the popularity", def, one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(4000), LastAnalysisPositive: i64(6), PopularityRank: i64(9000)}),
			[]string{RuleMalicious}, nil, false},
		{"malicious, ranked 1: still flagged", def, one, ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(3), PopularityRank: i64(1), PopularityAlexa: i64(1)}),
			[]string{RuleMalicious}, nil, false},
		{"young and popular: the rank suppresses young, not malicious", def, one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(1), LastAnalysisPositive: i64(7), PopularityRank: i64(1500)}),
			[]string{RuleMalicious}, nil, false},
		{"young, ranked within the threshold: not flagged", def, one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(2); r.PopularityRank = i64(100000) })),
			nil, nil, false},
		{"young, ranked beyond the threshold: flagged", def, one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(2); r.PopularityRank = i64(100001) })),
			[]string{RuleYoung, RuleFreeCA}, nil, false},
		{"popular_max_rank 0: nothing is popular", noPopular, one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(2), PopularityRank: i64(1)}),
			[]string{RuleYoung}, nil, false},
		{"not found in VT: not flagged by default, not pending", def, one, ptr(record.NotFound("example.com", 1)), nil, nil, false},
		{"not found in VT, flag_not_found on", notFound, one, ptr(record.NotFound("example.com", 1)), []string{RuleNotFound}, []string{"unknown to VirusTotal"}, false},
		{"no record: pending", def, one, nil, nil, []string{ReasonPending}, true},
		{"browser only: dropped", def, []filesource.Event{
			ev("ws1", `C:\Program Files\Google\Chrome\Application\chrome.exe`, "evil.example.com", 0),
			ev("ws2", "MSEDGE.EXE", "evil.example.com", 0),
			ev("mac1", "Safari", "evil.example.com", 0),
			ev("ws3", "brave.exe", "evil.example.com", 0),
		}, ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(9)}), nil, nil, false},
		{"10 hosts exactly: kept", def, hosts(10), ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(9)}), []string{RuleMalicious}, nil, false},
		{"11 hosts: dropped", def, hosts(11), ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(9)}), nil, nil, false},
		{"11 hosts, no record: dropped before lookup, not pending", def, hosts(11), nil, nil, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lookup := func(d string) (record.Record, bool) {
				if d != "example.com" {
					t.Errorf("lookup of %q, want example.com", d)
				}
				if c.rec == nil {
					return record.Record{}, false
				}
				return *c.rec, true
			}
			got := Evaluate(c.events, Lookups{Domain: lookup}, c.rules)
			if c.want == nil && !c.pend {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want 1 finding, got %+v", got)
			}
			f := got[0]
			wantStatus, want := StatusFlagged, c.want
			if c.pend {
				wantStatus, want = StatusPending, []string{}
			}
			if f.Kind != KindDomain || f.Indicator != "example.com" || f.Status != wantStatus || f.Alert != !c.pend || !reflect.DeepEqual(f.Rules, want) {
				t.Fatalf("finding %+v: want domain example.com, status %s, rules %v", f, wantStatus, want)
			}
			if len(f.Reasons) != max(len(f.Rules), 1) {
				t.Errorf("reasons %q for rules %v", f.Reasons, f.Rules)
			}
			if c.reasons != nil && !reflect.DeepEqual(f.Reasons, c.reasons) {
				t.Errorf("reasons %q, want %q", f.Reasons, c.reasons)
			}
		})
	}
}

func TestAlertPending(t *testing.T) {
	r := DefaultRules()
	r.AlertPending = true
	got := Evaluate([]filesource.Event{ev("ws1", "p.exe", "new.example", 0)}, Lookups{Domain: func(string) (record.Record, bool) { return record.Record{}, false }}, r)
	if len(got) != 1 || got[0].Status != StatusPending || !got[0].Alert {
		t.Fatalf("alert_pending on: %+v", got)
	}
}

func TestDefaultRules(t *testing.T) {
	r := DefaultRules()
	want := Rules{MaxAgeDays: 45, MaxDistinctHosts: 10, MinPositives: 2, PopularMaxRank: 100000,
		FreeCAOrgs: []string{"let's encrypt"}, Browsers: r.Browsers}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("DefaultRules = %+v, want %+v", r, want)
	}
	for _, b := range []string{"chrome.exe", "msedge.exe", "firefox.exe", "safari", "brave.exe"} {
		if !r.IsBrowser(b) {
			t.Errorf("%s is not a default browser", b)
		}
	}
	// The table renders back as itself, so a macro can be compared with
	// the rules a YAML file sets.
	for _, s := range Settings {
		if got := r.MacroValue(s.Key); got != s.Default {
			t.Errorf("%s: MacroValue %q, table default %q", s.Key, got, s.Default)
		}
	}
}

func TestSet(t *testing.T) {
	var r Rules
	for _, c := range []struct {
		key    string
		values []string
		err    string
	}{
		{"max_age_days", []string{"30.5"}, ""},
		{"max_age_days", []string{"NaN"}, "number of days"},
		{"max_age_days", []string{"-1"}, "number of days"},
		{"max_distinct_hosts", []string{"0"}, "from 1 to"},
		{"min_positives", []string{"2", "3"}, "one value"},
		{"popular_max_rank", []string{"0"}, ""},
		{"popular_max_rank", []string{"-5"}, "whole number"},
		{"flag_not_found", []string{"yes"}, "0 or 1"},
		{"flag_not_found", []string{"true"}, ""},
		{"free_ca_orgs", []string{"Let's Encrypt", " ", "ZeroSSL"}, ""},
		{"bogus", []string{"1"}, "unknown setting"},
	} {
		err := r.Set(c.key, c.values...)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Set(%s, %q) = %v, want %q", c.key, c.values, err, c.err)
		}
	}
	if r.MaxAgeDays != 30.5 || !r.FlagNotFound || !reflect.DeepEqual(r.FreeCAOrgs, []string{"Let's Encrypt", "ZeroSSL"}) {
		t.Errorf("rules after Set: %+v", r)
	}
}

func ptr(r record.Record) *record.Record { return &r }

func hosts(n int) []filesource.Event {
	var evs []filesource.Event
	for i := range n {
		evs = append(evs, ev(fmt.Sprintf("ws%02d", i), "rundll32.exe", "x.example.com", time.Duration(i)*time.Second))
		evs = append(evs, ev(fmt.Sprintf("ws%02d", i), "rundll32.exe", "y.example.com", 0)) // same host twice
	}
	return evs
}

func TestAggregation(t *testing.T) {
	events := []filesource.Event{
		ev("WS-2", "powershell.exe", "A.Evil.Example.COM", 10*time.Minute),
		ev("WS-1", `C:\Windows\System32\rundll32.exe`, "b.evil.example.com.", 5*time.Minute),
		ev("WS-1", "rundll32.exe", "https://evil.example.com:8443/x", 20*time.Minute),
		ev("", "svchost.exe", "evil.example.com", 30*time.Minute),        // no host: counted, not a host
		{Host: "WS-3", Process: "svchost.exe", Dest: "evil.example.com"}, // no time: counted, not first seen
		ev("WS-4", "firefox.exe", "evil.example.com", -time.Hour),        // browser: ignored, even earlier
		ev("WS-5", "svchost.exe", "", 0),
		ev("WS-5", "svchost.exe", "-", 0),
		ev("WS-5", "svchost.exe", "10.1.2.3", 0),
		ev("WS-5", "svchost.exe", "localhost", 0),
		ev("WS-5", "svchost.exe", "not a host!", 0),
	}
	d := New(DefaultRules())
	for _, e := range events {
		d.Add(e)
	}
	if got := d.DomainCandidates(); !reflect.DeepEqual(got, []string{"example.com"}) {
		t.Fatalf("Candidates = %v", got)
	}
	got := d.Findings(Lookups{Domain: func(string) (record.Record, bool) {
		return record.Record{VTFound: true, WhoisCreationTime: i64(t0.Unix() - 86400), CertIssuerOrg: "Let's Encrypt", CertIssuer: "C=US, O=Let's Encrypt, CN=R10", LastAnalysisPositive: i64(0)}, true
	}})
	if len(got) != 1 {
		t.Fatalf("findings %+v", got)
	}
	f := got[0]
	// First contact 5 minutes after t0, creation 1 day before t0.
	wantAge := 1.0 + 5.0/1440
	if f.Count != 5 || !reflect.DeepEqual(f.Hosts, []string{"WS-1", "WS-2", "WS-3"}) ||
		!f.FirstSeen.Equal(t0.Add(5*time.Minute)) || f.AgeDays == nil || *f.AgeDays != float64(int(wantAge*100+0.5))/100 ||
		f.Issuer != "C=US, O=Let's Encrypt, CN=R10" || f.Positives == nil || *f.Positives != 0 {
		t.Fatalf("finding %+v (age %v)", f, *f.AgeDays)
	}
	st := d.Stats()
	want := Stats{Events: 11, Browser: 1, Rejected: 5, Domains: 1, Flagged: 1}
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestOrderAndRules(t *testing.T) {
	events := []filesource.Event{
		ev("h", "p.exe", "late.com", 2*time.Hour),
		ev("h", "p.exe", "early.com", time.Hour),
		ev("h", "p.exe", "zz-pending.com", 0),
		ev("h", "p.exe", "aa-pending.com", 0),
		ev("h", "custom-browser.exe", "hidden.com", 0),
	}
	recs := map[string]record.Record{
		"late.com":   {VTFound: true, LastAnalysisPositive: i64(3)},
		"early.com":  {VTFound: true, LastAnalysisPositive: i64(1)},
		"hidden.com": {VTFound: true, LastAnalysisPositive: i64(5)},
	}
	rules := Rules{MaxAgeDays: 10, MaxDistinctHosts: 1, MinPositives: 1, Browsers: []string{"custom-browser.exe"}}
	got := Evaluate(events, Lookups{Domain: func(d string) (record.Record, bool) { r, ok := recs[d]; return r, ok }}, rules)
	var names []string
	for _, f := range got {
		names = append(names, f.Indicator)
	}
	if want := []string{"early.com", "late.com", "aa-pending.com", "zz-pending.com"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("order %v, want %v", names, want)
	}
}

func TestWriteTable(t *testing.T) {
	age := 8.5
	fs := []Finding{
		{Kind: KindDomain, Indicator: "cdn-telemetry-sync.com", Status: StatusFlagged, Alert: true, Hosts: []string{"WS-1", "WS-2", "WS-3", "WS-4"}, Count: 40, FirstSeen: t0,
			AgeDays: &age, Issuer: "C=US, O=Let's Encrypt, CN=R10", Positives: i64(0), Rules: []string{RuleYoung, RuleFreeCA},
			Reasons: []string{"registered 8.50 days before first contact", "new domain with a certificate from let's encrypt"}},
		{Kind: KindDomain, Indicator: "a-very-long-registered-domain-name-for-the-table.example", Status: StatusFlagged, Alert: true,
			Hosts: []string{"WS-1"}, FirstSeen: t0, Rules: []string{RuleMalicious},
			Reasons: []string{"12 engines call it malicious and this reason is long enough that it must be folded onto a second line"}},
		{Kind: KindDomain, Indicator: "new-thing.net", Status: StatusPending, Hosts: []string{"WS-9"}, Count: 1, Reasons: []string{ReasonPending}},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, fs); err != nil {
		t.Fatal(err)
	}
	want := `DOMAIN                                    STATUS    HOSTS  FIRST CONTACT (UTC)
cdn-telemetry-sync.com                    flagged       4  2025-03-14 14:00:00
    - registered 8.50 days before first contact
    - new domain with a certificate from let's encrypt
    on WS-1, WS-2, and 2 more
a-very-long-registered-domain-name-fo...  flagged       1  2025-03-14 14:00:00
    - 12 engines call it malicious and this reason is long enough that it must
      be folded onto a second line
    on WS-1
new-thing.net                             pending       1  -
    - not looked up by vtsync yet
    on WS-9
`
	if got := buf.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	buf.Reset()
	WriteTable(&buf, nil)
	if buf.String() != "no findings\n" {
		t.Fatalf("empty table: %q", buf.String())
	}
}

// TestTableHostileData: text from data (a domain's issuer chosen by its
// owner, host names from events) never writes a control character to the
// terminal, and no line is wider than 80 columns.
func TestTableHostileData(t *testing.T) {
	hostile := "\x1b]0;owned\x07\x1b[2J\r\nfake.com  flagged"
	fs := []Finding{{Kind: KindDomain, Indicator: "evil.example" + hostile, Status: StatusFlagged, Alert: true,
		Hosts: []string{"WS-1\x1b[31m", strings.Repeat("h", 200)}, FirstSeen: t0, Rules: []string{RuleYoung, RuleFreeCA},
		Reasons: []string{"registered 1.00 days before first contact", "new domain with a certificate from " + hostile + strings.Repeat(" x", 60)}}}
	var buf bytes.Buffer
	if err := WriteTable(&buf, fs); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line %d is %d columns: %q", i, n, line)
		}
		for _, r := range line {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("line %d has control character %U: %q", i, r, line)
			}
		}
	}
	if !strings.Contains(buf.String(), `\x1b]0;owned`) {
		t.Errorf("the escape is not shown escaped:\n%s", buf.String())
	}
}

func TestWriteJSON(t *testing.T) {
	age := 8.5
	fs := []Finding{
		{Kind: KindDomain, Indicator: "a.com", Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious}, Reasons: []string{"3 engines call it malicious"},
			Hosts: []string{"WS-1"}, Count: 2, FirstSeen: t0, AgeDays: &age, Positives: i64(3), PopularityRank: i64(9000)},
		{Kind: KindDomain, Indicator: "b.com", Status: StatusPending, Count: 1, Reasons: []string{ReasonPending}},
		{Kind: KindIP, Indicator: "193.142.146.35", Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious}, Reasons: []string{"9 engines call it malicious"},
			Hosts: []string{"WS-1"}, Count: 3, FirstSeen: t0, Positives: i64(9), ASOwner: "DEMO-AS", Country: "NL"},
		{Kind: KindIP, Indicator: "8.8.8.8", Status: StatusPending, Count: 1, Hosts: []string{"WS-2"}, Reasons: []string{ReasonPending}},
		{Kind: KindFile, Indicator: strings.Repeat("ab", 32), Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious},
			Reasons: []string{"38 engines call it malicious (trojan.x/y)"}, Hosts: []string{"WS-3"}, Count: 1, FirstSeen: t0, Positives: i64(38),
			ThreatLabel: "trojan.x/y", Images: []string{`C:\Temp\v.exe`}, SHA256: strings.Repeat("ab", 32), MD5: strings.Repeat("cd", 16)},
		{Kind: KindFile, Indicator: strings.Repeat("ef", 20), Status: StatusPending, Count: 1, Reasons: []string{ReasonPending}, SHA1: strings.Repeat("ef", 20)},
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fs); err != nil {
		t.Fatal(err)
	}
	want := `[
{"kind":"domain","indicator":"a.com","status":"flagged","alert":true,"rules":["malicious"],"reasons":["3 engines call it malicious"],"endpoints":["WS-1"],"count":2,"first_seen":"2025-03-14T14:00:00Z","positives":3,"age_days":8.5,"popularity_rank":9000},
{"kind":"domain","indicator":"b.com","status":"pending","alert":false,"rules":[],"reasons":["not looked up by vtsync yet"],"endpoints":[],"count":1,"first_seen":null,"positives":null,"age_days":null,"popularity_rank":null},
{"kind":"ip","indicator":"193.142.146.35","status":"flagged","alert":true,"rules":["malicious"],"reasons":["9 engines call it malicious"],"endpoints":["WS-1"],"count":3,"first_seen":"2025-03-14T14:00:00Z","positives":9,"as_owner":"DEMO-AS","country":"NL"},
{"kind":"ip","indicator":"8.8.8.8","status":"pending","alert":false,"rules":[],"reasons":["not looked up by vtsync yet"],"endpoints":["WS-2"],"count":1,"first_seen":null,"positives":null},
{"kind":"file","indicator":"abababababababababababababababababababababababababababababababab","status":"flagged","alert":true,"rules":["malicious"],"reasons":["38 engines call it malicious (trojan.x/y)"],"endpoints":["WS-3"],"count":1,"first_seen":"2025-03-14T14:00:00Z","positives":38,"threat_label":"trojan.x/y","images":["C:\\Temp\\v.exe"],"sha256":"abababababababababababababababababababababababababababababababab","md5":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"},
{"kind":"file","indicator":"efefefefefefefefefefefefefefefefefefefef","status":"pending","alert":false,"rules":[],"reasons":["not looked up by vtsync yet"],"endpoints":[],"count":1,"first_seen":null,"positives":null,"images":[],"sha1":"efefefefefefefefefefefefefefefefefefefef"}
]
`
	if buf.String() != want {
		t.Fatalf("JSON:\n%s\nwant:\n%s", buf.String(), want)
	}
	// It reads back into the findings written.
	var back []Finding
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != len(fs) {
		t.Fatalf("not a JSON array of findings: %v", err)
	}
	lists := func(f Finding) Finding {
		for _, l := range []*[]string{&f.Rules, &f.Reasons, &f.Hosts, &f.Images} {
			if *l == nil {
				*l = []string{}
			}
		}
		return f
	}
	for i := range fs {
		if !reflect.DeepEqual(lists(back[i]), lists(fs[i])) {
			t.Errorf("finding %d reads back as\n%+v\nwritten\n%+v", i, back[i], fs[i])
		}
	}
	buf.Reset()
	WriteJSON(&buf, nil)
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Fatalf("empty JSON: %q", buf.String())
	}
}

func TestWriteCSV(t *testing.T) {
	age := -2.25
	fs := []Finding{
		{Kind: KindDomain, Indicator: "a.com", Status: StatusFlagged, Alert: true, Rules: []string{RuleYoung, RuleFreeCA}, Reasons: []string{"r1", "r2"},
			Hosts: []string{"WS-1", "WS-2"}, Count: 2, FirstSeen: t0, AgeDays: &age, Issuer: "=HYPERLINK(\"x\")"},
		{Kind: KindIP, Indicator: "2606:4700::1111", Status: StatusClear, Reasons: []string{"no engine calls it malicious"}, Count: 4, Positives: i64(0), ASOwner: "@AS", Country: "US"},
		{Kind: KindFile, Indicator: strings.Repeat("ab", 16), Status: StatusFlagged, Alert: true, Rules: []string{RuleNotFound}, Reasons: []string{"unknown to VirusTotal"},
			Images: []string{`C:\a.exe`, "-b.exe"}, MD5: strings.Repeat("ab", 16), Count: 2},
	}
	var buf bytes.Buffer
	if err := Write(&buf, FormatCSV, fs); err != nil {
		t.Fatal(err)
	}
	want := "kind,indicator,status,alert,rules,reasons,endpoints,count,first_seen,positives,age_days,popularity_rank,cert_issuer,as_owner,country,threat_label,images,sha256,sha1,md5\n" +
		"domain,a.com,flagged,true,\"young\nfree_ca\",\"r1\nr2\",\"WS-1\nWS-2\",2,2025-03-14T14:00:00Z,,-2.25,,\"'=HYPERLINK(\"\"x\"\")\",,,,,,,\n" +
		"ip,2606:4700::1111,clear,false,,no engine calls it malicious,,4,,0,,,,'@AS,US,,,,,\n" +
		"file,abababababababababababababababab,flagged,true,not_found,unknown to VirusTotal,,2,,,,,,,,,\"C:\\a.exe\n-b.exe\",,,abababababababababababababababab\n"
	if buf.String() != want {
		t.Fatalf("CSV:\n%q\nwant:\n%q", buf.String(), want)
	}
	if err := Write(&buf, "html", fs); err == nil || !strings.Contains(err.Error(), "table, json or csv") {
		t.Fatalf("unknown format: %v", err)
	}
}
