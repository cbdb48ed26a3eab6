package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/record"
)

// FuzzEvaluate feeds hostile destinations, processes and hosts through
// the detection: nothing may crash, and every finding must be a valid
// registered domain within the host limit.
func FuzzEvaluate(f *testing.F) {
	f.Add("cdn-telemetry-sync.com", "rundll32.exe", "WS-1", int64(0))
	f.Add("https://user@evil.example.co.uk:8443/x?y", `C:\x\chrome.exe`, "", int64(-1))
	f.Add("10.0.0.1", "", "h", int64(1<<62))
	f.Add("xn--bcher-kva.de.", "Safari", "\x00", int64(86400*45))
	f.Add("\xff\xfe..", "msedge.exe\n", "a,b", int64(-86400*45))
	f.Fuzz(func(t *testing.T, dest, proc, host string, created int64) {
		events := []filesource.Event{
			{Time: t0, Host: host, Process: proc, Dest: dest},
			{Time: t0.Add(time.Minute), Host: host + "2", Process: "svchost.exe", Dest: strings.ToUpper(dest)},
		}
		rules := DefaultRules()
		rules.MaxDistinctHosts = 1
		rec := record.Record{VTFound: true, WhoisCreationTime: &created, CertIssuerOrg: "Let's Encrypt", LastAnalysisPositive: &created}
		for _, fd := range Evaluate(events, func(string) (record.Record, bool) { return rec, true }, rules) {
			if !domain.Valid(fd.Domain) {
				t.Fatalf("finding for %q, not a registered domain", fd.Domain)
			}
			if len(fd.Hosts) > rules.MaxDistinctHosts {
				t.Fatalf("finding with %d hosts, limit %d", len(fd.Hosts), rules.MaxDistinctHosts)
			}
			if fd.Status == StatusFlagged && (len(fd.Rules) == 0 || len(fd.Reasons) != len(fd.Rules)) {
				t.Fatalf("finding without a reason: %+v", fd)
			}
		}
	})
}

// BenchmarkDetect aggregates and judges the demo's events.
func BenchmarkDetect(b *testing.B) {
	path := filepath.Join("..", "..", "examples", "demo", "events.ndjson")
	if _, err := os.Stat(path); err != nil {
		b.Skip("demo events not found:", err)
	}
	var events []filesource.Event
	if err := filesource.ReadEvents(b.Context(), path, "", filesource.Fields{}, func(e filesource.Event) error {
		events = append(events, e)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	rec := record.Record{VTFound: true, LastAnalysisPositive: new(int64)}
	lookup := func(string) (record.Record, bool) { return rec, true }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Evaluate(events, lookup, DefaultRules())
	}
	b.ReportMetric(float64(len(events)), "events/op")
}
