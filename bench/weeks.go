package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/refresh"
)

// The weeks scenario is a model, not the real pipeline: a network's
// candidate domains over simulated weeks, what VirusTotal knows of them
// over time, and what each refresh policy looks up and when it flags. The
// freshness decision is the real one (refresh.Policy.Fresh on a
// record.Record, refresh.Next for what a lookup carries over), so the
// product and the bench cannot drift; everything else (HTTP, KV, pacing)
// is left out, which makes five weeks of 15-minute runs take seconds.

// worldConfig is the simulated population, its churn and VirusTotal's data.
type worldConfig struct {
	domains  int     // established registered domains at the start
	zipf     float64 // contact weight ∝ 1/rank^zipf
	rows     int     // candidate rows (host names) per 15-minute window
	newShare float64 // new domains per run, as a share of the run's distinct domains
	notFound float64 // share of domains VirusTotal does not know when first seen
	days     int     // simulated days from an empty KV store
	seed     uint64

	// Churn: a new domain gets the weight of a rank drawn uniformly from
	// [domains/4, 5·domains/4) and fades, its weight halving every
	// halfLife days, halfLife drawn from an exponential of mean fadeDays;
	// below 1/256 of its first weight it is gone.
	fadeDays float64
	// VirusTotal's data over time.
	learnShare  float64 // of the unknown new domains, the share VT learns later,
	learnDays   float64 // after an exponential delay of this mean
	youngShare  float64 // new domains registered 0-14 days before they are first seen
	popularTop  float64 // established domains ranked within the popularity threshold: this top share
	badAtStart  float64 // established domains with positives >= 2 from the start
	gainOld     float64 // established domains that gain positives, at a uniform time of the simulated weeks
	youngBad    float64 // young new domains already malicious when first seen
	youngGain   float64 // young new domains that gain positives later,
	youngGainD  float64 // after an exponential delay of this mean (days)
	oldNewGain  float64 // other new domains that gain positives within 28 days of their first contact
	runsPerDay  int
	runInterval time.Duration
}

func worldDefaults(quick bool) worldConfig {
	c := worldConfig{domains: 20000, zipf: 1.0, rows: 2500, newShare: 0.02, notFound: 0.20, days: 35, seed: 1,
		fadeDays: 4, learnShare: 0.25, learnDays: 2, youngShare: 0.10, popularTop: 0.10,
		badAtStart: 0.002, gainOld: 0.01, youngBad: 0.10, youngGain: 0.15, youngGainD: 3, oldNewGain: 0.005,
		runsPerDay: 96, runInterval: 15 * time.Minute}
	if quick {
		c.domains, c.rows, c.days = 3000, 600, 8
	}
	return c
}

const (
	never  = math.MaxInt64
	always = math.MinInt64
	dayS   = int64(86400)
)

// site is one registered domain of the world: its contact weight and what
// VirusTotal says of it at any time.
type site struct {
	key       string
	w0        float64 // weight when born
	born      int64   // first possible contact (epoch s); 0 for established domains
	halfLife  float64 // days; 0: does not fade
	knownAt   int64   // VT knows it from then on (always, never, or a time)
	created   int64   // WHOIS creation time, when known
	ranked    bool    // ranked within the popularity threshold
	badAt     int64   // positives >= 2 from then on (always, never, or a time)
	firstSeen int64   // first candidate run (0: not yet)
}

// world is the population and the candidate rows of every run, the same
// for every policy measured on it.
type world struct {
	cfg   worldConfig
	start int64
	sites []site
	runs  [][]int32 // distinct site indexes of each run (the external lookup's calls)
	fresh []int     // new domains per run
}

var rank100k, five, zero = int64(refresh.PopularRank), int64(5), int64(0)

// buildWorld draws the candidate domains of every run.
func buildWorld(c worldConfig) *world {
	rng := rand.New(rand.NewPCG(c.seed, 0x3eeb))
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Unix() // a Monday
	end := start + int64(c.days)*dayS
	w := &world{cfg: c, start: start}
	for i := range c.domains {
		s := site{key: fmt.Sprintf("site%06d-%s.com", i, tag(i)), w0: 1 / math.Pow(float64(i+1), c.zipf),
			knownAt: always, created: start - dayS*(365+rng.Int64N(20*365)), badAt: never}
		s.ranked = float64(i) < c.popularTop*float64(c.domains)
		if rng.Float64() < c.notFound {
			s.knownAt = never
		}
		switch r := rng.Float64(); {
		case r < c.badAtStart:
			s.badAt = always
		case r < c.badAtStart+c.gainOld:
			s.badAt = start + rng.Int64N(end-start)
		}
		w.sites = append(w.sites, s)
	}
	runs := c.days * c.runsPerDay
	capacity := c.domains + int(math.Ceil(c.newShare*float64(c.rows)))*runs + 1
	tree := newFenwick(capacity)
	for i, s := range w.sites {
		tree.set(i, s.w0)
	}
	var fading []int32 // new sites still contacted
	stamp := make([]int32, 0, capacity)
	for range w.sites {
		stamp = append(stamp, -1)
	}
	step := int64(c.runInterval / time.Second)
	for run := range runs {
		now := start + int64(run)*step
		if run%24 == 0 && run > 0 { // every 6 hours, the new domains fade
			keep := fading[:0]
			for _, i := range fading {
				s := &w.sites[i]
				f := math.Exp2(-float64(now-s.born) / float64(dayS) / s.halfLife)
				if f < 1.0/256 {
					tree.set(int(i), 0)
					continue
				}
				tree.set(int(i), s.w0*f)
				keep = append(keep, i)
			}
			fading = keep
		}
		var distinct []int32
		total := tree.total()
		for range c.rows {
			i := tree.find(rng.Float64() * total)
			if stamp[i] != int32(run) {
				stamp[i] = int32(run)
				distinct = append(distinct, int32(i))
			}
		}
		n := int(math.Ceil(c.newShare * float64(len(distinct))))
		for range n {
			i := len(w.sites)
			rank := c.domains/4 + rng.IntN(c.domains)
			s := site{key: fmt.Sprintf("new%07d-%s.com", i, tag(i)), w0: 1 / math.Pow(float64(rank+1), c.zipf), born: now,
				halfLife: rng.ExpFloat64() * c.fadeDays, knownAt: always, badAt: never,
				created: now - dayS*(365+rng.Int64N(10*365))}
			if rng.Float64() < c.notFound {
				s.knownAt = never
				if rng.Float64() < c.learnShare {
					s.knownAt = now + int64(rng.ExpFloat64()*c.learnDays*float64(dayS))
				}
			}
			if rng.Float64() < c.youngShare {
				s.created = now - rng.Int64N(15*dayS)
				switch r := rng.Float64(); {
				case r < c.youngBad:
					s.badAt = always
				case r < c.youngBad+c.youngGain:
					s.badAt = now + int64(rng.ExpFloat64()*c.youngGainD*float64(dayS))
				}
			} else if rng.Float64() < c.oldNewGain {
				s.badAt = now + rng.Int64N(28*dayS)
			}
			w.sites = append(w.sites, s)
			stamp = append(stamp, int32(run))
			tree.set(i, s.w0)
			fading = append(fading, int32(i))
			distinct = append(distinct, int32(i))
		}
		w.runs = append(w.runs, distinct)
		w.fresh = append(w.fresh, n)
	}
	for r, ids := range w.runs {
		for _, i := range ids {
			if w.sites[i].firstSeen == 0 {
				w.sites[i].firstSeen = start + int64(r)*step
			}
		}
	}
	return w
}

// answer is what VirusTotal answers for site i at t, as the record vtsync
// stores (only the fields the detection's rules read).
func (w *world) answer(i int32, t int64) record.Record {
	s := &w.sites[i]
	if t < s.knownAt {
		return record.NotFound(s.key, t)
	}
	r := record.Record{Key: s.key, Domain: s.key, VTFound: true, EnrichedTime: t, WhoisCreationTime: &w.sites[i].created,
		LastAnalysisPositive: &zero}
	if t >= s.badAt {
		r.LastAnalysisPositive = &five
	}
	if s.ranked {
		r.PopularityRank = &rank100k
	}
	return r
}

// The detection's rules (PRODUCT.md): young, malicious, and the optional
// "unknown to VirusTotal".
const (
	ruleYoung = iota
	ruleMalicious
	ruleNotFound
	numRules
)

var ruleNames = [numRules]string{"young", "malicious", "not found"}

// flags evaluates the rules on a record at contact time t.
func flags(r record.Record, t int64) (f [numRules]bool) {
	if !r.VTFound {
		f[ruleNotFound] = r.EnrichedTime > 0
		return f
	}
	if r.WhoisCreationTime != nil {
		age := t - *r.WhoisCreationTime
		popular := r.PopularityRank != nil && *r.PopularityRank <= refresh.PopularRank
		f[ruleYoung] = age >= 0 && age <= refresh.YoungAgeDays*dayS && !popular
	}
	f[ruleMalicious] = r.LastAnalysisPositive != nil && *r.LastAnalysisPositive >= 2
	return f
}

// policyResult is one policy's calls and detection delays over a world.
type policyResult struct {
	name   string
	policy refresh.Policy
	calls  []int // per run
	rules  [numRules]delayStats
}

type delayStats struct {
	delays []int64 // seconds, one per detection the oracle made
	// beyond counts detections later than today's bounds: a new domain's
	// on its first run, any change VirusTotal makes to a domain already
	// seen at most refresh_days (7) late. beyondFixed counts those later
	// than fixed periods would be: the same, except that a domain VT
	// learns after it was stored as unknown is seen within
	// not_found_refresh_hours (24).
	beyond, beyondFixed int
	missed              int // the oracle stopped flagging before this policy flagged
	open                int // not flagged by the end of the simulation
}

// late counts episode e as later than the bounds when the site was
// contacted (lastSeen, before the run that flagged it, or the last
// contact of an episode that did not end flagged) at or after the moment
// the bound allows, and after the oracle flagged it: fixed periods would
// have flagged it then.
func (st *delayStats) late(e *episode, lastSeen, firstSeen int64) {
	after := func(bound int64) bool { return lastSeen >= e.cause+bound && lastSeen >= e.since }
	switch {
	case e.cause <= firstSeen:
		if after(0) {
			st.beyond++
			st.beyondFixed++
		}
	case after(boundDays * dayS):
		st.beyond++
		st.beyondFixed++
	case e.learned && after(boundNotFoundHours*3600):
		st.beyondFixed++
	}
}

// Today's bounds, from the fixed periods' defaults.
const (
	boundDays          = 7
	boundNotFoundHours = 24
)

// episode tracks one (site, rule) while the oracle flags it and the policy
// does not yet.
type episode struct {
	since   int64 // oracle's first flag of this episode; 0: none open
	cause   int64 // when VirusTotal's data made it flaggable
	learned bool  // cause is VT learning a domain it did not know
}

// simulate runs policy p over w from an empty KV store. Every run, each
// distinct candidate with no fresh record is looked up (VirusTotal's
// answer at that time, carried over by refresh.Next), then the rules are
// evaluated on the stored record and on the oracle's (VirusTotal's data
// at that time).
func simulate(w *world, name string, p refresh.Policy) policyResult {
	res := policyResult{name: name, policy: p, calls: make([]int, len(w.runs))}
	sim := make([]simSite, len(w.sites))
	step := int64(w.cfg.runInterval / time.Second)
	for run, ids := range w.runs {
		now := w.start + int64(run)*step
		for _, i := range ids {
			m := &sim[i]
			rec := w.stored(i, m)
			if !p.Fresh(rec, now) {
				rec = refresh.Next(rec, w.answer(i, now))
				m.enriched, m.since, m.found = rec.EnrichedTime, rec.NotFoundSince, rec.VTFound
				m.bad = rec.LastAnalysisPositive != nil && *rec.LastAnalysisPositive >= 2
				res.calls[run]++
			}
			ours := flags(rec, now)
			s := &w.sites[i]
			oracle := s.flags(now)
			for k := range numRules {
				e := &m.eps[k]
				st := &res.rules[k]
				if oracle[k] && !m.lastOracle[k] && e.since == 0 {
					e.since = now
					e.cause, e.learned = s.cause(k)
				}
				if e.since != 0 {
					switch {
					case ours[k]:
						st.delays = append(st.delays, now-e.since)
						st.late(e, m.lastSeen, s.firstSeen)
						e.since = 0
					case !oracle[k]:
						st.missed++
						st.late(e, m.lastSeen, s.firstSeen)
						e.since = 0
					}
				}
				m.lastOracle[k] = oracle[k]
			}
			m.lastSeen = now
		}
	}
	for i := range sim {
		for k := range numRules {
			if e := &sim[i].eps[k]; e.since != 0 {
				res.rules[k].open++
				res.rules[k].late(e, sim[i].lastSeen, w.sites[i].firstSeen)
			}
		}
	}
	return res
}

// simSite is one site's state in a simulation: its stored record (what
// the rules and the policy read of it) and its detection episodes.
type simSite struct {
	enriched, since int64 // enriched_time, not_found_since; 0: no record
	found, bad      bool
	lastOracle      [numRules]bool
	lastSeen        int64 // previous candidate run
	eps             [numRules]episode
}

// stored returns site i's stored record in simulation state m (a zero
// record when there is none).
func (w *world) stored(i int32, m *simSite) record.Record {
	if m.enriched == 0 {
		return record.Record{}
	}
	s := &w.sites[i]
	if !m.found {
		r := record.NotFound(s.key, m.enriched)
		r.NotFoundSince = m.since
		return r
	}
	r := record.Record{Key: s.key, Domain: s.key, VTFound: true, EnrichedTime: m.enriched, WhoisCreationTime: &s.created,
		LastAnalysisPositive: &zero}
	if m.bad {
		r.LastAnalysisPositive = &five
	}
	if s.ranked {
		r.PopularityRank = &rank100k
	}
	return r
}

// cause returns when VirusTotal's data made s flaggable by rule k, and
// whether that was VirusTotal learning the domain after vtsync had stored
// it as unknown.
func (s *site) cause(k int) (cause int64, learned bool) {
	known := s.firstSeen
	if s.knownAt != always {
		known = max(s.knownAt, s.firstSeen)
	}
	switch k {
	case ruleYoung:
		cause = known
	case ruleMalicious:
		cause = known
		if s.badAt != always {
			cause = max(known, s.badAt)
		}
	default:
		cause = s.firstSeen
	}
	return cause, cause > s.firstSeen && cause == s.knownAt
}

// flags evaluates the rules on VirusTotal's data at t (the oracle).
func (s *site) flags(t int64) (f [numRules]bool) {
	if t < s.knownAt {
		f[ruleNotFound] = true
		return f
	}
	age := t - s.created
	f[ruleYoung] = age >= 0 && age <= refresh.YoungAgeDays*dayS && !s.ranked
	f[ruleMalicious] = t >= s.badAt
	return f
}

// fenwick is a binary indexed tree of weights: set one, find where a
// cumulative weight falls, in O(log n).
type fenwick struct {
	t, v []float64
}

func newFenwick(n int) *fenwick { return &fenwick{t: make([]float64, n+1), v: make([]float64, n)} }

func (f *fenwick) set(i int, x float64) {
	d := x - f.v[i]
	f.v[i] = x
	for j := i + 1; j < len(f.t); j += j & -j {
		f.t[j] += d
	}
}

func (f *fenwick) total() float64 {
	s := 0.0
	for j := len(f.t) - 1; j > 0; j -= j & -j {
		s += f.t[j]
	}
	return s
}

// find returns the index i whose cumulative range holds x.
func (f *fenwick) find(x float64) int {
	pos, bit := 0, 1
	for bit*2 < len(f.t) {
		bit *= 2
	}
	for ; bit > 0; bit /= 2 {
		if n := pos + bit; n < len(f.t) && f.t[n] <= x {
			pos = n
			x -= f.t[n]
		}
	}
	return min(pos, len(f.v)-1)
}

// quantile returns the q-quantile of sorted v (nearest rank).
func quantile(v []int64, q float64) int64 {
	if len(v) == 0 {
		return 0
	}
	return v[min(len(v)-1, max(0, int(math.Ceil(q*float64(len(v))))-1))]
}

func sortedDelays(d []int64) []int64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
