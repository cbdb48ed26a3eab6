// Package ip is the IP address indicator kind: a raw address from
// telemetry reduced to its canonical form, looked up at
// GET /ip_addresses/{ip}, stored in vtsync_ips.
//
// Only globally routable unicast addresses reach VirusTotal. Everything
// else — private, loopback, link-local, multicast, CGNAT, documentation,
// benchmarking, reserved ranges — names a host of the site itself or no
// host at all: looking it up would spend quota on an answer that means
// nothing and leak the site's addressing. Decisions:
//   - The key is IPv4 dotted decimal, or IPv6 as RFC 5952 writes it
//     (lower-case, longest zero run compressed), from net/netip.
//   - Brackets and a port are stripped: "[2001:db8::1]:443",
//     "198.51.100.7:8080". A bare IPv6 address keeps every group: its last
//     group is never read as a port.
//   - IPv4 written otherwise than as four decimal octets without leading
//     zeros ("010.0.0.1", "0x7f.1", "2130706433") is malformed: such forms
//     are read differently by different parsers.
//   - An IPv4-mapped IPv6 address (::ffff:a.b.c.d) and an address of the
//     NAT64 well-known prefix (64:ff9b::a.b.c.d, RFC 6052) are the IPv4
//     host they carry, and are judged and keyed as that address.
//   - Outside 2000::/3 no IPv6 address is global unicast: the rest is
//     reserved by IANA. 6to4, Teredo and the other IETF assignments in
//     2001::/23 are reserved too.
//   - A zone ("fe80::1%eth0") is only meaningful on a link-local address,
//     which is rejected as such; a zone on any other address is malformed.
package ip

import (
	"encoding/json"
	"net/netip"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/kind/kvdoc"
	"github.com/vtsync/vtsync/internal/kind/vtjson"
)

// Name is the kind's name in configuration and summaries.
const Name = "ip"

// Collection is the default KV collection and lookup definition.
const Collection = "vtsync_ips"

// Rejection reasons, the keys of the run summary's "rejected" counts: keep
// them stable.
const (
	Empty         = "empty"         // nothing, or a placeholder such as "-"
	Malformed     = "malformed"     // not an IP address in a form read the same everywhere
	Unspecified   = "unspecified"   // 0.0.0.0, ::
	Loopback      = "loopback"      // 127.0.0.0/8, ::1
	Private       = "private"       // RFC 1918, unique local fc00::/7
	CGNAT         = "cgnat"         // shared address space 100.64.0.0/10
	LinkLocal     = "link_local"    // 169.254.0.0/16, fe80::/10
	Multicast     = "multicast"     // 224.0.0.0/4, ff00::/8
	Broadcast     = "broadcast"     // 255.255.255.255
	Documentation = "documentation" // TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20
	Benchmark     = "benchmark"     // 198.18.0.0/15, 2001:2::/48
	Reserved      = "reserved"      // every other special-purpose or unallocated range
)

// Reasons returns every rejection reason, in a fixed order.
func Reasons() []string {
	return []string{Empty, Malformed, Unspecified, Loopback, Private, CGNAT, LinkLocal,
		Multicast, Broadcast, Documentation, Benchmark, Reserved}
}

// maxRaw bounds the raw value looked at: the longest address with brackets,
// a zone and a port is far shorter.
const maxRaw = 128

// Normalize returns the canonical address of raw and an empty reason, or
// an empty key and why raw never reaches VirusTotal.
func Normalize(raw string) (key, reason string) {
	s := strings.TrimSpace(raw)
	switch s {
	case "", "-", "None", "null", "N/A", "n/a":
		return "", Empty
	}
	if len(s) > maxRaw {
		return "", Malformed
	}
	addr, ok := parse(s)
	if !ok {
		return "", Malformed
	}
	zone := addr.Zone()
	addr = addr.WithZone("")
	if addr.Is4In6() {
		addr = addr.Unmap()
	} else if nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte(b[12:]))
	}
	if why := classify(addr); why != "" {
		return "", why
	}
	if zone != "" {
		return "", Malformed
	}
	return addr.String(), ""
}

// parse reads an address, bracketed or not, with or without a port.
func parse(s string) (netip.Addr, bool) {
	if s[0] == '[' {
		if end := strings.IndexByte(s, ']'); end == len(s)-1 {
			s = s[1:end]
		} else if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Is6() {
			return ap.Addr(), true
		} else {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s)
		return a, err == nil && a.Is6()
	}
	if strings.Count(s, ":") == 1 { // IPv4 with a port
		ap, err := netip.ParseAddrPort(s)
		return ap.Addr(), err == nil && ap.Addr().Is4()
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// classify returns why a (without a zone) is not a global unicast
// address, or "".
func classify(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return Unspecified
	case a.IsLoopback():
		return Loopback
	case a.IsMulticast():
		return Multicast
	case a.IsLinkLocalUnicast():
		return LinkLocal
	case a.IsPrivate():
		return Private
	}
	for _, r := range special {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return Reserved
	}
	return ""
}

var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
)

// special lists the ranges of the IANA special-purpose registries (RFC
// 6890 and successors) that net/netip's predicates do not cover, most
// specific first where they nest.
var special = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("255.255.255.255/32"), Broadcast},
	{netip.MustParsePrefix("100.64.0.0/10"), CGNAT},
	{netip.MustParsePrefix("192.0.2.0/24"), Documentation},
	{netip.MustParsePrefix("198.51.100.0/24"), Documentation},
	{netip.MustParsePrefix("203.0.113.0/24"), Documentation},
	{netip.MustParsePrefix("198.18.0.0/15"), Benchmark},
	{netip.MustParsePrefix("0.0.0.0/8"), Reserved},      // "this network"
	{netip.MustParsePrefix("192.0.0.0/24"), Reserved},   // IETF protocol assignments
	{netip.MustParsePrefix("192.88.99.0/24"), Reserved}, // 6to4 relay anycast, deprecated
	{netip.MustParsePrefix("240.0.0.0/4"), Reserved},    // reserved for future use
	{netip.MustParsePrefix("2001:db8::/32"), Documentation},
	{netip.MustParsePrefix("3fff::/20"), Documentation},
	{netip.MustParsePrefix("2001:2::/48"), Benchmark},
	{netip.MustParsePrefix("2001::/23"), Reserved},      // IETF protocol assignments, Teredo
	{netip.MustParsePrefix("2002::/16"), Reserved},      // 6to4
	{netip.MustParsePrefix("100::/64"), Reserved},       // discard-only
	{netip.MustParsePrefix("64:ff9b:1::/48"), Reserved}, // local-use NAT64
}

// Kind is the IP address kind. It registers itself under Name.
type Kind struct{}

var _ kind.Kind = Kind{}

func init() { kind.Register(Kind{}) }

func (Kind) Name() string       { return Name }
func (Kind) Collection() string { return Collection }

// Param is ip_field; an events file is read for addresses under Sysmon
// EventCode 3's DestinationIp and CIM's dest_ip.
func (Kind) Param() kind.Param { return param }

var param = kind.Param{Name: "ip_field", Title: "IP address field", Example: "dest_ip", Holds: "IP addresses", Order: 2,
	Description: "Result field holding IP addresses (stored in vtsync_ips); private, loopback, link-local, multicast, reserved, documentation and CGNAT addresses never reach VirusTotal. Empty: no IP addresses are collected.",
	EventFields: []string{"DestinationIp", "dest_ip"}}

// Normalize is the package's Normalize.
func (Kind) Normalize(raw string) (key, reason string) { return Normalize(raw) }

// Path is "ip_addresses/" + key. A canonical address holds only hex
// digits, dots and colons, none of which a URL path segment escapes.
func (Kind) Path(key string) string { return "ip_addresses/" + key }

// Record is one document of vtsync_ips. Fields VirusTotal did not provide
// are omitted (null in Splunk), never written as zero.
type Record struct {
	Key                    string   `json:"_key"`
	IP                     string   `json:"ip"`
	VTFound                bool     `json:"vt_found"`
	LastAnalysisPositive   *int64   `json:"last_analysis_positive,omitempty"`
	LastAnalysisSuspicious *int64   `json:"last_analysis_suspicious,omitempty"`
	LastAnalysisTime       *int64   `json:"last_analysis_time,omitempty"`
	ASN                    *int64   `json:"asn,omitempty"`
	ASOwner                string   `json:"as_owner,omitempty"`
	Country                string   `json:"country,omitempty"`
	Network                string   `json:"network,omitempty"`
	Reputation             *int64   `json:"reputation,omitempty"`
	Tags                   []string `json:"tags,omitempty"`
	CertIssuer             string   `json:"cert_issuer,omitempty"`
	CertIssuerOrg          string   `json:"cert_issuer_org,omitempty"`
	EnrichedTime           int64    `json:"enriched_time"`
}

func (r Record) ID() string      { return r.Key }
func (r Record) Found() bool     { return r.VTFound }
func (r Record) Enriched() int64 { return r.EnrichedTime }

// Positives is how many VirusTotal engines rate the indicator malicious
// (0 when the record has no analysis), for the run summary's flagged.
func (r Record) Positives() int64 {
	if r.LastAnalysisPositive == nil {
		return 0
	}
	return *r.LastAnalysisPositive
}

// fields is the record contract, in the order of Record's JSON fields.
var fields = []kind.Field{
	{Name: "_key", Type: "string"},
	{Name: "ip", Type: "string", Accelerated: true},
	{Name: "vt_found", Type: "bool"},
	{Name: "last_analysis_positive", Type: "number"},
	{Name: "last_analysis_suspicious", Type: "number"},
	{Name: "last_analysis_time", Type: "number"},
	{Name: "asn", Type: "number"},
	{Name: "as_owner", Type: "string"},
	{Name: "country", Type: "string"},
	{Name: "network", Type: "string"},
	{Name: "reputation", Type: "number"},
	{Name: "tags", Type: "array"},
	{Name: "cert_issuer", Type: "string"},
	{Name: "cert_issuer_org", Type: "string"},
	{Name: "enriched_time", Type: "number"},
}

// Fields is the record contract, _key first.
func (Kind) Fields() []kind.Field { return append([]kind.Field(nil), fields...) }

// attributes holds the IP address attributes the record reads, each raw
// and decoded on its own.
type attributes struct {
	ASOwner           json.RawMessage `json:"as_owner"`
	ASN               json.RawMessage `json:"asn"`
	Country           json.RawMessage `json:"country"`
	Network           json.RawMessage `json:"network"`
	LastAnalysisDate  json.RawMessage `json:"last_analysis_date"`
	LastAnalysisStats json.RawMessage `json:"last_analysis_stats"`
	Certificate       json.RawMessage `json:"last_https_certificate"`
	Reputation        json.RawMessage `json:"reputation"`
	Tags              json.RawMessage `json:"tags"`
}

// Map maps a GET /ip_addresses/{key} response body into a record stored
// under key. Only a body without an object of type "ip_address" and a
// string id is an error; a missing, null or mistyped attribute leaves its
// field empty.
func (Kind) Map(key string, body []byte, now time.Time) (kind.Record, error) {
	var a attributes
	if _, err := vtjson.Response(body, "ip_address", &a); err != nil {
		return nil, err
	}
	r := Record{Key: key, IP: key, VTFound: true, EnrichedTime: now.Unix()}
	r.LastAnalysisPositive, r.LastAnalysisSuspicious = vtjson.Stats(a.LastAnalysisStats)
	r.LastAnalysisTime = vtjson.Time(a.LastAnalysisDate)
	r.ASN = vtjson.Count(a.ASN)
	r.ASOwner, _ = vtjson.Str(a.ASOwner)
	r.Country, _ = vtjson.Str(a.Country)
	r.Network, _ = vtjson.Str(a.Network)
	r.Reputation = vtjson.Int(a.Reputation)
	r.Tags = vtjson.StringList(a.Tags)
	c := vtjson.Cert(a.Certificate)
	r.CertIssuer, r.CertIssuerOrg = c.Issuer, c.IssuerOrg
	return r, nil
}

// NotFound is the negative record for key.
func (Kind) NotFound(key string, now time.Time) kind.Record {
	return Record{Key: key, IP: key, EnrichedTime: now.Unix()}
}

// wire is Record as stored documents may hold it.
type wire struct {
	Key                    string        `json:"_key"`
	IP                     string        `json:"ip"`
	VTFound                kvdoc.Bool    `json:"vt_found"`
	LastAnalysisPositive   kvdoc.Int     `json:"last_analysis_positive"`
	LastAnalysisSuspicious kvdoc.Int     `json:"last_analysis_suspicious"`
	LastAnalysisTime       kvdoc.Int     `json:"last_analysis_time"`
	ASN                    kvdoc.Int     `json:"asn"`
	ASOwner                string        `json:"as_owner"`
	Country                string        `json:"country"`
	Network                string        `json:"network"`
	Reputation             kvdoc.Int     `json:"reputation"`
	Tags                   kvdoc.Strings `json:"tags"`
	CertIssuer             string        `json:"cert_issuer"`
	CertIssuerOrg          string        `json:"cert_issuer_org"`
	EnrichedTime           kvdoc.Int     `json:"enriched_time"`
}

// UnmarshalJSON reads a stored document leniently (see package kvdoc).
func (r *Record) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Record{
		Key: w.Key, IP: w.IP, VTFound: bool(w.VTFound),
		LastAnalysisPositive: w.LastAnalysisPositive.Ptr(), LastAnalysisSuspicious: w.LastAnalysisSuspicious.Ptr(),
		LastAnalysisTime: w.LastAnalysisTime.Ptr(), ASN: w.ASN.Ptr(), ASOwner: w.ASOwner, Country: w.Country,
		Network: w.Network, Reputation: w.Reputation.Ptr(), Tags: []string(w.Tags),
		CertIssuer: w.CertIssuer, CertIssuerOrg: w.CertIssuerOrg, EnrichedTime: w.EnrichedTime.N,
	}
	return nil
}

// Decode reads a stored document.
func (Kind) Decode(doc []byte) (kind.Record, error) {
	var r Record
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, err
	}
	return r, nil
}
