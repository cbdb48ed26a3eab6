// Command gen writes the demo's sample data: about an hour of Sysmon-like
// network connection and process creation events (events.ndjson) from a
// few dozen Windows hosts, and the VirusTotal API v3 responses of the
// domains they contact (vt/<domain>.json), of the IP addresses they reach
// without a name (vt/ip_addresses/<ip>.json) and of the process images
// they start (vt/files/<hash>.json), some of which VirusTotal does not
// know. Output is
// deterministic: fixed seed, fixed reference time; re-run it after a
// change and commit what it writes:
//
//	go run ./examples/demo/gen -out examples/demo
//
// The story the data tells (what `vtsync detect` must find, and leave
// alone) is in examples/demo/README.md.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Ref is the demo's "now": the end of the event window. Ages in the VT
// data are relative to it, and the detection measures age from the first
// event, so the demo's findings never change with the wall clock.
var Ref = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

const (
	window = time.Hour
	nHosts = 36
	seed1  = 20250314
	seed2  = 3
)

// Process images.
const (
	chrome     = `C:\Program Files\Google\Chrome\Application\chrome.exe`
	edge       = `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`
	firefox    = `C:\Program Files\Mozilla Firefox\firefox.exe`
	svchost    = `C:\Windows\System32\svchost.exe`
	powershell = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	rundll32   = `C:\Windows\System32\rundll32.exe`
	onedrive   = `C:\Users\%s\AppData\Local\Microsoft\OneDrive\OneDrive.exe`
	teams      = `C:\Users\%s\AppData\Local\Microsoft\Teams\current\Teams.exe`
	gup        = `C:\Program Files\Notepad++\updater\GUP.exe`
	gupdate    = `C:\Program Files (x86)\Google\Update\GoogleUpdate.exe`
	outlook    = `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`
	vpnUpdate  = `C:\Program Files\CorpVPN\VpnAgentUpdate.exe`
	acmeUpdate = `C:\Program Files\Acme Tools\AcmeUpdater.exe`
)

// cert is a certificate issuer.
type cert struct{ C, O, CN string }

var (
	letsEncryptR10 = cert{"US", "Let's Encrypt", "R10"}
	letsEncryptR11 = cert{"US", "Let's Encrypt", "R11"}
	letsEncryptE5  = cert{"US", "Let's Encrypt", "E5"}
	digicert       = cert{"US", "DigiCert Inc", "DigiCert Global G2 TLS RSA SHA256 2020 CA1"}
	microsoftCA    = cert{"US", "Microsoft Corporation", "Microsoft Azure RSA TLS Issuing CA 04"}
	gts            = cert{"US", "Google Trust Services", "WR2"}
	gtsWR1         = cert{"US", "Google Trust Services", "WR1"}
	sectigo        = cert{"GB", "Sectigo Limited", "Sectigo RSA Domain Validation Secure Server CA"}
	cloudflareCA   = cert{"US", "Cloudflare, Inc.", "Cloudflare Inc ECC CA-3"}
)

// vtDomain is what VirusTotal knows about a registered domain.
type vtDomain struct {
	name       string
	created    time.Time // zero: VirusTotal has no creation date
	registrar  string    // "" is sent as an explicit null
	issuer     *cert
	malicious  int
	suspicious int
	reputation int
	ranks      map[string]int // popularity_ranks
	categories map[string]string
	tags       []string
}

func days(d float64) time.Time { return Ref.Add(-time.Duration(d * 24 * float64(time.Hour))) }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 14, 27, 0, time.UTC) }

var domains = []vtDomain{
	// Popular: dropped by the popularity filter whatever else they are.
	{name: "microsoft.com", created: date(1991, 5, 2), registrar: "MarkMonitor Inc.", issuer: &microsoftCA, reputation: 42,
		ranks: map[string]int{"Majestic": 3, "Cisco Umbrella": 2, "Cloudflare Radar": 4}, categories: map[string]string{"Forcepoint ThreatSeeker": "information technology", "BitDefender": "computersandsoftware", "alphaMountain.ai": "Information Technology"}},
	{name: "microsoftonline.com", created: date(2004, 11, 10), registrar: "MarkMonitor Inc.", issuer: &microsoftCA, reputation: 12,
		ranks: map[string]int{"Cisco Umbrella": 8, "Cloudflare Radar": 30}, categories: map[string]string{"Forcepoint ThreatSeeker": "information technology"}},
	{name: "windowsupdate.com", created: date(1998, 9, 15), issuer: &microsoftCA, reputation: 7,
		ranks: map[string]int{"Cisco Umbrella": 21}, categories: map[string]string{"BitDefender": "computersandsoftware"}},
	{name: "google.com", created: date(1997, 9, 15), registrar: "MarkMonitor Inc.", issuer: &gts, reputation: 220,
		ranks: map[string]int{"Majestic": 1, "Cisco Umbrella": 1, "Cloudflare Radar": 1, "Alexa": 1}, categories: map[string]string{"Forcepoint ThreatSeeker": "search engines and portals", "Sophos": "search engines", "alphaMountain.ai": "Search Engines/Portals"}},
	{name: "gstatic.com", created: date(2008, 2, 11), registrar: "MarkMonitor Inc.", issuer: &gts, reputation: 15,
		ranks: map[string]int{"Cisco Umbrella": 12, "Majestic": 640}, categories: map[string]string{"Forcepoint ThreatSeeker": "content delivery networks"}},
	{name: "office.com", created: date(1990, 11, 30), registrar: "MarkMonitor Inc.", issuer: &digicert, reputation: 18,
		ranks: map[string]int{"Cisco Umbrella": 40, "Majestic": 220}, categories: map[string]string{"Forcepoint ThreatSeeker": "information technology"}},
	{name: "digicert.com", created: date(1996, 7, 21), registrar: "DigiCert, Inc.", issuer: &digicert, reputation: 9,
		ranks: map[string]int{"Cisco Umbrella": 95}, categories: map[string]string{"BitDefender": "computersandsoftware"}},
	{name: "cloudflare.com", created: date(2009, 2, 17), registrar: "Cloudflare, Inc.", issuer: &cloudflareCA, reputation: 25,
		ranks: map[string]int{"Cisco Umbrella": 30, "Majestic": 20}, categories: map[string]string{"Sophos": "information technology"}},
	// Popular and abused now and then: one engine flags it, fewer than
	// min_positives. githubusercontent.com is a public suffix (the list's
	// private part), so each host name under it is a registered domain of
	// its own.
	{name: "raw.githubusercontent.com", created: date(2014, 2, 6), registrar: "MarkMonitor Inc.", issuer: &digicert, malicious: 1, suspicious: 2, reputation: -5,
		ranks: map[string]int{"Cisco Umbrella": 160, "Majestic": 900}, categories: map[string]string{"Forcepoint ThreatSeeker": "information technology", "alphaMountain.ai": "Information Technology"}},
	{name: "notepad-plus-plus.org", created: date(2009, 12, 1), registrar: "OVH sas", issuer: &letsEncryptR11, reputation: 3,
		ranks: map[string]int{"Majestic": 9200, "Cisco Umbrella": 310000}, categories: map[string]string{"BitDefender": "computersandsoftware"}},

	// Flagged: registered 9 days before first contact, Let's Encrypt (the blog's case).
	{name: "cdn-telemetry-sync.com", created: days(9.3), registrar: "NameSilo, LLC", issuer: &letsEncryptR10, malicious: 1, reputation: 0,
		categories: map[string]string{"Forcepoint ThreatSeeker": "newly registered websites"}},
	// Flagged: old, but engines detect it.
	{name: "update-kb-service.net", created: date(2019, 6, 2), registrar: "PDR Ltd. d/b/a PublicDomainRegistry.com", issuer: &sectigo, malicious: 6, suspicious: 1, reputation: -41,
		categories: map[string]string{"Forcepoint ThreatSeeker": "malicious web sites", "Sophos": "malware callhome, command and control", "alphaMountain.ai": "Malicious"}, tags: []string{"malware"}},
	// Flagged: registered 20 days before first contact, not Let's Encrypt.
	{name: "invoice-portal-review.com", created: days(20), registrar: "Hostinger Operations, UAB", issuer: &gtsWR1, reputation: 0,
		categories: map[string]string{"Forcepoint ThreatSeeker": "newly registered websites", "BitDefender": "business"}},

	// Left alone: old, Let's Encrypt, clean.
	{name: "acme-tools-download.org", created: date(2016, 4, 18), registrar: "Gandi SAS", issuer: &letsEncryptR11, reputation: 1,
		categories: map[string]string{"BitDefender": "computersandsoftware"}},
	// Left alone: Let's Encrypt, but 60 days old.
	{name: "quarterly-report-share.com", created: days(60), registrar: "NameCheap, Inc.", issuer: &letsEncryptE5},
	// Left alone: Let's Encrypt, age unknown (no WHOIS creation date), clean.
	{name: "files-sync-node.io", registrar: "", issuer: &letsEncryptR10, reputation: 0},
	// Left alone: fresh and detected, but only browsers went there.
	{name: "promo-deals-today.shop", created: days(3), registrar: "NameCheap, Inc.", issuer: &letsEncryptR10, malicious: 4, reputation: -12,
		categories: map[string]string{"Forcepoint ThreatSeeker": "phishing and other frauds"}, tags: []string{"phishing"}},
	// Left alone: fresh Let's Encrypt, but 24 hosts: a roll-out, not a compromise.
	{name: "corpvpn-client-update.com", created: days(12), registrar: "GoDaddy.com, LLC", issuer: &letsEncryptR10, reputation: 0},

	// Flagged: engines call it malicious although Cisco Umbrella ranks it
	// (its only rank): popularity never hides positives.
	{name: "adnet-telemetry.net", created: date(2020, 8, 3), registrar: "NameCheap, Inc.", issuer: &sectigo, malicious: 5, suspicious: 2, reputation: -23,
		ranks: map[string]int{"Cisco Umbrella": 38500}, categories: map[string]string{"Forcepoint ThreatSeeker": "advertisements", "Sophos": "spyware and malware"}, tags: []string{"adware"}},

	// Left alone: registered 15 days ago, but already ranked within
	// popular_max_rank: the popularity threshold suppresses the young rule.
	{name: "newco-collab.app", created: days(15), registrar: "Google LLC", issuer: &letsEncryptR11, reputation: 2,
		ranks: map[string]int{"Cisco Umbrella": 12400, "Cloudflare Radar": 20000}, categories: map[string]string{"BitDefender": "business"}},
	// Left alone: WHOIS says it was registered two days after the contact
	// (dropped and registered again): a negative age is not young.
	{name: "legacy-vendor-portal.com", created: days(-2), registrar: "NameCheap, Inc.", issuer: &letsEncryptR11, reputation: 0},
}

// junk are destination values the pipeline and the detection must drop.
var junk = []string{"", "-", "10.20.30.40", "192.168.1.1", "fe80::1c2d:3e4f:5a6b:7c8d", "localhost", "wpad",
	"DESKTOP-4GQ7", "_ldap._tcp.dc._msdcs.ad.example.corp", "printer01.local", "garbage!!.com", "1.1.1.1"}

type event struct {
	UtcTime             string `json:"UtcTime"`
	EventID             int    `json:"EventID"`
	Computer            string `json:"Computer"`
	User                string `json:"User"`
	Image               string `json:"Image"`
	Protocol            string `json:"Protocol"`
	SourceIP            string `json:"SourceIp"`
	DestinationHostname string `json:"DestinationHostname"`
	DestinationIP       string `json:"DestinationIp"`
	DestinationPort     int    `json:"DestinationPort"`
	at                  time.Time
}

type gen struct {
	r      *rand.Rand
	events []event
	late   []event // events-late.ndjson: indexed after the input's search ran
}

func host(i int) string { return fmt.Sprintf("WS-%03d.ad.example.org", 101+i) }
func user(i int) string { return fmt.Sprintf("user%03d", 101+i) }

// destIP is a stable documentation-range address for a name.
func destIP(name string) string {
	h := sha256.Sum256([]byte(name))
	nets := []string{"192.0.2", "198.51.100", "203.0.113"}
	return fmt.Sprintf("%s.%d", nets[int(h[0])%3], 1+int(h[1])%253)
}

func (g *gen) add(at time.Time, hostIdx int, image, dest string, port int) {
	g.events = append(g.events, g.event(at, hostIdx, image, dest, port))
}

// event returns a Sysmon network connection event (EventID 3).
func (g *gen) event(at time.Time, hostIdx int, image, dest string, port int) event {
	if strings.Contains(image, "%s") {
		image = fmt.Sprintf(image, user(hostIdx))
	}
	ip := destIP(dest)
	if dest == "" || dest == "-" || strings.Count(dest, ".") == 3 && strings.Trim(dest, "0123456789.") == "" {
		ip = dest
	}
	return event{
		UtcTime: at.Format("2006-01-02 15:04:05.000"), EventID: 3, Computer: host(hostIdx),
		User: `AD\` + user(hostIdx), Image: image, Protocol: "tcp",
		SourceIP:            fmt.Sprintf("10.10.%d.%d", 1+hostIdx/200, 10+hostIdx%200),
		DestinationHostname: dest, DestinationIP: ip, DestinationPort: port, at: at,
	}
}

// randomIn returns a time in the window.
func (g *gen) randomIn() time.Time {
	return Ref.Add(-window + time.Duration(g.r.Int64N(int64(window))))
}

// beacon adds a contact every period (±20%) from start to the window's end.
func (g *gen) beacon(hostIdx int, image, dest string, start time.Time, period time.Duration) {
	for at := start; at.Before(Ref); at = at.Add(period + time.Duration(g.r.Int64N(int64(period*2/5))) - period/5) {
		g.add(at, hostIdx, image, dest, 443)
	}
}

func (g *gen) traffic() {
	browsers := []string{chrome, edge, chrome, firefox}
	popular := []string{"www.microsoft.com", "login.microsoftonline.com", "www.google.com", "fonts.gstatic.com",
		"outlook.office.com", "www.office.com", "github.com", "www.cloudflare.com"}
	system := []string{"ctldl.windowsupdate.com", "ocsp.digicert.com", "settings-win.data.microsoft.com", "login.microsoftonline.com"}
	for h := range nHosts {
		browser := browsers[h%len(browsers)]
		for range 35 + g.r.IntN(20) {
			g.add(g.randomIn(), h, browser, popular[g.r.IntN(len(popular))], 443)
		}
		for range 12 + g.r.IntN(8) {
			g.add(g.randomIn(), h, svchost, system[g.r.IntN(len(system))], 443)
		}
		for range 2 + g.r.IntN(3) {
			g.add(g.randomIn(), h, onedrive, "oneclient.sfx.ms.microsoft.com", 443)
			g.add(g.randomIn(), h, teams, "teams.microsoft.com", 443)
		}
		if h%9 == 0 {
			g.add(g.randomIn(), h, gupdate, "update.googleapis.com", 443) // googleapis.com: no VT file, not found
		}
		// Sysmon's junk: connections without a name, to IPs, to LAN names.
		for range 2 + g.r.IntN(3) {
			g.add(g.randomIn(), h, svchost, junk[g.r.IntN(len(junk))], 443)
		}
	}

	// Browsers only: a fresh, detected phishing domain nobody's tools touch.
	for _, h := range []int{2, 7, 11, 19, 30} {
		for range 3 + g.r.IntN(4) {
			g.add(g.randomIn(), h, browsers[h%2], "www.promo-deals-today.shop", 443)
		}
	}

	// Popular domains reached by non-browser tools on a few hosts.
	for _, h := range []int{4, 12, 27} {
		g.add(g.randomIn(), h, powershell, "raw.githubusercontent.com", 443)
	}
	for _, h := range []int{1, 5, 9, 14} {
		g.add(g.randomIn(), h, gup, "notepad-plus-plus.org", 443)
	}

	// The blog's case: a domain registered 9 days earlier with a Let's
	// Encrypt certificate, beaconed to by rundll32 on a first host and
	// spreading to three more, where PowerShell reaches it too.
	g.beacon(17, rundll32, "cdn-telemetry-sync.com", Ref.Add(-47*time.Minute), time.Minute)
	g.beacon(23, rundll32, "cdn-telemetry-sync.com", Ref.Add(-38*time.Minute), time.Minute)
	g.beacon(8, powershell, "api.cdn-telemetry-sync.com", Ref.Add(-25*time.Minute), 2*time.Minute)
	g.beacon(31, rundll32, "cdn-telemetry-sync.com", Ref.Add(-11*time.Minute), time.Minute)

	// An old domain engines flag, fetched by PowerShell on two hosts.
	g.beacon(6, powershell, "dl.update-kb-service.net", Ref.Add(-33*time.Minute), 5*time.Minute)
	g.beacon(29, powershell, "update-kb-service.net", Ref.Add(-21*time.Minute), 5*time.Minute)

	// A 20-day-old domain a mail client reaches on one host.
	g.add(Ref.Add(-29*time.Minute), 13, outlook, "invoice-portal-review.com", 443)
	g.add(Ref.Add(-28*time.Minute), 13, outlook, "www.invoice-portal-review.com", 443)

	// Left alone.
	for _, h := range []int{3, 10, 21} {
		g.add(g.randomIn(), h, acmeUpdate, "dl.acme-tools-download.org", 443)
	}
	g.add(Ref.Add(-52*time.Minute), 16, outlook, "quarterly-report-share.com", 443)
	g.add(Ref.Add(-44*time.Minute), 25, powershell, "quarterly-report-share.com", 443)
	g.beacon(20, svchost, "files-sync-node.io", Ref.Add(-40*time.Minute), 10*time.Minute)
	g.beacon(33, svchost, "files-sync-node.io", Ref.Add(-35*time.Minute), 10*time.Minute)
	for h := range 24 {
		g.add(Ref.Add(-55*time.Minute+time.Duration(h)*90*time.Second), h, vpnUpdate, "dl.corpvpn-client-update.com", 443)
	}
	g.add(Ref.Add(-19*time.Minute), 26, rundll32, "zq3x9-relay.top", 8443)
	g.add(Ref.Add(-9*time.Minute), 26, rundll32, "zq3x9-relay.top", 8443)

	// The detection's cases of popularity and age.
	g.add(Ref.Add(-16*time.Minute), 34, rundll32, "cdn.adnet-telemetry.net", 443)
	for _, h := range []int{0, 6, 15, 22, 28} {
		g.add(Ref.Add(-50*time.Minute+time.Duration(h)*time.Minute), h, teams, "assets.newco-collab.app", 443)
	}
	g.add(Ref.Add(-40*time.Minute), 3, acmeUpdate, "portal.legacy-vendor-portal.com", 443)
	g.add(Ref.Add(-36*time.Minute), 10, acmeUpdate, "legacy-vendor-portal.com", 443)

	// Indexed late: the input's search never saw it, so the domain has no
	// record when the detection runs: pending.
	g.late = append(g.late, g.event(Ref.Add(-6*time.Minute), 18, rundll32, "cdn.late-indexed-relay.xyz", 443),
		g.event(Ref.Add(-4*time.Minute), 18, rundll32, "cdn.late-indexed-relay.xyz", 443))

	slices.SortStableFunc(g.events, func(a, b event) int { return a.at.Compare(b.at) })
}

// envelope is the body of GET /api/v3/domains/{domain}.
func envelope(d vtDomain, r *rand.Rand) map[string]any {
	analysed := Ref.Add(-time.Duration(2+r.IntN(70)) * time.Hour)
	engines := 94
	harmless := 60 + r.IntN(8)
	attrs := map[string]any{
		"last_analysis_date":     analysed.Unix(),
		"last_analysis_stats":    map[string]int{"harmless": harmless, "malicious": d.malicious, "suspicious": d.suspicious, "undetected": engines - harmless - d.malicious - d.suspicious, "timeout": 0},
		"reputation":             d.reputation,
		"tags":                   nonNil(d.tags),
		"categories":             nonNilMap(d.categories),
		"total_votes":            map[string]int{"harmless": max(0, d.reputation/10), "malicious": d.malicious / 2},
		"tld":                    d.name[strings.LastIndexByte(d.name, '.')+1:],
		"last_modification_date": analysed.Add(time.Hour).Unix(),
		"last_dns_records": []map[string]any{
			{"type": "A", "value": destIP(d.name), "ttl": 300},
			{"type": "NS", "value": "ns1.dns-host.example.net", "ttl": 86400},
		},
		"last_dns_records_date": analysed.Unix(),
	}
	if d.registrar == "" {
		attrs["registrar"] = nil
	} else {
		attrs["registrar"] = d.registrar
	}
	ranks := map[string]any{}
	for name, rank := range d.ranks {
		ranks[name] = map[string]any{"rank": rank, "timestamp": analysed.Add(-24 * time.Hour).Unix()}
	}
	attrs["popularity_ranks"] = ranks
	if !d.created.IsZero() {
		attrs["creation_date"] = d.created.Unix()
		attrs["expiration_date"] = d.created.AddDate(1+int(Ref.Sub(d.created).Hours()/24/365), 0, 0).Unix()
		attrs["whois"] = fmt.Sprintf("Domain Name: %s\nRegistrar: %s\nCreation Date: %s\nName Server: NS1.DNS-HOST.EXAMPLE.NET",
			strings.ToUpper(d.name), d.registrar, d.created.Format("2006-01-02T15:04:05Z"))
		attrs["whois_date"] = analysed.Unix()
	}
	if c := d.issuer; c != nil {
		notBefore := Ref.Add(-30 * 24 * time.Hour)
		if !d.created.IsZero() && d.created.After(notBefore) {
			notBefore = d.created.Add(2 * time.Hour)
		}
		validity := 90 * 24 * time.Hour
		if c.O != "Let's Encrypt" {
			validity = 365 * 24 * time.Hour
		}
		sum := sha256.Sum256([]byte(d.name + c.CN))
		attrs["last_https_certificate"] = map[string]any{
			"issuer":              map[string]string{"C": c.C, "O": c.O, "CN": c.CN},
			"subject":             map[string]string{"CN": d.name},
			"validity":            map[string]string{"not_before": notBefore.Format("2006-01-02 15:04:05"), "not_after": notBefore.Add(validity).Format("2006-01-02 15:04:05")},
			"serial_number":       hex.EncodeToString(sum[:16]),
			"thumbprint_sha256":   hex.EncodeToString(sum[:]),
			"signature_algorithm": "sha256RSA",
			"version":             "V3",
			"size":                1300 + int(sum[2]),
			"extensions": map[string]any{
				"subject_alternative_name": []string{d.name, "*." + d.name},
				"extended_key_usage":       []string{"serverAuth", "clientAuth"},
				"CA":                       false,
			},
		}
		attrs["last_https_certificate_date"] = analysed.Unix()
	}
	return map[string]any{"data": map[string]any{
		"id": d.name, "type": "domain",
		"links":      map[string]string{"self": "https://www.virustotal.com/api/v3/domains/" + d.name},
		"attributes": attrs,
	}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Generate returns the demo files: path (relative to the demo directory)
// → content.
func Generate() map[string][]byte {
	g := &gen{r: rand.New(rand.NewPCG(seed1, seed2))}
	g.traffic()
	k := &kindGen{gen: g, r: rand.New(rand.NewPCG(seed1+1, seed2))}
	k.traffic()
	var ev bytes.Buffer
	for _, b := range k.lines() {
		ev.Write(b)
		ev.WriteByte('\n')
	}
	files := map[string][]byte{"events.ndjson": ev.Bytes(), "events-late.ndjson": ndjson(g.late)}
	maps.Copy(files, kindFiles())
	r := rand.New(rand.NewPCG(seed2, seed1))
	for _, d := range domains {
		b, err := json.MarshalIndent(envelope(d, r), "", "  ")
		if err != nil {
			panic(err)
		}
		files[filepath.Join("vt", d.name+".json")] = append(b, '\n')
	}
	return files
}

func ndjson(events []event) []byte {
	var buf bytes.Buffer
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func main() {
	out := flag.String("out", ".", "demo `directory` to write events.ndjson and vt/ into")
	flag.Parse()
	files := Generate()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(*out, name)), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(*out, name), files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %d files to %s\n", len(names), *out)
}
