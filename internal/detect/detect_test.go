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
	cases := []struct {
		name   string
		events []filesource.Event
		rec    *record.Record // record of example.com's registered domain; nil = none
		want   []string       // Why of the single finding; nil = no finding
		pend   bool
	}{
		{"LE, CN R10, 10 days", one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(10) })),
			[]string{WhyLetsEncrypt, WhyYoung}, false},
		{"LE, CN E5, org lower-case", one, ptr(with(le("E5"), func(r *record.Record) {
			r.CertIssuerOrg = "let's encrypt"
			r.WhoisCreationTime = created(3)
		})), []string{WhyLetsEncrypt, WhyYoung}, false},
		{"LE, typographic apostrophe", one, ptr(with(le("R11"), func(r *record.Record) {
			r.CertIssuerOrg = "Let\u2019s Encrypt"
			r.WhoisCreationTime = created(3)
		})), []string{WhyLetsEncrypt, WhyYoung}, false},
		{"age exactly 45 days", one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(45) })),
			[]string{WhyLetsEncrypt, WhyYoung}, false},
		{"age 45.004 rounds to 45.00 as SPL round(,2)", one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(45.004) })),
			[]string{WhyLetsEncrypt, WhyYoung}, false},
		{"age 45.01 days", one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(45.01) })),
			nil, false},
		{"registered after first contact (negative age)", one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(-1) })),
			[]string{WhyLetsEncrypt, WhyYoung}, false},
		{"young, other issuer", one, ptr(record.Record{VTFound: true, CertIssuerOrg: "Google Trust Services", WhoisCreationTime: created(20)}),
			[]string{WhyYoung}, false},
		{"young, look-alike issuer Fake Encrypt", one, ptr(record.Record{VTFound: true, CertIssuer: "C=US, O=Fake Encrypt, CN=R22", CertIssuerOrg: "Fake Encrypt", WhoisCreationTime: created(20)}),
			[]string{WhyYoung}, false},
		{"old X3 CN without LE org is not the LE rule", one, ptr(record.Record{VTFound: true, CertIssuer: "CN=Let's Encrypt Authority X3", WhoisCreationTime: created(5)}),
			[]string{WhyYoung}, false},
		{"LE, unknown age", one, ptr(le("R10")), nil, false},
		{"LE, old", one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(400) })), nil, false},
		{"2 positives, old", one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(3000), LastAnalysisPositive: i64(2)}),
			[]string{WhyPositives}, false},
		{"1 positive", one, ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(1)}), nil, false},
		{"positives and young", one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(1), LastAnalysisPositive: i64(7)}),
			[]string{WhyYoung, WhyPositives}, false},
		{"popular by rank: dropped though flagged", one, ptr(record.Record{VTFound: true, WhoisCreationTime: created(1), LastAnalysisPositive: i64(7), PopularityRank: i64(1500)}),
			nil, false},
		{"popular by Alexa: dropped", one, ptr(with(le("R10"), func(r *record.Record) { r.WhoisCreationTime = created(2); r.PopularityAlexa = i64(90000) })),
			nil, false},
		{"not found in VT: not flagged, not pending", one, ptr(record.NotFound("example.com", 1)), nil, false},
		{"no record: pending", one, nil, nil, true},
		{"browser only: dropped", []filesource.Event{
			ev("ws1", `C:\Program Files\Google\Chrome\Application\chrome.exe`, "evil.example.com", 0),
			ev("ws2", "MSEDGE.EXE", "evil.example.com", 0),
			ev("mac1", "Safari", "evil.example.com", 0),
			ev("ws3", "brave.exe", "evil.example.com", 0),
		}, ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(9)}), nil, false},
		{"10 hosts exactly: kept", hosts(10), ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(9)}), []string{WhyPositives}, false},
		{"11 hosts: dropped", hosts(11), ptr(record.Record{VTFound: true, LastAnalysisPositive: i64(9)}), nil, false},
		{"11 hosts, no record: dropped before lookup, not pending", hosts(11), nil, nil, false},
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
			got := Evaluate(c.events, lookup, DefaultRules())
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
			if f.Domain != "example.com" || f.Pending != c.pend || !reflect.DeepEqual(f.Why, c.want) {
				t.Fatalf("finding %+v: want domain example.com, pending %v, why %v", f, c.pend, c.want)
			}
		})
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
	if got := d.Candidates(); !reflect.DeepEqual(got, []string{"example.com"}) {
		t.Fatalf("Candidates = %v", got)
	}
	got := d.Findings(func(string) (record.Record, bool) {
		return record.Record{VTFound: true, WhoisCreationTime: i64(t0.Unix() - 86400), CertIssuerOrg: "Let's Encrypt", CertIssuer: "C=US, O=Let's Encrypt, CN=R10", LastAnalysisPositive: i64(0)}, true
	})
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
	rules := Rules{MaxAgeDays: 10, MaxDistinctHosts: 1, MinPositives: 1, Browsers: []string{"custom-browser.exe"}, IssuerOrg: LetsEncrypt}
	got := Evaluate(events, func(d string) (record.Record, bool) { r, ok := recs[d]; return r, ok }, rules)
	var names []string
	for _, f := range got {
		names = append(names, f.Domain)
	}
	if want := []string{"early.com", "late.com", "aa-pending.com", "zz-pending.com"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("order %v, want %v", names, want)
	}
}

func TestWriteTable(t *testing.T) {
	age := 8.5
	fs := []Finding{
		{Domain: "cdn-telemetry-sync.com", Hosts: []string{"WS-1", "WS-2", "WS-3", "WS-4"}, Count: 40, FirstSeen: t0,
			AgeDays: &age, Issuer: "C=US, O=Let's Encrypt, CN=R10", Positives: i64(0), Why: []string{WhyLetsEncrypt, WhyYoung}},
		{Domain: "new-thing.net", Hosts: []string{"WS-9"}, Count: 1, Pending: true},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, fs); err != nil {
		t.Fatal(err)
	}
	want := `DOMAIN                  HOSTS               FIRST SEEN (UTC)     AGE (DAYS)  ISSUER                         POSITIVES  WHY
cdn-telemetry-sync.com  4 (WS-1, WS-2, +2)  2025-03-14 14:00:00  8.50        C=US, O=Let's Encrypt, CN=R10  0          lets_encrypt_young, young
new-thing.net           1 (WS-9)            -                    -           -                              -          pending: not enriched yet
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

func TestWriteJSON(t *testing.T) {
	age := 8.5
	fs := []Finding{
		{Domain: "a.com", Hosts: []string{"WS-1"}, Count: 2, FirstSeen: t0, AgeDays: &age, Positives: i64(3), Why: []string{WhyPositives}},
		{Domain: "b.com", Count: 1, Pending: true},
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fs); err != nil {
		t.Fatal(err)
	}
	want := `[
{"domain":"a.com","hosts":["WS-1"],"count":2,"age_days":8.5,"positives":3,"why":["positives"],"first_seen":"2025-03-14T14:00:00Z"},
{"domain":"b.com","hosts":[],"count":1,"age_days":null,"positives":null,"pending":true,"first_seen":null}
]
`
	if buf.String() != want {
		t.Fatalf("JSON:\n%s\nwant:\n%s", buf.String(), want)
	}
	var back []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != 2 {
		t.Fatalf("not a JSON array: %v", err)
	}
	buf.Reset()
	WriteJSON(&buf, nil)
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Fatalf("empty JSON: %q", buf.String())
	}
}
