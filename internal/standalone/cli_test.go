package standalone

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/detect"
	"github.com/vtsync/vtsync/internal/kind"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

var demoDir = filepath.Join("..", "..", "examples", "demo")

// copyDemo copies the demo's configuration and data into a temporary
// directory, so runs write their store there and not into the tree.
func copyDemo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{"vtsync.yaml", "events.ndjson", "events-late.ndjson", "expected-detections.json"} {
		b, err := os.ReadFile(filepath.Join(demoDir, name))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dst, name, string(b))
	}
	vts, _ := filepath.Glob(filepath.Join(demoDir, "vt", "*.json"))
	if len(vts) == 0 {
		t.Fatal("no demo VirusTotal files")
	}
	// vt/ holds domains at its top, IP addresses and files below it.
	if err := os.CopyFS(filepath.Join(dst, "vt"), os.DirFS(filepath.Join(demoDir, "vt"))); err != nil {
		t.Fatal(err)
	}
	return dst
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, main func(context.Context, []string, io.Reader, io.Writer, io.Writer) int, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func summaryOf(t *testing.T, stdout string) pipeline.Summary {
	t.Helper()
	var s pipeline.Summary
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout has %d lines, want one summary JSON line:\n%s", len(lines), stdout)
	}
	if err := json.Unmarshal([]byte(lines[0]), &s); err != nil {
		t.Fatalf("stdout is not a summary: %v\n%s", err, stdout)
	}
	return s
}

// flagged and leftAlone are the demo's story (examples/demo/README.md).
var (
	flagged   = []string{"cdn-telemetry-sync.com", "update-kb-service.net", "invoice-portal-review.com", "adnet-telemetry.net"}
	leftAlone = []string{
		"microsoft.com", "google.com", // more than 10 hosts
		"raw.githubusercontent.com", "notepad-plus-plus.org", // old, at most 1 engine
		"newco-collab.app",           // young, but popular
		"legacy-vendor-portal.com",   // registered after the contact
		"promo-deals-today.shop",     // browsers only
		"corpvpn-client-update.com",  // 24 hosts
		"acme-tools-download.org",    // old
		"quarterly-report-share.com", // 60 days
		"files-sync-node.io",         // age unknown
		"zq3x9-relay.top",            // unknown to VirusTotal
	}
)

func TestDemoEndToEnd(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")

	// Before any run, detect says what to do.
	r := run(t, DetectMain, "--config", cfg)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "does not exist yet") || !strings.Contains(r.stderr, "vtsync run") {
		t.Fatalf("detect before run: %+v", r)
	}

	r = run(t, RunMain, "--config", cfg, "--once")
	if r.code != ExitOK {
		t.Fatalf("run: %+v", r)
	}
	s := summaryOf(t, r.stdout)
	if s.Input != "demo" || s.Status != "ok" || s.LookedUp == 0 || s.LookedUp != s.Distinct || s.NotFound < 1 ||
		s.Found+s.NotFound != s.LookedUp || s.KVWrites != s.LookedUp || s.Rejected["ip"] == 0 || s.RejectedTotal == 0 {
		t.Fatalf("first run summary: %+v", s)
	}
	// Browser-only domains are not looked up (skip_browsers).
	recs := records(t, dir)
	if _, ok := recs["promo-deals-today.shop"]; ok {
		t.Error("a domain only browsers contacted was looked up")
	}
	for _, d := range append(slices.Clone(flagged), "zq3x9-relay.top", "raw.githubusercontent.com") {
		if _, ok := recs[d]; !ok {
			t.Errorf("no record for %s", d)
		}
	}
	if recs["zq3x9-relay.top"].VTFound {
		t.Error("zq3x9-relay.top has no VT file but is stored as found")
	}
	// The demo's story per kind (examples/demo/README.md): 18 domains, 16
	// of them in vt/ (zq3x9-relay.top and update.googleapis.com are not),
	// 4 rated malicious; 6 public addresses of non-browser processes
	// (193.142.146.35, 13.107.4.52, 8.8.8.8, 1.1.1.1, 2606:4700:4700::1111
	// and 89.44.9.243, the one not in vt/; 45.141.215.19 only browsers
	// reach), 1 rated malicious; 8 image hashes, the strongest of each
	// Hashes (7 SHA-256, and svchost.exe's SHA-1 on the host hashing only
	// MD5 and SHA1), all in vt/ but AcmeHelper.exe's, 2 rated malicious
	// (the invoice viewer and EICAR).
	for name, want := range map[string]pipeline.KindSummary{
		"domain": {Distinct: 18, LookedUp: 18, Found: 16, NotFound: 2, Flagged: 4, KVWrites: 18},
		"ip":     {Distinct: 6, LookedUp: 6, Found: 5, NotFound: 1, Flagged: 1, KVWrites: 6},
		"file":   {Distinct: 8, LookedUp: 8, Found: 7, NotFound: 1, Flagged: 2, KVWrites: 8},
	} {
		ks := s.Kinds[name]
		if ks == nil {
			t.Errorf("the summary has no %s kind: %+v", name, s.Kinds)
			continue
		}
		got := pipeline.KindSummary{Distinct: ks.Distinct, LookedUp: ks.LookedUp, Found: ks.Found, NotFound: ks.NotFound, Flagged: ks.Flagged, KVWrites: ks.KVWrites}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	checkStored(t, dir, ipkind.Kind{}, map[string]bool{"193.142.146.35": true, "2606:4700:4700::1111": true, "89.44.9.243": false}, "45.141.215.19")
	checkStored(t, dir, filekind.Kind{},
		map[string]bool{"e07e0265c9c86abc05c485700521f4304e2a218ff7c0161ccb32ba901f856637": true, "7a348e792a408e1c579d21dc05ddf8d5a89ec87a": true,
			"a1232e8b17f3c48219d7505b9ef89a0d2ac4f1801aa784d3aea5acf0d1831302": false}, "")

	// A second run finds everything fresh and looks nothing up.
	r = run(t, RunMain, "--config", cfg)
	if s2 := summaryOf(t, r.stdout); r.code != ExitOK || s2.LookedUp != 0 || s2.Fresh != s.Distinct {
		t.Fatalf("second run: code %d summary %+v", r.code, s2)
	}

	r = run(t, DetectMain, "--config", cfg)
	if r.code != ExitOK {
		t.Fatalf("detect: %+v", r)
	}
	table := r.stdout
	for _, d := range flagged {
		if !strings.Contains(table, d) {
			t.Errorf("detections table lacks %s:\n%s", d, table)
		}
	}
	for _, d := range leftAlone {
		if strings.Contains(table, d) {
			t.Errorf("detections table shows %s:\n%s", d, table)
		}
	}
	// The IP address and process image detections run too: the address
	// rundll32 beacons to, EICAR and the viewer the invoice mail dropped.
	for _, s := range []string{"IP ADDRESS", "193.142.146.35", "PROCESS IMAGE", "eicar.com", "Invoice_2025-0314_viewer.exe",
		"sha256 e07e0265c9c86abc05c485700521f4304e2a218ff7c0161ccb32ba901f856637", `image C:\Users\user114\AppData\Local\Temp\Invoice_2025-0314_viewer.exe`} {
		if !strings.Contains(table, s) {
			t.Errorf("detections table lacks %s:\n%s", s, table)
		}
	}
	for _, s := range []string{"45.141.215.19", "13.107.4.52", "89.44.9.243", "svchost.exe", "AcmeHelper.exe"} {
		if strings.Contains(table, s) {
			t.Errorf("detections table shows %s:\n%s", s, table)
		}
	}
	for i, line := range strings.Split(table, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("table line %d is %d columns: %q", i, n, line)
		}
	}
	for _, s := range []string{"domain detection flagged=4 pending=0", "ip detection flagged=1 pending=0", "file detection flagged=2 pending=0"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("detect stats lack %q: %s", s, r.stderr)
		}
	}

	r = run(t, DetectMain, "--config", cfg, "--format", "json")
	var fs []detect.Finding
	if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil || r.code != ExitOK {
		t.Fatalf("detect --format json: %v %+v", err, r)
	}
	byName := map[string]detect.Finding{}
	var names []string
	for _, f := range fs {
		byName[f.Indicator] = f
		if f.Kind == detect.KindDomain {
			names = append(names, f.Indicator)
		}
	}
	// First-seen order: the beacon from 14:13, the PowerShell download from
	// 14:27, the mail client at 14:31, rundll32 at 14:44.
	if want := flagged; !slices.Equal(names, want) {
		t.Fatalf("findings %v, want %v", names, want)
	}
	le := byName["cdn-telemetry-sync.com"]
	if len(le.Hosts) != 4 || le.AgeDays == nil || *le.AgeDays < 9 || *le.AgeDays >= 14 ||
		!strings.Contains(le.Issuer, "O=Let's Encrypt") || !strings.Contains(le.Issuer, "CN=R10") ||
		!slices.Equal(le.Rules, []string{detect.RuleYoung, detect.RuleFreeCA}) {
		t.Errorf("Let's Encrypt finding: %+v", le)
	}
	if p := byName["update-kb-service.net"]; p.Positives == nil || *p.Positives < 2 || !slices.Equal(p.Rules, []string{detect.RuleMalicious}) || len(p.Hosts) != 2 {
		t.Errorf("positives finding: %+v", p)
	}
	if y := byName["invoice-portal-review.com"]; !slices.Equal(y.Rules, []string{detect.RuleYoung}) {
		t.Errorf("young finding: %+v", y)
	}
	if ip := byName["193.142.146.35"]; ip.Kind != detect.KindIP || len(ip.Hosts) != 3 || ip.Count != 18 || ip.ASOwner != "DEMO-HOSTING-AS (fictional)" ||
		!ip.FirstSeen.Equal(time.Date(2025, 3, 14, 14, 17, 17, 0, time.UTC)) {
		t.Errorf("IP address finding: %+v", ip)
	}
	if f := byName["275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"]; f.Kind != detect.KindFile ||
		f.MD5 != "44d88612fea8a8f36de82e1278abb02f" || f.SHA1 != "3395856ce81f2b7382dee72602f798b642f14140" ||
		!slices.Equal(f.Images, []string{`C:\Users\user106\Downloads\eicar.com`}) || f.ThreatLabel != "virus.eicar/test" {
		t.Errorf("EICAR finding: %+v", f)
	}

	// Export: a Splunk CSV lookup with one row per record.
	r = run(t, ExportMain, "--config", cfg)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || r.code != ExitOK || len(rows) != len(recs)+1 || !slices.Equal(rows[0], record.Fields) {
		t.Fatalf("export: %v code %d, %d rows for %d records; header %v", err, r.code, len(rows), len(recs), rows[0])
	}
	out := filepath.Join(dir, "lookups", "vtsync_domains.csv")
	os.Mkdir(filepath.Dir(out), 0o755)
	r = run(t, ExportMain, "--config", cfg, "--out", out)
	b, err := os.ReadFile(out)
	if r.code != ExitOK || err != nil || string(b) != run(t, ExportMain, "--config", cfg).stdout || !strings.Contains(r.stderr, "exported") {
		t.Fatalf("export --out: %+v %v", r, err)
	}
	r = run(t, ExportMain, "--config", cfg, "--format", "json")
	if n := strings.Count(r.stdout, "\n"); r.code != ExitOK || n != len(recs) {
		t.Fatalf("export json: %d lines for %d records: %+v", n, len(recs), r)
	}
}

// checkStored checks that the demo's store holds a record of kind k for
// each key, found or not as want says, and none for absent.
func checkStored(t *testing.T, dir string, k kind.Kind, want map[string]bool, absent string) {
	t.Helper()
	cfg, err := Load(filepath.Join(dir, "vtsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store, closer, err := cfg.OpenStore(context.Background(), slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	keys := []string{absent}
	for key := range want {
		keys = append(keys, key)
	}
	got, err := store.Get(context.Background(), k, keys)
	if err != nil {
		t.Fatal(err)
	}
	for key, found := range want {
		if r, ok := got[key]; !ok || r.Found() != found {
			t.Errorf("%s %s: stored %v (%v), want found=%v", k.Name(), key, ok, r, found)
		}
	}
	if _, ok := got[absent]; absent != "" && ok {
		t.Errorf("%s %s is stored, want it never looked up", k.Name(), absent)
	}
}

func records(t *testing.T, dir string) map[string]record.Record {
	t.Helper()
	cfg, err := Load(filepath.Join(dir, "vtsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Export(context.Background(), cfg, &buf, ExportJSON, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	out := map[string]record.Record{}
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var r record.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out[r.Key] = r
	}
	return out
}

// TestDemoDetectionsAsExpected: on the demo data, vtsync detect flags
// exactly what the rules say, for domains, IP addresses and process
// images. The expected findings were written by hand from the rules and
// the generator's facts (examples/demo/expected-detections.json), not
// copied from the output.
func TestDemoDetectionsAsExpected(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	if r := run(t, RunMain, "--config", cfg); r.code != ExitOK {
		t.Fatalf("run: %+v", r)
	}
	type finding struct {
		Kind      string   `json:"kind"`
		Indicator string   `json:"indicator"`
		Status    string   `json:"status"`
		Alert     bool     `json:"alert"`
		Rules     []string `json:"rules"`
		Reasons   []string `json:"reasons"`
	}
	var expected struct {
		Findings   []finding         `json:"findings"`
		NotFlagged map[string]string `json:"not_flagged"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected-detections.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &expected); err != nil || len(expected.Findings) == 0 {
		t.Fatalf("expected-detections.json: %v", err)
	}
	r := run(t, DetectMain, "--config", cfg, "--events", filepath.Join(dir, "events.ndjson"),
		"--events", filepath.Join(dir, "events-late.ndjson"), "--format", "json")
	var got []finding
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != ExitOK {
		t.Fatalf("detect: %v %+v", err, r)
	}
	if !reflect.DeepEqual(got, expected.Findings) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("findings:\n%s\nwant (expected-detections.json):\n%+v", gj, expected.Findings)
	}

	// --all lists the others with the reason they were not flagged.
	r = run(t, DetectMain, "--config", cfg, "--events", filepath.Join(dir, "events.ndjson"), "--format", "json", "--all")
	var all []finding
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || r.code != ExitOK {
		t.Fatalf("detect --all: %v %+v", err, r)
	}
	status := map[string]finding{}
	for _, f := range all {
		status[f.Indicator] = f
	}
	for d := range expected.NotFlagged {
		if f, ok := status[d]; ok && (f.Status != detect.StatusClear || f.Alert || len(f.Reasons) == 0) {
			t.Errorf("%s: %+v, want clear with a reason", d, f)
		}
	}
	for d, want := range map[string]string{
		"newco-collab.app":                         "but ranked 12400 (popular: within popular_max_rank 100000)",
		"legacy-vendor-portal.com":                 "days after first contact (re-registered): not young",
		"zq3x9-relay.top":                          "unknown to VirusTotal (flag_not_found is off)",
		"89.44.9.243":                              "unknown to VirusTotal (flag_not_found is off)",
		"13.107.4.52":                              "no engine calls it malicious",
		"7a348e792a408e1c579d21dc05ddf8d5a89ec87a": "no engine calls it malicious",
		"e729edcc2a1968d0741713681cb0b8d1a2d90019d5eeaace2c77528cb1e0b8e9": "no engine calls it malicious",
		"a1232e8b17f3c48219d7505b9ef89a0d2ac4f1801aa784d3aea5acf0d1831302": "unknown to VirusTotal (flag_not_found is off)",
	} {
		if f := status[d]; len(f.Reasons) == 0 || !strings.Contains(f.Reasons[0], want) {
			t.Errorf("%s: %+v, want a reason with %q", d, f, want)
		}
	}
	// Never listed: what only browsers contacted, and what vtsync never
	// looks up.
	for _, d := range []string{"promo-deals-today.shop", "45.141.215.19", "192.0.2.189", "10.20.30.40", "fe80::1c2d:3e4f:5a6b:7c8d"} {
		if f, ok := status[d]; ok {
			t.Errorf("%s is listed: %+v", d, f)
		}
	}
}

// --kind runs one detection. The configured events file feeds the
// detections of the fields it names; asking for one it does not feed is a
// configuration error naming the key; an --events file feeds all three.
func TestDetectKind(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	if r := run(t, RunMain, "--config", cfg); r.code != ExitOK {
		t.Fatalf("run: %+v", r)
	}
	kinds := func(r result) map[string]int {
		t.Helper()
		var fs []detect.Finding
		if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil || r.code != ExitOK {
			t.Fatalf("detect: %v %+v", err, r)
		}
		n := map[string]int{}
		for _, f := range fs {
			n[f.Kind]++
		}
		return n
	}
	for kind, want := range map[string]map[string]int{
		"domain": {"domain": 4}, "ip": {"ip": 1}, "file": {"file": 2}, "all": {"domain": 4, "ip": 1, "file": 2}, "IP": {"ip": 1},
	} {
		if got := kinds(run(t, DetectMain, "--config", cfg, "--kind", kind, "--format", "json")); !reflect.DeepEqual(got, want) {
			t.Errorf("--kind %s: %v, want %v", kind, got, want)
		}
	}
	if r := run(t, DetectMain, "--config", cfg, "--kind", "ip"); strings.Contains(r.stderr, "domain detection") || !strings.Contains(r.stderr, "ip detection flagged=1") {
		t.Errorf("--kind ip logs the stats of another detection:\n%s", r.stderr)
	}

	// A configuration that reads domains only: the other detections are
	// not run, and asking for one says which key to set.
	b, _ := os.ReadFile(cfg)
	var kept []string
	for line := range strings.Lines(string(b)) {
		if !strings.Contains(line, "ip_field") && !strings.Contains(line, "hash_field") {
			kept = append(kept, line)
		}
	}
	domainsOnly := write(t, dir, "domains-only.yaml", strings.Join(kept, ""))
	if got := kinds(run(t, DetectMain, "--config", domainsOnly, "--format", "json")); !reflect.DeepEqual(got, map[string]int{"domain": 4}) {
		t.Errorf("domains only: %v", got)
	}
	for kind, key := range map[string]string{"ip": "source.file.ip_field", "file": "source.file.hash_field"} {
		r := run(t, DetectMain, "--config", domainsOnly, "--kind", kind)
		if r.code != ExitUsage || !strings.Contains(r.stderr, key+": is not set") || !strings.Contains(r.stderr, "--events FILE") || r.stdout != "" {
			t.Errorf("--kind %s without %s: %+v", kind, key, r)
		}
	}
	// An --events file is read under the default names of every kind.
	if got := kinds(run(t, DetectMain, "--config", domainsOnly, "--events", filepath.Join(dir, "events.ndjson"), "--kind", "ip", "--format", "json")); !reflect.DeepEqual(got, map[string]int{"ip": 1}) {
		t.Errorf("--events with --kind ip: %v", got)
	}

	// domain_field set empty: no domains to detect on.
	noDomains := write(t, dir, "no-domains.yaml", strings.Replace(string(b), "domain_field: DestinationHostname", `domain_field: ""`, 1))
	if got := kinds(run(t, DetectMain, "--config", noDomains, "--format", "json")); !reflect.DeepEqual(got, map[string]int{"ip": 1, "file": 2}) {
		t.Errorf("domain_field empty: %v", got)
	}
	if r := run(t, DetectMain, "--config", noDomains, "--kind", "domain"); r.code != ExitUsage || !strings.Contains(r.stderr, "source.file.domain_field: is empty") {
		t.Errorf("--kind domain with domain_field empty: %+v", r)
	}
}

func TestDetectEventsFlag(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	if r := run(t, RunMain, "--config", cfg); r.code != ExitOK {
		t.Fatalf("run: %+v", r)
	}
	// A CSV export of other events: the store has no record for the new
	// domain, so it shows as pending rather than vanishing.
	events := write(t, dir, "more.csv", "_time,host,process_name,http_host\n"+
		"2025-03-14T15:10:00Z,WS-200,rundll32.exe,cdn-telemetry-sync.com\n"+
		"2025-03-14T15:11:00Z,WS-201,regsvr32.exe,brand-new-thing.com\n"+
		"2025-03-14T15:12:00Z,WS-202,chrome.exe,update-kb-service.net\n")
	r := run(t, DetectMain, "--config", cfg, "--events", events, "--format", "json")
	var fs []detect.Finding
	if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil || r.code != ExitOK || len(fs) != 2 {
		t.Fatalf("detect --events: %v %+v", err, r)
	}
	if fs[0].Indicator != "cdn-telemetry-sync.com" || fs[0].Status != detect.StatusFlagged || fs[1].Indicator != "brand-new-thing.com" || fs[1].Status != detect.StatusPending {
		t.Fatalf("findings %+v", fs)
	}
}

func TestDetectWarnsOfUnreadableTimes(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	if r := run(t, RunMain, "--config", cfg); r.code != ExitOK {
		t.Fatalf("run: %+v", r)
	}
	events := write(t, dir, "more.csv", "_time,host,process_name,http_host\n"+
		"2025-03-14T15:10:00.000+0000,WS-200,rundll32.exe,cdn-telemetry-sync.com\n"+
		"14.03.2025 15:11,WS-201,regsvr32.exe,brand-new-thing.com\n"+
		"15.03.2025 15:11,WS-202,regsvr32.exe,brand-new-thing.com\n")
	r := run(t, DetectMain, "--config", cfg, "--events", events)
	if r.code != ExitOK {
		t.Fatalf("detect: %+v", r)
	}
	if n := strings.Count(r.stderr, "WARN"); n != 1 || !strings.Contains(r.stderr, `2 of 3 records have a time that cannot be read (field _time, such as "14.03.2025 15:11")`) {
		t.Fatalf("want one WARN naming the field and an example value, got:\n%s", r.stderr)
	}
	if r := run(t, DetectMain, "--config", cfg); strings.Contains(r.stderr, "WARN") {
		t.Fatalf("the demo's events warn:\n%s", r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	bad := write(t, dir, "bad.yaml", "source:\n  file:\n    path: events.ndjson\nenrich:\n  virustotal:\n    api_key: abc\n")
	cases := []struct {
		name string
		main func(context.Context, []string, io.Reader, io.Writer, io.Writer) int
		args []string
		want string
	}{
		{"unknown flag", RunMain, []string{"--config", cfg, "--fast"}, "ERROR unknown flag -fast\nusage: vtsync run [--config FILE]"},
		{"once and every", RunMain, []string{"--config", cfg, "--once", "--every", "1m"}, "--once and --every exclude each other"},
		{"tiny interval", RunMain, []string{"--config", cfg, "--every", "1ms"}, "--every 1ms: give an interval of at least 1s, such as 15m"},
		{"zero interval", RunMain, []string{"--config", cfg, "--every", "0"}, "--every 0: give an interval of at least 1s, such as 15m; for a single run use --once"},
		{"interval without unit", RunMain, []string{"--config", cfg, "--every", "15"}, "--every 15: give the interval with its unit, such as 15m, 1h or 90s"},
		{"interval not a duration", RunMain, []string{"--config", cfg, "--every", "daily"}, "--every daily: give a duration such as 15m"},
		{"stray argument", DetectMain, []string{"--config", cfg, "now"}, `unexpected argument "now"`},
		{"config error", RunMain, []string{"--config", bad}, "ERROR " + bad + ":6: enrich.virustotal.api_key: secrets are not accepted"},
		{"missing config", ExportMain, []string{"--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml: no such file"},
		{"export format", ExportMain, []string{"--config", cfg, "--format", "xml"}, `--format "xml": use csv or json`},
		{"detect format", DetectMain, []string{"--config", cfg, "--format", "html"}, `--format "html": use table, json or csv`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.main, c.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
				t.Fatalf("got %+v, want exit %d, stderr containing %q, empty stdout", r, ExitUsage, c.want)
			}
		})
	}
}

func TestHelpOnStdout(t *testing.T) {
	for _, c := range []struct {
		main func(context.Context, []string, io.Reader, io.Writer, io.Writer) int
		name string
	}{{RunMain, "run"}, {ExportMain, "export"}, {DetectMain, "detect"}} {
		for _, flag := range []string{"--help", "-h"} {
			r := run(t, c.main, flag)
			if r.code != ExitOK || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: vtsync "+c.name+" ") ||
				!strings.Contains(r.stdout, "-config file") || !strings.Contains(r.stdout, "Exit codes: 0 ok; 1 failed; 2 bad flags or configuration") {
				t.Errorf("%s %s: %+v, want the help on stdout and exit 0", c.name, flag, r)
			}
		}
	}
}

// A run that did part of its work exits ExitPartial, one that was skipped
// too; they differ from a failed run and from bad flags.
func TestRunExitCodes(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	write(t, filepath.Join(dir, "vt"), "cdn-telemetry-sync.com.json", `{"data": [1, 2]}`)
	r := run(t, RunMain, "--config", cfg)
	if s := summaryOf(t, r.stdout); r.code != ExitPartial || s.Status != pipeline.StatusPartial || s.Failed != 1 {
		t.Errorf("a run with a failed lookup: exit %d, status %s, failed %d; want %d, partial, 1", r.code, s.Status, s.Failed, ExitPartial)
	}
	write(t, dir, "nothing.yaml", strings.Replace(mustRead(t, cfg), "path: events.ndjson", "path: missing.ndjson", 1))
	if r := run(t, RunMain, "--config", filepath.Join(dir, "nothing.yaml")); r.code != ExitFailed || summaryOf(t, r.stdout).Status != pipeline.StatusFailed {
		t.Errorf("a run without its events file: %+v, want exit %d", r, ExitFailed)
	}
	if ExitOK == ExitPartial || ExitPartial == ExitFailed || ExitPartial == ExitUsage || ExitFailed == ExitUsage {
		t.Error("exit codes must be distinct")
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// liveConfig writes a configuration that enriches from the fake VirusTotal
// with the demo's domains, the key named by keyLines.
func liveConfig(t *testing.T, dir, url, keyLines string) string {
	return write(t, dir, "live.yaml", "name: live\nsource:\n  file:\n    path: events.ndjson\n"+
		"enrich:\n  virustotal:\n"+keyLines+"    vt_api_url: "+url+"\n    requests_per_minute: 1000000\n    max_concurrency: 8\n")
}

func TestLiveVirusTotalKeyFile(t *testing.T) {
	srv := vttest.New()
	t.Cleanup(srv.Close)
	if err := srv.LoadDir(filepath.Join(demoDir, "vt")); err != nil {
		t.Fatal(err)
	}
	dir := copyDemo(t)
	keyFile := filepath.Join(dir, "vt.key")
	cfg := liveConfig(t, dir, srv.URL(), "    api_key_file: vt.key\n")

	// A key file others can read is refused, naming the file and the fix.
	os.WriteFile(keyFile, []byte(vttest.APIKey+"\n"), 0o644)
	os.Chmod(keyFile, 0o644)
	r := run(t, RunMain, "--config", cfg)
	if r.code != ExitFailed || !strings.Contains(r.stderr, keyFile) || !strings.Contains(r.stderr, "chmod 600") || srv.Requests() != 0 {
		t.Fatalf("group-readable key file: %+v, %d requests", r, srv.Requests())
	}
	if s := summaryOf(t, r.stdout); s.Status != "failed" || len(s.Errors) != 1 {
		t.Fatalf("failed run summary: %+v", s)
	}

	os.Chmod(keyFile, 0o600)
	r = run(t, RunMain, "--config", cfg, "-v")
	s := summaryOf(t, r.stdout)
	if r.code != ExitOK || s.Status != "ok" || s.LookedUp == 0 || int64(s.LookedUp) != srv.Requests() || s.VTCalls != srv.Requests() {
		t.Fatalf("live run: %+v, summary %+v, %d requests", r, s, srv.Requests())
	}
	if strings.Contains(r.stdout+r.stderr, vttest.APIKey) {
		t.Fatal("the API key appears in the output")
	}
	r = run(t, DetectMain, "--config", cfg)
	for _, d := range flagged {
		if !strings.Contains(r.stdout, d) {
			t.Errorf("live detect lacks %s:\n%s", d, r.stdout)
		}
	}
}

func TestLiveVirusTotalKeyEnv(t *testing.T) {
	dir := copyDemo(t)
	cfg := liveConfig(t, dir, "http://127.0.0.1:1/api/v3", "    api_key_env: VTSYNC_TEST_KEY\n")
	t.Setenv("VTSYNC_TEST_KEY", "")
	r := run(t, RunMain, "--config", cfg)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "live.yaml:7: enrich.virustotal.api_key_env: environment variable VTSYNC_TEST_KEY is not set or empty") {
		t.Fatalf("unset key: %+v", r)
	}
	t.Setenv("VTSYNC_TEST_KEY", "not a key")
	r = run(t, RunMain, "--config", cfg)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "environment variable VTSYNC_TEST_KEY is not a VirusTotal API key") || strings.Contains(r.stderr, "not a key\"") {
		t.Fatalf("malformed key: %+v", r)
	}
}

func TestRunEvery(t *testing.T) {
	dir := copyDemo(t)
	cfg, err := Load(filepath.Join(dir, "vtsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // safety net
	defer cancel()
	var mu sync.Mutex
	var sums []pipeline.Summary
	progress := map[int]int{} // run → progress calls
	err = RunEvery(ctx, cfg, 20*time.Millisecond, slog.New(slog.DiscardHandler), func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		progress[len(sums)]++
	}, func(s pipeline.Summary, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("run %d: %v", len(sums), err)
		}
		sums = append(sums, s)
		if len(sums) == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 3 {
		t.Fatalf("%d runs, want 3", len(sums))
	}
	if sums[0].LookedUp == 0 || sums[1].LookedUp != 0 || sums[2].LookedUp != 0 || sums[1].Fresh != sums[0].Distinct {
		t.Fatalf("runs: %+v", sums)
	}
	if progress[0] == 0 || progress[1] != 0 {
		t.Errorf("progress calls per run: %v; want some in the first run, none when nothing is looked up", progress)
	}
	// Between runs the store is closed: a reader can open it.
	if _, closer, err := cfg.OpenStore(context.Background(), slog.New(slog.DiscardHandler), true); err != nil {
		t.Fatalf("store after RunEvery: %v", err)
	} else {
		closer.Close()
	}
}

func TestRunEveryStopsWhenCancelled(t *testing.T) {
	dir := copyDemo(t)
	cfg, _ := Load(filepath.Join(dir, "vtsync.yaml"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	done := make(chan error)
	go func() {
		done <- RunEvery(ctx, cfg, time.Hour, slog.New(slog.DiscardHandler), nil, func(pipeline.Summary, error) { n++ })
	}()
	select {
	case err := <-done:
		if err != nil || n > 1 {
			t.Fatalf("err %v after %d runs", err, n)
		}
	case <-time.After(20 * time.Second): // safety net
		t.Fatal("RunEvery did not return after cancellation")
	}
}

// TestRunOnceCancelledKeepsLookups cancels a run mid-way, as SIGINT does:
// the run returns promptly, and every lookup it reports as done is stored.
func TestRunOnceCancelledKeepsLookups(t *testing.T) {
	srv := vttest.New(vttest.WithLatency(20 * time.Millisecond))
	t.Cleanup(srv.Close)
	if err := srv.LoadDir(filepath.Join(demoDir, "vt")); err != nil {
		t.Fatal(err)
	}
	dir := copyDemo(t)
	t.Setenv("VTSYNC_TEST_KEY", vttest.APIKey)
	path := write(t, dir, "live.yaml", "name: live\nsource:\n  file:\n    path: events.ndjson\n"+
		"enrich:\n  virustotal:\n    api_key_env: VTSYNC_TEST_KEY\n    vt_api_url: "+srv.URL()+"\n    requests_per_minute: 1000000\n    max_concurrency: 1\n")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, _ := RunOnce(ctx, cfg, slog.New(slog.DiscardHandler), func(done, total int) {
		if done >= 3 {
			cancel()
		}
	})
	if sum.LookedUp >= sum.Distinct || sum.Status == "ok" || sum.KVWrites < 3 {
		t.Fatalf("cancelled run: %+v", sum)
	}
	var buf bytes.Buffer
	n, err := Export(context.Background(), cfg, &buf, ExportJSON, slog.New(slog.DiscardHandler))
	if err != nil || n != sum.KVWrites {
		t.Fatalf("stored %d records (%v), summary says %d written", n, err, sum.KVWrites)
	}
}

// detect and export read the embedded store while a run is in progress:
// the run holds the file only during each Get and Save.
func TestDetectAndExportDuringRun(t *testing.T) {
	dir := copyDemo(t)
	path := filepath.Join(dir, "vtsync.yaml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var exported, detected result
	var exportErr error
	sum, err := RunOnce(context.Background(), cfg, slog.New(slog.DiscardHandler), func(done, total int) {
		if done < total/2 {
			return
		}
		once.Do(func() {
			var buf bytes.Buffer
			_, exportErr = Export(context.Background(), cfg, &buf, ExportJSON, slog.New(slog.DiscardHandler))
			exported = run(t, ExportMain, "--config", path)
			detected = run(t, DetectMain, "--config", path, "--format", "json")
		})
	})
	if err != nil || sum.Status != "ok" {
		t.Fatalf("run: %v %+v", err, sum)
	}
	if exportErr != nil || exported.code != ExitOK || detected.code != ExitOK {
		t.Fatalf("during the run: Export %v\nexport %+v\ndetect %+v", exportErr, exported, detected)
	}
	if !strings.HasPrefix(exported.stdout, "_key,") {
		t.Fatalf("export during the run wrote %q", exported.stdout)
	}
}

// TestSplunkSourceAndKVStore runs standalone mode against splunkd: the
// candidates come from a search, the records go to the KV store, and
// detect reads them back from there.
func TestSplunkSourceAndKVStore(t *testing.T) {
	const token = "splunk-token-6f1e2d3c4b5a"
	sp := splunktest.New(t,
		splunktest.WithToken(token),
		splunktest.WithCollection("vtsync", "vtsync_domains"),
		splunktest.WithExportRows(
			map[string]any{"ut_domain": "cdn-telemetry-sync.com", "count": "120"},
			map[string]any{"ut_domain": []string{"update-kb-service.net", "10.1.2.3"}, "count": "9"},
			map[string]any{"ut_domain": "zq3x9-relay.top", "count": "2"},
		))
	vtsrv := vttest.New()
	t.Cleanup(vtsrv.Close)
	if err := vtsrv.LoadDir(filepath.Join(demoDir, "vt")); err != nil {
		t.Fatal(err)
	}
	dir := copyDemo(t)
	ca := filepath.Join(dir, "splunkd-ca.pem")
	write(t, dir, "splunkd-ca.pem", string(sp.CertPEM()))
	t.Setenv("VTSYNC_TEST_SPLUNK_TOKEN", token)
	t.Setenv("VTSYNC_TEST_KEY", vttest.APIKey)
	cfg := write(t, dir, "splunk.yaml", `name: splunk
source:
  splunk:
    url: `+sp.URL()+`
    token_env: VTSYNC_TEST_SPLUNK_TOKEN
    ca_file: `+filepath.Base(ca)+`
    app: vtsync
    search: "| tstats count from datamodel=Network_Resolution by DNS.query | rename DNS.query as ut_domain"
enrich:
  virustotal:
    api_key_env: VTSYNC_TEST_KEY
    vt_api_url: `+vtsrv.URL()+`
    requests_per_minute: 1000000
store:
  kvstore:
    collection: vtsync_domains
`)
	r := run(t, RunMain, "--config", cfg, "-v")
	s := summaryOf(t, r.stdout)
	if r.code != ExitOK || s.Status != "ok" || s.Distinct != 3 || s.LookedUp != 3 || s.NotFound != 1 || s.Rejected["ip"] != 1 {
		t.Fatalf("run: %+v\nsummary %+v", r, s)
	}
	docs := sp.Documents("vtsync", "vtsync_domains")
	if len(docs) != 3 || docs["cdn-telemetry-sync.com"]["cert_issuer_org"] != "Let's Encrypt" {
		t.Fatalf("KV documents: %v", docs)
	}
	if ex := sp.Exports(); len(ex) != 1 || ex[0].EarliestTime != "-20m" || ex[0].LatestTime != "now" {
		t.Fatalf("exports: %+v", ex)
	}
	if out := r.stdout + r.stderr; strings.Contains(out, token) || strings.Contains(out, vttest.APIKey) {
		t.Fatal("a secret appears in the output")
	}

	r = run(t, DetectMain, "--config", cfg, "--events", filepath.Join(dir, "events.ndjson"), "--format", "json")
	var fs []detect.Finding
	if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil || r.code != ExitOK {
		t.Fatalf("detect: %v %+v", err, r)
	}
	got := map[string]bool{}
	for _, f := range fs {
		got[f.Indicator] = f.Status == detect.StatusPending
	}
	// Enriched through the search: judged. The rest of the events'
	// domains have no record in the collection: pending, not dropped.
	if p, ok := got["cdn-telemetry-sync.com"]; !ok || p {
		t.Errorf("cdn-telemetry-sync.com: %v", fs)
	}
	if p, ok := got["update-kb-service.net"]; !ok || p {
		t.Errorf("update-kb-service.net: %v", fs)
	}
	if p, ok := got["invoice-portal-review.com"]; !ok || !p {
		t.Errorf("invoice-portal-review.com should be pending: %v", fs)
	}
	if _, ok := got["zq3x9-relay.top"]; ok {
		t.Errorf("a domain VirusTotal does not know is flagged: %v", fs)
	}
	// The splunkd has no vtsync_ips nor vtsync_files collection: those
	// detections are skipped with a warning naming the collection, unless
	// --kind asks for one.
	for _, c := range []string{"vtsync_ips", "vtsync_files"} {
		if !strings.Contains(r.stderr, "WARN") || !strings.Contains(r.stderr, c) {
			t.Errorf("no warning naming %s:\n%s", c, r.stderr)
		}
	}
	for _, f := range fs {
		if f.Kind != detect.KindDomain {
			t.Errorf("a finding of a skipped detection: %+v", f)
		}
	}
	if r := run(t, DetectMain, "--config", cfg, "--events", filepath.Join(dir, "events.ndjson"), "--kind", "ip"); r.code != ExitFailed || !strings.Contains(r.stderr, "vtsync_ips") {
		t.Errorf("--kind ip without the collection: %+v", r)
	}
}

func TestDispatch(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	var out, errb bytes.Buffer
	if code := Dispatch(context.Background(), []string{"run", "--config", cfg}, nil, &out, &errb); code != ExitOK || summaryOf(t, out.String()).Status != "ok" {
		t.Fatalf("run: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := Main([]string{"detect", "--config", cfg}, nil, &out, &errb); code != ExitOK || !strings.Contains(out.String(), "cdn-telemetry-sync.com") {
		t.Fatalf("detect: %d %s", code, out.String())
	}
	errb.Reset()
	if code := Dispatch(context.Background(), []string{"sync"}, nil, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), `unknown command "sync"`) {
		t.Fatalf("unknown command: %d %s", code, errb.String())
	}
}

// A configuration without a name takes its file's name: vtsync.yaml gives
// the input "vtsync", whose state file must not be the default store
// (both in state_dir) — that run would find its own store locked.
func TestUnnamedConfigRuns(t *testing.T) {
	dir := copyDemo(t)
	b, err := os.ReadFile(filepath.Join(dir, "vtsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "name: demo\n", "", 1)
	cfg = strings.Replace(cfg, "    path: .vtsync/vtsync.db\n", "", 1)
	cfg = strings.Replace(cfg, "  embedded:\n", "", 1)
	if cfg == string(b) {
		t.Fatal("the demo configuration changed: update this test")
	}
	write(t, dir, "vtsync.yaml", cfg)
	r := run(t, RunMain, "--config", filepath.Join(dir, "vtsync.yaml"), "--once")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if s := summaryOf(t, r.stdout); s.Input != "vtsync" || s.Status != pipeline.StatusOK || s.LookedUp == 0 {
		t.Errorf("input %q status %s looked_up %d, want vtsync, ok and lookups", s.Input, s.Status, s.LookedUp)
	}

	write(t, dir, "clash.yaml", strings.Replace(cfg, "  type: embedded\n", "  type: embedded\n  embedded:\n    path: .vtsync/clash.state.db\n", 1))
	r = run(t, RunMain, "--config", filepath.Join(dir, "clash.yaml"), "--once")
	if r.code != 2 || !strings.Contains(r.stderr, "store.embedded.path") {
		t.Errorf("a store path equal to the state file: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// When the events file fails mid-read, the run says to check the file and
// the configuration, not splunkd.
func TestFileSourceFailureNamesTheFile(t *testing.T) {
	dir := copyDemo(t)
	b, err := os.ReadFile(filepath.Join(dir, "events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	write(t, dir, "events.ndjson", first+"\n{not json\n")
	cfg := filepath.Join(dir, "vtsync.yaml")
	r := run(t, RunMain, "--config", cfg, "--once")
	if !strings.Contains(r.stderr, "reading the events file "+filepath.Join(dir, "events.ndjson")+" failed") ||
		!strings.Contains(r.stderr, "check the file and source.file in "+cfg) ||
		strings.Contains(r.stderr, "splunkd") || strings.Contains(r.stderr, "search") {
		t.Errorf("exit %d, stderr should point at the events file and the configuration, not a search:\n%s", r.code, r.stderr)
	}
	// The failure is logged once, in words: no Go type in it.
	const what = "events.ndjson:2: not valid JSON at byte 2"
	if n := strings.Count(r.stderr, what); n != 1 || strings.Contains(r.stderr, "Go value") {
		t.Errorf("%q is logged %d times, want once:\n%s", what, n, r.stderr)
	}
	write(t, dir, "events.ndjson", first+"\n[1, 2]\n")
	r = run(t, RunMain, "--config", cfg, "--once")
	if !strings.Contains(r.stderr, "events.ndjson:2: the document is a JSON list where an object is expected") || strings.Contains(r.stderr, "Go value") {
		t.Errorf("a line that is not an object:\n%s", r.stderr)
	}
}

// A run's advice fits standalone mode: a full disk under the embedded
// store, a stopped run, a rejected key or a locked state speak of this
// configuration's file and keys, never of Splunk's settings.
func TestStandaloneWords(t *testing.T) {
	dir := copyDemo(t)
	cfg, err := Load(filepath.Join(dir, "vtsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Every cause that calls for something to be done names the file and
	// a key of this configuration.
	var words []string
	for r := pipeline.StopKeyRejected; r <= pipeline.StopCancelled; r++ {
		a := cfg.advice(&pipeline.Stop{Reason: r, Rejected: "ip 2"})
		switch {
		case r == pipeline.StopCancelled:
			if a != "" {
				t.Errorf("%s: advice %q for an interrupted run", r, a)
			}
		case a == "" || !strings.Contains(a, cfg.File) && r != pipeline.StopNothingToLookUp:
			t.Errorf("%s: advice %q does not name %s", r, a, cfg.File)
		}
		words = append(words, a)
	}
	all := strings.Join(words, "\n")
	for _, splunk := range []string{"splunkd", "KV store", "search", "Settings", "checkpoint", "interval", "inputs.conf"} {
		if strings.Contains(all, splunk) {
			t.Errorf("standalone advice speaks of %q:\n%s", splunk, all)
		}
	}
	for _, want := range []string{"the embedded store " + cfg.Store.Path, "store.embedded.path in " + cfg.File,
		"state_dir in " + cfg.File, "max_run_seconds in " + cfg.File, "the events file " + cfg.Source.File.Path,
		"source.file.domain_field", "enrich.virustotal.daily_lookup_budget in " + cfg.File} {
		if !strings.Contains(all, want) {
			t.Errorf("standalone advice lacks %q:\n%s", want, all)
		}
	}

	// A key that VirusTotal rejects: the key's YAML key, not Settings >
	// Data inputs.
	srv := vttest.New()
	t.Cleanup(srv.Close)
	keyFile := write(t, dir, "vt.key", "0000000000000000000000000000000000000000000000000000000000000000\n")
	os.Chmod(keyFile, 0o600)
	live := liveConfig(t, dir, srv.URL(), "    api_key_file: vt.key\n")
	r := run(t, RunMain, "--config", live)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "VirusTotal rejected the API key") ||
		!strings.Contains(r.stderr, "put a valid key in "+keyFile+" (enrich.virustotal.api_key_file in "+live+")") ||
		strings.Contains(r.stderr, "Settings") || strings.Contains(r.stderr, "storage/passwords") {
		t.Errorf("rejected key: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// A state_dir vtsync cannot use is named by its key, the store's default
// place in it too.
func TestUnusableStateDirNamesTheKey(t *testing.T) {
	dir := copyDemo(t)
	b := mustRead(t, filepath.Join(dir, "vtsync.yaml"))
	cfg := strings.Replace(b, "    path: .vtsync/vtsync.db\n", "", 1)
	cfg = strings.Replace(cfg, "  embedded:\n", "", 1)
	if cfg == b {
		t.Fatal("the demo configuration changed: update this test")
	}
	write(t, dir, "st.yaml", "state_dir: st\n"+cfg)
	// The state file and the store's file cannot be created (a directory
	// holds their place, as a read-only directory refuses them to all but
	// root).
	os.MkdirAll(filepath.Join(dir, "st", "vtsync.db"), 0o755)
	r := run(t, RunMain, "--config", filepath.Join(dir, "st.yaml"))
	if r.code != ExitFailed || !strings.Contains(r.stderr, "st.yaml:1: state_dir: the embedded store (by default in state_dir)") {
		t.Errorf("store in state_dir: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	os.Remove(filepath.Join(dir, "st", "vtsync.db"))
	os.MkdirAll(filepath.Join(dir, "st", "demo.state.db"), 0o755)
	r = run(t, RunMain, "--config", filepath.Join(dir, "st.yaml"))
	if r.code != ExitFailed || !strings.Contains(r.stderr, "the state directory "+filepath.Join(dir, "st")+" (state_dir in "+filepath.Join(dir, "st.yaml")+") failed") ||
		!strings.Contains(r.stderr, "it must be a writable directory") || strings.Contains(r.stderr, "checkpoint") {
		t.Errorf("state file: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestExportOutNamesTheProblem(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	if r := run(t, RunMain, "--config", cfg); r.code != ExitOK {
		t.Fatalf("run: %+v", r)
	}
	for _, c := range []struct{ out, want string }{
		{dir, "--out " + dir + " is a directory; give the file to write, such as " + filepath.Join(dir, "vtsync_domains.csv")},
		{filepath.Join(dir, "no", "x.csv"), "--out " + filepath.Join(dir, "no", "x.csv") + ": the directory " + filepath.Join(dir, "no") + " does not exist"},
	} {
		r := run(t, ExportMain, "--config", cfg, "--out", c.out)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("--out %s: exit %d, stderr:\n%s\nwant %q", c.out, r.code, r.stderr, c.want)
		}
	}
}

// export --kind writes each kind's records as the lookup table of its
// collection: the kind's fields as the header, one row per record. The
// demo stores 6 IP addresses and 8 file hashes (TestDemoEndToEnd).
func TestExportEachKind(t *testing.T) {
	dir := copyDemo(t)
	cfg := filepath.Join(dir, "vtsync.yaml")
	if r := run(t, RunMain, "--config", cfg, "--once"); r.code != ExitOK {
		t.Fatalf("run: %+v", r)
	}
	r := run(t, ExportMain, "--config", cfg, "--kind", "ip")
	if r.code != ExitOK {
		t.Fatalf("export --kind ip: %+v", r)
	}
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	for _, f := range (ipkind.Kind{}).Fields() {
		header = append(header, f.Name)
	}
	if len(rows) != 7 || !slices.Equal(rows[0], header) {
		t.Fatalf("export --kind ip: %d rows, header %q; want 6 records under %q", len(rows)-1, rows[0], header)
	}
	byIP := map[string]map[string]string{}
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range header {
			m[h] = row[i]
		}
		byIP[m["ip"]] = m
	}
	// vt/ip_addresses/193.142.146.35.json: 9 engines, tag c2.
	if c2 := byIP["193.142.146.35"]; c2["vt_found"] != "1" || c2["last_analysis_positive"] != "9" || c2["tags"] != "c2" {
		t.Errorf("193.142.146.35: %v", c2)
	}
	if nx := byIP["89.44.9.243"]; nx["vt_found"] != "0" || nx["asn"] != "" {
		t.Errorf("89.44.9.243, not in vt/: %v", nx)
	}

	r = run(t, ExportMain, "--config", cfg, "--kind", "file", "--format", "json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != ExitOK || len(lines) != 8 {
		t.Fatalf("export --kind file: exit %d, %d lines, want 8:\n%s", r.code, len(lines), r.stderr)
	}
	// EICAR's real hashes (vt/files/275a....json).
	var eicar map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["_key"] == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f" {
			eicar = m
		}
	}
	if eicar == nil || eicar["md5"] != "44d88612fea8a8f36de82e1278abb02f" || eicar["vt_found"] != true {
		t.Errorf("the EICAR record: %v", eicar)
	}

	if r := run(t, ExportMain, "--config", cfg, "--kind", "url"); r.code != ExitUsage || !strings.Contains(r.stderr, "--kind") {
		t.Errorf("export --kind url: %+v", r)
	}
	// Without --kind, domains, as before.
	r = run(t, ExportMain, "--config", cfg)
	if rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll(); r.code != ExitOK || err != nil || len(rows) != 19 || rows[0][1] != "domain" {
		t.Errorf("export: exit %d, %d rows (%v), want the 18 domains:\n%s", r.code, len(rows)-1, err, r.stderr)
	}
}
