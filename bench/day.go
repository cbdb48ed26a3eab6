package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/vt"
	"github.com/vtsync/vtsync/internal/vttest"
)

// dayConfig is the simulated population and traffic.
type dayConfig struct {
	domains      int     // registered domains that reach the lookup (after the detection's filters)
	zipf         float64 // contact counts ∝ 1/rank^zipf
	events       int     // candidate rows per 15-minute window
	newShare     float64 // new (never seen) domains per run, as a share of the run's distinct domains
	runs         int     // detection runs (96 = a day every 15 minutes)
	refreshDays  int
	notFoundHrs  int
	seed         uint64
	latencies    []time.Duration // VT answer latencies for the per-call measurement
	premiumQuota int             // requests per minute of a premium key, for the computed waits
}

func dayDefaults(quick bool) dayConfig {
	c := dayConfig{domains: 20000, zipf: 1.0, events: 2500, newShare: 0.02, runs: 96, refreshDays: 7, notFoundHrs: 24,
		seed: 1, latencies: []time.Duration{50 * time.Millisecond, 300 * time.Millisecond}, premiumQuota: 1000}
	if quick {
		c.domains, c.events, c.runs = 2000, 600, 8
	}
	return c
}

// population is the long-tailed set of registered domains the network
// talks to; new domains join it as they appear.
type population struct {
	names  []string
	weight []float64
	cdf    []float64
	zipf   float64
	rng    *rand.Rand
	added  int
}

func newPopulation(n int, zipf float64, seed uint64) *population {
	p := &population{zipf: zipf, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
	for i := range n {
		p.names = append(p.names, fmt.Sprintf("site%05d-%s.com", i, tag(i)))
		p.weight = append(p.weight, 1/math.Pow(float64(i+1), zipf))
	}
	return p
}

// tag makes names less uniform so normalisation is not trivially cached.
func tag(i int) string { return [...]string{"net", "cdn", "app", "io", "web", "srv", "api"}[i%7] }

var subdomains = [...]string{"www", "api", "cdn", "static", "mail", "telemetry", "update", "a1.edge"}

// window returns the candidate rows (host names) of one 15-minute window:
// p.events contacts drawn by weight, then the run's new domains, each
// contacted once and added to the population with a tail rank so some come
// back later.
func (p *population) window(events int, newShare float64, run int) (rows []string, newNames []string) {
	p.cdf = p.cdf[:0]
	total := 0.0
	for _, w := range p.weight {
		total += w
		p.cdf = append(p.cdf, total)
	}
	seen := map[int]bool{}
	for range events {
		i := sort.SearchFloat64s(p.cdf, p.rng.Float64()*total)
		i = min(i, len(p.names)-1)
		seen[i] = true
		rows = append(rows, subdomains[p.rng.IntN(len(subdomains))]+"."+p.names[i])
	}
	n := int(math.Ceil(newShare * float64(len(seen))))
	for k := range n {
		name := fmt.Sprintf("new-r%02d-%04d-%s.com", run, k, tag(k))
		rank := len(p.names)/4 + p.rng.IntN(len(p.names))
		p.names = append(p.names, name)
		p.weight = append(p.weight, 1/math.Pow(float64(rank+1), p.zipf))
		newNames = append(newNames, name)
		rows = append(rows, "www."+name)
	}
	p.added += n
	return rows, newNames
}

// compactAttributes is the part of a VT domain object the detection reads
// (about 700 bytes): the day simulation counts calls, it does not need
// 15 KB answers.
func compactAttributes(i int, now time.Time) json.RawMessage {
	issuer := `{"C":"US","O":"Amazon","CN":"Amazon"}`
	created := now.AddDate(-3, 0, -i%900).Unix()
	if i%2 == 0 {
		issuer = `{"C":"US","O":"Let's Encrypt","CN":"R10"}`
		created = now.AddDate(0, 0, -i%60).Unix()
	}
	return json.RawMessage(fmt.Sprintf(`{"creation_date":%d,"last_analysis_date":%d,`+
		`"last_analysis_stats":{"harmless":70,"malicious":%d,"suspicious":0,"undetected":20,"timeout":0},`+
		`"last_https_certificate":{"issuer":%s,"validity":{"not_before":"2025-09-26 00:00:00","not_after":"2026-09-26 23:59:59"}},`+
		`"categories":{"Forcepoint ThreatSeeker":"information technology","alphaMountain.ai":"Business/Economy"},`+
		`"popularity_ranks":{},"reputation":%d,"registrar":"NameCheap, Inc.","tags":[]}`,
		created, now.Add(-time.Hour).Unix(), i%7, issuer, -i%40))
}

// known reports whether VirusTotal knows the i-th name (80 % do).
func known(i int) bool { return i%5 != 4 }

type dayRun struct {
	distinct  int   // distinct registered domains among the run's candidates
	blogCalls int64 // VT calls of the detection's external lookup
	looked    int   // vtsync lookups
	kv        int   // vtsync KV requests
	fresh     int
}

type dayResult struct {
	cfg         dayConfig
	blog        []dayRun
	cold, warm  []dayRun
	perCall     map[time.Duration]time.Duration // measured sequential per-call time
	newDomains  int
	population  int
	distinctDay int
}

func scenarioDay(ctx context.Context, quick bool, logf func(string, ...any)) (string, bool) {
	cfg := dayDefaults(quick)
	res, err := runDay(ctx, cfg, logf)
	if err != nil {
		return fmt.Sprintf("day simulation failed: %v\n", err), false
	}
	return res.markdown(), res.sum(res.blog, func(r dayRun) int64 { return r.blogCalls }) > 0
}

func runDay(ctx context.Context, cfg dayConfig, logf func(string, ...any)) (*dayResult, error) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday, 00:00 UTC
	var simNow atomic.Int64
	simNow.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, simNow.Load()) }

	// One VT fake per side, so each side's calls are counted on its own.
	blogVT, err := startVT()
	if err != nil {
		return nil, err
	}
	defer blogVT.Close()
	syncVT, err := startVT()
	if err != nil {
		return nil, err
	}
	defer syncVT.Close()
	addDomain := func(i int, name string) {
		if known(i) {
			a := compactAttributes(i, start)
			blogVT.AddDomain(name, a)
			syncVT.AddDomain(name, a)
		}
	}
	pop := newPopulation(cfg.domains, cfg.zipf, cfg.seed)
	for i, n := range pop.names {
		addDomain(i, n)
	}
	// The pacing of the two VT sides is not simulated in real time (it
	// would take the day): both send as fast as the fake answers, and the
	// waiting is computed from the counts below.
	newEnricher := func(url string) (*vt.Enricher, error) {
		return vt.New(vt.Config{APIKey: vttest.APIKey, BaseURL: url, RequestsPerMinute: 1 << 30, Now: clock})
	}
	blogClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	defer blogClient.CloseIdleConnections()

	// Two vtsync inputs over the same candidates: one starting the day with
	// an empty KV store (its first day), one with a KV store as weeks of
	// runs leave it (every known domain enriched within refresh_days,
	// every negative one within not_found_refresh_hours).
	type side struct {
		srv   *splunkdServer
		store *splunkd.KVStore
		enr   *vt.Enricher
		runs  *[]dayRun
	}
	res := &dayResult{cfg: cfg, perCall: map[time.Duration]time.Duration{}}
	var sides []side
	for _, warm := range []bool{false, true} {
		srv, err := startSplunkd(nil)
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		if warm {
			rng := rand.New(rand.NewPCG(cfg.seed, 7))
			for i, n := range pop.names {
				rec := record.NotFound(n, start.Add(-time.Duration(rng.Int64N(int64(cfg.notFoundHrs)*int64(time.Hour)))).Unix())
				if known(i) {
					rec = record.Record{Key: n, Domain: n, VTFound: true,
						EnrichedTime: start.Add(-time.Duration(rng.Int64N(int64(cfg.refreshDays) * 24 * int64(time.Hour)))).Unix()}
				}
				b, _ := json.Marshal(rec)
				srv.put(n, b)
			}
		}
		client, err := splunkd.New(splunkd.Config{BaseURL: srv.url, SessionKey: benchSessionKey})
		if err != nil {
			return nil, err
		}
		enr, err := newEnricher(syncVT.url)
		if err != nil {
			return nil, err
		}
		runs := &res.cold
		if warm {
			runs = &res.warm
		}
		sides = append(sides, side{srv, client.KVStore("vtsync_domains"), enr, runs})
	}

	all := map[string]bool{}
	for run := range cfg.runs {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		simNow.Store(start.Add(time.Duration(run) * 15 * time.Minute).UnixNano())
		rows, newNames := pop.window(cfg.events, cfg.newShare, run)
		for k, n := range newNames {
			addDomain(len(pop.names)-len(newNames)+k, n)
		}
		// (a) the detection's external lookup: one VT call per distinct
		// registered domain of the run, no cache: a plain GET
		// /domains/{domain} with the key, as its script sends it. Issued
		// by 4 goroutines only to finish the simulation sooner; the
		// waiting below is computed for a sequential caller.
		distinct := map[string]bool{}
		for _, h := range rows {
			if d, reason := domain.Normalize(h); reason == "" {
				distinct[d] = true
				all[d] = true
			}
		}
		before := blogVT.Requests()
		names := make(chan string)
		var wg sync.WaitGroup
		var blogErr atomic.Value
		for range 4 {
			wg.Go(func() {
				for d := range names {
					if err := externalLookup(ctx, blogClient, blogVT.url, d); err != nil {
						blogErr.Store(err)
					}
				}
			})
		}
		for d := range distinct {
			names <- d
		}
		close(names)
		wg.Wait()
		if err, _ := blogErr.Load().(error); err != nil {
			return nil, fmt.Errorf("external lookup, run %d: %w", run, err)
		}
		res.blog = append(res.blog, dayRun{distinct: len(distinct), blogCalls: blogVT.Requests() - before})

		// (b) vtsync: the modular input's run before the detection; the
		// detection itself is a KV lookup and calls VT zero times.
		for _, s := range sides {
			sum, err := pipeline.Run(ctx, pipeline.Options{
				Input: "day", RefreshDays: cfg.refreshDays, NotFoundRefreshHours: cfg.notFoundHrs,
				MaxConcurrency: 8, Lookups: true, Now: clock,
			}, sliceSource(rows), s.store, s.enr)
			if err != nil || sum.Status != pipeline.StatusOK {
				return nil, fmt.Errorf("vtsync run %d: status %s: %v %v", run, sum.Status, err, sum.Errors)
			}
			*s.runs = append(*s.runs, dayRun{distinct: sum.Distinct, looked: sum.LookedUp, kv: sum.KVRequests, fresh: sum.Fresh})
		}
		if run%16 == 15 {
			logf("day: %d/%d runs simulated", run+1, cfg.runs)
		}
	}
	res.newDomains = pop.added
	res.population = len(pop.names)
	res.distinctDay = len(all)

	// The per-call time of a sequential caller, measured against the fake
	// with each latency (the rate limit is not reached by one caller at
	// these latencies on a premium key).
	for _, lat := range cfg.latencies {
		f, err := startVT(vttest.WithLatency(lat))
		if err != nil {
			return nil, err
		}
		enr, err := newEnricher(f.url)
		if err != nil {
			f.Close()
			return nil, err
		}
		const n = 20
		t0 := time.Now()
		for i := range n {
			enr.Enrich(ctx, pop.names[i])
		}
		res.perCall[lat] = time.Since(t0) / n
		f.Close()
	}
	return res, nil
}

// externalLookup is one call of the external-lookup script: GET
// /domains/{d}; a domain object or NotFoundError is an answer.
func externalLookup(ctx context.Context, c *http.Client, base, d string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/domains/"+d, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Apikey", vttest.APIKey)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("GET /domains/%s: HTTP %d", d, resp.StatusCode)
	}
	return nil
}

func (r *dayResult) sum(runs []dayRun, f func(dayRun) int64) int64 {
	var s int64
	for _, x := range runs {
		s += f(x)
	}
	return s
}

// stats returns mean, 95th percentile and max of f over runs.
func stats(runs []dayRun, f func(dayRun) float64) (mean, p95, hi float64) {
	if len(runs) == 0 {
		return 0, 0, 0
	}
	v := make([]float64, len(runs))
	for i, x := range runs {
		v[i] = f(x)
		mean += v[i]
	}
	slices.Sort(v)
	return mean / float64(len(v)), v[min(len(v)-1, int(math.Ceil(0.95*float64(len(v))))-1)], v[len(v)-1]
}

func dur(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Minute:
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func (r *dayResult) markdown() string {
	c := r.cfg
	var b strings.Builder
	fmt.Fprintf(&b, "Population: %d registered domains with Zipf(s=%.1f) contact counts, %d candidate rows (host names) per 15-minute window, "+
		"%.0f %% new domains per run (%d new over the day, %d distinct domains seen in the day); %d runs, every 15 minutes of simulated time "+
		"(`pipeline.Options.Now` and `vt.Config.Now` read the simulated clock). 80 %% of domains are known to VirusTotal, 20 %% answer NotFoundError. "+
		"refresh_days %d, not_found_refresh_hours %d, max_concurrency 8, real `vt` enricher against the VT fake, real `splunkd.KVStore` against the bench splunkd.\n\n",
		c.domains, c.zipf, c.events, 100*c.newShare, r.newDomains, r.distinctDay, c.runs, c.refreshDays, c.notFoundHrs)

	blogDay := r.sum(r.blog, func(x dayRun) int64 { return x.blogCalls })
	coldDay := r.sum(r.cold, func(x dayRun) int64 { return int64(x.looked) })
	warmDay := r.sum(r.warm, func(x dayRun) int64 { return int64(x.looked) })
	ratio := func(a, b int64) string {
		if b == 0 {
			return "∞"
		}
		return fmt.Sprintf("%.1f×", float64(a)/float64(b))
	}
	fmt.Fprintf(&b, "| per day (measured: requests the VT fake answered) | (a) external lookup, no cache | (b) vtsync, first day (empty KV) | (b) vtsync, steady state (warm KV) |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| VT lookups per day | %d | %d | %d |\n", blogDay, coldDay, warmDay)
	fmt.Fprintf(&b, "| ratio (a) / (b) | 1 | **%s** | **%s** |\n", ratio(blogDay, coldDay), ratio(blogDay, warmDay))
	fmt.Fprintf(&b, "| VT lookups the detection search makes per run | %.0f (mean) | 0 | 0 |\n",
		float64(blogDay)/float64(max(1, len(r.blog))))
	cm, cp, cx := stats(r.cold, func(x dayRun) float64 { return float64(x.looked) })
	wm, wp, wx := stats(r.warm, func(x dayRun) float64 { return float64(x.looked) })
	bm, bp, bx := stats(r.blog, func(x dayRun) float64 { return float64(x.blogCalls) })
	fmt.Fprintf(&b, "| VT lookups per run: mean / p95 / max | %.0f / %.0f / %.0f | %.0f / %.0f / %.0f | %.0f / %.0f / %.0f |\n", bm, bp, bx, cm, cp, cx, wm, wp, wx)
	km, _, kx := stats(r.warm, func(x dayRun) float64 { return float64(x.kv) })
	cfm, _, _ := stats(r.warm, func(x dayRun) float64 { return float64(x.fresh) / math.Max(1, float64(x.distinct)) })
	fmt.Fprintf(&b, "| KV requests per vtsync run (steady): mean / max | — | — | %.1f / %.0f |\n", km, kx)
	fmt.Fprintf(&b, "| cache hit rate per run (steady, mean) | — | — | %.1f %% |\n", 100*cfm)
	fmt.Fprintf(&b, "| fits a public key (500 lookups/day)? | %s | %s | %s |\n\n", fits(blogDay), fits(coldDay), fits(warmDay))

	// Waiting: computed from the measured counts.
	b.WriteString("VT waiting per detection run, **computed** from the measured call counts above: the external lookup calls VT " +
		"sequentially inside the search, so the search waits calls × max(per-call time, 60 s / Q); with vtsync the detection waits " +
		"for no VT call (a KV lookup), and the modular input's own run, before the detection, is paced at lookups × 61 s / Q.\n\n")
	lats := make([]time.Duration, 0, len(r.perCall))
	for l := range r.perCall {
		lats = append(lats, l)
	}
	slices.Sort(lats)
	b.WriteString("| key, latency | per-call time (measured, 20 sequential calls) | (a) detection waits per run: mean / max | (b) detection waits | (b) vtsync input run, steady: mean / max |\n|---|---:|---:|---:|---:|\n")
	for _, q := range []int{c.premiumQuota, 4} {
		for _, l := range lats {
			per := math.Max(r.perCall[l].Seconds(), 60/float64(q))
			pace := 61 / float64(q)
			syncMean := wm*pace + l.Seconds()
			syncMax := wx*pace + l.Seconds()
			fmt.Fprintf(&b, "| %d/min, L = %s | %s | %s / %s | 0 s | %s / %s |\n", q, l, r.perCall[l].Round(100*time.Microsecond),
				dur(bm*per), dur(bx*per), dur(syncMean), dur(syncMax))
		}
	}
	b.WriteString("\nA run that waits longer than the 15-minute schedule cannot finish before the next one starts; at 4/min the external " +
		"lookup also spends the day's 500-lookup quota in its first run.\n")
	return b.String()
}

func fits(perDay int64) string {
	if perDay <= 500 {
		return "yes"
	}
	return fmt.Sprintf("no (%.0f× over)", float64(perDay)/500)
}
