package filesource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
)

func collect(t *testing.T, path string, format Format, fields Fields) []Event {
	t.Helper()
	var out []Event
	if err := ReadEvents(context.Background(), path, format, fields, func(e Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestReadEventsNDJSONDefaults(t *testing.T) {
	got := collect(t, "testdata/events.ndjson", "", Fields{})
	want := []Event{
		{utc("2025-03-14T14:01:02.345Z"), "WS-0001.corp.example", "rundll32.exe", "cdn-telemetry-sync.com", KindDomain, `C:\Windows\System32\rundll32.exe`, "3"},
		{utc("2025-03-14T14:02:00Z"), "WS-0002.corp.example", "chrome.exe", "www.google.com", KindDomain, `C:\Program Files\Google\Chrome\Application\chrome.exe`, ""},
		{utc("2025-03-14T14:03:00.5Z"), "ws-0003", "powershell.exe", "a.example.com", KindDomain, "powershell.exe", ""},
		{utc("2025-03-14T14:03:00.5Z"), "ws-0003", "powershell.exe", "b.example.net", KindDomain, "powershell.exe", ""},
		{utc("2025-03-14T14:04:00Z"), "WS-0004", "curl", "", KindDomain, "/usr/bin/curl", ""}, // null destination: kept as junk for the sync to count
		// the record without any destination field is skipped; the preview row too
		{utc("2025-03-14T14:03:20Z"), "dns1", "", "final.example.org", KindDomain, "", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadEventsFieldMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proxy.jsonl")
	os.WriteFile(path, []byte(`{"ts":"2025-03-14T10:00:00Z","src":"10.1.1.1","app":"C:\\x\\teams.exe","url":"https://evil.example.com/x","http_host":"ignored.example"}`+"\n"), 0o600)
	got := collect(t, path, NDJSON, Fields{Domain: "url", Process: "app", Host: "src", Time: "ts"})
	want := []Event{{utc("2025-03-14T10:00:00Z"), "10.1.1.1", "teams.exe", "https://evil.example.com/x", KindDomain, `C:\x\teams.exe`, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestReadEventsCSV(t *testing.T) {
	got := collect(t, "testdata/events.csv", "", Fields{})
	want := []Event{
		{utc("2025-03-14T14:00:00Z"), "WS-0001", "rundll32.exe", "cdn-telemetry-sync.com", KindDomain, "rundll32.exe", ""},
		{utc("2025-03-14T14:00:01Z"), "WS-0002", "chrome.exe", "one.example.com", KindDomain, "chrome.exe", ""},
		{utc("2025-03-14T14:00:01Z"), "WS-0002", "chrome.exe", "two.example.com", KindDomain, "chrome.exe", ""},
		{utc("2025-03-14T14:00:02Z"), "WS-0003", "powershell.exe", "", KindDomain, "powershell.exe", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %+v\nwant %+v", got, want)
	}
	err := ReadEvents(context.Background(), "testdata/events.csv", CSV, Fields{Domain: "dest_host"}, func(Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `"dest_host"`) || !strings.Contains(err.Error(), "http_host") {
		t.Fatalf("missing column: err = %v, want one naming the column and listing the header", err)
	}
}

func TestReadEventsErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte("{\"query\":\"a.com\"}\n\n{\"query\": \"b.com\"\n"), 0o600)
	err := ReadEvents(context.Background(), bad, "", Fields{}, func(Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), bad+":3:") {
		t.Fatalf("err = %v, want one naming %s:3", err, bad)
	}
	err = ReadEvents(context.Background(), "testdata/domains.txt", "", Fields{}, func(Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "NDJSON or CSV") {
		t.Fatalf("domains list as events: err = %v", err)
	}
	err = ReadEvents(context.Background(), filepath.Join(dir, "missing.ndjson"), "", Fields{}, func(Event) error { return nil })
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.ndjson") {
		t.Fatalf("missing file: err = %v", err)
	}
	stop := errors.New("stop")
	n := 0
	err = ReadEvents(context.Background(), "testdata/events.ndjson", "", Fields{}, func(Event) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("fn's error: got %v after %d calls", err, n)
	}
}

func TestCandidates(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		want []string
	}{
		{"ndjson, all", Source{Path: "testdata/events.ndjson"},
			[]string{"cdn-telemetry-sync.com", "www.google.com", "a.example.com", "b.example.net", "", "final.example.org"}},
		{"ndjson, browsers excluded", Source{Path: "testdata/events.ndjson", Exclude: func(e Event) bool { return e.Process == "chrome.exe" }},
			[]string{"cdn-telemetry-sync.com", "a.example.com", "b.example.net", "", "final.example.org"}},
		{"csv", Source{Path: "testdata/events.csv", Fields: Fields{Domain: "http_host"}},
			[]string{"cdn-telemetry-sync.com", "one.example.com", "two.example.com", ""}},
		{"domains list", Source{Path: "testdata/domains.txt"},
			[]string{"example.com", "cdn-telemetry-sync.com", "www.update-kb-service.net"}},
		{"explicit format overrides the extension", Source{Path: "testdata/domains.txt", Format: Domains},
			[]string{"example.com", "cdn-telemetry-sync.com", "www.update-kb-service.net"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.src.Domain = namedKind{name: "domain"}
			var got []string
			if err := c.src.Candidates(context.Background(), func(_ kind.Kind, v string) error { got = append(got, v); return nil }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestCandidatesCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.txt")
	os.WriteFile(path, bytes.Repeat([]byte("example.com\n"), 10000), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Source{Path: path}).Candidates(ctx, func(kind.Kind, string) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" = not parsed
	}{
		{"2025-03-14 14:01:02.345", "2025-03-14T14:01:02.345Z"},
		{"2025-03-14 14:01:02", "2025-03-14T14:01:02Z"},
		{"2025-03-14T14:01:02.345678", "2025-03-14T14:01:02.345678Z"},
		{"2025-03-14T16:01:02+02:00", "2025-03-14T14:01:02Z"},
		{"1741960862", "2025-03-14T14:01:02Z"},
		{"1741960862.250", "2025-03-14T14:01:02.25Z"},
		{"", ""},
		{"yesterday", ""},
		{"2025-03-14T12:00:00.000+0000", "2025-03-14T12:00:00Z"},
		{"2025-03-14T14:00:00+0200", "2025-03-14T12:00:00Z"},
		{"2025-03-14 12:00:00.5-05:30", "2025-03-14T17:30:00.5Z"},
		{"2025-03-14T14:00:00+02", "2025-03-14T12:00:00Z"},
		{"2025-03-14 12:00:00Z", "2025-03-14T12:00:00Z"},
		{"2025-03-14 12:00:00 UTC", "2025-03-14T12:00:00Z"},
		{"2025-03-14T12:00:00.250UTC", "2025-03-14T12:00:00.25Z"},
		{"1741960862250", "2025-03-14T14:01:02.25Z"},
		{"1741960862250.4", "2025-03-14T14:01:02.25Z"},
		{"99999999999", "5138-11-16T09:46:39Z"},  // the last second read as seconds
		{"100000000000", "1973-03-03T09:46:40Z"}, // milliseconds from here
		{"100000000000000", ""},                  // beyond year 5138 in milliseconds
		{"NaN", ""},
		{"0x1p40", ""},
		{"1_741_960_862", ""},
		{"1.741960862e9", "2025-03-14T14:01:02Z"},
		{"2025-03-14 12:00:00 CET", ""},
		{"14/03/2025 12:00", ""},
		{"-5", ""},
	}
	for _, c := range cases {
		got, ok := ParseTime(c.in)
		if c.want == "" {
			if ok {
				t.Errorf("ParseTime(%q) = %v, want failure", c.in, got)
			}
			continue
		}
		if !ok || !got.Equal(utc(c.want)) {
			t.Errorf("ParseTime(%q) = %v %v, want %s", c.in, got, ok, c.want)
		}
	}
}

func TestProcessName(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`: "powershell.exe",
		"/Applications/Safari.app/Contents/MacOS/Safari":            "Safari",
		"chrome.exe":  "chrome.exe",
		" msedge.exe": "msedge.exe",
		"":            "",
	} {
		if got := ProcessName(in); got != want {
			t.Errorf("ProcessName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, c := range []struct{ in, path, want string }{
		{"", "x.ndjson", "ndjson"}, {"", "x.JSONL", "ndjson"}, {"", "x.csv", "csv"}, {"", "list.txt", "domains"},
		{"CSV", "x.ndjson", "csv"}, {"domains", "x.csv", "domains"},
	} {
		got, err := ParseFormat(c.in, c.path)
		if err != nil || string(got) != c.want {
			t.Errorf("ParseFormat(%q, %q) = %q, %v; want %q", c.in, c.path, got, err, c.want)
		}
	}
	if _, err := ParseFormat("xml", "x.xml"); err == nil || !strings.Contains(err.Error(), "ndjson, csv or domains") {
		t.Errorf("ParseFormat(xml): err = %v", err)
	}
}

func checkStats(t *testing.T, st Stats) {
	t.Helper()
	if st.BadTimes < 0 || st.BadTimes > st.Records || (st.BadTimes > 0) != (st.BadTime != "") {
		t.Fatalf("inconsistent stats %+v", st)
	}
	if st.BadTime != "" {
		if _, ok := ParseTime(st.BadTime); ok {
			t.Fatalf("stats name %q as unreadable, but it parses", st.BadTime)
		}
	}
}

// FuzzReadNDJSON checks that no input crashes the NDJSON reader and that
// every event it yields is internally consistent.
func FuzzReadNDJSON(f *testing.F) {
	seed, _ := os.ReadFile("testdata/events.ndjson")
	f.Add(seed)
	f.Add([]byte(`{"http_host":[1,null,{"a":1},["x"],"ok.com"],"UtcTime":12}`))
	f.Add([]byte(`{"preview":false,"result":"notanobject"}`))
	f.Add([]byte("\xef\xbb\xbf\n\n[]\n"))
	f.Add([]byte(`{"DestinationHostname":"\u0000\ud800"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := &reader{path: "fuzz", fn: func(e Event) error {
			if strings.ContainsAny(e.Process, `\/`) {
				t.Fatalf("process %q is not a base name", e.Process)
			}
			return nil
		}}
		rd.readNDJSON(context.Background(), bytes.NewReader(data))
		checkStats(t, rd.stats)
	})
}

// FuzzReadCSV does the same for CSV input.
func FuzzReadCSV(f *testing.F) {
	seed, _ := os.ReadFile("testdata/events.csv")
	f.Add(seed)
	f.Add([]byte("http_host\n\"a\nb\"\n\"unterminated"))
	f.Add([]byte("a,a,http_host\n1\n1,2,3,4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := &reader{path: "fuzz", fn: func(e Event) error {
			if strings.ContainsAny(e.Process, `\/`) {
				t.Fatalf("process %q is not a base name", e.Process)
			}
			return nil
		}}
		rd.readCSV(context.Background(), bytes.NewReader(data))
		checkStats(t, rd.stats)
	})
}

// A CSV export has every column on every row: the default names skip the
// empty cells (a Sysmon DNS query's DestinationHostname, a row's UtcTime)
// and take the next name's value. NDJSON's null and "" likewise.
func TestReadEventsDefaultsSkipEmpty(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "sysmon.csv")
	os.WriteFile(csvPath, []byte("UtcTime,_time,Computer,host,Image,DestinationHostname,QueryName\n"+
		"2025-03-14 14:00:00.000,,WS-1,,C:\\x\\rundll32.exe,cdn-telemetry-sync.com,\n"+
		"2025-03-14 14:00:01.000,,WS-2,,C:\\x\\nslookup.exe,,dns-only.example.com\n"+
		",1741960862,,ws-3,powershell.exe,,ps.example.net\n"+
		"2025-03-14 14:00:03.000,,WS-4,,curl.exe,,\n"), 0o600)
	want := []Event{
		{utc("2025-03-14T14:00:00Z"), "WS-1", "rundll32.exe", "cdn-telemetry-sync.com", KindDomain, `C:\x\rundll32.exe`, ""},
		{utc("2025-03-14T14:00:01Z"), "WS-2", "nslookup.exe", "dns-only.example.com", KindDomain, `C:\x\nslookup.exe`, ""},
		{utc("2025-03-14T14:01:02Z"), "ws-3", "powershell.exe", "ps.example.net", KindDomain, "powershell.exe", ""},
		{utc("2025-03-14T14:00:03Z"), "WS-4", "curl.exe", "", KindDomain, "curl.exe", ""}, // no destination at all: junk the sync counts
	}
	if got := collect(t, csvPath, "", Fields{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("csv:\n got %+v\nwant %+v", got, want)
	}

	jsonPath := filepath.Join(dir, "sysmon.ndjson")
	os.WriteFile(jsonPath, []byte(`{"UtcTime":"2025-03-14 14:00:01.000","Computer":"WS-2","Image":"nslookup.exe","DestinationHostname":"","QueryName":"dns-only.example.com"}`+"\n"+
		`{"UtcTime":null,"_time":1741960862,"Computer":"","host":"ws-3","Image":null,"process_name":"x","process":"powershell.exe","DestinationHostname":null,"query":[],"QueryName":["","ps.example.net"]}`+"\n"), 0o600)
	want = []Event{
		{utc("2025-03-14T14:00:01Z"), "WS-2", "nslookup.exe", "dns-only.example.com", KindDomain, "nslookup.exe", ""},
		{utc("2025-03-14T14:01:02Z"), "ws-3", "x", "", KindDomain, "x", ""},
		{utc("2025-03-14T14:01:02Z"), "ws-3", "x", "ps.example.net", KindDomain, "x", ""},
	}
	if got := collect(t, jsonPath, "", Fields{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("ndjson:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadCountsUnreadableTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.ndjson")
	os.WriteFile(path, []byte(`{"UtcTime":"2025-03-14T12:00:00.000+0000","DestinationHostname":"a.example.com"}`+"\n"+
		`{"UtcTime":"14/03/2025 12:00","DestinationHostname":"b.example.com"}`+"\n"+
		`{"UtcTime":"","_time":"yesterday","DestinationHostname":"c.example.com"}`+"\n"+
		`{"DestinationHostname":"d.example.com"}`+"\n"+
		`{"UtcTime":"garbage"}`+"\n"), 0o600)
	var times []time.Time
	st, err := Read(context.Background(), path, "", Fields{}, func(e Event) error { times = append(times, e.Time); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Records: 4, BadTimes: 2, TimeField: "UtcTime", BadTime: "14/03/2025 12:00"}); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	if want := []time.Time{utc("2025-03-14T12:00:00Z"), {}, {}, {}}; !reflect.DeepEqual(times, want) {
		t.Fatalf("times %v, want %v", times, want)
	}
	w := st.Warning(path)
	for _, part := range []string{path, "2 of 4 records", "field UtcTime", `"14/03/2025 12:00"`, "age rules", "time_field"} {
		if !strings.Contains(w, part) {
			t.Errorf("warning %q does not contain %q", w, part)
		}
	}
	if w := (Stats{Records: 3}).Warning(path); w != "" {
		t.Errorf("warning without bad times: %q", w)
	}
}

// FuzzParseTime checks that every time ParseTime reads is UTC and reads
// back the same from its RFC 3339 form.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-03-14 14:01:02.345", "2025-03-14T12:00:00.000+0000", "2025-03-14 12:00:00 UTC",
		"1741960862.250", "1741960862250", "2025-03-14T14:00:00+02", "1e11", "0x1p40", "UTC", "2025-03-14 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseTime(s)
		if !ok {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) = %v, not UTC", s, got)
		}
		if again, ok := ParseTime(got.Format(time.RFC3339Nano)); got.Year() >= 0 && got.Year() <= 9999 && (!ok || !again.Equal(got)) {
			t.Fatalf("ParseTime(%q) = %v, which reads back as %v %v", s, got, again, ok)
		}
	})
}

// A configured field name that the file does not have would silently turn
// off what reads it (the browser filter, the host count, the age rules).
func TestReadEventsConfiguredFieldMissing(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "e.csv")
	os.WriteFile(csvPath, []byte("_time,host,Image,http_host\n2025-03-14T12:00:00Z,h,chrome.exe,a.example.com\n2025-03-14T12:00:01Z,h,chrome.exe,b.example.com\n"), 0o600)
	jsonPath := filepath.Join(dir, "e.ndjson")
	os.WriteFile(jsonPath, []byte(`{"_time":1741960862,"Image":"chrome.exe","http_host":"a.example.com"}`+"\n"+
		`{"_time":1741960863,"host":"h","Image":"chrome.exe","http_host":"b.example.com"}`+"\n"), 0o600)
	cases := []struct {
		path   string
		fields Fields
		want   []string // "" = no error
	}{
		{csvPath, Fields{Process: "Image", Host: "host", Time: "_time", Domain: "http_host"}, nil},
		{csvPath, Fields{Process: "image"}, []string{csvPath, `no column "image" (process_field)`, "the header has: _time, host, Image, http_host"}},
		{csvPath, Fields{Host: "hots", Time: "time"}, []string{`no column "hots" (host_field), no column "time" (time_field)`}},
		{jsonPath, Fields{Process: "Image", Host: "host", Time: "_time", Domain: "http_host"}, nil},
		{jsonPath, Fields{Process: "image"}, []string{jsonPath, `no record has the field "image" (process_field)`, "the first record has: Image, _time, http_host"}},
		{jsonPath, Fields{Time: "ts", Domain: "url"}, []string{`no record has the field "url" (domain_field), nor "ts" (time_field)`}},
	}
	for _, c := range cases {
		n := 0
		err := ReadEvents(context.Background(), c.path, "", c.fields, func(Event) error { n++; return nil })
		if c.want == nil {
			if err != nil || n != 2 {
				t.Errorf("%s %+v: %d events, err %v", c.path, c.fields, n, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %+v: no error", c.path, c.fields)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %+v: err %q does not contain %q", c.path, c.fields, err, w)
			}
		}
		if n != 0 {
			t.Errorf("%s %+v: %d events passed on before the error", c.path, c.fields, n)
		}
	}
}

func TestLongLineNamed(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", maxLine+1)
	ndjson := filepath.Join(dir, "e.ndjson")
	os.WriteFile(ndjson, []byte(`{"query":"a.com"}`+"\n\n"+`{"query":"`+long+`"}`+"\n"), 0o600)
	err := ReadEvents(context.Background(), ndjson, "", Fields{}, func(Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), ndjson+":3: the line is longer than 4194304 bytes") {
		t.Errorf("ndjson: err = %v, want one naming %s:3", err, ndjson)
	}
	list := filepath.Join(dir, "domains.txt")
	os.WriteFile(list, []byte("a.com\n"+long+"\n"), 0o600)
	err = (&Source{Path: list}).Candidates(context.Background(), func(kind.Kind, string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), list+":2: the line is longer than 4194304 bytes") {
		t.Errorf("domains: err = %v, want one naming %s:2", err, list)
	}
}

// A configured field missing from a large NDJSON file is reported after at
// most maxHeld records, which are all that is held back meanwhile.
func TestReadEventsConfiguredFieldMissingInLargeFile(t *testing.T) {
	var b strings.Builder
	for i := range maxHeld + 5 {
		fmt.Fprintf(&b, `{"_time":1741960862,"Image":"x.exe","http_host":"d%d.example.com"}`+"\n", i)
	}
	path := filepath.Join(t.TempDir(), "big.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := ReadEvents(context.Background(), path, "", Fields{Host: "hostname"}, func(Event) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("none of the first %d records has the field \"hostname\" (host_field)", maxHeld)) || n != 0 {
		t.Errorf("%d events, err %v", n, err)
	}
}

// namedKind stands for a kind: the source only passes it along.
type namedKind struct {
	kind.Kind
	name string
}

func (k namedKind) Name() string { return k.name }

// With ip_field and hash_field set, one Sysmon export feeds three kinds:
// an EventCode 3 record its destination host name and IP address, an
// EventCode 1 record its image's Hashes. Browsers' network events are
// left out, their image hashes are not (the file detection has no browser
// filter). Empty values carry nothing, as in the modular input.
func TestCandidatesSeveralKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sysmon.ndjson")
	os.WriteFile(path, []byte(`{"EventID":3,"Image":"C:\\w\\rundll32.exe","DestinationHostname":"evil.example","DestinationIp":"45.141.215.19"}
{"EventID":1,"Image":"C:\\w\\chrome.exe","Hashes":"SHA256=AB,MD5=CD"}
{"EventID":3,"Image":"C:\\w\\chrome.exe","DestinationHostname":"www.google.com","DestinationIp":"142.250.1.1"}
{"EventID":3,"Image":"C:\\w\\curl.exe","DestinationIp":["8.8.8.8",""," 1.1.1.1 "]}
{"EventID":1,"Image":"C:\\w\\a.exe","Hashes":""}
`), 0o600)
	src := Source{
		Path: path, Fields: Fields{Domain: "DestinationHostname", IP: "DestinationIp", Hash: "Hashes"},
		Exclude: func(e Event) bool { return e.Process == "chrome.exe" },
		Domain:  namedKind{name: "domain"}, IP: namedKind{name: "ip"}, File: namedKind{name: "file"},
	}
	var got []string
	err := src.Candidates(context.Background(), func(k kind.Kind, v string) error { got = append(got, k.Name()+":"+v); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"domain:evil.example", "ip:45.141.215.19", "file:SHA256=AB,MD5=CD", "ip:8.8.8.8", "ip:1.1.1.1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}

	// Unset, the IP and hash fields are not read.
	src.Fields.IP, src.Fields.Hash = "", ""
	got = nil
	if err := src.Candidates(context.Background(), func(k kind.Kind, v string) error { got = append(got, k.Name()+":"+v); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"domain:evil.example"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("without ip_field and hash_field: got %q, want %q", got, want)
	}
}

// Each configured field is checked on its own: an ip_field or hash_field
// no record has is an error naming it, before anything is emitted, in
// NDJSON and in CSV.
func TestMissingKindFields(t *testing.T) {
	dir := t.TempDir()
	nd := filepath.Join(dir, "e.ndjson")
	os.WriteFile(nd, []byte(`{"DestinationHostname":"a.example","DestinationIp":"8.8.8.8"}`+"\n"), 0o600)
	csvPath := filepath.Join(dir, "e.csv")
	os.WriteFile(csvPath, []byte("DestinationHostname,DestinationIp\na.example,8.8.8.8\n"), 0o600)
	for _, path := range []string{nd, csvPath} {
		for _, c := range []struct {
			fields Fields
			key    string
		}{
			{Fields{IP: "DestIp"}, "ip_field"},
			{Fields{Hash: "Hashes"}, "hash_field"},
			{Fields{IP: "DestinationIp", Hash: "Hashes"}, "hash_field"},
		} {
			n := 0
			err := ReadEvents(context.Background(), path, "", c.fields, func(Event) error { n++; return nil })
			if err == nil || !strings.Contains(err.Error(), c.key) || n != 0 {
				t.Errorf("%s with %+v: err = %v after %d events, want an error naming %s and no event", filepath.Base(path), c.fields, err, n, c.key)
			}
		}
	}
	// Process creations only: with hash_field set, no default destination
	// field is not an error.
	pc := filepath.Join(dir, "pc.ndjson")
	os.WriteFile(pc, []byte(`{"Image":"a.exe","Hashes":"MD5=00"}`+"\n"), 0o600)
	var got []Event
	if err := ReadEvents(context.Background(), pc, "", Fields{Hash: "Hashes"}, func(e Event) error { got = append(got, e); return nil }); err != nil || len(got) != 1 || got[0].Kind != KindFile {
		t.Errorf("process creations with hash_field: %v, %+v", err, got)
	}
	if err := ReadEvents(context.Background(), pc, "", Fields{}, func(Event) error { return nil }); err == nil || !strings.Contains(err.Error(), "domain_field") {
		t.Errorf("process creations without hash_field: err = %v, want the no-destination error", err)
	}
}

// NoDomain (domain_field set empty) reads a file for its IP addresses and
// hashes only, even where records hold a destination host name; with no
// other field set it is an error naming the settings, before any event.
func TestNoDomain(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, data string }{
		{"e.ndjson", `{"EventID":3,"Image":"a.exe","DestinationHostname":"evil.example","DestinationIp":"45.141.215.19"}
{"EventID":22,"Image":"a.exe","QueryName":"other.example"}
{"EventID":1,"Image":"a.exe","Hashes":"MD5=00"}
`},
		{"e.csv", "EventID,Image,DestinationHostname,QueryName,DestinationIp,Hashes\n" +
			"3,a.exe,evil.example,,45.141.215.19,\n22,a.exe,,other.example,,\n1,a.exe,,,,MD5=00\n"},
	} {
		path := filepath.Join(dir, c.name)
		os.WriteFile(path, []byte(c.data), 0o600)
		var got []string
		fields := Fields{NoDomain: true, Domain: "DestinationHostname", IP: "DestinationIp", Hash: "Hashes"}
		err := ReadEvents(context.Background(), path, "", fields, func(e Event) error {
			got = append(got, e.Kind+":"+e.Dest)
			return nil
		})
		if want := []string{"ip:45.141.215.19", "file:MD5=00"}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, want)
		}
		// Only the IP field: no error for the missing default destination fields.
		got = nil
		if err := ReadEvents(context.Background(), path, "", Fields{NoDomain: true, IP: "DestinationIp"}, func(e Event) error {
			got = append(got, e.Kind+":"+e.Dest)
			return nil
		}); err != nil || !reflect.DeepEqual(got, []string{"ip:45.141.215.19"}) {
			t.Errorf("%s with ip_field only: got %q, %v", c.name, got, err)
		}
		n := 0
		err = ReadEvents(context.Background(), path, "", Fields{NoDomain: true}, func(Event) error { n++; return nil })
		if err == nil || n != 0 || !strings.Contains(err.Error(), "domain_field") || !strings.Contains(err.Error(), "ip_field") || !strings.Contains(err.Error(), "hash_field") {
			t.Errorf("%s with no kind: err = %v after %d events, want an error naming domain_field, ip_field and hash_field", c.name, err, n)
		}
	}
}

// AllKinds reads a file vtsync has no configuration for under every kind's
// default names: Sysmon's DestinationIp and Hashes (or CIM's dest_ip and
// process_hash) beside the destination host name, with each record's
// image and event code. A file with none of those fields is an error
// naming them all; one with IP addresses or hashes only is not.
func TestReadAllKinds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sysmon.ndjson")
	os.WriteFile(path, []byte(`{"EventID":22,"UtcTime":"2025-03-14 14:00:00.000","Computer":"WS-1","Image":"C:\\w\\a.exe","QueryName":"q.example"}
{"EventID":3,"UtcTime":"2025-03-14 14:00:01.000","Computer":"WS-1","Image":"C:\\w\\a.exe","DestinationHostname":"d.example","DestinationIp":"45.141.215.19"}
{"EventCode":"1","UtcTime":"2025-03-14 14:00:02.000","Computer":"WS-2","Image":"C:\\w\\b.exe","Hashes":"MD5=0123456789ABCDEF0123456789ABCDEF"}
{"_time":"2025-03-14T14:00:03Z","src":"WS-3","dest_ip":"8.8.8.8"}
{"_time":"2025-03-14T14:00:04Z","host":"WS-4","process":"c.exe","process_hash":"0123456789abcdef0123456789abcdef01234567"}
`), 0o600)
	var got []string
	err := ReadEvents(context.Background(), path, "", Fields{AllKinds: true}, func(e Event) error {
		got = append(got, strings.Join([]string{e.Code, e.Kind, e.Dest, e.Host, e.Image}, "|"))
		return nil
	})
	want := []string{
		`22|domain|q.example|WS-1|C:\w\a.exe`,
		`3|domain|d.example|WS-1|C:\w\a.exe`,
		`3|ip|45.141.215.19|WS-1|C:\w\a.exe`,
		`1|file|MD5=0123456789ABCDEF0123456789ABCDEF|WS-2|C:\w\b.exe`,
		`|ip|8.8.8.8||`,
		`|file|0123456789abcdef0123456789abcdef01234567|WS-4|c.exe`,
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	// Without AllKinds, the same file gives its host names only.
	got = nil
	if err := ReadEvents(context.Background(), path, "", Fields{}, func(e Event) error { got = append(got, e.Kind); return nil }); err != nil || !reflect.DeepEqual(got, []string{"domain", "domain"}) {
		t.Fatalf("without AllKinds: %q, %v", got, err)
	}

	ipOnly := filepath.Join(dir, "ip.csv")
	os.WriteFile(ipOnly, []byte("host,dest_ip\nWS-1,8.8.8.8\n"), 0o600)
	got = nil
	if err := ReadEvents(context.Background(), ipOnly, "", Fields{AllKinds: true}, func(e Event) error { got = append(got, e.Dest); return nil }); err != nil || !reflect.DeepEqual(got, []string{"8.8.8.8"}) {
		t.Fatalf("IP addresses only: %q, %v", got, err)
	}
	for name, data := range map[string]string{"none.ndjson": `{"host":"WS-1","dest":"x"}` + "\n", "none.csv": "host,dest\nWS-1,x\n"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o600)
		err := ReadEvents(context.Background(), p, "", Fields{AllKinds: true}, func(Event) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "DestinationHostname") || !strings.Contains(err.Error(), "DestinationIp") || !strings.Contains(err.Error(), "Hashes") {
			t.Errorf("%s: err = %v, want one naming the default fields of every kind", name, err)
		}
	}
}

// The sync reads what the detections ask about: an IP address only from a
// network connection (Sysmon EventCode 3) and a hash only from a process
// creation (EventCode 1), as the app's candidate searches do; an image
// load's Hashes (EventCode 7) name a DLL and are not looked up. Records
// without an event code give both.
func TestCandidatesSysmonCodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sysmon.ndjson")
	os.WriteFile(path, []byte(`{"EventID":3,"Image":"a.exe","DestinationHostname":"evil.example","DestinationIp":"45.141.215.19"}
{"EventID":1,"Image":"a.exe","Hashes":"MD5=0123456789abcdef0123456789abcdef"}
{"EventID":7,"Image":"a.exe","ImageLoaded":"x.dll","Hashes":"MD5=fedcba9876543210fedcba9876543210"}
{"EventCode":"22","Image":"a.exe","QueryName":"q.example","DestinationIp":"8.8.4.4"}
{"Image":"b.exe","DestinationIp":"8.8.8.8","Hashes":"MD5=00112233445566778899aabbccddeeff"}
`), 0o600)
	src := Source{Path: path, Fields: Fields{IP: "DestinationIp", Hash: "Hashes"},
		Domain: namedKind{name: "domain"}, IP: namedKind{name: "ip"}, File: namedKind{name: "file"}}
	var got []string
	if err := src.Candidates(context.Background(), func(k kind.Kind, v string) error { got = append(got, k.Name()+":"+v); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"domain:evil.example", "ip:45.141.215.19", "file:MD5=0123456789abcdef0123456789abcdef",
		"domain:q.example", "ip:8.8.8.8", "file:MD5=00112233445566778899aabbccddeeff"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
