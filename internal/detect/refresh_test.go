package detect

import (
	"testing"

	"github.com/vtsync/vtsync/internal/refresh"
)

// The refresh policy's young_refresh_days reads the young rule's defaults
// from package refresh (the pipeline does not import the detection); they
// must be the detection's defaults, or young domains would be refreshed on
// a rule the detection does not apply.
func TestRefreshKnowsTheYoungRulesDefaults(t *testing.T) {
	r := DefaultRules()
	if r.MaxAgeDays != refresh.YoungAgeDays {
		t.Errorf("max_age_days default %v, refresh.YoungAgeDays %d", r.MaxAgeDays, refresh.YoungAgeDays)
	}
	if r.PopularMaxRank != refresh.PopularRank {
		t.Errorf("popular_max_rank default %d, refresh.PopularRank %d", r.PopularMaxRank, refresh.PopularRank)
	}
}
