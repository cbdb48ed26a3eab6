package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// UnmarshalJSON reads a record leniently: the KV store (MongoDB keeps
// numbers as doubles) and lookups edited with outputlookup may give numbers
// as 1.7e+09, 1700000000.0 or "1700000000", and booleans as 1/0 or
// "true"/"false". A record read as unreadable would be looked up again on
// every run, spending quota, so every such form is accepted.
func (r *Record) UnmarshalJSON(data []byte) error {
	var w struct {
		Key                    string      `json:"_key"`
		Domain                 string      `json:"domain"`
		VTFound                flexBool    `json:"vt_found"`
		WhoisCreationDate      string      `json:"whois_creation_date"`
		WhoisCreationTime      flexInt     `json:"whois_creation_time"`
		LastAnalysisPositive   flexInt     `json:"last_analysis_positive"`
		LastAnalysisSuspicious flexInt     `json:"last_analysis_suspicious"`
		LastAnalysisTime       flexInt     `json:"last_analysis_time"`
		CertIssuer             string      `json:"cert_issuer"`
		CertIssuerOrg          string      `json:"cert_issuer_org"`
		CertNotBefore          flexInt     `json:"cert_not_before"`
		Categories             flexStrings `json:"categories"`
		PopularityAlexa        flexInt     `json:"popularity_alexa"`
		PopularityRank         flexInt     `json:"popularity_rank"`
		Reputation             flexInt     `json:"reputation"`
		Registrar              string      `json:"registrar"`
		Tags                   flexStrings `json:"tags"`
		EnrichedTime           flexInt     `json:"enriched_time"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Record{
		Key: w.Key, Domain: w.Domain, VTFound: bool(w.VTFound),
		WhoisCreationDate: w.WhoisCreationDate, WhoisCreationTime: w.WhoisCreationTime.ptr(),
		LastAnalysisPositive: w.LastAnalysisPositive.ptr(), LastAnalysisSuspicious: w.LastAnalysisSuspicious.ptr(),
		LastAnalysisTime: w.LastAnalysisTime.ptr(), CertIssuer: w.CertIssuer, CertIssuerOrg: w.CertIssuerOrg,
		CertNotBefore: w.CertNotBefore.ptr(), Categories: []string(w.Categories),
		PopularityAlexa: w.PopularityAlexa.ptr(), PopularityRank: w.PopularityRank.ptr(),
		Reputation: w.Reputation.ptr(), Registrar: w.Registrar, Tags: []string(w.Tags),
		EnrichedTime: w.EnrichedTime.v,
	}
	return nil
}

// flexInt is a whole number given as a JSON number in any notation or as a
// numeric string; null and "" leave it unset.
type flexInt struct {
	v   int64
	set bool
}

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt{i, true}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = flexInt{int64(math.Round(f)), true}
	return nil
}

func (n flexInt) ptr() *int64 {
	if !n.set {
		return nil
	}
	return &n.v
}

// flexBool is true, false, 1, 0 or those as strings.
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
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

// flexStrings is a list of strings, or one string (a multi-value field
// with a single value, as outputlookup may write it).
type flexStrings []string

func (v *flexStrings) UnmarshalJSON(b []byte) error {
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
