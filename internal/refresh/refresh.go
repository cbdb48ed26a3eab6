// Package refresh decides when a stored record is looked up in VirusTotal
// again: the refresh policy, a pure function of the record and the time.
// The pipeline asks it about every stored record a run meets, and the
// benchmark's simulated weeks call the same function, so what is measured
// is what runs.
package refresh

import (
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/record"
)

const (
	day  = int64(86400)
	hour = int64(3600)
)

// The detection's defaults (PRODUCT.md, "The detection"): the young rule
// fires for a known creation date 0 to YoungAgeDays days before the
// contact, unless the domain is ranked within PopularRank on a live list.
// Only YoungRefreshDays reads them.
const (
	YoungAgeDays = 45
	PopularRank  = 100000
)

// Policy is the refresh policy of one input. Its zero value is not usable:
// RefreshDays and NotFoundHours must be positive (the parameters' ranges
// guarantee it); the other fields are off at zero.
type Policy struct {
	// RefreshDays: a found record is due this many days after it was
	// enriched (refresh_days).
	RefreshDays int
	// NotFoundHours: a negative record ("VirusTotal does not know it") is
	// due this many hours after it was enriched (not_found_refresh_hours).
	NotFoundHours int
	// NotFoundMaxHours turns on the not-found backoff when it is above
	// NotFoundHours (not_found_max_hours): a domain VirusTotal has not
	// known for d is asked again d later, at least NotFoundHours and at
	// most NotFoundMaxHours later. With checks on time that is 24 h, 24 h,
	// 48 h, 96 h, ... doubling up to the cap.
	NotFoundMaxHours int
	// YoungRefreshDays, when above RefreshDays, is the refresh period of a
	// found record that the young rule flags on its creation date alone
	// (known creation date at most YoungAgeDays days before, not ranked
	// within PopularRank): it is alerted on whatever VirusTotal says next,
	// so it is not asked again before YoungRefreshDays, or before its
	// young window closes if that is earlier (young_refresh_days).
	YoungRefreshDays int
	// JitterPercent shortens each period by a share from 0 to
	// JitterPercent % drawn from the record's key and enriched_time (the
	// same for every process and run), so that domains looked up together
	// do not come due together week after week (refresh_jitter_percent).
	// It only ever shortens: no record is kept longer than without it.
	JitterPercent int
}

// Fixed returns the policy of fixed periods: refresh_days for a found
// record, not_found_refresh_hours for a negative one, nothing else.
func Fixed(refreshDays, notFoundHours int) Policy {
	return Policy{RefreshDays: refreshDays, NotFoundHours: notFoundHours}
}

// Due returns when r is due for a lookup, in epoch seconds. A record never
// enriched (enriched_time 0 or absent) is due at once.
func (p Policy) Due(r record.Record) int64 {
	e := r.EnrichedTime
	if e <= 0 {
		return 0
	}
	var ttl int64
	if r.VTFound {
		ttl = int64(p.RefreshDays) * day
		if p.YoungRefreshDays > p.RefreshDays && flaggedYoung(r, e) {
			// Longer, but never past the end of the young window: from
			// then on only VirusTotal's positives can flag the domain.
			end := *r.WhoisCreationTime + (YoungAgeDays+1)*day
			ttl = max(ttl, min(int64(p.YoungRefreshDays)*day, end-e))
		}
	} else {
		ttl = int64(p.NotFoundHours) * hour
		if p.NotFoundMaxHours > p.NotFoundHours {
			ttl = min(max(ttl, e-notFoundSince(r)), int64(p.NotFoundMaxHours)*hour)
		}
	}
	if p.JitterPercent > 0 {
		ttl -= ttl * int64(min(p.JitterPercent, 100)) / 100 * int64(jitter(r.Key, e)) / (1 << 16)
	}
	return e + ttl
}

// Fresh reports whether r needs no lookup at now (epoch seconds). A record
// enriched in the future (a clock set back) is not fresh.
func (p Policy) Fresh(r record.Record, now int64) bool {
	return r.EnrichedTime > 0 && r.EnrichedTime <= now && now < p.Due(r)
}

// Next returns answer, the record just fetched for a domain whose stored
// record was prev, carrying over what the policy needs: a negative answer
// after a negative record keeps the time VirusTotal first did not know the
// domain (not_found_since). A zero prev is "nothing was stored".
func Next(prev, answer record.Record) record.Record {
	if answer.VTFound || prev.VTFound || prev.EnrichedTime <= 0 {
		return answer
	}
	since := notFoundSince(prev)
	if since > 0 && since < answer.EnrichedTime {
		answer.NotFoundSince = since
	}
	return answer
}

// notFoundSince is when VirusTotal first did not know r's domain, of the
// negative answers in a row that r ends: not_found_since, or enriched_time
// for the first one (which does not write the field).
func notFoundSince(r record.Record) int64 {
	if s := r.NotFoundSince; s > 0 && s <= r.EnrichedTime {
		return s
	}
	return r.EnrichedTime
}

// flaggedYoung reports whether the young rule flags r on its creation date
// alone at time t (epoch seconds).
func flaggedYoung(r record.Record, t int64) bool {
	if r.WhoisCreationTime == nil {
		return false
	}
	age := t - *r.WhoisCreationTime
	if age < 0 || age > YoungAgeDays*day {
		return false
	}
	return r.PopularityRank == nil || *r.PopularityRank > PopularRank
}

// jitter returns a number in [0, 65536) from key and enriched: FNV-1a
// over the key's bytes and enriched's eight bytes, folded.
func jitter(key string, enriched int64) uint32 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	for i := range 8 {
		h = (h ^ uint64(byte(enriched>>(8*i)))) * prime
	}
	return uint32((h ^ h>>32 ^ h>>16) & 0xffff)
}

// FreshRecord is Fresh for a record of any indicator kind. A domain record
// (record.Record) gets the whole policy; a record of another kind gets the
// fixed periods and the jitter, which need only its key, whether it was
// found and when it was enriched.
func (p Policy) FreshRecord(r kind.Record, now int64) bool {
	if d, ok := r.(record.Record); ok {
		return p.Fresh(d, now)
	}
	e := r.Enriched()
	if e <= 0 || e > now {
		return false
	}
	ttl := int64(p.NotFoundHours) * hour
	if r.Found() {
		ttl = int64(p.RefreshDays) * day
	}
	if p.JitterPercent > 0 {
		ttl -= ttl * int64(min(p.JitterPercent, 100)) / 100 * int64(jitter(r.ID(), e)) / (1 << 16)
	}
	return now < e+ttl
}

// NextRecord is Next for records of any kind: only domain records carry
// what Next carries over (not_found_since); another kind's answer is
// returned as it is.
func NextRecord(prev, answer kind.Record) kind.Record {
	p, okPrev := prev.(record.Record)
	a, okAnswer := answer.(record.Record)
	if okPrev && okAnswer {
		return Next(p, a)
	}
	return answer
}
