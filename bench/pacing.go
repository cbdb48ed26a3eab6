package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/vt"
	"github.com/vtsync/vtsync/internal/vttest"
)

// pacingCase is one pacing measurement: the real pipeline and the real VT
// enricher against the VT fake enforcing a per-minute quota q (sliding 60 s
// window) with latency lat per answer.
type pacingCase struct {
	q       int           // quota and requests_per_minute
	lat     time.Duration // fake's answer latency
	lookups int
}

type pacingResult struct {
	pacingCase
	workers     int
	looked      int
	calls       int64 // HTTP requests the enricher sent
	requests    int64 // requests the fake received
	rejected    int   // 429 answers
	status      string
	runTime     time.Duration // pipeline.Run, start to return
	span        time.Duration // first to last request arrival
	sustained   float64       // requests per minute between first and last arrival
	whole       float64       // lookups per minute over the whole run
	maxWindow   int           // most requests in any closed 60 s window
	gap         time.Duration // smallest gap between two requests
	inFlight    int
	conns       int64
	err         error
	stall       time.Duration // longest oversleep of a 5 ms sleep during the run
	stalls      int64         // oversleeps longer than the limiter interval
	interval    time.Duration // the limiter's pacing interval, vt.Pacing
	theoretical float64       // 60 s / interval: the limiter's ceiling, per minute
}

// workersFor is max_concurrency chosen for quota q and latency lat: the
// lookups in flight at q per minute, rounded up, plus a margin of a quarter
// (at least 4) so that one worker is always queued on the limiter while
// answers are slower than L (scheduling, GC, TCP). Idle workers cost
// nothing: they wait on the limiter.
func workersFor(q int, lat time.Duration) int {
	need := int(math.Ceil(float64(q) / 60 * lat.Seconds()))
	return need + max(4, int(math.Ceil(float64(need)/4)))
}

func runPacing(ctx context.Context, c pacingCase, logf func(string, ...any)) pacingResult {
	res := pacingResult{pacingCase: c, workers: workersFor(c.q, c.lat)}
	res.interval, _ = vt.Pacing(c.q)
	res.theoretical = float64(time.Minute) / float64(res.interval)
	fake, err := startVT(vttest.WithMinuteQuota(c.q), vttest.WithLatency(c.lat))
	if err != nil {
		res.err = err
		return res
	}
	defer fake.Close()
	now := time.Now()
	attrs := make([][]byte, 16)
	for i := range attrs {
		attrs[i] = vtAttributes(i, now)
	}
	domains := make(sliceSource, c.lookups)
	for i := range domains {
		domains[i] = fmt.Sprintf("pace%06d-q%d.com", i, c.q)
		if i%5 != 4 { // 80 % known to VirusTotal, 20 % NotFoundError
			fake.AddDomain(domains[i], attrs[i%len(attrs)])
		}
	}
	enr, err := vt.New(vt.Config{APIKey: vttest.APIKey, BaseURL: fake.url, RequestsPerMinute: c.q, MaxConns: res.workers})
	if err != nil {
		res.err = err
		return res
	}
	// Safety net only: twice the paced duration plus a minute.
	budget := 2*time.Duration(c.lookups)*res.interval + time.Minute
	rctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	logf("pacing: Q=%d/min L=%s: %d lookups, max_concurrency=%d (about %s)", c.q, c.lat, c.lookups, res.workers,
		(time.Duration(c.lookups) * res.interval).Round(time.Second))
	// A checkpoint directory, as the modular input always has: every
	// lookup is first spent in the daily budget (a bbolt transaction).
	dir, err := os.MkdirTemp("", "vtsync-bench-pacing")
	if err != nil {
		res.err = err
		return res
	}
	defer os.RemoveAll(dir)
	mon := watchStalls(res.interval)
	start := time.Now()
	sum, err := pipeline.Run(rctx, pipeline.Options{
		Input: "pacing", MaxConcurrency: res.workers, Lookups: true, StateDir: dir,
	}, domains, newMemStore(), enr)
	res.runTime = time.Since(start)
	res.stall, res.stalls = mon.stop()
	res.err = err
	res.status = sum.Status
	res.looked = sum.LookedUp
	res.calls = enr.Calls()
	res.requests = fake.Requests()
	res.rejected = fake.Rejected()
	res.inFlight = fake.MaxInFlight()
	res.conns = fake.conns.Load()
	times := fake.RequestTimes()
	if n := len(times); n > 1 {
		res.span = times[n-1].Sub(times[0])
		res.sustained = float64(n-1) / res.span.Minutes()
		res.gap = minGap(times)
	}
	res.whole = float64(res.looked) / res.runTime.Minutes()
	res.maxWindow = maxInWindow(times, time.Minute)
	return res
}

// pacingCases are the grid: Q = 1,000/min and 30,000/min at 50 ms
// and 300 ms, each over more than a minute so that the 60 s window binds,
// and Q = 4/min (the public key) over 10 lookups.
func pacingCases(quick bool) (parallel, serial []pacingCase) {
	parallel = []pacingCase{
		{q: 4, lat: 300 * time.Millisecond, lookups: 10},
		{q: 1000, lat: 50 * time.Millisecond, lookups: 1100},
		{q: 1000, lat: 300 * time.Millisecond, lookups: 1100},
	}
	serial = []pacingCase{
		{q: 30000, lat: 50 * time.Millisecond, lookups: 31000},
		{q: 30000, lat: 300 * time.Millisecond, lookups: 31000},
	}
	if quick { // a smoke run: same code, shorter
		parallel = []pacingCase{{q: 60, lat: 50 * time.Millisecond, lookups: 5}, {q: 1000, lat: 50 * time.Millisecond, lookups: 50}}
		serial = []pacingCase{{q: 30000, lat: 50 * time.Millisecond, lookups: 1000}}
	}
	return parallel, serial
}

// scenarioPacing runs the low-rate cases side by side (they mostly sleep)
// while the two 30,000/min cases run one after the other.
func scenarioPacing(ctx context.Context, quick bool, only string, logf func(string, ...any)) (string, bool) {
	parallel, serial := pacingCases(quick)
	if only != "" {
		cs, err := parsePacingCases(only)
		if err != nil {
			return err.Error() + "\n", false
		}
		parallel, serial = nil, cs
	}
	results := make([]pacingResult, len(parallel)+len(serial))
	var wg sync.WaitGroup
	for i, c := range parallel {
		wg.Go(func() { results[i] = runPacing(ctx, c, logf) })
	}
	wg.Go(func() {
		for i, c := range serial {
			debug.FreeOSMemory() // the previous case's fake (~0.4 GB of answers) is garbage now
			results[len(parallel)+i] = runPacing(ctx, c, logf)
		}
	})
	wg.Wait()
	lastPacing = results

	ok := true
	var b strings.Builder
	b.WriteString("| Q (/min) | L | lookups | max_concurrency | sustained (/min) | sustained / Q | whole run (/min) | whole run / Q | 429 answers | most in any 60 s | smallest gap (limiter interval) | max in flight | TCP connections | longest stall (count > interval) | status |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(&b, "| %d | %s | %d | %d | error: %v |||||||||| |\n", r.q, r.lat, r.lookups, r.workers, r.err)
			ok = false
			continue
		}
		met := r.rejected == 0 && r.maxWindow <= r.q && r.looked == r.lookups
		if r.q >= 1000 && !quick {
			met = met && r.sustained >= 0.95*float64(r.q)
		}
		ok = ok && met
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %.1f | **%.3f** | %.1f | %.3f | **%d** | %d | %s (%s) | %d | %d | %s (%d) | %s |\n",
			r.q, r.lat, r.looked, r.workers, r.sustained, r.sustained/float64(r.q), r.whole, r.whole/float64(r.q),
			r.rejected, r.maxWindow, r.gap.Round(10*time.Microsecond), r.interval.Round(10*time.Microsecond),
			r.inFlight, r.conns, r.stall.Round(100*time.Microsecond), r.stalls, r.status)
	}
	b.WriteString("\n")
	b.WriteString("Measured at the fake, per request arrival. *sustained* = (requests − 1) / (last arrival − first arrival); " +
		"*whole run* = lookups / `pipeline.Run` wall time (includes the first interval the limiter waits before the first request, " +
		"and the last answer's latency). *most in any 60 s* counts arrivals in every closed 60 s window, as the fake's quota does. " +
		"The limiter's ceiling is (Q+1-b)/Q · 60/(60+g) of Q, with burst b = max(1, Q/100) and guard g = 5 s up to 60/min, 1 s above (`vt.Pacing`): 0.923 up to 60/min, 0.984 below 200/min, 0.974 from there (interval (60 s + g)/(Q+1-b)). *longest stall*: the largest oversleep of a " +
		"goroutine sleeping 5 ms in a loop during the run (the process not getting a CPU: other load on the machine, GC); in brackets, " +
		"how many oversleeps exceeded the limiter interval.\n")
	return b.String(), ok
}

// parsePacingCases reads "Q/L/N,…" (quota per minute, latency, lookups),
// e.g. "1000/50ms/1100": cases run one after the other.
func parsePacingCases(s string) ([]pacingCase, error) {
	var cs []pacingCase
	for part := range strings.SplitSeq(s, ",") {
		f := strings.Split(strings.TrimSpace(part), "/")
		if len(f) != 3 {
			return nil, fmt.Errorf("-pacing %q: want Q/latency/lookups, e.g. 1000/50ms/1100", part)
		}
		q, err1 := strconv.Atoi(f[0])
		lat, err2 := time.ParseDuration(f[1])
		n, err3 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil || q < 1 || lat < 0 || n < 1 {
			return nil, fmt.Errorf("-pacing %q: want Q/latency/lookups, e.g. 1000/50ms/1100", part)
		}
		cs = append(cs, pacingCase{q: q, lat: lat, lookups: n})
	}
	return cs, nil
}

// stallMonitor measures how late a goroutine sleeping 5 ms wakes up: when
// the process does not get a CPU, the limiter's timers fire late too.
type stallMonitor struct {
	done  chan struct{}
	ended chan struct{}
	worst time.Duration
	over  int64
}

func watchStalls(interval time.Duration) *stallMonitor {
	m := &stallMonitor{done: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(m.ended)
		const tick = 5 * time.Millisecond
		for {
			t0 := time.Now()
			select {
			case <-m.done:
				return
			case <-time.After(tick):
			}
			late := time.Since(t0) - tick
			m.worst = max(m.worst, late)
			if late > interval {
				m.over++
			}
		}
	}()
	return m
}

func (m *stallMonitor) stop() (time.Duration, int64) {
	close(m.done)
	<-m.ended
	return m.worst, m.over
}
