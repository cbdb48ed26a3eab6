package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"
)

// refRecord is the lenient decoding Record.UnmarshalJSON replaced:
// encoding/json into a wire struct whose fields decode themselves.
// FuzzRecordDecode holds Record.UnmarshalJSON to it.
func refRecord(data []byte) (Record, error) {
	var w struct {
		Key                    string         `json:"_key"`
		Domain                 string         `json:"domain"`
		VTFound                refFlexBool    `json:"vt_found"`
		WhoisCreationDate      string         `json:"whois_creation_date"`
		WhoisCreationTime      refFlexInt     `json:"whois_creation_time"`
		LastAnalysisPositive   refFlexInt     `json:"last_analysis_positive"`
		LastAnalysisSuspicious refFlexInt     `json:"last_analysis_suspicious"`
		LastAnalysisTime       refFlexInt     `json:"last_analysis_time"`
		CertIssuer             string         `json:"cert_issuer"`
		CertIssuerOrg          string         `json:"cert_issuer_org"`
		CertNotBefore          refFlexInt     `json:"cert_not_before"`
		Categories             refFlexStrings `json:"categories"`
		PopularityAlexa        refFlexInt     `json:"popularity_alexa"`
		PopularityRank         refFlexInt     `json:"popularity_rank"`
		Reputation             refFlexInt     `json:"reputation"`
		Registrar              string         `json:"registrar"`
		Tags                   refFlexStrings `json:"tags"`
		EnrichedTime           refFlexInt     `json:"enriched_time"`
		NotFoundSince          refFlexInt     `json:"not_found_since"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return Record{}, err
	}
	return Record{
		Key: w.Key, Domain: w.Domain, VTFound: bool(w.VTFound),
		WhoisCreationDate: w.WhoisCreationDate, WhoisCreationTime: w.WhoisCreationTime.ptr(),
		LastAnalysisPositive: w.LastAnalysisPositive.ptr(), LastAnalysisSuspicious: w.LastAnalysisSuspicious.ptr(),
		LastAnalysisTime: w.LastAnalysisTime.ptr(), CertIssuer: w.CertIssuer, CertIssuerOrg: w.CertIssuerOrg,
		CertNotBefore: w.CertNotBefore.ptr(), Categories: []string(w.Categories),
		PopularityAlexa: w.PopularityAlexa.ptr(), PopularityRank: w.PopularityRank.ptr(),
		Reputation: w.Reputation.ptr(), Registrar: w.Registrar, Tags: []string(w.Tags),
		EnrichedTime: w.EnrichedTime.v, NotFoundSince: w.NotFoundSince.v,
	}, nil
}

type refFlexInt struct {
	v   int64
	set bool
}

func (n *refFlexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = refFlexInt{i, true}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = refFlexInt{int64(math.Round(f)), true}
	return nil
}

func (n refFlexInt) ptr() *int64 {
	if !n.set {
		return nil
	}
	return &n.v
}

type refFlexBool bool

func (v *refFlexBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.Trim(b, `"`)) {
	case "true", "1", "True", "TRUE":
		*v = true
	case "false", "0", "False", "FALSE", "null", "":
		*v = false
	default:
		return fmt.Errorf("not a boolean: %s", b)
	}
	return nil
}

type refFlexStrings []string

func (v *refFlexStrings) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		if one != "" {
			*v = []string{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*v = many
	return nil
}

// FuzzRecordDecode: for every JSON value, Record.UnmarshalJSON reads the
// record that the reflection-based lenient decoding read, and fails when
// it failed; on any bytes at all it does not panic.
func FuzzRecordDecode(f *testing.F) {
	for _, s := range []string{
		`{"_key":"a.example","domain":"a.example","vt_found":true,"whois_creation_time":1483018099,"last_analysis_positive":6,"reputation":-37,"categories":["malware"],"tags":["dga"],"enriched_time":1800000000}`,
		`{"_key":"a.example","domain":"a.example","vt_found":1,"whois_creation_time":1.483018099e+09,"last_analysis_positive":6.0,"reputation":-37.0,"categories":"malware","tags":["dga"],"enriched_time":1.8e+09,"_user":"nobody"}`,
		`{"_key":"a.example","domain":"a.example","vt_found":"true","whois_creation_time":"1483018099","reputation":"-37","categories":["malware"],"tags":"dga","enriched_time":"1800000000"}`,
		`{"_key":"n.example","domain":"n.example","vt_found":0,"enriched_time":5,"popularity_rank":null,"reputation":""}`,
		`{"_key":"n.example","vt_found":false,"enriched_time":1.8e9,"not_found_since":"1799000000"}`, `{"not_found_since":null}`, `{"not_found_since":"later"}`,
		`{"enriched_time":"soon"}`, `{"vt_found":"maybe"}`, `{"tags":{"a":1}}`, `{"tags":[null,"x"]}`, `{"tags":[]}`,
		`{"Domain":"x","VT_FOUND":"True","\u212Aey":"k","_KEY":"y","tags":"","tags":["a"],"tags":null}`,
		`{"reputation":5,"reputation":null,"enriched_time":1,"enriched_time":""}`,
		`{"_key":"a\\b","domain":"a\b","registrar":"\ud83d\ude00 \u00e9"}`,
		`{"cert_not_before":9.3e18,"popularity_rank":"0x1p4","popularity_alexa":"+7","last_analysis_time":-0}`,
		`{"reputation":[1],"x":{"y":[1,{"z":"]"}]}}`, `null`, `[]`, `"x"`, `{"domain":5}`, ` { "_key" : "k" } `,
		"{0DomAin\":\"", `{"tags":["a",`, `{"_key":"k"`, `{"a":[{]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got Record
		err := got.UnmarshalJSON(data) // any bytes: must not panic
		if !json.Valid(data) {
			return // encoding/json never hands an Unmarshaler invalid JSON
		}
		want, wantErr := refRecord(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: err = %v, reflection-based decoding: %v", data, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", data, got, want)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error text")
		}
	})
}

// A KV store answer as vtsync stores it (plus the _user the KV store adds)
// decodes in one pass with two allocations for the strings and one for
// all number fields.
func BenchmarkDecode(b *testing.B) {
	doc := []byte(`{"_key":"host42.example.com","domain":"host42.example.com","vt_found":true,"whois_creation_date":"2023-04-05","whois_creation_time":1680652800,"last_analysis_positive":0,"last_analysis_suspicious":0,"last_analysis_time":1771827200,"cert_issuer":"C=US, O=Let's Encrypt, CN=R10","cert_issuer_org":"Let's Encrypt","cert_not_before":1758844800,"categories":["business","information technology"],"reputation":0,"registrar":"NameCheap, Inc.","enriched_time":1771913600,"_user":"nobody"}`)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var r Record
		if err := json.Unmarshal(doc, &r); err != nil || r.EnrichedTime != 1771913600 {
			b.Fatal(r, err)
		}
	}
}
