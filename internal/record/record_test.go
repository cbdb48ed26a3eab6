package record

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestFieldsMatchJSON keeps Fields (used for transforms.conf, collections.conf
// and CSV export) equal to the record's JSON names, in order.
func TestFieldsMatchJSON(t *testing.T) {
	rt := reflect.TypeOf(Record{})
	var names []string
	for i := 0; i < rt.NumField(); i++ {
		names = append(names, strings.Split(rt.Field(i).Tag.Get("json"), ",")[0])
	}
	if !reflect.DeepEqual(names, Fields) {
		t.Errorf("Fields = %v\nJSON  = %v", Fields, names)
	}
}

// TestMissingAttributesAreOmitted: fields VirusTotal did not give must be
// absent (null in Splunk), never zero; vt_found and enriched_time always are.
func TestMissingAttributesAreOmitted(t *testing.T) {
	b, err := json.Marshal(NotFound("new.example", 1_800_000_000))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_key":"new.example","domain":"new.example","vt_found":false,"enriched_time":1800000000}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	zero := int64(0)
	b, _ = json.Marshal(Record{Key: "a.example", Domain: "a.example", VTFound: true, LastAnalysisPositive: &zero})
	if !strings.Contains(string(b), `"last_analysis_positive":0`) {
		t.Errorf("a known zero must be kept: %s", b)
	}
}

// Records come back from the KV store in whatever notation it keeps them;
// every readable form must decode to the same record, or the domain would
// be looked up again on every run.
func TestDecodeIsLenient(t *testing.T) {
	want := Record{Key: "a.example", Domain: "a.example", VTFound: true, WhoisCreationTime: ptr(1483018099),
		LastAnalysisPositive: ptr(6), Reputation: ptr(-37), Categories: []string{"malware"},
		Tags: []string{"dga"}, EnrichedTime: 1800000000}
	for _, doc := range []string{
		`{"_key":"a.example","domain":"a.example","vt_found":true,"whois_creation_time":1483018099,"last_analysis_positive":6,"reputation":-37,"categories":["malware"],"tags":["dga"],"enriched_time":1800000000}`,
		`{"_key":"a.example","domain":"a.example","vt_found":1,"whois_creation_time":1.483018099e+09,"last_analysis_positive":6.0,"reputation":-37.0,"categories":"malware","tags":["dga"],"enriched_time":1.8e+09,"_user":"nobody"}`,
		`{"_key":"a.example","domain":"a.example","vt_found":"true","whois_creation_time":"1483018099","last_analysis_positive":"6","reputation":"-37","categories":["malware"],"tags":"dga","enriched_time":"1800000000"}`,
	} {
		var got Record
		if err := json.Unmarshal([]byte(doc), &got); err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", doc, got, want)
		}
	}
	var neg Record
	if err := json.Unmarshal([]byte(`{"_key":"n.example","domain":"n.example","vt_found":0,"enriched_time":5,"popularity_rank":null,"reputation":""}`), &neg); err != nil || neg.VTFound || neg.PopularityRank != nil || neg.Reputation != nil || neg.EnrichedTime != 5 {
		t.Errorf("negative record: %+v, %v", neg, err)
	}
	for _, bad := range []string{`{"enriched_time":"soon"}`, `{"vt_found":"maybe"}`, `{"tags":{"a":1}}`} {
		var r Record
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func ptr(v int64) *int64 { return &v }

// Round trip: what vtsync writes, it reads back unchanged.
func TestRoundTrip(t *testing.T) {
	in := Record{Key: "b.example", Domain: "b.example", VTFound: true, WhoisCreationDate: "2024-01-02",
		WhoisCreationTime: ptr(1704153600), LastAnalysisPositive: ptr(0), CertIssuer: "C=US, O=Let's Encrypt, CN=R10",
		CertIssuerOrg: "Let's Encrypt", PopularityRank: ptr(12), Categories: []string{"a", "b"}, EnrichedTime: 1800000000}
	b, _ := json.Marshal(in)
	var out Record
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: %+v, %v", out, err)
	}
}
