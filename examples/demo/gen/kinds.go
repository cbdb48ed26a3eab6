package main

// The IP address and file hash half of the demo: Sysmon process creation
// events (EventID 1) whose Hashes name the process image, network
// connection events (EventID 3) to bare IP addresses, and the VirusTotal
// answers for both (vt/ip_addresses/<ip>.json, vt/files/<hash>.json).
//
// The addresses of the malicious hosts and every file hash but EICAR's are
// invented for the demo, and so are all the VirusTotal answers: the
// hosting companies carry private-use AS numbers (RFC 6996), and nothing
// here says anything about whoever holds those addresses.

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// procEvent is a Sysmon process creation event (EventID 1).
type procEvent struct {
	UtcTime        string `json:"UtcTime"`
	EventID        int    `json:"EventID"`
	Computer       string `json:"Computer"`
	User           string `json:"User"`
	Image          string `json:"Image"`
	CommandLine    string `json:"CommandLine"`
	ParentImage    string `json:"ParentImage"`
	IntegrityLevel string `json:"IntegrityLevel"`
	Hashes         string `json:"Hashes"`
	at             time.Time
}

// vtIP is what VirusTotal knows about an IP address.
type vtIP struct {
	ip         string
	owner      string
	asn        int
	country    string
	network    string
	issuer     *cert
	malicious  int
	suspicious int
	reputation int
	tags       []string
}

var ips = []vtIP{
	// Infrastructure everyone reaches.
	{ip: "13.107.4.52", owner: "MICROSOFT-CORP-MSN-AS-BLOCK", asn: 8068, country: "US", network: "13.104.0.0/14", issuer: &microsoftCA, reputation: 5},
	{ip: "8.8.8.8", owner: "GOOGLE", asn: 15169, country: "US", network: "8.8.8.0/24", issuer: &gts, reputation: 520, tags: []string{}},
	{ip: "1.1.1.1", owner: "CLOUDFLARENET", asn: 13335, country: "AU", network: "1.1.1.0/24", issuer: &digicert, reputation: 110},
	{ip: "2606:4700:4700::1111", owner: "CLOUDFLARENET", asn: 13335, country: "US", network: "2606:4700::/32", issuer: &digicert, reputation: 40},
	// Flagged: rundll32 on the hosts beaconing to cdn-telemetry-sync.com
	// also reaches this address directly.
	{ip: "193.142.146.35", owner: "DEMO-HOSTING-AS (fictional)", asn: 64512, country: "NL", network: "193.142.146.0/24",
		malicious: 9, suspicious: 2, reputation: -23, tags: []string{"c2"}},
	// Flagged, but only a browser went there.
	{ip: "45.141.215.19", owner: "DEMO-VPS-AS (fictional)", asn: 65010, country: "DE", network: "45.141.215.0/24",
		issuer: &letsEncryptR10, malicious: 5, reputation: -8, tags: []string{"phishing"}},
}

// unknownIP is an address VirusTotal does not know: no file in vt/.
const unknownIP = "89.44.9.243"

// vtFile is what VirusTotal knows about a file.
type vtFile struct {
	image                      string // the process image it is
	name                       string // meaningful_name
	typ                        string // type_description
	size                       int
	signer                     string // "" is unsigned
	label                      string // popular_threat_classification.suggested_threat_label
	malicious                  int
	suspicious                 int
	reputation                 int
	firstSeen                  time.Time
	tags                       []string
	md5, sha1, sha256, imphash string
}

// invented returns stable made-up hashes for a file of the demo.
func invented(f vtFile) vtFile {
	a := sha256.Sum256([]byte("vtsync demo file " + f.image))
	b := sha1.Sum([]byte("vtsync demo file " + f.image))
	c := md5.Sum([]byte("vtsync demo file " + f.image))
	d := md5.Sum([]byte("vtsync demo imports " + f.image))
	f.sha256, f.sha1, f.md5, f.imphash = hex.EncodeToString(a[:]), hex.EncodeToString(b[:]), hex.EncodeToString(c[:]), hex.EncodeToString(d[:])
	return f
}

const (
	invoiceViewer = `C:\Users\%s\AppData\Local\Temp\Invoice_2025-0314_viewer.exe`
	eicarImage    = `C:\Users\%s\Downloads\eicar.com`
	helperTool    = `C:\Program Files\Acme Tools\AcmeHelper.exe`
	cmd           = `C:\Windows\System32\cmd.exe`
	explorer      = `C:\Windows\explorer.exe`
	services      = `C:\Windows\System32\services.exe`
)

var files = []vtFile{
	invented(vtFile{image: svchost, name: "svchost.exe", typ: "Win32 EXE", size: 57360, signer: "Microsoft Windows", reputation: 30,
		firstSeen: date(2021, 10, 5), tags: []string{"peexe", "signed", "64bits"}}),
	invented(vtFile{image: powershell, name: "PowerShell.EXE", typ: "Win32 EXE", size: 450560, signer: "Microsoft Windows", reputation: 12,
		firstSeen: date(2021, 10, 5), tags: []string{"peexe", "signed", "64bits"}}),
	invented(vtFile{image: rundll32, name: "RUNDLL32.EXE", typ: "Win32 EXE", size: 71680, signer: "Microsoft Windows", reputation: 8,
		firstSeen: date(2021, 10, 5), tags: []string{"peexe", "signed", "64bits"}}),
	invented(vtFile{image: acmeUpdate, name: "AcmeUpdater.exe", typ: "Win32 EXE", size: 1523712, signer: "Acme Tools Ltd", suspicious: 1,
		firstSeen: date(2023, 2, 1), tags: []string{"peexe", "signed"}}),
	// Flagged: what the phishing mail on host 13 dropped.
	invented(vtFile{image: invoiceViewer, name: "Invoice_viewer.exe", typ: "Win32 EXE", size: 884736, label: "trojan.agenttesla/msil",
		malicious: 38, suspicious: 3, reputation: -60, firstSeen: days(4), tags: []string{"peexe", "assembly", "detect-debug-environment"}}),
	// Flagged: the anti-virus test file, with its real hashes.
	{image: eicarImage, name: "eicar.com", typ: "DOS COM", size: 68, label: "virus.eicar/test", malicious: 62, reputation: 3486,
		firstSeen: time.Unix(1148301722, 0).UTC(), tags: []string{"com", "attachment"},
		md5: "44d88612fea8a8f36de82e1278abb02f", sha1: "3395856ce81f2b7382dee72602f798b642f14140",
		sha256: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"},
}

// unknownFile is a process image VirusTotal has never seen: no file in vt/.
var unknownFile = invented(vtFile{image: helperTool})

// byImage returns the file whose image is image (user placeholder
// included), or the zero vtFile.
func byImage(image string) vtFile {
	for _, f := range files {
		if f.image == image {
			return f
		}
	}
	if image == unknownFile.image {
		return unknownFile
	}
	return vtFile{}
}

// hashes writes Sysmon's Hashes value in the order Sysmon's configuration
// names the algorithms.
func hashes(f vtFile, algos ...string) string {
	var parts []string
	for _, a := range algos {
		v := map[string]string{"MD5": f.md5, "SHA1": f.sha1, "SHA256": f.sha256, "IMPHASH": f.imphash}[a]
		if v == "" {
			v = strings.Repeat("0", 32) // EICAR has no import table
		}
		parts = append(parts, a+"="+strings.ToUpper(v))
	}
	return strings.Join(parts, ",")
}

// kindGen adds the demo's IP and process events; it has its own random
// source, so the domain traffic and this stay independent.
type kindGen struct {
	*gen
	r     *rand.Rand
	procs []procEvent
}

func (k *kindGen) proc(at time.Time, hostIdx int, image, parent, cmdline string, algos ...string) {
	f := byImage(image)
	if strings.Contains(image, "%s") {
		image = fmt.Sprintf(image, user(hostIdx))
	}
	if len(algos) == 0 {
		algos = []string{"SHA1", "MD5", "SHA256", "IMPHASH"}
	}
	k.procs = append(k.procs, procEvent{
		UtcTime: at.Format("2006-01-02 15:04:05.000"), EventID: 1, Computer: host(hostIdx),
		User: `AD\` + user(hostIdx), Image: image, CommandLine: cmdline, ParentImage: parent,
		IntegrityLevel: "Medium", Hashes: hashes(f, algos...), at: at,
	})
}

// connect adds a network connection to a bare IP address: Sysmon writes no
// DestinationHostname when it has none.
func (k *kindGen) connect(at time.Time, hostIdx int, image, ip string, port int) {
	if strings.Contains(image, "%s") {
		image = fmt.Sprintf(image, user(hostIdx))
	}
	proto := "tcp"
	if port == 53 {
		proto = "udp"
	}
	k.events = append(k.events, event{
		UtcTime: at.Format("2006-01-02 15:04:05.000"), EventID: 3, Computer: host(hostIdx),
		User: `AD\` + user(hostIdx), Image: image, Protocol: proto,
		SourceIP:      fmt.Sprintf("10.10.%d.%d", 1+hostIdx/200, 10+hostIdx%200),
		DestinationIP: ip, DestinationPort: port, at: at,
	})
}

func (k *kindGen) randomIn() time.Time {
	return Ref.Add(-window + time.Duration(k.r.Int64N(int64(window))))
}

func (k *kindGen) traffic() {
	for h := range nHosts {
		// Processes every host starts. Host 35's Sysmon hashes MD5 and
		// SHA1 only; host 34's IMPHASH only, which names no file.
		algos := []string{"SHA1", "MD5", "SHA256", "IMPHASH"}
		switch h {
		case 35:
			algos = []string{"MD5", "SHA1"}
		case 34:
			algos = []string{"IMPHASH"}
		}
		k.proc(k.randomIn(), h, svchost, services, `C:\Windows\system32\svchost.exe -k netsvcs -p`, algos...)
		if h%3 == 0 {
			k.proc(k.randomIn(), h, powershell, explorer, `powershell.exe -NoProfile`, algos...)
		}
		// Connectivity checks and DNS, by IP.
		k.connect(k.randomIn(), h, svchost, "13.107.4.52", 80)
		if h%4 == 0 {
			k.connect(k.randomIn(), h, svchost, "8.8.8.8", 53)
		}
		if h%6 == 1 {
			k.connect(k.randomIn(), h, svchost, "2606:4700:4700::1111", 53)
		}
	}

	// The compromised hosts: rundll32 starts the implant and reaches its
	// server by address too.
	for _, h := range []int{17, 23, 31} {
		start := Ref.Add(-46*time.Minute + time.Duration(h)*time.Second)
		k.proc(start, h, rundll32, explorer, `rundll32.exe C:\ProgramData\CdnSync\telemetry.dll,Start`)
		for at := start.Add(3 * time.Minute); at.Before(Ref); at = at.Add(7*time.Minute + time.Duration(k.r.Int64N(int64(time.Minute)))) {
			k.connect(at, h, rundll32, "193.142.146.35", 443)
		}
	}
	// Host 13 opened the invoice from invoice-portal-review.com: Outlook
	// starts the dropped viewer, which calls an address VirusTotal has not
	// seen.
	k.proc(Ref.Add(-27*time.Minute), 13, invoiceViewer, outlook, `"C:\Users\user114\AppData\Local\Temp\Invoice_2025-0314_viewer.exe"`)
	k.connect(Ref.Add(-26*time.Minute), 13, invoiceViewer, unknownIP, 587)
	// Someone tests the anti-virus with EICAR.
	k.proc(Ref.Add(-38*time.Minute), 5, eicarImage, cmd, `C:\Users\user106\Downloads\eicar.com`)
	// A vendor updater (signed, one engine suspicious) and its helper,
	// which VirusTotal has never seen.
	for _, h := range []int{3, 10, 21} {
		k.proc(k.randomIn(), h, acmeUpdate, services, `"C:\Program Files\Acme Tools\AcmeUpdater.exe" /check`)
		k.proc(k.randomIn(), h, helperTool, acmeUpdate, `"C:\Program Files\Acme Tools\AcmeHelper.exe" --sync`)
	}
	// Flagged address, but only a browser went there.
	k.connect(Ref.Add(-31*time.Minute), 2, chrome, "45.141.215.19", 443)
	k.connect(Ref.Add(-30*time.Minute), 7, edge, "45.141.215.19", 443)
	// Sysmon's junk.
	k.connect(k.randomIn(), 9, svchost, "0.0.0.0", 0)
	k.connect(k.randomIn(), 9, svchost, "100.64.12.7", 443)
	k.connect(k.randomIn(), 9, svchost, "224.0.0.251", 5353)
	k.connect(k.randomIn(), 9, svchost, "::1", 8089)
	k.connect(k.randomIn(), 9, svchost, "fe80::1c2d:3e4f:5a6b:7c8d", 5357)

	slices.SortStableFunc(k.events, func(a, b event) int { return a.at.Compare(b.at) })
	slices.SortStableFunc(k.procs, func(a, b procEvent) int { return a.at.Compare(b.at) })
}

// lines returns every event as one JSON line, network and process events
// merged in time order (network first at the same time).
func (k *kindGen) lines() [][]byte {
	out := make([][]byte, 0, len(k.events)+len(k.procs))
	i, j := 0, 0
	for i < len(k.events) || j < len(k.procs) {
		var v any
		if j >= len(k.procs) || i < len(k.events) && !k.procs[j].at.Before(k.events[i].at) {
			v, i = k.events[i], i+1
		} else {
			v, j = k.procs[j], j+1
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// ipEnvelope is the body of GET /api/v3/ip_addresses/{ip}.
func ipEnvelope(v vtIP, r *rand.Rand) map[string]any {
	analysed := Ref.Add(-time.Duration(2+r.IntN(70)) * time.Hour)
	harmless := 55 + r.IntN(8)
	attrs := map[string]any{
		"as_owner":                   v.owner,
		"asn":                        v.asn,
		"country":                    v.country,
		"continent":                  map[string]string{"US": "NA", "AU": "OC", "NL": "EU", "DE": "EU"}[v.country],
		"network":                    v.network,
		"regional_internet_registry": map[string]string{"US": "ARIN", "AU": "APNIC", "NL": "RIPE NCC", "DE": "RIPE NCC"}[v.country],
		"last_analysis_date":         analysed.Unix(),
		"last_analysis_stats":        map[string]int{"harmless": harmless, "malicious": v.malicious, "suspicious": v.suspicious, "undetected": 94 - harmless - v.malicious - v.suspicious, "timeout": 0},
		"reputation":                 v.reputation,
		"tags":                       v.tags, // null when nil, as VirusTotal sometimes sends
		"total_votes":                map[string]int{"harmless": max(0, v.reputation/10), "malicious": v.malicious / 2},
		"last_modification_date":     analysed.Add(time.Hour).Unix(),
	}
	if c := v.issuer; c != nil {
		sum := sha256.Sum256([]byte(v.ip + c.CN))
		notBefore := Ref.Add(-40 * 24 * time.Hour)
		attrs["last_https_certificate"] = map[string]any{
			"issuer":            map[string]string{"C": c.C, "O": c.O, "CN": c.CN},
			"subject":           map[string]string{"CN": v.ip},
			"validity":          map[string]string{"not_before": notBefore.Format("2006-01-02 15:04:05"), "not_after": notBefore.Add(90 * 24 * time.Hour).Format("2006-01-02 15:04:05")},
			"serial_number":     hex.EncodeToString(sum[:16]),
			"thumbprint_sha256": hex.EncodeToString(sum[:]),
			"version":           "V3",
		}
		attrs["last_https_certificate_date"] = analysed.Unix()
	}
	return map[string]any{"data": map[string]any{
		"id": v.ip, "type": "ip_address",
		"links":      map[string]string{"self": "https://www.virustotal.com/api/v3/ip_addresses/" + v.ip},
		"attributes": attrs,
	}}
}

// fileEnvelope is the body of GET /api/v3/files/{hash}: its id is the
// SHA-256, whichever hash was asked for.
func fileEnvelope(f vtFile, r *rand.Rand) map[string]any {
	analysed := Ref.Add(-time.Duration(2+r.IntN(70)) * time.Hour)
	undetected := 70 - f.malicious - f.suspicious
	name := f.image[strings.LastIndexByte(f.image, '\\')+1:]
	attrs := map[string]any{
		"md5": f.md5, "sha1": f.sha1, "sha256": f.sha256, "size": f.size,
		"type_description":      f.typ,
		"meaningful_name":       f.name,
		"names":                 []string{f.name, strings.ToLower(name)},
		"first_submission_date": f.firstSeen.Unix(),
		"last_submission_date":  analysed.Add(-time.Hour).Unix(),
		"last_analysis_date":    analysed.Unix(),
		"last_analysis_stats":   map[string]int{"harmless": 0, "type-unsupported": 4, "suspicious": f.suspicious, "confirmed-timeout": 0, "timeout": 0, "failure": 0, "malicious": f.malicious, "undetected": undetected},
		"reputation":            f.reputation,
		"tags":                  f.tags,
		"total_votes":           map[string]int{"harmless": max(0, f.reputation/10), "malicious": f.malicious / 4},
		"times_submitted":       1 + r.IntN(400),
	}
	if f.label != "" {
		family := f.label[strings.LastIndexByte(f.label, '.')+1:]
		family, _, _ = strings.Cut(family, "/")
		attrs["popular_threat_classification"] = map[string]any{
			"suggested_threat_label":  f.label,
			"popular_threat_category": []map[string]any{{"count": f.malicious / 2, "value": f.label[:strings.IndexByte(f.label, '.')]}},
			"popular_threat_name":     []map[string]any{{"count": f.malicious / 3, "value": family}},
		}
	}
	if f.typ == "Win32 EXE" {
		info := map[string]any{"description": strings.TrimSuffix(f.name, ".exe"), "file version": "10.0.19041.1", "original name": f.name}
		if f.signer != "" {
			info["verified"] = "Signed"
			info["signers"] = f.signer + "; Example Code Signing PCA 2011; Example Root Certificate Authority 2010"
			info["signing date"] = "10:15 AM 01/02/2025"
			info["product"] = strings.TrimSuffix(f.name, ".exe")
		}
		attrs["signature_info"] = info
	}
	return map[string]any{"data": map[string]any{
		"id": f.sha256, "type": "file",
		"links":      map[string]string{"self": "https://www.virustotal.com/api/v3/files/" + f.sha256},
		"attributes": attrs,
	}}
}

// kindFiles returns the VirusTotal answers of the demo's IPs and files,
// at the offline enricher's paths. A file is saved under each hash it is
// looked up by: its SHA-256, and its SHA-1 where Sysmon hashes no SHA-256
// (host 35).
func kindFiles() map[string][]byte {
	r := rand.New(rand.NewPCG(seed2+1, seed1))
	out := map[string][]byte{}
	put := func(rel string, v any) {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			panic(err)
		}
		out[rel] = append(b, '\n')
	}
	for _, v := range ips {
		put(filepath.Join("vt", "ip_addresses", strings.ReplaceAll(v.ip, ":", "_")+".json"), ipEnvelope(v, r))
	}
	for _, f := range files {
		env := fileEnvelope(f, r)
		put(filepath.Join("vt", "files", f.sha256+".json"), env)
		if f.image == svchost || f.image == powershell {
			put(filepath.Join("vt", "files", f.sha1+".json"), env)
		}
	}
	return out
}
