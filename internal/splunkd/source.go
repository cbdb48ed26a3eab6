package splunkd

import (
	"context"
	"fmt"
	"strings"

	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/pipeline"
)

// SearchSource is the pipeline.Source of the modular input: the values of
// Field in the result rows of Search, streamed from splunkd's export.
type SearchSource struct {
	Client       *Client
	Search       string // SPL; a bare query gets "search " prepended
	EarliestTime string // e.g. -20m; empty: no bound
	LatestTime   string // e.g. now; empty: no bound
	Field        string // result field holding the candidate (domain_field)
}

var _ pipeline.Source = (*SearchSource)(nil)

// Candidates emits every non-empty value of Field, one call per value of a
// multi-value field. Rows without the field are skipped, but a search whose
// rows never carry it is reported as an error naming domain_field, since
// that is a configuration mistake, not an empty result.
func (s *SearchSource) Candidates(ctx context.Context, emit func(value string) error) error {
	if s.Field == "" {
		return &params.Error{Param: "domain_field", Msg: "is empty; name the result field that holds the domains"}
	}
	rows, withField := 0, 0
	err := s.Client.Export(ctx, s.Search, s.EarliestTime, s.LatestTime, func(row map[string][]string) error {
		rows++
		vals, ok := row[s.Field]
		if !ok {
			return nil
		}
		withField++
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				if err := emit(v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if rows > 0 && withField == 0 {
		return &params.Error{Param: "domain_field", Msg: fmt.Sprintf(
			"none of the %d result rows of the search has a field %q; set domain_field to the field the search outputs (or add | rename to the search)", rows, s.Field)}
	}
	return nil
}
