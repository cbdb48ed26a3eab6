package vt

import (
	"testing"
	"time"
)

// greedy takes every grant the limiter allows, polling every step from
// start for d, and returns the grant times.
func greedy(t *testing.T, perMinute int, start time.Time, d, step time.Duration, pause func(time.Time) bool) []time.Time {
	t.Helper()
	lim := newLimiter(perMinute, start)
	var got []time.Time
	for now := start; now.Before(start.Add(d)); now = now.Add(step) {
		if pause != nil && pause(now) {
			continue // the process is stalled: nobody asks
		}
		for lim.AllowN(now, 1) {
			got = append(got, now)
		}
	}
	return got
}

// No perMinute+1 grants ever fall within 60 s plus the guard, whatever the
// rate, even when the process stalls and then catches up with the burst.
func TestLimiterNeverExceedsTheMinute(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stalls := func(now time.Time) bool { // 400 ms stalls every 3 s
		return now.Sub(start)%(3*time.Second) < 400*time.Millisecond
	}
	for _, q := range []int{4, 60, 199, 200, 1000, 30000} {
		for _, pause := range []func(time.Time) bool{nil, stalls} {
			got := greedy(t, q, start, 3*time.Minute, 500*time.Microsecond, pause)
			for i := q; i < len(got); i++ {
				if span := got[i].Sub(got[i-q]); span < time.Minute+windowGuard {
					t.Fatalf("Q=%d: grants %d..%d within %s", q, i-q, i, span)
				}
			}
			if q >= 1000 {
				// Over 3 minutes the rate is at least 97% of Q, stalls included.
				if rate := float64(len(got)) / 3; rate < 0.97*float64(q) {
					t.Errorf("Q=%d (stalls %t): %.0f grants per minute, want ≥ 0.97·Q", q, pause != nil, rate)
				}
			}
		}
	}
}

// A new limiter is empty: the first grant comes one interval after it was
// made, never at once.
func TestLimiterStartsEmpty(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []int{4, 30000} {
		lim := newLimiter(q, start)
		if lim.AllowN(start, 1) {
			t.Errorf("Q=%d: a new limiter granted at once", q)
		}
	}
}
