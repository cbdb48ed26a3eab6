package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/filesource"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/record"
)

// FuzzEvaluate feeds hostile destinations, processes and hosts through
// the detections, as a host name, an IP address and a Hashes value:
// nothing may crash, every domain finding must be a valid registered
// domain within the host limit, every IP address finding an address vtsync
// looks up, and every image finding a hash it looks up.
func FuzzEvaluate(f *testing.F) {
	f.Add("cdn-telemetry-sync.com", "rundll32.exe", "WS-1", int64(0))
	f.Add("https://user@evil.example.co.uk:8443/x?y", `C:\x\chrome.exe`, "", int64(-1))
	f.Add("10.0.0.1", "", "h", int64(1<<62))
	f.Add("xn--bcher-kva.de.", "Safari", "\x00", int64(86400*45))
	f.Add("\xff\xfe..", "msedge.exe\n", "a,b", int64(-86400*45))
	f.Add("[2606:4700:4700::1111]:53", `C:\w\rundll32.exe`, "WS-2", int64(9))
	f.Add("275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F", "", "WS-3", int64(62))
	f.Fuzz(func(t *testing.T, dest, proc, host string, created int64) {
		events := []filesource.Event{
			{Time: t0, Host: host, Process: proc, Dest: dest},
			{Time: t0.Add(time.Minute), Host: host + "2", Process: "svchost.exe", Dest: strings.ToUpper(dest)},
			{Time: t0, Host: host, Process: proc, Image: proc, Dest: dest, Kind: KindIP, Code: "3"},
			{Time: t0, Host: host, Process: proc, Image: proc, Dest: dest, Kind: KindFile, Code: "1"},
			{Time: t0, Host: host, Process: proc, Image: proc, Dest: "SHA256=" + dest, Kind: KindFile, Code: "1"},
		}
		rules := DefaultRules()
		rules.MaxDistinctHosts = 1
		rec := record.Record{VTFound: true, WhoisCreationTime: &created, CertIssuerOrg: "Let's Encrypt", LastAnalysisPositive: &created}
		l := Lookups{
			Domain: func(string) (record.Record, bool) { return rec, true },
			IP: func(string) (ipkind.Record, bool) {
				return ipkind.Record{VTFound: true, LastAnalysisPositive: &created}, true
			},
			File: func(string) (filekind.Record, bool) { return filekind.Record{}, created%2 == 0 },
		}
		for _, fd := range Evaluate(events, l, rules) {
			switch fd.Kind {
			case KindIP:
				if k, why := ipkind.Normalize(fd.Indicator); why != "" || k != fd.Indicator {
					t.Fatalf("IP finding for %q, not an address vtsync looks up", fd.Indicator)
				}
				continue
			case KindFile:
				images := 1
				if proc == "" {
					images = 0
				}
				if k, why := filekind.Normalize(fd.Indicator); why != "" || k != fd.Indicator || len(fd.Images) != images {
					t.Fatalf("image finding for %q (images %q), not a hash vtsync looks up", fd.Indicator, fd.Images)
				}
				continue
			}
			if !domain.Valid(fd.Indicator) {
				t.Fatalf("finding for %q, not a registered domain", fd.Indicator)
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
		Evaluate(events, Lookups{Domain: lookup}, DefaultRules())
	}
	b.ReportMetric(float64(len(events)), "events/op")
}
