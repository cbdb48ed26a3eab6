package refresh

import (
	"testing"

	"github.com/vtsync/vtsync/internal/record"
)

const now = 1_800_000_000

func ptr(n int64) *int64 { return &n }

func TestFixedPeriods(t *testing.T) {
	p := Fixed(7, 24)
	cases := []struct {
		name string
		r    record.Record
		want bool
	}{
		{"found, 6 days old", record.Record{VTFound: true, EnrichedTime: now - 6*day}, true},
		{"found, exactly 7 days old", record.Record{VTFound: true, EnrichedTime: now - 7*day}, false},
		{"found, 8 days old", record.Record{VTFound: true, EnrichedTime: now - 8*day}, false},
		{"negative, 23 hours old", record.NotFound("x.example", now-23*hour), true},
		{"negative, 25 hours old", record.NotFound("x.example", now-25*hour), false},
		{"negative for a month, 25 hours old: no backoff without a cap", record.Record{NotFoundSince: now - 30*day, EnrichedTime: now - 25*hour}, false},
		{"never enriched", record.Record{VTFound: true}, false},
		{"enriched in the future (clock skew)", record.Record{VTFound: true, EnrichedTime: now + hour}, false},
	}
	for _, c := range cases {
		if got := p.Fresh(c.r, now); got != c.want {
			t.Errorf("%s: Fresh = %v, want %v", c.name, got, c.want)
		}
	}
}

// A domain VirusTotal keeps not knowing is asked again after as long as it
// has been unknown, from not_found_refresh_hours up to the cap.
func TestNotFoundBackoff(t *testing.T) {
	p := Policy{RefreshDays: 7, NotFoundHours: 24, NotFoundMaxHours: 168}
	e := int64(now)
	for _, c := range []struct {
		since int64 // 0: the first negative answer
		ttl   int64
	}{
		{0, 24 * hour},
		{e - 24*hour, 24 * hour},
		{e - 48*hour, 48 * hour},
		{e - 96*hour, 96 * hour},
		{e - 192*hour, 168 * hour},
		{e - 400*day, 168 * hour},
		{e + hour, 24 * hour}, // a since after enriched_time is ignored
	} {
		r := record.Record{Key: "x.example", Domain: "x.example", EnrichedTime: e, NotFoundSince: c.since}
		if got := p.Due(r) - e; got != c.ttl {
			t.Errorf("since %d h before: due after %d h, want %d h", (e-c.since)/hour, got/hour, c.ttl/hour)
		}
	}
	// Regular checks: 24 h, 24 h, 48 h, 96 h, 168 h, 168 h apart.
	var gaps []int64
	prev := record.Record{}
	at := e
	for range 6 {
		rec := Next(prev, record.NotFound("x.example", at))
		due := p.Due(rec)
		gaps = append(gaps, (due-at)/hour)
		prev, at = rec, due
	}
	want := []int64{24, 24, 48, 96, 168, 168}
	for i := range want {
		if gaps[i] != want[i] {
			t.Fatalf("checks every %v h, want %v", gaps, want)
		}
	}
}

func TestNext(t *testing.T) {
	miss := record.NotFound("x.example", now)
	found := record.Record{Key: "x.example", Domain: "x.example", VTFound: true, EnrichedTime: now}
	older := record.NotFound("x.example", now-3*day)
	oldest := record.Record{Key: "x.example", Domain: "x.example", EnrichedTime: now - day, NotFoundSince: now - 10*day}
	for _, c := range []struct {
		name        string
		prev, got   record.Record
		wantSince   int64
		wantVTFound bool
	}{
		{"nothing stored", record.Record{}, miss, 0, false},
		{"found before, unknown now", found, miss, 0, false},
		{"unknown before, found now", older, found, 0, true},
		{"unknown twice", older, miss, now - 3*day, false},
		{"unknown for long", oldest, miss, now - 10*day, false},
	} {
		got := Next(c.prev, c.got)
		if got.NotFoundSince != c.wantSince || got.VTFound != c.wantVTFound || got.EnrichedTime != c.got.EnrichedTime {
			t.Errorf("%s: Next = %+v, want not_found_since %d", c.name, got, c.wantSince)
		}
	}
}

// A record the young rule flags on its creation date alone waits
// young_refresh_days, never past the end of its young window; a ranked or
// old domain does not.
func TestYoungRefresh(t *testing.T) {
	p := Policy{RefreshDays: 7, NotFoundHours: 24, YoungRefreshDays: 30}
	young := func(createdDaysAgo int64, rank *int64) record.Record {
		return record.Record{Key: "y.example", VTFound: true, EnrichedTime: now,
			WhoisCreationTime: ptr(now - createdDaysAgo*day), PopularityRank: rank}
	}
	for _, c := range []struct {
		name string
		r    record.Record
		ttl  int64
	}{
		{"created 2 days ago", young(2, nil), 30 * day},
		{"created 30 days ago: until its young window closes", young(30, nil), 16 * day},
		{"created 44 days ago: the young window closes sooner than refresh_days", young(44, nil), 7 * day},
		{"created 60 days ago", young(60, nil), 7 * day},
		{"ranked within the threshold", young(2, ptr(5000)), 7 * day},
		{"ranked beyond the threshold", young(2, ptr(PopularRank+1)), 30 * day},
		{"no creation date", record.Record{Key: "y.example", VTFound: true, EnrichedTime: now}, 7 * day},
		{"created after the lookup (re-registered)", young(-1, nil), 7 * day},
	} {
		if got := p.Due(c.r) - now; got != c.ttl {
			t.Errorf("%s: due after %.1f days, want %.1f", c.name, float64(got)/float64(day), float64(c.ttl)/float64(day))
		}
	}
	p.YoungRefreshDays = 0
	if got := p.Due(young(2, nil)) - now; got != 7*day {
		t.Errorf("young_refresh_days 0: due after %d days, want 7", got/day)
	}
}

// Jitter only shortens, by at most JitterPercent, the same way for the
// same key and enriched_time, and spreads keys over the range.
func TestJitter(t *testing.T) {
	p := Policy{RefreshDays: 7, NotFoundHours: 24, JitterPercent: 20}
	lo, hi := int64(7*day), int64(0)
	for i := range 2000 {
		r := record.Record{Key: "d" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + ".example", VTFound: true, EnrichedTime: now + int64(i/676)}
		ttl := p.Due(r) - r.EnrichedTime
		if ttl > 7*day || ttl < 7*day*80/100 {
			t.Fatalf("%s: period %d s, want 80-100 %% of 7 days", r.Key, ttl)
		}
		if again := p.Due(r) - r.EnrichedTime; again != ttl {
			t.Fatalf("%s: %d then %d: not deterministic", r.Key, ttl, again)
		}
		lo, hi = min(lo, ttl), max(hi, ttl)
	}
	if lo > 7*day*82/100 || hi < 7*day*98/100 {
		t.Errorf("periods span %d..%d s: not spread over 80-100 %% of 7 days", lo, hi)
	}
	r := record.Record{Key: "a.example", VTFound: true, EnrichedTime: now}
	r2 := r
	r2.EnrichedTime++
	if p.Due(r)-r.EnrichedTime == p.Due(r2)-r2.EnrichedTime && p.Due(record.Record{Key: "b.example", VTFound: true, EnrichedTime: now})-now == p.Due(r)-now {
		t.Error("jitter ignores the key or enriched_time")
	}
}
