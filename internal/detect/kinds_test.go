package detect

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/filesource"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/record"
)

// none reads no record of any kind: every indicator is pending.
var none = Lookups{
	Domain: func(string) (record.Record, bool) { return record.Record{}, false },
	IP:     func(string) (ipkind.Record, bool) { return ipkind.Record{}, false },
	File:   func(string) (filekind.Record, bool) { return filekind.Record{}, false },
}

// A detection without a lookup is not run: it has no findings, though its
// events were read.
func TestDetectionNotRun(t *testing.T) {
	events := []filesource.Event{ev("ws1", "a.exe", "evil.example", 0), ipEv("ws1", "a.exe", "8.8.8.8", 0), procEv("ws1", "a.exe", "MD5="+md5Viewer, 0)}
	for _, c := range []struct {
		l    Lookups
		kind string
	}{{Lookups{Domain: none.Domain}, KindDomain}, {Lookups{IP: none.IP}, KindIP}, {Lookups{File: none.File}, KindFile}} {
		fs := Evaluate(events, c.l, DefaultRules())
		if len(fs) != 1 || fs[0].Kind != c.kind || fs[0].Status != StatusPending {
			t.Errorf("with the %s lookup only: %+v", c.kind, fs)
		}
	}
	if fs := Evaluate(events, Lookups{}, DefaultRules()); len(fs) != 0 {
		t.Errorf("without lookups: %+v", fs)
	}
}

// ipEv is a Sysmon network connection (EventCode 3) to an address.
func ipEv(host, image, ip string, at time.Duration) filesource.Event {
	return filesource.Event{Time: t0.Add(at), Host: host, Process: filesource.ProcessName(image), Image: image, Dest: ip, Kind: KindIP, Code: "3"}
}

// procEv is a Sysmon process creation (EventCode 1) with its Hashes.
func procEv(host, image, hashes string, at time.Duration) filesource.Event {
	return filesource.Event{Time: t0.Add(at), Host: host, Process: filesource.ProcessName(image), Image: image, Dest: hashes, Kind: KindFile, Code: "1"}
}

func ipRec(found bool, positives int64) *ipkind.Record {
	return &ipkind.Record{Key: "193.142.146.35", IP: "193.142.146.35", VTFound: found, LastAnalysisPositive: &positives, ASOwner: "DEMO-AS", Country: "NL"}
}

// The IP address detection, as vtsync_ip_detection writes it: engines
// (min_positives) flag an address whatever else; unknown to VirusTotal
// only with flag_not_found; no record is pending. Browsers, other event
// codes and addresses vtsync never looks up are left out, and there is no
// host-count filter.
func TestIPRules(t *testing.T) {
	const addr = "193.142.146.35"
	one := []filesource.Event{ipEv("ws1", `C:\Windows\System32\rundll32.exe`, addr, 0)}
	def := DefaultRules()
	notFound := def
	notFound.FlagNotFound = true
	pendingAlerts := def
	pendingAlerts.AlertPending = true
	var many []filesource.Event
	for i := range 24 {
		many = append(many, ipEv(fmt.Sprintf("ws%02d", i), "svchost.exe", addr, time.Duration(i)*time.Second))
	}
	cases := []struct {
		name    string
		rules   Rules
		events  []filesource.Event
		rec     *ipkind.Record // nil = none
		status  string         // "" = no finding
		alert   bool
		reasons []string
	}{
		{"9 engines: flagged", def, one, ipRec(true, 9), StatusFlagged, true, []string{"9 engines call it malicious"}},
		{"2 engines: flagged", def, one, ipRec(true, 2), StatusFlagged, true, []string{"2 engines call it malicious"}},
		{"1 engine: clear", def, one, ipRec(true, 1), "", false, nil},
		{"not found: clear by default", def, one, &ipkind.Record{Key: addr}, "", false, nil},
		{"not found, flag_not_found on", notFound, one, &ipkind.Record{Key: addr}, StatusFlagged, true, []string{"unknown to VirusTotal"}},
		{"no record: pending", def, one, nil, StatusPending, false, []string{ReasonPending}},
		{"no record, alert_pending on", pendingAlerts, one, nil, StatusPending, true, []string{ReasonPending}},
		{"24 endpoints: no host-count filter", def, many, ipRec(true, 9), StatusFlagged, true, nil},
		{"browsers only: dropped", def, []filesource.Event{
			ipEv("ws1", `C:\Program Files\Google\Chrome\Application\chrome.exe`, addr, 0),
			ipEv("ws2", "MSEDGE.EXE", addr, 0),
		}, ipRec(true, 9), "", false, nil},
		{"another event code: dropped", def, []filesource.Event{{Host: "ws1", Process: "svchost.exe", Dest: addr, Kind: KindIP, Code: "22"}}, ipRec(true, 9), "", false, nil},
		{"no event code (CIM): read", def, []filesource.Event{{Host: "ws1", Dest: addr, Kind: KindIP}}, ipRec(true, 9), StatusFlagged, true, nil},
		{"port and brackets: the address", def, []filesource.Event{ipEv("ws1", "a.exe", addr+":443", 0)}, ipRec(true, 9), StatusFlagged, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lookup := func(ip string) (ipkind.Record, bool) {
				if ip != addr {
					t.Errorf("lookup of %q, want %s", ip, addr)
				}
				if c.rec == nil {
					return ipkind.Record{}, false
				}
				return *c.rec, true
			}
			got := Evaluate(c.events, Lookups{IP: lookup}, c.rules)
			if c.status == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want 1 finding, got %+v", got)
			}
			f := got[0]
			if f.Kind != KindIP || f.Indicator != addr || f.Status != c.status || f.Alert != c.alert {
				t.Fatalf("finding %+v, want %s %s alert %v", f, addr, c.status, c.alert)
			}
			if c.reasons != nil && !reflect.DeepEqual(f.Reasons, c.reasons) {
				t.Errorf("reasons %q, want %q", f.Reasons, c.reasons)
			}
			if c.status == StatusFlagged && c.rec.VTFound && (f.ASOwner != "DEMO-AS" || f.Country != "NL" || f.Positives == nil) {
				t.Errorf("finding lacks the record's network: %+v", f)
			}
		})
	}
}

// Addresses are aggregated by their canonical form (the collection's key);
// addresses vtsync never looks up are counted as rejected, never pending.
func TestIPAggregation(t *testing.T) {
	events := []filesource.Event{
		ipEv("WS-2", "a.exe", "2606:4700:4700:0:0:0:0:1111", 10*time.Minute),
		ipEv("WS-1", "a.exe", "[2606:4700:4700::1111]:53", 5*time.Minute),
		ipEv("WS-1", "a.exe", "::ffff:8.8.8.8", 0),
		ipEv("WS-3", "chrome.exe", "8.8.8.8", -time.Hour), // browser: not counted, even earlier
		ipEv("WS-3", "a.exe", "10.1.2.3", 0),
		ipEv("WS-3", "a.exe", "fe80::1", 0),
		ipEv("WS-3", "a.exe", "192.0.2.7", 0),
		ipEv("WS-3", "a.exe", "-", 0),
		{Host: "WS-4", Process: "a.exe", Dest: "8.8.8.8", Kind: KindIP, Code: "7"},
		ev("WS-5", "a.exe", "example.com", 0), // a domain: the domain detection's
	}
	d := New(DefaultRules())
	for _, e := range events {
		d.Add(e)
	}
	if got := d.IPCandidates(); !reflect.DeepEqual(got, []string{"2606:4700:4700::1111", "8.8.8.8"}) {
		t.Fatalf("IPCandidates = %v", got)
	}
	fs := d.Findings(none)
	if len(fs) != 3 || fs[0].Kind != KindDomain || fs[1].Indicator != "2606:4700:4700::1111" || fs[2].Indicator != "8.8.8.8" {
		t.Fatalf("findings %+v", fs)
	}
	if f := fs[1]; f.Count != 2 || !reflect.DeepEqual(f.Hosts, []string{"WS-1", "WS-2"}) || !f.FirstSeen.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("aggregate %+v", f)
	}
	want := KindStats{Events: 9, Other: 1, Browser: 1, Rejected: 4, Distinct: 2, Pending: 2}
	if st := d.Stats(); st.IP != want || st.Events != 1 {
		t.Fatalf("stats %+v, want IP %+v and one domain event", st, want)
	}
}

const (
	sha256Viewer = "e07e0265c9c86abc05c485700521f4304e2a218ff7c0161ccb32ba901f856637"
	sha1Viewer   = "7a348e792a408e1c579d21dc05ddf8d5a89ec87a"
	md5Viewer    = "0f343b0931126a20f133d67c2b018a3b"
)

func sysmonHashes(sha1, md5, sha256 string) string {
	var parts []string
	for _, p := range [][2]string{{"SHA1", sha1}, {"MD5", md5}, {"SHA256", sha256}} {
		if p[1] != "" {
			parts = append(parts, p[0]+"="+strings.ToUpper(p[1]))
		}
	}
	return strings.Join(append(parts, "IMPHASH="+strings.Repeat("0", 32)), ",")
}

// The process image detection, as vtsync_file_detection writes it: the
// image's record is read by its SHA-256, else its SHA-1, else its MD5;
// engines flag it, with VirusTotal's threat label in brackets; browsers
// are not left out; only process creations (EventCode 1) count.
func TestFileRules(t *testing.T) {
	viewer := `C:\Users\u\AppData\Local\Temp\Invoice_viewer.exe`
	all := sysmonHashes(sha1Viewer, md5Viewer, sha256Viewer)
	found := filekind.Record{VTFound: true, SHA256: sha256Viewer, SHA1: sha1Viewer, MD5: md5Viewer,
		LastAnalysisPositive: i64(38), PopularThreatLabel: "trojan.agenttesla/msil"}
	noLabel := found
	noLabel.PopularThreatLabel = ""
	def := DefaultRules()
	notFound := def
	notFound.FlagNotFound = true
	cases := []struct {
		name    string
		rules   Rules
		event   filesource.Event
		recs    map[string]filekind.Record // by key
		want    string                     // indicator; "" = no finding
		status  string
		reasons []string
		asked   []string // keys looked up, in order
	}{
		{"38 engines, label", def, procEv("ws1", viewer, all, 0), map[string]filekind.Record{sha256Viewer: found},
			sha256Viewer, StatusFlagged, []string{"38 engines call it malicious (trojan.agenttesla/msil)"}, []string{sha256Viewer}},
		{"no label", def, procEv("ws1", viewer, all, 0), map[string]filekind.Record{sha256Viewer: noLabel},
			sha256Viewer, StatusFlagged, []string{"38 engines call it malicious"}, []string{sha256Viewer}},
		{"stored by its SHA-1 only: read by it", def, procEv("ws1", viewer, all, 0), map[string]filekind.Record{sha1Viewer: found},
			sha256Viewer, StatusFlagged, nil, []string{sha256Viewer, sha1Viewer}},
		{"stored by its MD5 only: read by it", def, procEv("ws1", viewer, all, 0), map[string]filekind.Record{md5Viewer: found},
			sha256Viewer, StatusFlagged, nil, []string{sha256Viewer, sha1Viewer, md5Viewer}},
		{"Sysmon hashing MD5 and SHA1 only: keyed by the SHA-1", def, procEv("ws1", viewer, sysmonHashes(sha1Viewer, md5Viewer, ""), 0),
			map[string]filekind.Record{sha1Viewer: found}, sha1Viewer, StatusFlagged, nil, []string{sha1Viewer}},
		{"no record: pending", def, procEv("ws1", viewer, all, 0), nil,
			sha256Viewer, StatusPending, []string{ReasonPending}, []string{sha256Viewer, sha1Viewer, md5Viewer}},
		{"1 engine: clear", def, procEv("ws1", viewer, all, 0), map[string]filekind.Record{sha256Viewer: {VTFound: true, LastAnalysisPositive: i64(1)}},
			"", "", nil, []string{sha256Viewer}},
		{"not found, flag_not_found on", notFound, procEv("ws1", viewer, all, 0), map[string]filekind.Record{sha256Viewer: {Key: sha256Viewer, SHA256: sha256Viewer}},
			sha256Viewer, StatusFlagged, []string{"unknown to VirusTotal"}, []string{sha256Viewer}},
		{"a browser's image: judged", def, procEv("ws1", `C:\x\chrome.exe`, all, 0), map[string]filekind.Record{sha256Viewer: found},
			sha256Viewer, StatusFlagged, nil, []string{sha256Viewer}},
		{"an image load (EventCode 7): dropped", def, filesource.Event{Host: "ws1", Image: viewer, Dest: all, Kind: KindFile, Code: "7"},
			map[string]filekind.Record{sha256Viewer: found}, "", "", nil, nil},
		{"IMPHASH only: dropped", def, procEv("ws1", viewer, "IMPHASH="+md5Viewer, 0), nil, "", "", nil, nil},
		{"a bare hash (no event code)", def, filesource.Event{Host: "ws1", Dest: strings.ToUpper(md5Viewer), Kind: KindFile},
			map[string]filekind.Record{md5Viewer: found}, md5Viewer, StatusFlagged, nil, []string{md5Viewer}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var asked []string
			lookup := func(h string) (filekind.Record, bool) {
				asked = append(asked, h)
				r, ok := c.recs[h]
				return r, ok
			}
			got := Evaluate([]filesource.Event{c.event}, Lookups{File: lookup}, c.rules)
			if !reflect.DeepEqual(asked, c.asked) {
				t.Errorf("looked up %q, want %q", asked, c.asked)
			}
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want 1 finding, got %+v", got)
			}
			f := got[0]
			if f.Kind != KindFile || f.Indicator != c.want || f.Status != c.status || f.Alert != (c.status == StatusFlagged) {
				t.Fatalf("finding %+v, want %s %s", f, c.want, c.status)
			}
			if c.reasons != nil && !reflect.DeepEqual(f.Reasons, c.reasons) {
				t.Errorf("reasons %q, want %q", f.Reasons, c.reasons)
			}
			if c.status == StatusFlagged && c.event.Image != "" && (!reflect.DeepEqual(f.Images, []string{c.event.Image}) || f.MD5 != md5Viewer || f.SHA1 != sha1Viewer) {
				t.Errorf("finding lacks its image or hashes: %+v", f)
			}
		})
	}
}

// Images are aggregated by their strongest hash: the same file under two
// paths is one finding with both images; the detection's stats count what
// it dropped.
func TestFileAggregation(t *testing.T) {
	all := sysmonHashes(sha1Viewer, md5Viewer, sha256Viewer)
	events := []filesource.Event{
		procEv("WS-2", `C:\Temp\b.exe`, all, 2*time.Minute),
		procEv("WS-1", `C:\Temp\a.exe`, all, time.Minute),
		procEv("WS-1", `C:\Temp\a.exe`, all, 3*time.Minute),
		procEv("WS-3", `C:\Temp\c.exe`, sysmonHashes(sha1Viewer, md5Viewer, ""), 0),
		procEv("WS-3", `C:\Temp\d.exe`, "IMPHASH="+md5Viewer, 0),
		procEv("WS-3", `C:\Temp\d.exe`, "SHA256=123", 0),
		{Host: "WS-3", Image: `C:\Temp\e.dll`, Dest: all, Kind: KindFile, Code: "7"},
	}
	d := New(DefaultRules())
	for _, e := range events {
		d.Add(e)
	}
	if got := d.FileCandidates(); !reflect.DeepEqual(got, []string{md5Viewer, sha1Viewer, sha256Viewer}) {
		t.Fatalf("FileCandidates = %v", got)
	}
	fs := d.Findings(none)
	if len(fs) != 2 || fs[0].Indicator != sha1Viewer || fs[1].Indicator != sha256Viewer {
		t.Fatalf("findings %+v", fs)
	}
	if f := fs[1]; f.Count != 3 || !reflect.DeepEqual(f.Images, []string{`C:\Temp\a.exe`, `C:\Temp\b.exe`}) ||
		!reflect.DeepEqual(f.Hosts, []string{"WS-1", "WS-2"}) || !f.FirstSeen.Equal(t0.Add(time.Minute)) ||
		f.SHA256 != sha256Viewer || f.SHA1 != sha1Viewer || f.MD5 != md5Viewer {
		t.Errorf("aggregate %+v", f)
	}
	want := KindStats{Events: 7, Other: 1, Rejected: 2, Distinct: 2, Pending: 2}
	if st := d.Stats(); st.File != want {
		t.Fatalf("stats %+v, want %+v", st.File, want)
	}
}

// --all lists the addresses and images no rule flagged, with the reason.
func TestKindsKeepClear(t *testing.T) {
	d := New(DefaultRules())
	d.KeepClear = true
	d.Add(ipEv("ws1", "a.exe", "8.8.8.8", 0))
	d.Add(ipEv("ws1", "a.exe", "1.1.1.1", 0))
	d.Add(ipEv("ws1", "a.exe", "9.9.9.9", 0))
	d.Add(procEv("ws1", "a.exe", "MD5="+md5Viewer, 0))
	fs := d.Findings(Lookups{
		IP: func(ip string) (ipkind.Record, bool) {
			switch ip {
			case "8.8.8.8":
				return ipkind.Record{VTFound: true, LastAnalysisPositive: i64(0)}, true
			case "1.1.1.1":
				return ipkind.Record{VTFound: true, LastAnalysisPositive: i64(1)}, true
			}
			return ipkind.Record{}, true // not found
		},
		File: func(string) (filekind.Record, bool) { return filekind.Record{VTFound: true}, true },
	})
	var got []string
	for _, f := range fs {
		got = append(got, f.Indicator+": "+f.Status+": "+strings.Join(f.Reasons, "; "))
	}
	want := []string{
		"1.1.1.1: clear: 1 engine calls it malicious: fewer than min_positives 2",
		"8.8.8.8: clear: no engine calls it malicious",
		"9.9.9.9: clear: unknown to VirusTotal (flag_not_found is off)",
		md5Viewer + ": clear: no engine calls it malicious",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestWriteTableKinds(t *testing.T) {
	fs := []Finding{
		{Kind: KindFile, Indicator: sha256Viewer, Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious},
			Reasons: []string{"38 engines call it malicious (trojan.agenttesla/msil)"}, Hosts: []string{"WS-113"}, Count: 1, FirstSeen: t0,
			Images: []string{`C:\Users\user114\AppData\Local\Temp\Invoice_2025-0314_viewer.exe`}},
		{Kind: KindFile, Indicator: md5Viewer, Status: StatusPending, Alert: true, Reasons: []string{ReasonPending}, Count: 2,
			Images: []string{`C:\a\x.exe`, `C:\b\x.exe`, `C:\c\y.exe`}},
		{Kind: KindIP, Indicator: "193.142.146.35", Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious},
			Reasons: []string{"9 engines call it malicious"}, Hosts: []string{"WS-117", "WS-123", "WS-131"}, Count: 19, FirstSeen: t0.Add(17 * time.Minute),
			ASOwner: "DEMO-HOSTING-AS (fictional)", Country: "NL"},
		{Kind: KindDomain, Indicator: "update-kb-service.net", Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious},
			Reasons: []string{"6 engines call it malicious"}, Hosts: []string{"WS-1"}, Count: 1, FirstSeen: t0},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, fs); err != nil {
		t.Fatal(err)
	}
	want := `DOMAIN                 STATUS    HOSTS  FIRST CONTACT (UTC)
update-kb-service.net  flagged       1  2025-03-14 14:00:00
    - 6 engines call it malicious
    on WS-1

IP ADDRESS      STATUS    HOSTS  FIRST CONTACT (UTC)
193.142.146.35  flagged       3  2025-03-14 14:17:00
    - 9 engines call it malicious
    network of DEMO-HOSTING-AS (fictional), NL
    on WS-117, WS-123, and 1 more

PROCESS IMAGE                 STATUS    HOSTS  FIRST SEEN (UTC)
Invoice_2025-0314_viewer.exe  flagged       1  2025-03-14 14:00:00
    - 38 engines call it malicious (trojan.agenttesla/msil)
    sha256 e07e0265c9c86abc05c485700521f4304e2a218ff7c0161ccb32ba901f856637
    image C:\Users\user114\AppData\Local\Temp\Invoice_2025-0314_viewer.exe
    on WS-113
x.exe                         pending!      0  -
    - not looked up by vtsync yet
    md5 0f343b0931126a20f133d67c2b018a3b
    images C:\a\x.exe, C:\b\x.exe, and 1 more
`
	if got := buf.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}

// Text from data in the IP address and image sections (an image path from
// an event, an AS owner or threat label from VirusTotal) never writes a
// control character, and no line is wider than 80 columns.
func TestTableHostileKinds(t *testing.T) {
	hostile := "\x1b]0;owned\x07\x1b[2J\r\nfake  flagged"
	fs := []Finding{
		{Kind: KindIP, Indicator: "193.142.146.35" + hostile, Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious},
			Reasons: []string{"9 engines call it malicious"}, ASOwner: hostile + strings.Repeat(" AS", 40), Country: hostile, Hosts: []string{hostile}},
		{Kind: KindFile, Indicator: sha256Viewer, Status: StatusFlagged, Alert: true, Rules: []string{RuleMalicious},
			Reasons: []string{"38 engines call it malicious (" + hostile + ")"},
			Images:  []string{`C:\` + strings.Repeat("deep\\", 30) + "x" + hostile + strings.Repeat("y", 90) + ".exe", "\u202eexe.evil"}},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, fs); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line %d is %d columns: %q", i, n, line)
		}
		for _, r := range line {
			if r < 0x20 || r == 0x7f || r == '\u202e' {
				t.Fatalf("line %d has control character %U: %q", i, r, line)
			}
		}
	}
	if !strings.Contains(buf.String(), `\x1b]0;owned`) {
		t.Errorf("the escape is not shown escaped:\n%s", buf.String())
	}
}
