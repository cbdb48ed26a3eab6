package localstore

import (
	"io"
	"strconv"
	"strings"

	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"github.com/vtsync/vtsync/internal/record"
)

// ExportCSV writes every record as a Splunk CSV lookup table, in _key order:
// a header row of record.Fields, then one row per record. The cells follow
// what Splunk itself writes with outputlookup:
//   - a field the record does not have (VirusTotal gave none) is an empty
//     cell, which Splunk reads back as null, never as 0;
//   - vt_found is 1 or 0, so `where vt_found=1` works as with the KV lookup;
//   - multi-value fields (categories, tags) are their values joined by a
//     newline inside one quoted cell, which Splunk reads back as a
//     multi-value field;
//   - epoch times are whole seconds.
//
// It returns the number of records written.
func (s *Store) ExportCSV(w io.Writer) (int, error) {
	return s.ExportKindCSV(w, domainkind.Kind{})
}

// CSVRow fills row (len(record.Fields) cells) with r's values in
// record.Fields order, encoded as ExportCSV documents.
func CSVRow(r record.Record, row []string) {
	num := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	bool01 := "0"
	if r.VTFound {
		bool01 = "1"
	}
	enriched := ""
	if r.EnrichedTime != 0 {
		enriched = strconv.FormatInt(r.EnrichedTime, 10)
	}
	since := ""
	if r.NotFoundSince != 0 {
		since = strconv.FormatInt(r.NotFoundSince, 10)
	}
	vals := [...]string{
		r.Key, r.Domain, bool01, r.WhoisCreationDate, num(r.WhoisCreationTime),
		num(r.LastAnalysisPositive), num(r.LastAnalysisSuspicious), num(r.LastAnalysisTime),
		r.CertIssuer, r.CertIssuerOrg, num(r.CertNotBefore), strings.Join(r.Categories, "\n"),
		num(r.PopularityAlexa), num(r.PopularityRank), num(r.Reputation), r.Registrar,
		strings.Join(r.Tags, "\n"), enriched, since,
	}
	copy(row, vals[:])
}
