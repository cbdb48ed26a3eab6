package file

import (
	"cmp"
	"encoding/json"
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

const (
	eicarMD5    = "44d88612fea8a8f36de82e1278abb02f"
	eicarSHA1   = "3395856ce81f2b7382dee72602f798b642f14140"
	eicarSHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
)

var normalizeCases = []struct{ raw, key, reason string }{
	{eicarMD5, eicarMD5, ""},
	{strings.ToUpper(eicarSHA1), eicarSHA1, ""},
	{"  " + eicarSHA256 + "\n", eicarSHA256, ""},
	// Sysmon Hashes: the strongest file hash, whatever the order.
	{"SHA1=" + strings.ToUpper(eicarSHA1) + ",MD5=" + strings.ToUpper(eicarMD5) + ",SHA256=" + strings.ToUpper(eicarSHA256) + ",IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744", eicarSHA256, ""},
	{"MD5=" + eicarMD5 + ",SHA1=" + eicarSHA1, eicarSHA1, ""},
	{"MD5=" + eicarMD5 + ",IMPHASH=f34d5f2d4577ed6d9ceec516c1f5a744", eicarMD5, ""},
	{"sha256=" + eicarSHA256, eicarSHA256, ""},
	{" MD5 = " + eicarMD5 + " , SHA256 = " + eicarSHA256 + " ,", eicarSHA256, ""},
	// A damaged part does not hide a good one.
	{"SHA256=" + eicarSHA256[:63] + ",MD5=" + eicarMD5, eicarMD5, ""},
	{"SHA256=" + strings.Repeat("0", 64) + ",MD5=" + eicarMD5, eicarMD5, ""},
	// The same value twice is fine.
	{"MD5=" + eicarMD5 + ",MD5=" + strings.ToUpper(eicarMD5), eicarMD5, ""},

	{"", "", Empty},
	{"-", "", Empty},
	{"None", "", Empty},
	{strings.Repeat("0", 32), "", Empty},
	{strings.Repeat("0", 64), "", Empty},
	{"SHA256=" + strings.Repeat("0", 64), "", Empty},

	{"IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744", "", NoFileHash},
	{"SHA512=" + strings.Repeat("ab", 64), "", NoFileHash},
	{"IMPHASH=x", "", NoFileHash},

	{eicarMD5[:31], "", Malformed},
	{eicarMD5 + "0", "", Malformed},
	{eicarSHA256 + "00", "", Malformed},
	{strings.Repeat("ab", 64), "", Malformed}, // SHA-512: VirusTotal does not look files up by it
	{"g" + eicarMD5[1:], "", Malformed},
	{"0x" + eicarMD5[2:], "", Malformed},
	{eicarMD5[:16] + " " + eicarMD5[16:], "", Malformed},
	{"SHA256=" + eicarMD5, "", Malformed}, // the wrong length for its algorithm
	{"MD5=" + eicarSHA1, "", Malformed},
	{"MD5=" + eicarMD5 + ",MD5=" + strings.Repeat("1", 32), "", Malformed}, // two different values
	{"MD5=" + eicarMD5 + ";SHA1=" + eicarSHA1, "", Malformed},
	{"MD5:" + eicarMD5, "", Malformed},
	{"SHA256=", "", Malformed},
	{"garbage,MD5=" + eicarMD5, "", Malformed},
	{strings.Repeat("a", 2000), "", Malformed},
	{"４４d88612fea8a8f36de82e1278abb02f", "", Malformed},
}

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeCases {
		key, reason := Normalize(tc.raw)
		if key != tc.key || reason != tc.reason {
			t.Errorf("Normalize(%q) = %q, %q; want %q, %q", tc.raw, key, reason, tc.key, tc.reason)
		}
	}
}

func TestReasonsAreUsed(t *testing.T) {
	used := map[string]bool{}
	for _, tc := range normalizeCases {
		used[tc.reason] = true
	}
	for _, r := range Reasons() {
		if !used[r] {
			t.Errorf("reason %q has no test case", r)
		}
	}
}

func TestKindBasics(t *testing.T) {
	k, ok := kind.Lookup("file")
	if !ok || k.Name() != "file" || k.Collection() != "vtsync_files" {
		t.Fatalf("kind.Lookup(file) = %v, %v", k, ok)
	}
	if p := k.Path(eicarMD5); p != "files/"+eicarMD5 {
		t.Errorf("Path = %q", p)
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Whichever hash is asked for, the record holds all three VirusTotal
// reports, under the key asked for.
func TestMapEicarByEachHash(t *testing.T) {
	body := readFixture(t, "eicar.json")
	for _, key := range []string{eicarMD5, eicarSHA1, eicarSHA256} {
		got, err := Kind{}.Map(key, body, testNow)
		if err != nil {
			t.Fatal(err)
		}
		want := Record{
			Key: key, MD5: eicarMD5, SHA1: eicarSHA1, SHA256: eicarSHA256, VTFound: true,
			LastAnalysisPositive: i64(64), LastAnalysisSuspicious: i64(0), LastAnalysisTime: i64(1741953600),
			FirstSubmissionTime: i64(1148301722), TypeDescription: "Text", MeaningfulName: "eicar.com",
			Size: i64(68), PopularThreatLabel: "virus.eicar/test", Reputation: i64(3486),
			Tags: []string{"text", "attachment"}, EnrichedTime: testNow.Unix(),
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Map(%s):\n got %s\nwant %s", key, show(got), show(want))
		}
	}
}

func TestMapSignature(t *testing.T) {
	got, err := Kind{}.Map("5a1f0e2d3c4b5a69788796a5b4c3d2e1", readFixture(t, "signed_pe.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		Key: "5a1f0e2d3c4b5a69788796a5b4c3d2e1", MD5: "5a1f0e2d3c4b5a69788796a5b4c3d2e1",
		SHA1: "0b1c2d3e4f5061728394a5b6c7d8e9f00112233a", SHA256: "9f2b1c4e7a8d3f605142b7e9c0d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3",
		VTFound: true, LastAnalysisPositive: i64(0), LastAnalysisSuspicious: i64(1), LastAnalysisTime: i64(1741953600),
		FirstSubmissionTime: i64(1700000000), TypeDescription: "Win32 EXE", MeaningfulName: "updater.exe",
		Size: i64(1523712), Signed: new(true), Reputation: i64(0), Tags: []string{"peexe", "signed", "64bits"},
		EnrichedTime: testNow.Unix(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("signed:\n got %s\nwant %s", show(got), show(want))
	}

	// Asked by a SHA-1 VirusTotal's object does not list: the record still
	// holds it, so a lookup on sha1 finds the file.
	sha1 := "1111111111111111111111111111111111111111"
	got, err = Kind{}.Map(sha1, readFixture(t, "unsigned_pe.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want = Record{
		Key: sha1, MD5: "c0ffee00c0ffee00c0ffee00c0ffee00", SHA1: sha1,
		SHA256: "0d3e5f7a9b1c2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6", VTFound: true,
		LastAnalysisPositive: i64(12), LastAnalysisSuspicious: i64(2), TypeDescription: "Win32 DLL",
		PopularThreatLabel: "trojan.loader/generic", Signed: new(false), EnrichedTime: testNow.Unix(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unsigned:\n got %s\nwant %s", show(got), show(want))
	}
}

func TestSigned(t *testing.T) {
	for _, tc := range []struct {
		info string
		want *bool
	}{
		{`{"verified":"Signed","signers":"A"}`, new(true)},
		{`{"verified":"signed"}`, new(true)},
		{`{"verified":"Unsigned"}`, new(false)},
		{`{"verified":"A certificate was explicitly revoked by its issuer.","signers":"A"}`, new(false)},
		{`{"signers":"Developer ID Application: Example"}`, new(true)},
		{`{"signers details":[{"name":"x","status":"Valid"}]}`, new(true)},
		{`{"signers details":[],"signers":""}`, new(false)},
		{`{"product":"x"}`, new(false)},
		{`{}`, new(false)},
		{`null`, nil},
		{`"Signed"`, nil},
		{`[{"verified":"Signed"}]`, nil},
	} {
		body := `{"data":{"id":"` + eicarSHA256 + `","type":"file","attributes":{"signature_info":` + tc.info + `}}}`
		r, err := Kind{}.Map(eicarSHA256, []byte(body), testNow)
		if err != nil {
			t.Fatal(err)
		}
		got := r.(Record).Signed
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("signature_info %s: signed %v, want %v", tc.info, show(got), show(tc.want))
		}
	}
}

func TestMapWrongTypes(t *testing.T) {
	body := `{"data":{"id":"` + eicarSHA256 + `","type":"file","attributes":{
		"md5":"not-a-hash","sha1":12,"sha256":"` + eicarMD5 + `","size":-1,"type_description":["Text"],
		"meaningful_name":"x.exe","first_submission_date":0,"last_analysis_date":"1741953600",
		"last_analysis_stats":"64","popular_threat_classification":{"suggested_threat_label":7},
		"reputation":"3","tags":{"a":"b"}}}}`
	got, err := Kind{}.Map(eicarSHA256, []byte(body), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Key: eicarSHA256, SHA256: eicarSHA256, VTFound: true, MeaningfulName: "x.exe", EnrichedTime: testNow.Unix()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}
}

func TestMapRejectsOtherObjects(t *testing.T) {
	for _, body := range []string{
		``, `null`, `{}`, `{"data":null}`,
		`{"data":{"id":"` + eicarSHA256 + `","type":"url","attributes":{}}}`,
		`{"data":{"type":"file","attributes":{}}}`,
		`{"error":{"code":"NotFoundError","message":"File \"` + eicarMD5 + `\" not found"}}`,
	} {
		if r, err := (Kind{}).Map(eicarMD5, []byte(body), testNow); err == nil || r != nil {
			t.Errorf("Map(%s) = %s, %v; want an error and no record", body, show(r), err)
		}
	}
}

// A negative record holds the queried hash in its own field.
func TestNotFound(t *testing.T) {
	for key, field := range map[string]string{eicarMD5: "md5", eicarSHA1: "sha1", eicarSHA256: "sha256"} {
		r := Kind{}.NotFound(key, testNow)
		if r.ID() != key || r.Found() || r.Enriched() != testNow.Unix() {
			t.Errorf("NotFound(%s) = %s", key, show(r))
		}
		want := `{"_key":"` + key + `","` + field + `":"` + key + `","vt_found":false,"enriched_time":1772366400}`
		if b, _ := json.Marshal(r); string(b) != want {
			t.Errorf("negative document %s, want %s", b, want)
		}
	}
}

func TestFieldsMatchTheRecord(t *testing.T) {
	full := Record{Key: "k", MD5: "m", SHA1: "s", SHA256: "s", VTFound: true, LastAnalysisPositive: i64(1),
		LastAnalysisSuspicious: i64(1), LastAnalysisTime: i64(1), FirstSubmissionTime: i64(1), TypeDescription: "t",
		MeaningfulName: "n", Size: i64(1), PopularThreatLabel: "p", Signed: new(false), Reputation: i64(1),
		Tags: []string{"t"}, EnrichedTime: 1}
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
		if f.Accelerated != slices.Contains([]string{"md5", "sha1", "sha256"}, f.Name) {
			t.Errorf("%s accelerated = %v", f.Name, f.Accelerated)
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("Fields %v\nJSON   %v", got, names)
	}
	contract := []string{"_key", "md5", "sha1", "sha256", "vt_found", "last_analysis_positive",
		"last_analysis_suspicious", "last_analysis_time", "first_submission_time", "type_description",
		"meaningful_name", "size", "popular_threat_label", "signed", "reputation", "tags", "enriched_time"}
	if !slices.Equal(got, contract) {
		t.Errorf("Fields %v\nwant   %v", got, contract)
	}
}

func TestDecode(t *testing.T) {
	rec := Record{Key: eicarMD5, MD5: eicarMD5, SHA1: eicarSHA1, SHA256: eicarSHA256, VTFound: true,
		LastAnalysisPositive: i64(64), Size: i64(68), Signed: new(false), Tags: []string{"text"}, EnrichedTime: 1772366400}
	b, _ := json.Marshal(rec)
	got, err := Kind{}.Decode(b)
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("round trip: %s, %v", show(got), err)
	}
	got, err = Kind{}.Decode([]byte(`{"_key":"` + eicarMD5 + `","md5":"` + eicarMD5 + `","sha1":"` + eicarSHA1 +
		`","sha256":"` + eicarSHA256 + `","vt_found":1,"last_analysis_positive":"64","size":68.0,"signed":"0",` +
		`"tags":"text","enriched_time":1.7723664e9,"_user":"nobody","meaningful_name":null}`))
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("lenient: %#v, %v", got, err)
	}
	got, err = Kind{}.Decode([]byte(`{"_key":"k","signed":null,"vt_found":false,"enriched_time":5}`))
	if err != nil || got.(Record).Signed != nil {
		t.Errorf("signed null: %s, %v", show(got), err)
	}
	for _, doc := range []string{`{"size":"big"}`, `{"signed":"perhaps"}`, `{"md5":5}`, `{"tags":[1]}`, `"x"`} {
		if _, err := (Kind{}).Decode([]byte(doc)); err == nil {
			t.Errorf("Decode(%s) gave no error", doc)
		}
	}
}

// Parts gives each well-formed hash of a value in its slot, so that the
// file detection can read a record by any of them.
func TestParts(t *testing.T) {
	sha256 := "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	sha1 := "3395856ce81f2b7382dee72602f798b642f14140"
	md5 := "44d88612fea8a8f36de82e1278abb02f"
	for _, c := range []struct {
		raw  string
		want Hashes
	}{
		{"SHA1=" + strings.ToUpper(sha1) + ",MD5=" + md5 + ",SHA256=" + sha256 + ",IMPHASH=" + strings.Repeat("0", 32), Hashes{md5, sha1, sha256}},
		{"MD5=" + md5 + ",SHA1=" + sha1, Hashes{MD5: md5, SHA1: sha1}},
		{"SHA256=" + strings.Repeat("0", 64) + ",SHA1=" + sha1, Hashes{SHA1: sha1}}, // an all-zero part is no hash
		{"SHA256=12,MD5=" + md5, Hashes{MD5: md5}},                                  // a damaged part neither
		{" " + strings.ToUpper(md5) + " ", Hashes{MD5: md5}},
		{sha256, Hashes{SHA256: sha256}},
		{"IMPHASH=" + md5, Hashes{}},
		{"MD5=" + md5 + ",MD5=" + strings.Replace(md5, "4", "5", 1), Hashes{}}, // two values for one algorithm: malformed
		{"-", Hashes{}},
	} {
		if got := Parts(c.raw); got != c.want {
			t.Errorf("Parts(%q) = %+v, want %+v", c.raw, got, c.want)
		}
	}
}

// FuzzNormalize: a key is 32, 40 or 64 lower-case hex digits, not all
// zero, and normalises to itself; a rejection has a known reason.
func FuzzNormalize(f *testing.F) {
	for _, tc := range normalizeCases {
		f.Add(tc.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		key, reason := Normalize(raw)
		if (key == "") == (reason == "") {
			t.Fatalf("Normalize(%q) = %q, %q: exactly one must be set", raw, key, reason)
		}
		// Parts holds the key as its strongest hash, each in its slot.
		p := Parts(raw)
		if reason != "" {
			if !slices.Contains(Reasons(), reason) {
				t.Fatalf("Normalize(%q): unknown reason %q", raw, reason)
			}
			if p != (Hashes{}) {
				t.Fatalf("Parts(%q) = %+v for a rejected value", raw, p)
			}
			return
		}
		if strongest := cmp.Or(p.SHA256, p.SHA1, p.MD5); strongest != key {
			t.Fatalf("Parts(%q) = %+v, strongest %q, Normalize %q", raw, p, strongest, key)
		}
		for _, h := range []struct {
			v string
			n int
		}{{p.MD5, 32}, {p.SHA1, 40}, {p.SHA256, 64}} {
			if h.v != "" && (len(h.v) != h.n || strings.Trim(h.v, "0123456789abcdef") != "" || !strings.Contains(strings.ToLower(raw), h.v)) {
				t.Fatalf("Parts(%q) = %+v: %q is not a hash of its slot that raw holds", raw, p, h.v)
			}
		}
		if n := len(key); n != 32 && n != 40 && n != 64 || strings.Trim(key, "0123456789abcdef") != "" ||
			strings.Trim(key, "0") == "" {
			t.Fatalf("Normalize(%q) = %q, not a file hash", raw, key)
		}
		if k2, r2 := Normalize(key); k2 != key || r2 != "" {
			t.Fatalf("Normalize(%q) = %q, %q; not a fixed point", key, k2, r2)
		}
		if !strings.Contains(strings.ToLower(raw), key) {
			t.Fatalf("Normalize(%q) = %q, which raw does not hold", raw, key)
		}
	})
}

// FuzzMap: any body maps to a record under the key asked for, with the key
// in its own hash field and only well-formed hashes in the others, or to
// an error and no record.
func FuzzMap(f *testing.F) {
	for _, name := range []string{"eicar.json", "signed_pe.json", "unsigned_pe.json"} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{
		`{"data":{"id":"x","type":"file","attributes":{"md5":"` + strings.Repeat("A", 32) + `","size":1e3,"signature_info":{"verified":null}}}}`,
		`{"data":{"id":"x","type":"file","attributes":{"popular_threat_classification":{"suggested_threat_label":"\u0000"}}}}`,
		`{"data":{"id":"x","type":"file"}}`, `[]`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Kind{}.Map(eicarSHA1, body, testNow)
		if err != nil {
			if r != nil {
				t.Fatalf("error %v with a record %s", err, show(r))
			}
			return
		}
		rec := r.(Record)
		if rec.Key != eicarSHA1 || rec.SHA1 != eicarSHA1 || !rec.VTFound || rec.EnrichedTime != testNow.Unix() {
			t.Fatalf("record %s", show(rec))
		}
		for _, h := range []struct {
			v string
			n int
		}{{rec.MD5, 32}, {rec.SHA256, 64}} {
			if h.v != "" && (len(h.v) != h.n || strings.Trim(h.v, "0123456789abcdef") != "") {
				t.Fatalf("malformed hash %q in %s", h.v, show(rec))
			}
		}
		for _, n := range []*int64{rec.LastAnalysisPositive, rec.LastAnalysisSuspicious, rec.Size} {
			if n != nil && *n < 0 {
				t.Fatalf("negative count in %s", show(rec))
			}
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
