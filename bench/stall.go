package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The stall scenario compares, under CPU contention, the pacing limiter
// internal/vt builds (newLimiter: burst 1, interval (60 s + 1 s)/Q, first
// token spent) with a burst-b variant that keeps the same guarantee — any
// Q+1 grants span at least 61 s — but can bank up to b grants, so that a
// process stalled for less than b intervals does not lose them.

// vtLimiter reproduces internal/vt's newLimiter.
func vtLimiter(q int, now time.Time) *rate.Limiter {
	lim := rate.NewLimiter(rate.Every((time.Minute+time.Second)/time.Duration(q)), 1)
	lim.ReserveN(now, 1)
	return lim
}

// burstLimiter is the proposed fix: burst b = max(1, q/100) and interval
// 61 s/(q+1−b). After b grants at once, the remaining q+1−b of any q+1
// grants are each at least one interval apart, so they span ≥ 61 s. It
// starts empty (all b tokens spent) to keep the spacing across runs.
func burstLimiter(q int, now time.Time) *rate.Limiter {
	b := max(1, q/100)
	lim := rate.NewLimiter(rate.Every((time.Minute+time.Second)/time.Duration(q+1-b)), b)
	lim.ReserveN(now, b)
	return lim
}

type grantStats struct {
	name      string
	q, n      int
	lat       time.Duration
	sustained float64 // grants per minute, first to last
	maxWindow int
	gap       time.Duration
}

// grants runs workers that each wait on lim, take the grant, then spend
// lat (a lookup in flight) and 200 µs of CPU (answer processing), until n
// grants are taken.
func grants(ctx context.Context, name string, lim *rate.Limiter, q, n, workers int, lat time.Duration) grantStats {
	var mu sync.Mutex
	times := make([]time.Time, 0, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				if lim.Wait(ctx) != nil {
					return
				}
				mu.Lock()
				if len(times) == n {
					mu.Unlock()
					return
				}
				times = append(times, time.Now())
				mu.Unlock()
				time.Sleep(lat)
				for t := time.Now(); time.Since(t) < 200*time.Microsecond; {
				}
			}
		})
	}
	wg.Wait()
	s := grantStats{name: name, q: q, lat: lat, n: len(times), maxWindow: maxInWindow(times, time.Minute), gap: minGap(times)}
	if len(times) > 1 {
		s.sustained = float64(len(times)-1) / times[len(times)-1].Sub(times[0]).Minutes()
	}
	return s
}

// burn keeps one CPU busy until d has passed (a competing process).
func burn(d time.Duration) int {
	for t := time.Now(); time.Since(t) < d; {
	}
	return 0
}

func scenarioStall(ctx context.Context, quick bool, burners int, logf func(string, ...any)) (string, bool) {
	type pair struct {
		q, n int
		lat  time.Duration
	}
	pairs := []pair{{1000, 1100, 50 * time.Millisecond}, {1000, 1100, 300 * time.Millisecond}, {30000, 31000, 300 * time.Millisecond}}
	if quick {
		pairs = []pair{{1000, 100, 50 * time.Millisecond}}
	}
	d := time.Duration(pairs[0].n) * time.Minute / time.Duration(pairs[0].q) * 12 / 10
	exe, err := os.Executable()
	if err != nil {
		return err.Error(), false
	}
	var procs []*exec.Cmd
	for range burners {
		cmd := exec.CommandContext(ctx, exe, "-burn", d.String())
		if err := cmd.Start(); err != nil {
			return err.Error(), false
		}
		procs = append(procs, cmd)
	}
	defer func() {
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
	}()
	logf("stall: %d CPU-bound processes for %s; both limiters side by side", burners, d.Round(time.Second))
	mon := watchStalls(time.Minute / 30000)
	now := time.Now()
	var results []grantStats
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range pairs {
		w := workersFor(p.q, p.lat)
		for _, v := range []struct {
			name string
			lim  *rate.Limiter
		}{{"vt today (burst 1)", vtLimiter(p.q, now)}, {"burst max(1, Q/100)", burstLimiter(p.q, now)}} {
			wg.Go(func() {
				s := grants(ctx, v.name, v.lim, p.q, p.n, w, p.lat)
				mu.Lock()
				results = append(results, s)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	worst, over := mon.stop()
	slices.SortFunc(results, func(a, b grantStats) int {
		return cmp.Or(cmp.Compare(a.q, b.q), cmp.Compare(a.lat, b.lat), strings.Compare(b.name, a.name))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d CPU-bound processes compete for the %d CPUs while each limiter paces max_concurrency workers "+
		"(Wait, then L asleep and 200 µs of CPU per grant), all side by side in one process. Longest stall of a 5 ms sleep "+
		"meanwhile: %s (%d longer than 2 ms).\n\n", burners, runtime.NumCPU(), worst.Round(100*time.Microsecond), over)
	b.WriteString("| limiter | Q (/min) | L | grants | sustained (/min) | sustained / Q | most in any 60 s | smallest gap |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	ok := true
	for _, s := range results {
		ok = ok && s.maxWindow <= s.q
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %.1f | **%.3f** | %d | %s |\n", s.name, s.q, s.lat, s.n, s.sustained, s.sustained/float64(s.q), s.maxWindow, s.gap.Round(time.Microsecond))
	}
	return b.String(), ok
}
