package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/refresh"
)

// goalRatio is the goal: at least this many times fewer VirusTotal
// calls than the external lookup, as the average of the first four weeks
// from an empty KV store.
const goalRatio = 30

// namedPolicy is one policy the weeks scenario measures.
type namedPolicy struct {
	name string
	p    refresh.Policy
}

// defaultPolicy is the policy the parameters' defaults give.
func defaultPolicy() refresh.Policy {
	p := config.Default()
	return refresh.Policy{RefreshDays: p.RefreshDays, NotFoundHours: p.NotFoundRefreshHours,
		NotFoundMaxHours: p.NotFoundMaxHours, YoungRefreshDays: p.YoungRefreshDays, JitterPercent: p.RefreshJitterPercent}
}

// weeksPolicies are today's fixed periods, each part of the policy alone,
// the defaults, and what it would take beyond today's bounds.
func weeksPolicies() []namedPolicy {
	today := refresh.Fixed(7, 24)
	with := func(f func(*refresh.Policy)) refresh.Policy { p := today; f(&p); return p }
	def := defaultPolicy()
	return []namedPolicy{
		{"fixed periods (before)", today},
		{"+ jitter 10 %", with(func(p *refresh.Policy) { p.JitterPercent = 10 })},
		{"+ not-found backoff to 7 d", with(func(p *refresh.Policy) { p.NotFoundMaxHours = 168 })},
		{"+ not-found backoff to 30 d", with(func(p *refresh.Policy) { p.NotFoundMaxHours = 720 })},
		{"+ young records 45 d", with(func(p *refresh.Policy) { p.YoungRefreshDays = 45 })},
		{"**defaults**", def},
		{"defaults, refresh_days 14", func() refresh.Policy { p := def; p.RefreshDays = 14; return p }()},
		{"defaults, refresh_days 30", func() refresh.Policy { p := def; p.RefreshDays = 30; return p }()},
	}
}

func describePolicy(p refresh.Policy) string {
	s := fmt.Sprintf("refresh_days %d, not_found_refresh_hours %d", p.RefreshDays, p.NotFoundHours)
	if p.NotFoundMaxHours > p.NotFoundHours {
		s += fmt.Sprintf(", not_found_max_hours %d", p.NotFoundMaxHours)
	}
	if p.YoungRefreshDays > p.RefreshDays {
		s += fmt.Sprintf(", young_refresh_days %d", p.YoungRefreshDays)
	}
	if p.JitterPercent > 0 {
		s += fmt.Sprintf(", refresh_jitter_percent %d", p.JitterPercent)
	}
	return s
}

// callSummary is a policy's calls per day over a world.
type callSummary struct {
	perDay           []int
	avg4, week5      float64 // mean calls per day, days 1-28 and 29-35
	ratio4, ratio5   float64
	peak, peakDay    int // the most lookups in a day after the first week, and that day
	firstDay         int
	beyond, detected int
	beyondFixed      int
}

func summarise(w *world, ext []int, r policyResult) callSummary {
	perRun := w.cfg.runsPerDay
	var s callSummary
	for d := 0; d*perRun < len(r.calls); d++ {
		n := 0
		for _, c := range r.calls[d*perRun : min(len(r.calls), (d+1)*perRun)] {
			n += c
		}
		s.perDay = append(s.perDay, n)
	}
	s.firstDay = s.perDay[0]
	for d, n := range s.perDay {
		if n > s.peak && (d >= 7 || len(s.perDay) <= 7) {
			s.peak, s.peakDay = n, d+1
		}
	}
	s.avg4, s.ratio4 = meanRatio(ext, s.perDay, 0, 28)
	s.week5, s.ratio5 = meanRatio(ext, s.perDay, 28, 35)
	for _, st := range r.rules {
		s.beyond += st.beyond
		s.beyondFixed += st.beyondFixed
		s.detected += len(st.delays)
	}
	return s
}

// meanRatio returns the mean of b over days [from, to) and sum(a)/sum(b)
// there (what is left of the range when the run was shorter).
func meanRatio(a, b []int, from, to int) (mean, ratio float64) {
	to = min(to, len(b))
	if from >= to {
		from = 0
	}
	sa, sb := 0, 0
	for d := from; d < to; d++ {
		sa += a[d]
		sb += b[d]
	}
	if sb == 0 {
		return 0, 0
	}
	return float64(sb) / float64(to-from), float64(sa) / float64(sb)
}

// weeksResult is what the scenario measured, for its section and the
// summary.
type weeksResult struct {
	w        *world
	ext      []int // external lookup calls per day
	newDay   []int // new domains per day
	results  []policyResult
	sums     []callSummary
	defIndex int
	sens     []sensitivityRow
	took     time.Duration
}

type sensitivityRow struct {
	input, value        string
	ext                 float64 // external calls per day
	before, def, bestLB float64 // ratios (4 weeks): fixed periods, defaults, new domains only
	defBeyond           int
}

func externalPerDay(w *world) (ext, fresh []int) {
	for r, ids := range w.runs {
		d := r / w.cfg.runsPerDay
		if d == len(ext) {
			ext, fresh = append(ext, 0), append(fresh, 0)
		}
		ext[d] += len(ids)
		fresh[d] += w.fresh[r]
	}
	return ext, fresh
}

func runWeeks(ctx context.Context, quick bool, logf func(string, ...any)) (*weeksResult, error) {
	t0 := time.Now()
	cfg := worldDefaults(quick)
	w := buildWorld(cfg)
	res := &weeksResult{w: w}
	res.ext, res.newDay = externalPerDay(w)
	logf("weeks: world built: %d sites, %d runs (%s)", len(w.sites), len(w.runs), time.Since(t0).Round(time.Millisecond))
	pols := weeksPolicies()
	res.results = make([]policyResult, len(pols))
	res.sums = make([]callSummary, len(pols))
	parallel(len(pols), func(i int) {
		res.results[i] = simulate(w, pols[i].name, pols[i].p)
		res.sums[i] = summarise(w, res.ext, res.results[i])
		if pols[i].name == "**defaults**" {
			res.defIndex = i
		}
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	logf("weeks: %d policies simulated (%s)", len(res.results), time.Since(t0).Round(time.Millisecond))

	// Sensitivity: one input at a time around the defaults.
	type variant struct {
		input, value string
		f            func(*worldConfig)
	}
	variants := []variant{{"(as above)", "", func(*worldConfig) {}}}
	for _, n := range []int{10000, 50000} {
		variants = append(variants, variant{"population", fmt.Sprint(n), func(c *worldConfig) { c.domains = n }})
	}
	for _, n := range []int{1000, 5000} {
		variants = append(variants, variant{"rows per window", fmt.Sprint(n), func(c *worldConfig) { c.rows = n }})
	}
	for _, s := range []float64{0.8, 1.2} {
		variants = append(variants, variant{"Zipf s", fmt.Sprint(s), func(c *worldConfig) { c.zipf = s }})
	}
	for _, s := range []float64{0.005, 0.05} {
		variants = append(variants, variant{"new share per run", pct(s), func(c *worldConfig) { c.newShare = s }})
	}
	for _, s := range []float64{0.05, 0.40} {
		variants = append(variants, variant{"not-found share", pct(s), func(c *worldConfig) { c.notFound = s }})
	}
	for _, s := range []float64{1, 14} {
		variants = append(variants, variant{"fade half-life, mean days", fmt.Sprint(s), func(c *worldConfig) { c.fadeDays = s }})
	}
	if quick {
		variants = variants[:3]
	}
	before, def := refresh.Fixed(7, 24), defaultPolicy()
	res.sens = make([]sensitivityRow, len(variants))
	parallel(len(variants), func(k int) {
		v := variants[k]
		if ctx.Err() != nil {
			return
		}
		c := cfg
		v.f(&c)
		vw := w
		if v.value != "" {
			vw = buildWorld(c)
		}
		ext, fresh := externalPerDay(vw)
		sb := summarise(vw, ext, simulate(vw, "before", before))
		sd := sb
		if def != before {
			sd = summarise(vw, ext, simulate(vw, "defaults", def))
		}
		e4, _ := meanRatio(ext, ext, 0, 28)
		_, lb := meanRatio(ext, fresh, 0, 28)
		res.sens[k] = sensitivityRow{input: v.input, value: v.value, ext: e4, before: sb.ratio4, def: sd.ratio4, bestLB: lb, defBeyond: sd.beyond}
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	logf("weeks: sensitivity done (%s)", time.Since(t0).Round(time.Millisecond))
	res.took = time.Since(t0)
	return res, nil
}

// parallel calls f(0) … f(n-1), GOMAXPROCS at a time.
func parallel(n int, f func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func pct(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", 100*f), "0"), ".") + " %"
}

func fmtDelay(s int64) string {
	if s == 0 {
		return "0"
	}
	return dur(float64(s))
}

func (r *weeksResult) markdown() string {
	c := r.w.cfg
	var b strings.Builder
	e4, _ := meanRatio(r.ext, r.ext, 0, 28)
	n4, lb := meanRatio(r.ext, r.newDay, 0, 28)
	fmt.Fprintf(&b, "%d simulated days of %d detection runs (every %s) from an empty KV store, in %s. "+
		"Population: %d established registered domains, contact weight ∝ 1/rank^%.1f; %d candidate rows (host names) per window; "+
		"each run adds %s of its distinct domains as new domains (%d over the simulation, %.0f a day). "+
		"A new domain is contacted in its first run, then with the weight of a rank drawn from [%d, %d), halving every h days, h exponential of mean %.0f days (gone below 1/256).\n\n",
		c.days, c.runsPerDay, c.runInterval, r.took.Round(100*time.Millisecond), c.domains, c.zipf, c.rows, pct(c.newShare),
		len(r.w.sites)-c.domains, n4, c.domains/4, c.domains*5/4, c.fadeDays)
	fmt.Fprintf(&b, "VirusTotal over time (the oracle sees it as it is at each run): %s of the domains are unknown when first seen, and VT learns %s of the unknown new ones after an exponential delay of mean %.0f days; "+
		"%s of the new domains are young (registered 0–14 days before their first contact), %s of those are malicious (positives ≥ 2) at once and %s turn malicious after a delay of mean %.0f days; "+
		"%s of the other new domains turn malicious within 28 days; of the established domains %s are malicious from the start, %s turn malicious at a uniform time of the simulation, and the top %s are ranked within %d (popularity).\n\n",
		pct(c.notFound), pct(c.learnShare), c.learnDays, pct(c.youngShare), pct(c.youngBad), pct(c.youngGain), c.youngGainD,
		pct(c.oldNewGain), pct(c.badAtStart), pct(c.gainOld), pct(c.popularTop), refresh.PopularRank)
	fmt.Fprintf(&b, "(a) the external lookup: one VT call per distinct candidate domain per run, %.0f a day (days 1–28). "+
		"(b) vtsync: before each detection, one lookup of each distinct candidate with no fresh record, as `refresh.Policy.Fresh` decides. "+
		"New domains alone cost %.0f lookups a day: no policy that looks a new domain up on its first run does better than **%.1f×**. "+
		"The external lookup also makes each detection wait for its %.0f calls (mean per run), one after the other: at VirusTotal's usual 0.3 s a call "+
		"about %s on a premium key, and %s at a public key's 4 a minute (**computed**: calls × max(0.3 s, 60 s / Q)); with vtsync the detection reads the KV store.\n\n",
		e4, n4, lb, e4/float64(c.runsPerDay), dur(e4/float64(c.runsPerDay)*0.3), dur(e4/float64(c.runsPerDay)*15))

	b.WriteString("| policy | parameters | lookups/day, days 1–28 | **ratio, days 1–28** | lookups/day, days 29–35 | ratio, days 29–35 | first day | peak day after the first week (day) | ratio on that day | detections later than today's bounds | later than fixed periods |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, res := range r.results {
		s := r.sums[i]
		fmt.Fprintf(&b, "| %s | %s | %.0f | **%.1f×** | %.0f | %.1f× | %d | %d (%d) | %.1f× | %d of %d | %d |\n",
			res.name, describePolicy(res.policy), s.avg4, s.ratio4, s.week5, s.ratio5, s.firstDay, s.peak, s.peakDay,
			float64(r.ext[s.peakDay-1])/float64(max(1, s.peak)), s.beyond, s.detected, s.beyondFixed)
	}
	b.WriteString("\n*Today's bounds* (the issue's): a new domain's rules fire on its first run; a change in VirusTotal's data on a domain already seen is flagged at most refresh_days (7) late. " +
		"*Later than fixed periods*: the same, except that a domain VirusTotal learns after vtsync stored it as unknown must be flagged within not_found_refresh_hours (24 h), as fixed periods do. " +
		"A detection counts as late only if the domain was contacted after the bound and not flagged then.\n")
	b.WriteString("\nLookups per week (mean per day), to show the weekly refresh waves and where the cost settles:\n\n")
	b.WriteString("| policy |")
	weeks := (len(r.ext) + 6) / 7
	for k := range weeks {
		fmt.Fprintf(&b, " week %d |", k+1)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", weeks) + "\n| (a) external lookup |")
	for k := range weeks {
		m, _ := meanRatio(r.ext, r.ext, 7*k, 7*k+7)
		fmt.Fprintf(&b, " %.0f |", m)
	}
	b.WriteString("\n")
	for i, res := range r.results {
		fmt.Fprintf(&b, "| %s |", res.name)
		for k := range weeks {
			m, ratio := meanRatio(r.ext, r.sums[i].perDay, 7*k, 7*k+7)
			lo, hi := minMax(r.sums[i].perDay[7*k : min(len(r.sums[i].perDay), 7*k+7)])
			fmt.Fprintf(&b, " %.0f (%d–%d, %.0f×) |", m, lo, hi, ratio)
		}
		b.WriteString("\n")
	}

	b.WriteString("\nDetection delay against the oracle, per rule: from the first run where the rule flags the domain on VirusTotal's data of that moment to the first run where it flags it on the stored record. " +
		"Delays include the time the domain was not contacted at all. " +
		"*missed*: the oracle stopped flagging first (a young window closed). *open*: not flagged by the end.\n\n")
	b.WriteString("| policy | rule | detections | delay median | p95 | max | later than today's bounds | later than fixed periods | missed | open |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.results {
		for k := range numRules {
			st := res.rules[k]
			d := sortedDelays(st.delays)
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %d | %d | %d | %d |\n", res.name, ruleNames[k], len(d),
				fmtDelay(quantile(d, 0.5)), fmtDelay(quantile(d, 0.95)), fmtDelay(quantile(d, 1)), st.beyond, st.beyondFixed, st.missed, st.open)
		}
	}

	b.WriteString("\nSensitivity: the same simulation with one input changed at a time; ratios are days 1–28 from an empty store; *ceiling*: external calls / new domains (no policy that looks a new domain up on its first run does better).\n\n")
	b.WriteString("| input | value | external calls/day | ratio, fixed periods | **ratio, defaults** | ceiling | defaults: detections later than today's bounds |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, s := range r.sens {
		v := s.value
		if v == "" {
			v = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.1f× | **%.1f×** | %.1f× | %d |\n", s.input, v, s.ext, s.before, s.def, s.bestLB, s.defBeyond)
	}
	return b.String()
}

func minMax(v []int) (lo, hi int) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func scenarioWeeks(ctx context.Context, quick bool, logf func(string, ...any)) (string, bool) {
	res, err := runWeeks(ctx, quick, logf)
	if err != nil {
		return fmt.Sprintf("weeks simulation failed: %v\n", err), false
	}
	lastWeeks = res
	s := res.sums[res.defIndex]
	return res.markdown(), quick || s.beyond == 0
}

// lastWeeks is the weeks scenario's result, for the summary.
var lastWeeks *weeksResult

// dur formats s seconds for a table.
func dur(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f d", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Minute:
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
