// Package wire is the composition root of a run: it turns validated
// parameters into the stages the pipeline runs (which fields feed which
// indicator kinds, where each kind is stored, the key's shared quota), so
// that the modular input and the standalone CLI build them alike.
package wire

import (
	"fmt"

	"github.com/vtsync/vtsync/internal/budget"

	"github.com/vtsync/vtsync/internal/keyquota"
	"github.com/vtsync/vtsync/internal/kind"
	_ "github.com/vtsync/vtsync/internal/kind/all" // registers every kind
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/vt"
)

// kindParams names, per kind, the parameter of the field it is read from.
var kindParams = []struct{ kind, param string }{
	{"domain", "domain_field"}, {"ip", "ip_field"}, {"file", "hash_field"},
}

// SearchFields returns the result fields a search feeds, one per kind
// whose field parameter is set, in parameter order.
func SearchFields(p params.Params) ([]splunkd.Field, error) {
	names := map[string]string{"domain_field": p.DomainField, "ip_field": p.IPField, "hash_field": p.HashField}
	var out []splunkd.Field
	for _, kp := range kindParams {
		field := names[kp.param]
		if field == "" {
			continue
		}
		k, ok := kind.Lookup(kp.kind)
		if !ok {
			return nil, &params.Error{Param: kp.param, Msg: fmt.Sprintf("this build of vtsync cannot look up the %s kind; unset %s", kp.kind, kp.param)}
		}
		out = append(out, splunkd.Field{Name: field, Param: kp.param, Kind: k})
	}
	if len(out) == 0 {
		return nil, &params.Error{Param: "domain_field", Msg: "is empty and neither ip_field nor hash_field is set: nothing would be looked up"}
	}
	return out, nil
}

// Collections returns the KV collection of each kind that the parameters
// name instead of the kind's own: the domain kind's is the collection
// parameter.
func Collections(p params.Params) map[string]string {
	return map[string]string{"domain": p.Collection}
}

// KeyQuota returns the API key's shared quota (pace and daily count) kept
// in dir, or nil without a dir: then the input paces and counts alone.
func KeyQuota(dir, apiKey string, p params.Params) (*keyquota.Key, error) {
	if dir == "" {
		return nil, nil
	}
	interval, burst := vt.Pacing(p.RequestsPerMinute)
	return keyquota.Open(dir, apiKey, interval, burst)
}

// Budget returns the daily lookup budget of p (daily_lookup_budget),
// counted in quota, the key's file that every input using the key shares,
// or in memory for one run without one. The VT enricher is built with it
// and spends it before each request; the run reports it.
func Budget(p params.Params, quota *keyquota.Key) *budget.Daily {
	if quota == nil {
		return budget.New(p.DailyLookupBudget, nil, nil)
	}
	return budget.New(p.DailyLookupBudget, quota, nil)
}

// QuotaHold returns the API key's quota hold: kept in quota, the key's
// file that every input using the key shares, or in this process's memory
// without one. The VT enricher is built with it.
func QuotaHold(apiKey string, quota *keyquota.Key) vt.QuotaHold {
	if quota == nil {
		return keyquota.InMemory(apiKey)
	}
	return quota
}
