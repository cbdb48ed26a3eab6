package splunkd

import (
	"context"
	"fmt"
	"strings"

	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/params"
)

// SearchSource is the candidate source of the modular input: the values of
// each configured field in the result rows of Search, streamed from
// splunkd's export, each as a candidate of its field's kind.
type SearchSource struct {
	Client       *Client
	Search       string  // SPL; a bare query gets "search " prepended
	EarliestTime string  // e.g. -20m; empty: no bound
	LatestTime   string  // e.g. now; empty: no bound
	Fields       []Field // the fields read, one or more
}

// Field is a result field whose values are candidates of Kind; Param is
// the parameter that names it (the kind's field parameter, such as
// ip_field), for messages.
type Field struct {
	Name  string
	Param string
	Kind  kind.Kind
}

// Candidates emits every non-empty value of each field, one call per value
// of a multi-value field. Rows without a field carry none of its kind, but
// a search whose rows never carry any configured field returns a
// *NothingToLookUpError naming the parameters: that is a configuration
// mistake, not an empty result, and the run warns of it.
func (s *SearchSource) Candidates(ctx context.Context, emit func(kind.Kind, string) error) error {
	if len(s.Fields) == 0 {
		return noFields()
	}
	rows, withField := 0, 0
	err := s.Client.Export(ctx, s.Search, s.EarliestTime, s.LatestTime, func(row map[string][]string) error {
		rows++
		has := false
		for _, f := range s.Fields {
			vals, ok := row[f.Name]
			if !ok {
				continue
			}
			has = true
			for _, v := range vals {
				if v = strings.TrimSpace(v); v != "" {
					if err := emit(f.Kind, v); err != nil {
						return err
					}
				}
			}
		}
		if has {
			withField++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if rows > 0 && withField == 0 {
		if len(s.Fields) == 1 {
			f := s.Fields[0]
			return &NothingToLookUpError{&params.Error{Param: f.Param, Msg: fmt.Sprintf(
				"none of the %d result rows of the search has a field %q; set %s to the field the search outputs (or add | rename to the search)", rows, f.Name, f.Param)}}
		}
		var names, ps []string
		for _, f := range s.Fields {
			names = append(names, fmt.Sprintf("%q", f.Name))
			ps = append(ps, f.Param)
		}
		return &NothingToLookUpError{&params.Error{Param: strings.Join(ps, ", "), Msg: fmt.Sprintf(
			"none of the %d result rows of the search has any of the fields %s, so it yields nothing to look up; set these parameters to fields the search outputs (or add | rename to the search)", rows, strings.Join(names, ", "))}}
	}
	return nil
}

// NothingToLookUpError is what Candidates returns when the search has rows
// but none carries a configured field: Err names the parameters to change.
// Its NothingToLookUp method tells the pipeline to warn, not to fail.
type NothingToLookUpError struct{ Err *params.Error }

func (e *NothingToLookUpError) Error() string { return e.Err.Error() }

// Unwrap returns the parameter error.
func (e *NothingToLookUpError) Unwrap() error { return e.Err }

// NothingToLookUp reports that the search was read but yields nothing to
// look up.
func (*NothingToLookUpError) NothingToLookUp() bool { return true }

// noFields is the error for a source configured with no field: it names
// the registered kinds' field parameters.
func noFields() error {
	var names, holds []string
	for _, k := range kind.ByParam() {
		names = append(names, k.Param().Name)
		holds = append(holds, k.Param().Holds)
	}
	if len(names) == 0 {
		return &params.Error{Param: "search", Msg: "this build of vtsync has no indicator kind"}
	}
	return &params.Error{Param: names[0], Msg: "is empty and " + params.NoneSet(names[1:]) + "; name the result field that holds the " + params.List(holds, "or")}
}
