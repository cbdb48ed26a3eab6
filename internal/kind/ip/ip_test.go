package ip

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func i64(n int64) *int64 { return &n }

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var normalizeCases = []struct{ raw, key, reason string }{
	// Global unicast, in every accepted spelling.
	{"8.8.8.8", "8.8.8.8", ""},
	{"  8.8.8.8\t", "8.8.8.8", ""},
	{"8.8.8.8:53", "8.8.8.8", ""},
	{"1.1.1.1:0", "1.1.1.1", ""},
	{"2001:4860:4860::8888", "2001:4860:4860::8888", ""},
	{"2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888", ""},
	{"2001:4860:4860:0000:0000:0000:0000:8888", "2001:4860:4860::8888", ""},
	{"2001:4860:4860::8888:443", "2001:4860:4860::8888:443", ""}, // bare IPv6: no port
	{"2A00:1450:4001:081C::200E", "2a00:1450:4001:81c::200e", ""},
	{"[2a00:1450:4001:81c::200e]", "2a00:1450:4001:81c::200e", ""},
	{"[2a00:1450:4001:81c::200e]:443", "2a00:1450:4001:81c::200e", ""},
	{"2001:db9::1", "2001:db9::1", ""},       // just outside documentation
	{"2001:0:1:2::3", "", Reserved},          // Teredo
	{"2001:200::1", "2001:200::1", ""},       // just outside 2001::/23
	{"::ffff:8.8.4.4", "8.8.4.4", ""},        // IPv4-mapped: the IPv4 host
	{"[::ffff:8.8.4.4]:53", "8.8.4.4", ""},   // IPv4-mapped, bracketed with a port
	{"64:ff9b::808:808", "8.8.8.8", ""},      // NAT64 well-known prefix
	{"64:ff9b::10.0.0.1", "", Private},       // NAT64 of a private address
	{"100.63.255.255", "100.63.255.255", ""}, // just below CGNAT
	{"100.128.0.0", "100.128.0.0", ""},       // just above CGNAT
	{"172.15.255.255", "172.15.255.255", ""},
	{"172.32.0.0", "172.32.0.0", ""},
	{"198.17.255.255", "198.17.255.255", ""},
	{"198.20.0.0", "198.20.0.0", ""},
	{"223.255.255.255", "223.255.255.255", ""},
	{"192.0.3.1", "192.0.3.1", ""},

	{"", "", Empty},
	{"   ", "", Empty},
	{"-", "", Empty},
	{"None", "", Empty},

	{"0.0.0.0", "", Unspecified},
	{"::", "", Unspecified},
	{"[::]:80", "", Unspecified},
	{"127.0.0.1", "", Loopback},
	{"127.255.255.254:8089", "", Loopback},
	{"::1", "", Loopback},
	{"[::1]:8089", "", Loopback},
	{"::ffff:127.0.0.1", "", Loopback},
	{"10.1.2.3", "", Private},
	{"172.16.0.1", "", Private},
	{"172.31.255.255", "", Private},
	{"192.168.1.1:443", "", Private},
	{"fd00::1", "", Private},
	{"fc00::1", "", Private},
	{"::ffff:192.168.0.1", "", Private},
	{"100.64.0.1", "", CGNAT},
	{"100.127.255.255", "", CGNAT},
	{"169.254.169.254", "", LinkLocal},
	{"fe80::1", "", LinkLocal},
	{"fe80::1%eth0", "", LinkLocal},
	{"[fe80::1%25en0]:80", "", LinkLocal},
	{"224.0.0.251", "", Multicast},
	{"239.255.255.250", "", Multicast},
	{"ff02::fb", "", Multicast},
	{"255.255.255.255", "", Broadcast},
	{"192.0.2.1", "", Documentation},
	{"198.51.100.7:8080", "", Documentation},
	{"203.0.113.255", "", Documentation},
	{"2001:db8::1", "", Documentation},
	{"2001:DB8:FFFF::", "", Documentation},
	{"3fff::1", "", Documentation},
	{"198.18.0.1", "", Benchmark},
	{"198.19.255.255", "", Benchmark},
	{"2001:2::1", "", Benchmark},
	{"0.1.2.3", "", Reserved},
	{"192.0.0.8", "", Reserved},
	{"192.88.99.1", "", Reserved},
	{"240.0.0.1", "", Reserved},
	{"255.255.255.254", "", Reserved},
	{"2002:c000:204::1", "", Reserved}, // 6to4
	{"100::1", "", Reserved},
	{"64:ff9b:1::1", "", Reserved},
	{"::1.2.3.4", "", Reserved}, // IPv4-compatible, deprecated
	{"4000::1", "", Reserved},   // outside 2000::/3
	{"8.8.8.8%eth0", "", Malformed},
	{"2001:4860:4860::8888%eth0", "", Malformed}, // a zone on a global address

	{"010.0.0.1", "", Malformed},
	{"0x7f.0.0.1", "", Malformed},
	{"2130706433", "", Malformed},
	{"1.2.3", "", Malformed},
	{"1.2.3.4.5", "", Malformed},
	{"256.1.1.1", "", Malformed},
	{"8.8.8.8.", "", Malformed},
	{"8.8.8.8:65536", "", Malformed},
	{"8.8.8.8:", "", Malformed},
	{"8.8.8.8/32", "", Malformed},
	{"[8.8.8.8]", "", Malformed},
	{"[8.8.8.8]:53", "", Malformed},
	{"[2001:4860::1", "", Malformed},
	{"[2001:4860::1]x", "", Malformed},
	{"2001:4860::1]", "", Malformed},
	{"http://8.8.8.8/", "", Malformed},
	{"dns.google", "", Malformed},
	{"8.8.8.8 1.1.1.1", "", Malformed},
	{"8.8.8.8\x00", "", Malformed},
	{"８.８.８.８", "", Malformed}, // full-width digits
	{strings.Repeat("1", 200), "", Malformed},
}

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeCases {
		key, reason := Normalize(tc.raw)
		if key != tc.key || reason != tc.reason {
			t.Errorf("Normalize(%q) = %q, %q; want %q, %q", tc.raw, key, reason, tc.key, tc.reason)
		}
	}
}

func TestReasonsAreDistinctAndUsed(t *testing.T) {
	used := map[string]bool{}
	for _, tc := range normalizeCases {
		used[tc.reason] = true
	}
	rs := Reasons()
	if len(slices.Compact(slices.Sorted(slices.Values(rs)))) != len(rs) {
		t.Fatalf("duplicate reasons in %v", rs)
	}
	for _, r := range rs {
		if !used[r] {
			t.Errorf("reason %q has no test case", r)
		}
	}
}

func TestKindBasics(t *testing.T) {
	k, ok := kind.Lookup("ip")
	if !ok || k.Name() != "ip" || k.Collection() != "vtsync_ips" {
		t.Fatalf("kind.Lookup(ip) = %v, %v", k, ok)
	}
	if key, reason := k.Normalize("[2A00:1450::1]:443"); key != "2a00:1450::1" || reason != "" {
		t.Errorf("Normalize = %q, %q", key, reason)
	}
	for key, want := range map[string]string{"8.8.8.8": "ip_addresses/8.8.8.8", "2a00:1450::1": "ip_addresses/2a00:1450::1"} {
		if p := k.Path(key); p != want {
			t.Errorf("Path(%q) = %q, want %q", key, p, want)
		}
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMapFixtures(t *testing.T) {
	got, err := Kind{}.Map("8.8.8.8", readFixture(t, "ip_address.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		Key: "8.8.8.8", IP: "8.8.8.8", VTFound: true,
		LastAnalysisPositive: i64(0), LastAnalysisSuspicious: i64(0), LastAnalysisTime: i64(1741953600),
		ASN: i64(15169), ASOwner: "GOOGLE", Country: "US", Network: "8.8.8.0/24", Reputation: i64(523),
		Tags:       []string{"dns", "anycast"},
		CertIssuer: "C=US, O=Google Trust Services, CN=WR2", CertIssuerOrg: "Google Trust Services",
		EnrichedTime: testNow.Unix(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}

	got, err = Kind{}.Map("2001:4860:4860::8844", readFixture(t, "ip_address_sparse.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want = Record{
		Key: "2001:4860:4860::8844", IP: "2001:4860:4860::8844", VTFound: true,
		LastAnalysisPositive: i64(0), LastAnalysisSuspicious: i64(0),
		ASN: i64(15169), ASOwner: "GOOGLE", Country: "US", Reputation: i64(0),
		EnrichedTime: testNow.Unix(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map sparse:\n got %s\nwant %s", show(got), show(want))
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "null") || strings.Contains(string(b), "network") || strings.Contains(string(b), "cert_issuer") {
		t.Errorf("absent attributes written: %s", b)
	}
}

// Each attribute of the wrong type is dropped alone; the key is the one
// asked for, whatever VirusTotal's id says.
func TestMapWrongTypes(t *testing.T) {
	body := `{"data":{"id":"8.8.8.8","type":"ip_address","attributes":{
		"as_owner":15169,"asn":"15169","country":"US","network":["8.8.8.0/24"],
		"last_analysis_date":"1741953600","last_analysis_stats":{"malicious":3,"suspicious":-1},
		"last_https_certificate":{"issuer":"CN=x"},"reputation":-12.5,"tags":["a",2,null,"b"]}}}`
	got, err := Kind{}.Map("8.8.8.8", []byte(body), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Key: "8.8.8.8", IP: "8.8.8.8", VTFound: true, LastAnalysisPositive: i64(3), Country: "US",
		Tags: []string{"a", "b"}, EnrichedTime: testNow.Unix()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}

	got, err = Kind{}.Map("2a00:1450::1", []byte(`{"data":{"id":"2A00:1450:0::1","type":"ip_address","attributes":[]}}`), testNow)
	if err != nil || got.ID() != "2a00:1450::1" || got.(Record).IP != "2a00:1450::1" {
		t.Errorf("Map = %s, %v", show(got), err)
	}
}

func TestMapRejectsOtherObjects(t *testing.T) {
	for _, body := range []string{
		``, `null`, `[]`, `{}`, `{"data":null}`, `{"data":[]}`,
		`{"data":{"id":"8.8.8.8","type":"domain","attributes":{}}}`,
		`{"data":{"type":"ip_address","attributes":{}}}`,
		`{"data":{"id":8,"type":"ip_address","attributes":{}}}`,
		`{"error":{"code":"NotFoundError","message":"IP address \"8.8.8.8\" not found"}}`,
		`{"id":"8.8.8.8","type":"ip_address","attributes":{}}`,
	} {
		if r, err := (Kind{}).Map("8.8.8.8", []byte(body), testNow); err == nil || r != nil {
			t.Errorf("Map(%s) = %s, %v; want an error and no record", body, show(r), err)
		}
	}
}

func TestNotFound(t *testing.T) {
	r := Kind{}.NotFound("8.8.8.8", testNow)
	if r.ID() != "8.8.8.8" || r.Found() || r.Enriched() != testNow.Unix() {
		t.Errorf("NotFound = %s", show(r))
	}
	if b, _ := json.Marshal(r); string(b) != `{"_key":"8.8.8.8","ip":"8.8.8.8","vt_found":false,"enriched_time":1772366400}` {
		t.Errorf("negative document %s", b)
	}
}

// Fields lists exactly the JSON fields of a full record, in their order,
// and PRODUCT's IP record fields.
func TestFieldsMatchTheRecord(t *testing.T) {
	full := Record{Key: "k", IP: "k", VTFound: true, LastAnalysisPositive: i64(1), LastAnalysisSuspicious: i64(1),
		LastAnalysisTime: i64(1), ASN: i64(1), ASOwner: "o", Country: "c", Network: "n", Reputation: i64(1),
		Tags: []string{"t"}, CertIssuer: "i", CertIssuerOrg: "o", EnrichedTime: 1}
	b, _ := json.Marshal(full)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var names []string
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		names = append(names, tok.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	var got []string
	for _, f := range (Kind{}).Fields() {
		got = append(got, f.Name)
		if f.Accelerated != (f.Name == "ip") {
			t.Errorf("%s accelerated = %v", f.Name, f.Accelerated)
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("Fields %v\nJSON   %v", got, names)
	}
	contract := []string{"_key", "ip", "vt_found", "last_analysis_positive", "last_analysis_suspicious",
		"last_analysis_time", "asn", "as_owner", "country", "network", "reputation", "tags", "cert_issuer",
		"cert_issuer_org", "enriched_time"}
	if !slices.Equal(got, contract) {
		t.Errorf("Fields %v\nwant   %v", got, contract)
	}
}

func TestDecode(t *testing.T) {
	k := Kind{}
	rec := Record{Key: "8.8.8.8", IP: "8.8.8.8", VTFound: true, ASN: i64(15169), ASOwner: "GOOGLE",
		Tags: []string{"dns"}, Reputation: i64(-2), EnrichedTime: 1772366400}
	b, _ := json.Marshal(rec)
	got, err := k.Decode(b)
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("round trip: %s, %v", show(got), err)
	}
	// What the KV store and outputlookup give back.
	got, err = k.Decode([]byte(`{"_key":"8.8.8.8","ip":"8.8.8.8","vt_found":"1","asn":1.5169e4,"as_owner":"GOOGLE","reputation":"-2",
		"tags":"dns","enriched_time":"1772366400","_user":"nobody","country":null}`))
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("lenient: %#v, %v", got, err)
	}
	for _, doc := range []string{`{"asn":"many"}`, `{"vt_found":"maybe"}`, `{"tags":{"a":1}}`, `{"ip":5}`, `[]`} {
		if _, err := k.Decode([]byte(doc)); err == nil {
			t.Errorf("Decode(%s) gave no error", doc)
		}
	}
}

// FuzzNormalize: a key is a canonical global unicast address that
// normalises to itself; a rejection has a known reason and no key.
func FuzzNormalize(f *testing.F) {
	for _, tc := range normalizeCases {
		f.Add(tc.raw)
	}
	reasons := Reasons()
	f.Fuzz(func(t *testing.T, raw string) {
		key, reason := Normalize(raw)
		if (key == "") == (reason == "") {
			t.Fatalf("Normalize(%q) = %q, %q: exactly one must be set", raw, key, reason)
		}
		if reason != "" {
			if !slices.Contains(reasons, reason) {
				t.Fatalf("Normalize(%q): unknown reason %q", raw, reason)
			}
			return
		}
		a, err := netip.ParseAddr(key)
		if err != nil || a.String() != key || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("Normalize(%q) = %q, not a canonical address", raw, key)
		}
		if !a.IsGlobalUnicast() || a.IsPrivate() {
			t.Fatalf("Normalize(%q) = %q, not global unicast", raw, key)
		}
		if k2, r2 := Normalize(key); k2 != key || r2 != "" {
			t.Fatalf("Normalize(%q) = %q, %q; not a fixed point", key, k2, r2)
		}
		if strings.Trim(key, "0123456789abcdef.:") != "" {
			t.Fatalf("key %q holds characters a URL path would escape", key)
		}
	})
}

// FuzzMap: any body maps to a record under the key asked for, or to an
// error and no record; a record always encodes.
func FuzzMap(f *testing.F) {
	for _, name := range []string{"ip_address.json", "ip_address_sparse.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"data":{"id":"8.8.8.8","type":"ip_address","attributes":{"asn":-1,"last_analysis_stats":{"malicious":"1"},"tags":[null]}}}`,
		`{"data":{"id":"8.8.8.8","type":"ip_address","attributes":{"last_https_certificate":{"issuer":{"O":"\u0000"}}}}}`,
		`{"data":{"id":"x","type":"ip_address","attributes":null},"data":{"id":"y"}}`,
		`null`, `{"data":1}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Kind{}.Map("8.8.8.8", body, testNow)
		if err != nil {
			if r != nil {
				t.Fatalf("error %v with a record %s", err, show(r))
			}
			return
		}
		rec := r.(Record)
		if rec.Key != "8.8.8.8" || rec.IP != "8.8.8.8" || !rec.VTFound || rec.EnrichedTime != testNow.Unix() {
			t.Fatalf("record %s", show(rec))
		}
		for _, n := range []*int64{rec.LastAnalysisPositive, rec.LastAnalysisSuspicious, rec.ASN} {
			if n != nil && *n < 0 {
				t.Fatalf("negative count in %s", show(rec))
			}
		}
		if slices.Contains(rec.Tags, "") {
			t.Fatalf("empty tag in %q", rec.Tags)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatalf("record does not encode: %v", err)
		}
		back, err := Kind{}.Decode(b)
		if err != nil || show(back) != string(b) {
			t.Fatalf("record does not decode back: %s, %v", show(back), err)
		}
	})
}
