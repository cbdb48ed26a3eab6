package vt

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// greedy takes every grant the limiter allows, polling every step from
// start for d, and returns the grant times.
func greedy(t *testing.T, perMinute int, start time.Time, d, step time.Duration, pause func(time.Time) bool) []time.Time {
	t.Helper()
	lim := newLimiter(perMinute, start)
	var got []time.Time
	for now := start; now.Before(start.Add(d)); {
		if pause != nil && pause(now) {
			now = now.Add(step) // the process is stalled: nobody asks
			continue
		}
		for lim.AllowN(now, 1) {
			got = append(got, now)
		}
		// No token before the bucket refills one: skip the steps that
		// would ask in vain (whole steps, rounded down, so no step at
		// which a token is there is skipped).
		wait := time.Duration((1 - lim.TokensAt(now)) / float64(lim.Limit()) * float64(time.Second))
		now = now.Add(max(1, wait/step) * step)
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
				if span := got[i].Sub(got[i-q]); span < time.Minute+Guard(q) {
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

// backToBack models processes run one after the other with one API key,
// as a modular input whose runs follow each other: each makes its limiter
// at its first request (lim), takes lookups grants as fast as the limiter
// allows, and exits latency after its last grant; the next starts then.
// It returns every grant time, in order. The clock is simulated.
func backToBack(newLim func(time.Time) *rate.Limiter, processes, lookups int, latency time.Duration) []time.Time {
	const step = 10 * time.Millisecond
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var grants []time.Time
	for range processes {
		lim := newLim(now)
		for n := 0; n < lookups; now = now.Add(step) {
			if lim.AllowN(now, 1) {
				grants = append(grants, now)
				n++
			}
		}
		now = grants[len(grants)-1].Add(latency)
	}
	return grants
}

// mostInAMinute counts the most arrivals in any closed 60 s window, as
// VirusTotal's quota (and vttest's) counts them.
func mostInAMinute(arrivals []time.Time) int {
	a := slices.Clone(arrivals)
	slices.SortFunc(a, func(x, y time.Time) int { return x.Compare(y) })
	most := 0
	for i, j := 0, 0; j < len(a); j++ {
		for a[j].Sub(a[i]) > time.Minute {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// Requests reach VirusTotal up to 1.5 s after their grant (a stall, a new
// TLS handshake where others reuse a connection, a SYN retransmit). At a
// small quota, 20 processes run back to back must still never put Q+1
// arrivals in one minute, however the delays fall: the worst case is the
// first of Q+1 grants arriving 1.5 s late and the last at once, so Q
// grants must span more than 61.5 s. A seeded random draw of delays is
// counted as VirusTotal counts, too. The 1 s guard alone fails both: the
// check can fail.
func TestSmallQuotaToleratesArrivalJitter(t *testing.T) {
	const jitter = 1500 * time.Millisecond
	withGuard := func(q int, guard time.Duration) func(time.Time) *rate.Limiter {
		return func(now time.Time) *rate.Limiter {
			burst := max(1, q/100)
			lim := rate.NewLimiter(rate.Every((time.Minute+guard)/time.Duration(q+1-burst)), burst)
			lim.ReserveN(now, burst)
			return lim
		}
	}
	// worst reports whether some Q+1 grants can arrive within a minute.
	worst := func(g []time.Time, q int) bool {
		for i := q; i < len(g); i++ {
			if g[i].Sub(g[i-q]) <= time.Minute+jitter {
				return true
			}
		}
		return false
	}
	drawn := func(g []time.Time) []time.Time {
		rng := rand.New(rand.NewPCG(4, 20))
		a := make([]time.Time, len(g))
		for i, x := range g {
			a[i] = x.Add(time.Duration(rng.Int64N(int64(jitter) + 1)))
		}
		return a
	}
	for _, q := range []int{1, 4, 10, 30, 60} {
		g := backToBack(func(now time.Time) *rate.Limiter { return newLimiter(q, now) }, 20, q+2, 300*time.Millisecond)
		if worst(g, q) {
			t.Errorf("Q=%d: %d+1 grants within %s: delays up to %s can put them in one minute", q, q, time.Minute+jitter, jitter)
		}
		if n := mostInAMinute(drawn(g)); n > q {
			t.Errorf("Q=%d: %d arrivals in one minute with drawn delays", q, n)
		}
	}
	old := backToBack(withGuard(4, windowGuard), 20, 6, 300*time.Millisecond)
	if !worst(old, 4) {
		t.Fatal("with the 1 s guard, Q=4 grants were found safe against 1.5 s of jitter: the check cannot fail")
	}
	if n := mostInAMinute(drawn(old)); n <= 4 {
		t.Errorf("with the 1 s guard and drawn delays, at most %d arrivals in a minute: the draw does not exercise the jitter", n)
	}
}

// Pacing's interval and burst are the limiter's, and the guard is wider
// only up to smallQuota.
func TestPacing(t *testing.T) {
	for _, c := range []struct {
		q        int
		interval time.Duration
		burst    int
	}{
		{4, 16250 * time.Millisecond, 1},
		{60, 65 * time.Second / 60, 1},
		{61, 61 * time.Second / 61, 1},
		{1000, 61 * time.Second / 991, 10},
	} {
		if i, b := Pacing(c.q); i != c.interval || b != c.burst {
			t.Errorf("Pacing(%d) = %s, %d; want %s, %d", c.q, i, b, c.interval, c.burst)
		}
	}
}
