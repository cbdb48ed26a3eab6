package domain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/vttest"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixtureDir holds VirusTotal responses copied from public test suites
// (testdata/README.md says where from).
var fixtureDir = "testdata"

// fixtureData returns the domain object ("data") of a conformance file,
// unwrapping the {"data":…} envelope or the {"request_info","response"}
// wrapper of the anonymised fixture.
func fixtureData(t testing.TB, name string) []byte {
	t.Helper()
	return vttest.Object(t, filepath.Join(fixtureDir, name))
}

func i64(n int64) *int64 { return &n }

func TestMapRealResponse(t *testing.T) {
	got, err := MapObject(fixtureData(t, "opencti_vt_test_domain.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := record.Record{
		Key:                    "tawuhoju.com",
		Domain:                 "tawuhoju.com",
		VTFound:                true,
		WhoisCreationDate:      "2016-12-29",    // creation_date 1483018099
		WhoisCreationTime:      i64(1483018099), // = WHOIS "Creation Date: 2016-12-29T13:28:19Z"
		LastAnalysisPositive:   i64(6),          // last_analysis_stats.malicious
		LastAnalysisSuspicious: i64(0),          // last_analysis_stats.suspicious
		LastAnalysisTime:       nil,             // no last_analysis_date in this response
		CertIssuer:             "C=US, O=Amazon, OU=Server CA 1B, CN=Amazon",
		CertIssuerOrg:          "Amazon",
		CertNotBefore:          i64(1630108800), // "2021-08-28 00:00:00"
		Categories:             []string{"Malicious", "Malware Sites", "malicious web sites", "mobile communications"},
		PopularityAlexa:        nil,         // only "Cisco Umbrella"
		PopularityRank:         i64(506742), // "Cisco Umbrella".rank
		Reputation:             i64(-37),
		Registrar:              "CommuniGal Communication Ltd.",
		Tags:                   nil, // []
		EnrichedTime:           testNow.Unix(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}
}

func TestMapNullHeavyResponse(t *testing.T) {
	got, err := MapObject(fixtureData(t, "opencti_gti_debug_domain_anonymised.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := record.Record{
		Key:                    "loremipsum-services.net",
		Domain:                 "loremipsum-services.net",
		VTFound:                true,
		WhoisCreationDate:      "2024-10-22",
		WhoisCreationTime:      i64(1729627509),
		LastAnalysisPositive:   i64(10),
		LastAnalysisSuspicious: i64(0),
		LastAnalysisTime:       i64(1748754776),
		CertIssuer:             "C=US, O=Fake Encrypt, CN=R22",
		CertIssuerOrg:          "Fake Encrypt",
		CertNotBefore:          i64(1768386154), // "2026-01-14 10:22:34"
		Categories:             []string{"Phishing (alphaMountain.ai)"},
		Reputation:             i64(0),
		EnrichedTime:           testNow.Unix(),
		// popularity_ranks {}, registrar null, tags []: absent.
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}
}

func TestMapCertificateIssuer(t *testing.T) {
	for _, tc := range []struct{ issuer, want, org string }{
		{`{"C":"US","O":"Let's Encrypt","CN":"R10"}`, "C=US, O=Let's Encrypt, CN=R10", "Let's Encrypt"},
		{`{"CN":"E5","O":"Let's Encrypt","C":"US"}`, "C=US, O=Let's Encrypt, CN=E5", "Let's Encrypt"},
		{`{"CN":"Let's Encrypt Authority X3","O":"Let's Encrypt","C":"US"}`, "C=US, O=Let's Encrypt, CN=Let's Encrypt Authority X3", "Let's Encrypt"},
		// Fixed order C, ST, L, O, OU, CN, then the other keys sorted.
		{`{"emailAddress":"ca@example.com","CN":"X","OU":"Y","O":"Z","L":"Paris","ST":"IDF","C":"FR","DC":"example"}`,
			"C=FR, ST=IDF, L=Paris, O=Z, OU=Y, CN=X, DC=example, emailAddress=ca@example.com", "Z"},
		{`{"CN":"Only CN"}`, "CN=Only CN", ""},
		// Escaped JSON strings are decoded.
		{`{"O":"Let\u0027s Encrypt","CN":"R11"}`, "O=Let's Encrypt, CN=R11", "Let's Encrypt"},
		// Non-string values and empty values are skipped, not rendered.
		{`{"C":"US","O":null,"OU":["a"],"CN":7,"L":""}`, "C=US", ""},
		{`{}`, "", ""},
		{`"C=US, O=Let's Encrypt"`, "", ""},
		{`null`, "", ""},
	} {
		data := `{"id":"le.example","type":"domain","attributes":{"last_https_certificate":{"issuer":` + tc.issuer + `}}}`
		got, err := MapObject([]byte(data), testNow)
		if err != nil {
			t.Fatalf("issuer %s: %v", tc.issuer, err)
		}
		if got.CertIssuer != tc.want || got.CertIssuerOrg != tc.org {
			t.Errorf("issuer %s: got cert_issuer %q, cert_issuer_org %q; want %q, %q", tc.issuer, got.CertIssuer, got.CertIssuerOrg, tc.want, tc.org)
		}
	}
}

func TestMapMissingAttributes(t *testing.T) {
	for _, data := range []string{
		`{"id":"Example.COM","type":"domain"}`,
		`{"id":"Example.COM","type":"domain","attributes":null}`,
		`{"id":"Example.COM","type":"domain","attributes":{}}`,
		`{"id":"Example.COM","type":"domain","attributes":[1,2]}`,
		`{"id":"Example.COM","type":"domain","attributes":"x"}`,
		`{"id":"Example.COM","type":"domain","links":{"self":"x"},"attributes":{"creation_date":null,"last_analysis_date":null,
		  "last_analysis_stats":null,"last_https_certificate":null,"categories":null,"popularity_ranks":null,
		  "reputation":null,"registrar":null,"tags":null,"whois":null}}`,
	} {
		got, err := MapObject([]byte(data), testNow)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		want := record.Record{Key: "example.com", Domain: "example.com", VTFound: true, EnrichedTime: testNow.Unix()}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", data, show(got), show(want))
		}
		// Missing fields are omitted from the KV document, never zero.
		b, _ := json.Marshal(got)
		if string(b) != `{"_key":"example.com","domain":"example.com","vt_found":true,"enriched_time":1772366400}` {
			t.Errorf("%s: KV document %s", data, b)
		}
	}
}

// Every attribute of the wrong type is skipped alone; the others survive.
func TestMapWrongTypes(t *testing.T) {
	data := `{"id":"wrong.example","type":"domain","attributes":{
		"creation_date":"1483018099",
		"last_analysis_date":1.7e9,
		"last_analysis_stats":{"malicious":"6","suspicious":2,"harmless":"x"},
		"last_https_certificate":{"issuer":{"O":"Let's Encrypt","CN":"R10"},"validity":{"not_before":1630108800}},
		"categories":{"a":"phishing","b":7,"c":null,"d":"phishing","e":["x"],"Dr.Web":"malware"},
		"popularity_ranks":{"Alexa":{"rank":12.5},"Majestic":{"rank":"40"},"Cisco Umbrella":{"rank":900},
			"Statvoo":{"rank":0},"Tranco":null,"Quantcast":{"rank":-3},"Cloudflare Radar":[1]},
		"reputation":"-5",
		"registrar":{"name":"x"},
		"tags":["dga",1,null,"",{"a":1},"phishing"]
	}}`
	got, err := MapObject([]byte(data), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := record.Record{
		Key: "wrong.example", Domain: "wrong.example", VTFound: true,
		LastAnalysisSuspicious: i64(2),
		CertIssuer:             "O=Let's Encrypt, CN=R10",
		CertIssuerOrg:          "Let's Encrypt",
		Categories:             []string{"malware", "phishing"},
		PopularityRank:         i64(900),
		Tags:                   []string{"dga", "phishing"},
		EnrichedTime:           testNow.Unix(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}

	// Whole attribute groups of the wrong type.
	data = `{"id":"wrong.example","type":"domain","attributes":{"last_analysis_stats":[6],"last_https_certificate":"R10",
		"categories":["phishing"],"popularity_ranks":[{"rank":1}],"tags":"dga","creation_date":true,"reputation":12}}`
	got, err = MapObject([]byte(data), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want = record.Record{Key: "wrong.example", Domain: "wrong.example", VTFound: true, Reputation: i64(12), EnrichedTime: testNow.Unix()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}
}

func TestMapTimestamps(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		date string
	}{
		{"1483018099", "2016-12-29"},
		{"86399", "1970-01-01"},
		{"253402300799", "9999-12-31"},
		{"0", ""},                    // VirusTotal's "unknown"
		{"-1", ""},                   // before the epoch: not a WHOIS date
		{"253402300800", ""},         // year 10000 does not fit YYYY-MM-DD
		{"99999999999999999999", ""}, // overflows int64
		{"1e9", ""},
		{`"2016-12-29"`, ""},
	} {
		got, err := MapObject([]byte(`{"id":"t.example","type":"domain","attributes":{"creation_date":`+tc.raw+`,"reputation":1}}`), testNow)
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if got.WhoisCreationDate != tc.date || (got.WhoisCreationTime != nil) != (tc.date != "") || got.Reputation == nil {
			t.Errorf("creation_date %s: got %q %v, want %q", tc.raw, got.WhoisCreationDate, got.WhoisCreationTime, tc.date)
		}
	}
	got, _ := MapObject([]byte(`{"id":"t.example","type":"domain","attributes":{"last_https_certificate":{"validity":{"not_before":"2021-08-28T00:00:00Z"}}}}`), testNow)
	if got.CertNotBefore != nil {
		t.Errorf("not_before in another layout gave %d, want it skipped", *got.CertNotBefore)
	}
}

func TestMapAlexaAndBestRank(t *testing.T) {
	got, err := MapObject([]byte(`{"id":"p.example","type":"domain","attributes":{"popularity_ranks":{
		"Alexa":{"rank":12875,"timestamp":1684083481},"Statvoo":{"rank":12875},"Cisco Umbrella":{"rank":4021},"Majestic":{"rank":9000}}}}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got.PopularityAlexa == nil || *got.PopularityAlexa != 12875 || got.PopularityRank == nil || *got.PopularityRank != 4021 {
		t.Errorf("got popularity_alexa %v, popularity_rank %v; want 12875, 4021", show(got.PopularityAlexa), show(got.PopularityRank))
	}
}

func TestMapRejectsNonDomainObjects(t *testing.T) {
	for _, data := range []string{
		``, `null`, `[]`, `"tawuhoju.com"`, `{`, `{}`,
		`{"type":"domain","attributes":{}}`,
		`{"id":"","type":"domain"}`,
		`{"id":7,"type":"domain"}`,
		`{"id":"1.2.3.4","type":"ip_address","attributes":{}}`,
		`{"id":"x.example"}`,
	} {
		if r, err := MapObject([]byte(data), testNow); err == nil {
			t.Errorf("MapObject(%s) = %s, want an error", data, show(r))
		}
	}
}

// The record must be a fresh value: mapping twice shares nothing.
func TestMapRecordsIndependent(t *testing.T) {
	data := []byte(`{"id":"a.example","type":"domain","attributes":{"tags":["x"],"categories":{"v":"c"},"reputation":3}}`)
	a, _ := MapObject(data, testNow)
	b, _ := MapObject(data, testNow)
	a.Tags[0], a.Categories[0], *a.Reputation = "changed", "changed", 99
	if b.Tags[0] != "x" || b.Categories[0] != "c" || *b.Reputation != 3 {
		t.Errorf("records share memory: %s", show(b))
	}
}

func FuzzMap(f *testing.F) {
	// Seeds from the conformance objects, without the bulky attributes Map
	// does not read: large seeds make the fuzzer's minimisation crawl.
	for _, name := range []string{"opencti_vt_test_domain.json", "opencti_gti_debug_domain_anonymised.json"} {
		if b, err := os.ReadFile(filepath.Join(fixtureDir, name)); err == nil {
			var top struct{ Data, Response map[string]any }
			if json.Unmarshal(b, &top) == nil {
				for _, obj := range []map[string]any{top.Data, top.Response} {
					if attrs, ok := obj["attributes"].(map[string]any); ok {
						for _, k := range []string{"whois", "last_analysis_results", "last_dns_records", "favicon", "jarm"} {
							delete(attrs, k)
						}
						if cert, ok := attrs["last_https_certificate"].(map[string]any); ok {
							attrs["last_https_certificate"] = map[string]any{"issuer": cert["issuer"], "validity": cert["validity"]}
						}
						seed, _ := json.Marshal(obj)
						f.Add(seed)
					}
				}
			}
		}
	}
	for _, s := range []string{
		`{"id":"Example.COM","type":"domain","attributes":{"creation_date":1483018099,"last_analysis_stats":{"malicious":2,"suspicious":1},
		  "last_https_certificate":{"issuer":{"C":"US","O":"Let's Encrypt","CN":"R10"},"validity":{"not_before":"2025-01-01 00:00:00"}},
		  "categories":{"Dr.Web":"malware","Forcepoint ThreatSeeker":"malware"},"popularity_ranks":{"Alexa":{"rank":5}},
		  "reputation":-41,"registrar":"R","tags":["dga"]}}`,
		`{"id":"x","type":"domain","attributes":{"creation_date":-9223372036854775808,"reputation":9223372036854775807}}`,
		`{"id":"x","type":"domain","attributes":{"creation_date":"1","tags":null,"popularity_ranks":{"Alexa":{"rank":1.5}}}}`,
		`{"id":"\u00c9","type":"domain","attributes":{"registrar":"\ud800","categories":{"a":"\u0000"}}}`,
		`{"id":"x","type":"domain","attributes":{"last_https_certificate":{"issuer":{"":"v","O":"","k":"\"="}}}}`,
		`{"ID":"x","id":"y","type":"domain","attributes":{"Creation_Date":1}}`,
		`{"id":"x","type":"domain","attributes":{"a":{"b":{"c":[[[[[]]]]]}}}}`,
		`[]`, `null`, `{"id":null}`, "\xff", `{"id":"x","type":"domain","attributes":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := MapObject(data, testNow)
		if err != nil {
			if !reflect.DeepEqual(r, record.Record{}) {
				t.Fatalf("error %v with a non-zero record %s", err, show(r))
			}
			return
		}
		var head struct {
			ID *string `json:"id"`
		}
		if json.Unmarshal(data, &head) != nil || head.ID == nil {
			t.Fatalf("Map accepted %q without a string id", data)
		}
		if r.Key != strings.ToLower(*head.ID) || r.Domain != r.Key || !r.VTFound || r.EnrichedTime != testNow.Unix() {
			t.Fatalf("id %q gave key %q domain %q found %v enriched %d", *head.ID, r.Key, r.Domain, r.VTFound, r.EnrichedTime)
		}
		if (r.WhoisCreationTime == nil) != (r.WhoisCreationDate == "") ||
			(r.WhoisCreationTime != nil && time.Unix(*r.WhoisCreationTime, 0).UTC().Format(time.DateOnly) != r.WhoisCreationDate) {
			t.Fatalf("whois_creation_date %q does not match whois_creation_time %v", r.WhoisCreationDate, show(r.WhoisCreationTime))
		}
		if !slices.IsSorted(r.Categories) || len(slices.Compact(slices.Clone(r.Categories))) != len(r.Categories) || slices.Contains(r.Categories, "") {
			t.Fatalf("categories not distinct, sorted and non-empty: %q", r.Categories)
		}
		if slices.Contains(r.Tags, "") {
			t.Fatalf("empty tag in %q", r.Tags)
		}
		if r.PopularityAlexa != nil && (r.PopularityRank == nil || *r.PopularityRank > *r.PopularityAlexa) {
			t.Fatalf("popularity_rank %v is not the best rank (alexa %d)", show(r.PopularityRank), *r.PopularityAlexa)
		}
		for _, n := range []*int64{r.LastAnalysisPositive, r.LastAnalysisSuspicious, r.PopularityRank} {
			if n != nil && *n < 0 {
				t.Fatalf("negative count or rank in %s", show(r))
			}
		}
		if r.CertIssuerOrg != "" && !strings.Contains(r.CertIssuer, "O="+r.CertIssuerOrg) {
			t.Fatalf("cert_issuer %q lacks cert_issuer_org %q", r.CertIssuer, r.CertIssuerOrg)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("record does not encode: %v", err)
		}
	})
}

func BenchmarkMap(b *testing.B) {
	data := fixtureData(b, "opencti_vt_test_domain.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MapObject(data, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
