// Package record defines the KV store document that vtsync writes for each
// registered domain: the contract that the detection search reads.
package record

// Record is one document of the vtsync_domains collection. Its JSON field
// names are fixed (README, "The KV record"); fields VirusTotal did not
// provide are omitted so that Splunk sees them as null, never as zero.
type Record struct {
	Key                    string   `json:"_key"`
	Domain                 string   `json:"domain"`
	VTFound                bool     `json:"vt_found"`
	WhoisCreationDate      string   `json:"whois_creation_date,omitempty"`
	WhoisCreationTime      *int64   `json:"whois_creation_time,omitempty"`
	LastAnalysisPositive   *int64   `json:"last_analysis_positive,omitempty"`
	LastAnalysisSuspicious *int64   `json:"last_analysis_suspicious,omitempty"`
	LastAnalysisTime       *int64   `json:"last_analysis_time,omitempty"`
	CertIssuer             string   `json:"cert_issuer,omitempty"`
	CertIssuerOrg          string   `json:"cert_issuer_org,omitempty"`
	CertNotBefore          *int64   `json:"cert_not_before,omitempty"`
	Categories             []string `json:"categories,omitempty"`
	PopularityAlexa        *int64   `json:"popularity_alexa,omitempty"`
	PopularityRank         *int64   `json:"popularity_rank,omitempty"`
	Reputation             *int64   `json:"reputation,omitempty"`
	Registrar              string   `json:"registrar,omitempty"`
	Tags                   []string `json:"tags,omitempty"`
	EnrichedTime           int64    `json:"enriched_time"`
	// NotFoundSince, on a negative record that follows other negative
	// answers, is when VirusTotal first did not know the domain (the
	// not-found backoff of internal/refresh); absent on the first one and
	// on found records.
	NotFoundSince int64 `json:"not_found_since,omitempty"`
}

// Fields lists the record's field names in contract order (for
// transforms.conf fields_list, collections.conf and CSV export headers).
var Fields = []string{
	"_key", "domain", "vt_found", "whois_creation_date", "whois_creation_time",
	"last_analysis_positive", "last_analysis_suspicious", "last_analysis_time",
	"cert_issuer", "cert_issuer_org", "cert_not_before", "categories",
	"popularity_alexa", "popularity_rank", "reputation", "registrar", "tags",
	"enriched_time", "not_found_since",
}

// ID is the document's _key (kind.Record).
func (r Record) ID() string { return r.Key }

// Found is false for a negative record (kind.Record).
func (r Record) Found() bool { return r.VTFound }

// Enriched is when the record was fetched, in epoch seconds (kind.Record).
func (r Record) Enriched() int64 { return r.EnrichedTime }

// NotFound returns the negative record stored when VirusTotal answers
// NotFoundError for domain.
func NotFound(domain string, enrichedTime int64) Record {
	return Record{Key: domain, Domain: domain, VTFound: false, EnrichedTime: enrichedTime}
}

// Positives is how many VirusTotal engines rate the domain malicious (0
// when the record has no analysis).
func (r Record) Positives() int64 {
	if r.LastAnalysisPositive == nil {
		return 0
	}
	return *r.LastAnalysisPositive
}
