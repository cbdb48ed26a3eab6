package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/refresh"
)

const (
	// checkChunk is how many new distinct keys of a kind go to one
	// Store.Get: the store is asked about once per checkChunk distinct keys,
	// and lookups start as soon as the first chunk is checked.
	checkChunk = 1000
	// maxBatch is the KV store's batch_save limit.
	maxBatch = 1000
	// saveTimeout bounds one Store.Save. Saves run detached from the run's
	// context so that a cancelled run (SIGTERM, max_run_seconds) still
	// stores what it paid for, but once the run's context is done a save
	// gets at most flushGrace more: a store that is down then does not
	// hold the run past its deadline (the answers stay journaled).
	saveTimeout = 30 * time.Second
	flushGrace  = 5 * time.Second
	// maxErrors bounds Summary.Errors.
	maxErrors = 20
)

// Quota states (Summary.QuotaState).
const (
	QuotaOK              = "ok"
	QuotaBudgetExhausted = "budget_exhausted"
	QuotaExceeded        = "quota_exceeded"
	QuotaKeyRejected     = "key_rejected"
)

// Run statuses (Summary.Status).
const (
	StatusOK      = "ok"
	StatusPartial = "partial"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Run performs one sync of input opt.Input and reports it.
//
// Candidates stream from src, each with its kind, and are normalised by
// their kind (rejected values are counted by reason and go nowhere). Every
// new 1000 distinct keys of a kind are checked against store in one Get
// while the source is still streaming, and the missing or stale ones are
// looked up by opt.MaxConcurrency workers sharing enr. Each key is looked
// up at most once per run. Results are written to store in batches of
// opt.BatchSize per kind as they arrive.
//
// With opt.StateDir set, the run holds the input's checkpoint lock (an
// overlapping run is skipped), spends the daily lookup budget there, and
// journals every answer before it is saved, so that nothing paid for is
// lost to a crash or a store failure: journaled answers are saved first
// thing by the next run.
//
// In the summary, due = looked_up + deferred (looked_up counts lookups
// started, deferred the due keys never started) and looked_up = found +
// not_found + failed, in total and per kind. Keys whose freshness could
// not be checked (store error, cancelled run) count as due and deferred. kv_writes counts the
// documents saved, replayed ones included.
//
// Run returns a non-nil error only when the summary's status is "failed":
// the VT key was rejected, the state could not be opened, or the search
// failed before yielding any candidate. Everything else that went wrong is
// in Summary.Errors with status "partial".
func Run(ctx context.Context, opt Options, src Source, store Store, enr enrich.Enricher) (Summary, error) {
	opt = withDefaults(opt)
	r := &runner{
		opt: opt, src: src, store: store, enr: enr, log: opt.Logger,
		wall: time.Now(), now: opt.Now(), stopped: make(chan struct{}),
		policy: refresh.Policy{RefreshDays: opt.RefreshDays, NotFoundHours: opt.NotFoundRefreshHours,
			NotFoundMaxHours: opt.NotFoundMaxHours, YoungRefreshDays: opt.YoungRefreshDays, JitterPercent: opt.RefreshJitterPercent},
	}
	r.sum = Summary{Input: opt.Input, StartTime: r.now.Unix(), Rejected: map[string]int{},
		QuotaState: QuotaOK, BudgetLimit: opt.DailyLookupBudget, Kinds: map[string]*KindSummary{}}
	return r.run(ctx)
}

// defaultWords fills the message words opt leaves empty with the modular
// input's.
func defaultWords(opt *Options) {
	for _, w := range []struct {
		p *string
		v string
	}{
		{&opt.SourceName, "the search"},
		{&opt.SourceHint, "check the search parameter and splunkd"},
		{&opt.StoreName, "the KV store"},
		{&opt.StoreHint, "check the KV store (splunkd health) and the collection parameter"},
		{&opt.StateName, "the checkpoint directory"},
		{&opt.KeyHint, "enter a valid api_key in Settings > Data inputs > vtsync > " + opt.Input + " (Splunk keeps it in storage/passwords)"},
		{&opt.DeadlineHint, "raise max_run_seconds or shorten the search window (earliest_time)"},
		{&opt.OverlapHint, "raise the input's interval or lower max_run_seconds"},
	} {
		if *w.p == "" {
			*w.p = w.v
		}
	}
}

func withDefaults(opt Options) Options {
	if opt.RefreshDays <= 0 {
		opt.RefreshDays = 7
	}
	if opt.NotFoundRefreshHours <= 0 {
		opt.NotFoundRefreshHours = 24
	}
	if opt.MaxConcurrency <= 0 {
		opt.MaxConcurrency = 4
	}
	if opt.BatchSize <= 0 || opt.BatchSize > maxBatch {
		opt.BatchSize = maxBatch
	}
	if opt.DailyLookupBudget < 0 {
		opt.DailyLookupBudget = 0
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	defaultWords(&opt)
	if opt.Logger == nil {
		opt.Logger = logging.Discard()
	}
	return opt
}

// runner is one run's state. Each Summary counter has a single writer
// stage: the collector (candidates, rejected, distinct), the dispatcher
// (fresh, due), the writer (looked_up, found, not_found, failed,
// kv_writes); Run reads them after every stage has ended.
type runner struct {
	opt   Options
	src   Source
	store Store
	enr   enrich.Enricher
	log   *logging.Logger
	state *checkpoint.State // nil without StateDir
	wall  time.Time         // for the duration
	now   time.Time         // run start, for freshness
	// policy decides freshness; misses holds the stored negative record of
	// each due domain, for refresh.Next (dispatcher writes, workers read).
	policy refresh.Policy
	misses sync.Map

	vtBefore int64 // the enricher's and the store's request counters at start
	kvBefore int

	sum     Summary
	kindMu  sync.Mutex   // guards sum.Kinds (the map; each field has one writer stage) and kinds
	kinds   []kind.Kind  // the kinds of sum.Kinds
	dueSeen atomic.Int64 // sum.Due as the dispatcher goes, for Progress

	errMu    sync.Mutex
	errs     []string
	failures int   // writer only: lookups that failed for other reasons than quota, key or cancel
	lastFail error // writer only: the last of those
	keyErr   error // the enricher's error when the key was rejected
	stopOnce sync.Once
	stopMu   sync.Mutex
	// cancelLookups calls off the lookups (see stop); set once they start.
	cancelLookups context.CancelCauseFunc
	started       bool          // the run got past opening its state (counters read)
	stopped       chan struct{} // closed: start no more lookups
	keyBad        atomic.Bool
	quotaGone     atomic.Bool
	unreached     atomic.Bool // VirusTotal could not be reached: lookups stopped
	// quotaHeld is non-zero when the key's quota hold kept this run from
	// looking up: no lookups until then (read after the workers are done).
	quotaHeld time.Time
	budgetOut atomic.Bool
	storeBad  atomic.Bool
}

// item is one key of a kind, on its way through the stages.
type item struct {
	k   kind.Kind
	key string
}

// chunk is up to checkChunk new distinct keys of one kind.
type chunk struct {
	k    kind.Kind
	keys []string
	ks   *KindSummary
}

type result struct {
	item
	ks      *KindSummary
	rec     kind.Record
	err     error
	stopped bool // err came from the run stopping the lookup
	notSent bool // the lookup ended before sending anything: still due
}

func (r *runner) run(ctx context.Context) (Summary, error) {
	in := r.opt.Input
	if r.opt.StateDir != "" {
		st, err := checkpoint.Open(r.opt.StateDir, in)
		if errors.Is(err, checkpoint.ErrLocked) {
			r.log.Warnf("Another run of input %s is still running (its state file is locked): this run is skipped. If this happens often, %s.", in, r.opt.OverlapHint)
			r.note("another run of input %s is still running: skipped", in)
			return r.finish(ctx, StatusSkipped, nil)
		}
		if err != nil {
			err = fmt.Errorf("input %s: cannot open its state in %s: %w; the run lock, journal and daily budget live there: it must be a writable directory", in, r.opt.StateName, err)
			r.log.Errorf("%v", err)
			r.note("%v", err)
			return r.finish(ctx, StatusFailed, err)
		}
		defer st.Close()
		r.state = st
		if st.SetAside != "" {
			r.log.Errorf("Input %s: its state file in %s was damaged and is set aside as %s; a new one is started. VirusTotal answers journaled in it and not yet saved are lost (later runs look those indicators up again). Check the disk of %s.", in, r.opt.StateName, st.SetAside, r.opt.StateName)
			r.note("state file damaged, set aside as %s", st.SetAside)
		}
	}
	r.vtBefore, r.kvBefore = calls(r.enr), requests(r.store)
	r.started = true

	budgetNote := "no daily cap"
	if r.opt.DailyLookupBudget > 0 && r.opt.Budget != nil {
		budgetNote = fmt.Sprintf("%d of %d used today (UTC)", r.opt.Budget.Used(), r.opt.DailyLookupBudget)
	}
	// The logger's prefix names the input (input=<name> under splunkd).
	r.log.Info("run started", "lookups", r.opt.Lookups, "max_concurrency", r.opt.MaxConcurrency, "daily_budget", budgetNote)

	if !r.replay(ctx) {
		// The store refuses what we already paid for: searching and checking
		// freshness against it now would only hold the lock until the deadline.
		err := fmt.Errorf("input %s: the answers left by a previous run could not be saved to %s; this run does not read %s or look up. They stay in the journal for the next run; %s", in, r.opt.StoreName, r.opt.SourceName, r.opt.StoreHint)
		r.log.Errorf("%v", err)
		return r.finish(ctx, StatusFailed, err)
	}
	if !r.opt.Lookups {
		r.sum.Role = "shc_member"
		r.log.Infof("Input %s: this search head does not look up this run (a search head cluster member that is not, or may not be, the captain): no search and no VirusTotal lookups", in)
		return r.finish(ctx, StatusSkipped, nil)
	}

	// Stop dispatching new lookups as soon as the run is cancelled; in-flight
	// ones see the cancellation through lookCtx.
	defer context.AfterFunc(ctx, func() { r.stop() })()
	lookCtx, cancelLookups := context.WithCancelCause(ctx)
	defer cancelLookups(nil)
	r.stopMu.Lock()
	r.cancelLookups = cancelLookups
	r.stopMu.Unlock()
	if r.isStopped() { // stopped before the lookups began (a quota hold)
		cancelLookups(errRunStopped)
	}

	chunks := make(chan chunk, 16)
	work := make(chan item)
	results := make(chan result, r.opt.MaxConcurrency)
	var srcErr error
	var stages, workers sync.WaitGroup
	stages.Go(func() { srcErr = r.collect(ctx, chunks) })
	stages.Go(func() { r.dispatch(ctx, chunks, work) })
	for range r.opt.MaxConcurrency {
		workers.Go(func() { r.lookup(lookCtx, cancelLookups, work, results) })
	}
	go func() { workers.Wait(); close(results) }()
	r.write(ctx, results)
	stages.Wait()
	r.purge(ctx)

	if srcErr != nil && nothingToLookUp(srcErr) && ctx.Err() == nil {
		// Read, but nothing in it: a mistake in the configuration, not a
		// failure of the source; the run is partial, not silently ok.
		r.log.Warnf("Input %s: %s yields nothing to look up: %v", in, r.opt.SourceName, srcErr)
		r.note("%s yields nothing to look up: %v", r.opt.SourceName, srcErr)
		srcErr = nil
	}
	if srcErr == nil && r.sum.Candidates > 0 && r.sum.Distinct == 0 {
		// Every value was junk: not a quiet run but a source that yields
		// no host names (the wrong field, a file that is not an events
		// export).
		r.log.Warnf("Input %s: all %d candidate values were rejected (%s), so nothing could be looked up. The values are not host names: check that the domain field is the one holding the host names contacted, and %s.", in, r.sum.Candidates, topReasons(r.sum.Rejected), r.opt.SourceHint)
		r.note("all %d candidate values were rejected (%s): no host names to look up", r.sum.Candidates, topReasons(r.sum.Rejected))
	}
	var runErr error
	status := StatusOK
	if srcErr != nil && ctx.Err() == nil { // a cancelled run says so in finish
		r.log.Errorf("Input %s: reading %s failed after %d candidate values: %v. Values collected before the failure were processed; %s.", in, r.opt.SourceName, r.sum.Candidates, srcErr, r.opt.SourceHint)
		r.note("reading %s failed after %d candidate values: %v", r.opt.SourceName, r.sum.Candidates, srcErr)
		if r.sum.Candidates == 0 && ctx.Err() == nil {
			runErr = fmt.Errorf("input %s: reading %s failed: %w", in, r.opt.SourceName, srcErr)
			status = StatusFailed
		}
	}
	if r.unreached.Load() && r.sum.LookedUp == 0 && runErr == nil {
		runErr = fmt.Errorf("input %s: %w: nothing was looked up", in, enrich.ErrUnreachable)
		status = StatusFailed
	}
	if r.keyBad.Load() {
		runErr = fmt.Errorf("input %s: %w; %s; no lookups are made until then", in, r.keyErr, r.opt.KeyHint)
		r.log.Errorf("%v", runErr)
		r.note("%v", runErr)
		status = StatusFailed
	}
	return r.finish(ctx, status, runErr)
}

// topReasons formats rejection counts, most frequent first: "ip 12,
// empty 3".
func topReasons(rejected map[string]int) string {
	reasons := slices.Collect(maps.Keys(rejected))
	slices.SortFunc(reasons, func(a, b string) int {
		if c := cmp.Compare(rejected[b], rejected[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(reasons))
	for i, k := range reasons {
		parts[i] = fmt.Sprintf("%s %d", k, rejected[k])
	}
	return strings.Join(parts, ", ")
}

// replay saves the answers a previous run journaled but did not get
// confirmed by the store. It reports false if the store refused them: then
// the run makes no lookups, which would be answers it cannot store either.
func (r *runner) replay(ctx context.Context) bool {
	if r.state == nil {
		return true
	}
	entries, dropped, err := r.state.Pending()
	if err != nil {
		r.log.Errorf("Input %s: cannot read the journal in %s: %v", r.opt.Input, r.state.Path(), err)
		r.note("journal unreadable: %v", err)
		return true
	}
	byKind, names, unread := r.decodePending(entries)
	dropped += unread
	if dropped > 0 {
		r.log.Warnf("Input %s: %d journaled VirusTotal answers in %s could not be read and were dropped; later runs look those indicators up again. Check the disk of %s.", r.opt.Input, dropped, r.state.Path(), r.opt.StateName)
		r.note("%d unreadable journal entries dropped", dropped)
	}
	if len(byKind) == 0 {
		return true
	}
	r.log.Infof("Input %s: saving %d VirusTotal answers left by a previous run", r.opt.Input, len(entries)-unread)
	for _, name := range names {
		k, pending := byKind[name].k, byKind[name].recs
		ks := r.kindSum(k)
		pending = r.newerThanStored(ctx, k, pending)
		for i := 0; i < len(pending); i += r.opt.BatchSize {
			if ctx.Err() != nil { // SIGTERM, deadline: the rest stays journaled
				r.log.Infof("Input %s: answers left by a previous run stay in the journal for the next run", r.opt.Input)
				return true
			}
			batch := pending[i:min(i+r.opt.BatchSize, len(pending))]
			if !r.save(ctx, k, ks, batch) {
				return false
			}
			r.sum.Replayed += len(batch)
			ks.Replayed += len(batch)
		}
	}
	return true
}

type kindRecords struct {
	k    kind.Kind
	recs []kind.Record
}

// decodePending groups journaled entries by kind and decodes them; entries
// of a kind this build does not know, or that do not decode to their key,
// are removed from the journal and counted as unreadable.
func (r *runner) decodePending(entries []checkpoint.Entry) (map[string]*kindRecords, []string, int) {
	byKind := map[string]*kindRecords{}
	var names []string
	unread := 0
	for _, e := range entries {
		g := byKind[e.Kind]
		if g == nil {
			k, ok := kind.Lookup(e.Kind)
			if !ok {
				unread++
				_ = r.state.Done(e.Kind, []string{e.Key})
				continue
			}
			g = &kindRecords{k: k}
			byKind[e.Kind] = g
			names = append(names, e.Kind)
		}
		rec, err := g.k.Decode(e.Doc)
		if err != nil || rec.ID() != e.Key {
			unread++
			_ = r.state.Done(e.Kind, []string{e.Key})
			continue
		}
		g.recs = append(g.recs, rec)
	}
	for name, g := range byKind {
		if len(g.recs) == 0 {
			delete(byKind, name)
		}
	}
	return byKind, names, unread
}

// newerThanStored drops journaled answers that the store already holds in
// the same or a newer version (a search head that was captain replays its
// journal after another member refreshed those keys), and clears them
// from the journal. If the store cannot tell, every answer is kept.
func (r *runner) newerThanStored(ctx context.Context, k kind.Kind, pending []kind.Record) []kind.Record {
	keys := make([]string, len(pending))
	for i, rec := range pending {
		keys[i] = rec.ID()
	}
	stored, err := r.store.Get(ctx, k, keys)
	if err != nil {
		return pending
	}
	keep := pending[:0]
	var done []string
	for _, rec := range pending {
		if cur, ok := stored[rec.ID()]; ok && cur.Enriched() >= rec.Enriched() {
			done = append(done, rec.ID())
			continue
		}
		keep = append(keep, rec)
	}
	if len(done) > 0 {
		if err := r.state.Done(k.Name(), done); err != nil {
			r.log.Warnf("Input %s: cannot clear %d superseded answers from the journal in %s: %v", r.opt.Input, len(done), r.state.Path(), err)
		}
		r.log.Infof("Input %s: %d of the journaled %s answers are older than the stored records and were dropped", r.opt.Input, len(done), k.Name())
	}
	return keep
}

// kindSum returns k's share of the summary, adding it at first use.
func (r *runner) kindSum(k kind.Kind) *KindSummary {
	r.kindMu.Lock()
	defer r.kindMu.Unlock()
	ks := r.sum.Kinds[k.Name()]
	if ks == nil {
		ks = &KindSummary{Rejected: map[string]int{}}
		r.sum.Kinds[k.Name()] = ks
		r.kinds = append(r.kinds, k)
	}
	return ks
}

// metKinds returns the kinds the run met (candidates or journaled
// answers), in the order it met them.
func (r *runner) metKinds() []kind.Kind {
	r.kindMu.Lock()
	defer r.kindMu.Unlock()
	return slices.Clone(r.kinds)
}

// collect streams the source into chunks of new distinct keys, per kind.
// Memory grows with distinct keys, not with rows.
func (r *runner) collect(ctx context.Context, chunks chan<- chunk) error {
	defer close(chunks)
	type collecting struct {
		chunk
		seen map[string]struct{}
	}
	byName := map[string]*collecting{}
	var last *collecting // rows of one kind usually come in runs
	err := r.src.Candidates(ctx, func(k kind.Kind, v string) error {
		c := last
		if c == nil || c.k.Name() != k.Name() {
			if c = byName[k.Name()]; c == nil {
				c = &collecting{chunk: chunk{k: k, keys: make([]string, 0, checkChunk), ks: r.kindSum(k)}, seen: map[string]struct{}{}}
				byName[k.Name()] = c
			}
			last = c
		}
		r.sum.Candidates++
		c.ks.Candidates++
		key, reason := k.Normalize(v)
		if reason != "" {
			r.sum.Rejected[reason]++
			c.ks.Rejected[reason]++
			return nil
		}
		if _, dup := c.seen[key]; dup {
			return nil
		}
		key = strings.Clone(key) // key may share memory with a large row
		c.seen[key] = struct{}{}
		if c.keys = append(c.keys, key); len(c.keys) == checkChunk {
			chunks <- c.chunk // dispatch drains chunks until closed
			c.keys = make([]string, 0, checkChunk)
		}
		return nil
	})
	for _, c := range byName {
		if len(c.keys) > 0 {
			chunks <- c.chunk
		}
		c.ks.Distinct = len(c.seen)
		r.sum.Distinct += len(c.seen)
	}
	return err
}

// dispatch checks each chunk's freshness and hands the due keys to the
// workers. Its queue is unbounded (it holds at most the distinct keys) so
// that slow, paced lookups never stall the search stream.
func (r *runner) dispatch(ctx context.Context, chunks <-chan chunk, work chan<- item) {
	defer close(work)
	var queue []item
	stop := r.stopped
	for chunks != nil || len(queue) > 0 {
		var out chan<- item
		var next item
		if len(queue) > 0 {
			out, next = work, queue[0]
		}
		select {
		case c, ok := <-chunks:
			if !ok {
				chunks = nil
				continue
			}
			if due := r.check(ctx, c); stop != nil {
				for _, key := range due {
					queue = append(queue, item{c.k, key})
				}
			}
		case out <- next:
			queue = queue[1:]
		case <-stop:
			stop, queue = nil, nil
		}
	}
}

// check returns the keys of c that are missing from the store or stale.
// If the store cannot tell, none is returned: looking them all up could
// spend quota on fresh records.
func (r *runner) check(ctx context.Context, c chunk) []string {
	fresh := 0
	var due []string
	if ctx.Err() == nil {
		got, err := r.store.Get(ctx, c.k, c.keys)
		switch {
		case err == nil:
			due = c.keys[:0]
			for _, key := range c.keys {
				rec, ok := got[key]
				switch {
				case ok && r.policy.FreshRecord(rec, r.now.Unix()):
					fresh++
					continue
				case ok && !rec.Found():
					r.misses.Store(missKey(c.k, key), rec)
				}
				due = append(due, key)
			}
		case ctx.Err() == nil:
			r.log.Errorf("Input %s: checking the freshness of %d %s keys in %s failed: %v. They are not looked up this run; %s.", r.opt.Input, len(c.keys), c.k.Name(), r.opt.StoreName, err, r.opt.StoreHint)
			r.note("freshness check of %d %s keys failed: %v", len(c.keys), c.k.Name(), err)
		}
	}
	r.sum.Fresh += fresh
	r.sum.Due += len(c.keys) - fresh
	c.ks.Fresh += fresh
	c.ks.Due += len(c.keys) - fresh
	r.dueSeen.Store(int64(r.sum.Due))
	return due
}

// missKey is the key of misses: a kind's key, qualified by the kind.
func missKey(k kind.Kind, key string) string { return k.Name() + "\x00" + key }

// lookup is one worker: it enriches due keys until work closes or the run
// stops looking up. Every request is paid for: the enricher passes the
// run's gate (the daily budget) right before it sends one, and an answer is
// journaled before it is handed on to be saved.
func (r *runner) lookup(ctx context.Context, cancel context.CancelCauseFunc, work <-chan item, results chan<- result) {
	sums := map[string]*KindSummary{}
	for it := range work {
		if r.isStopped() {
			continue // drain: dispatch stops sending soon
		}
		ks := sums[it.k.Name()]
		if ks == nil {
			ks = r.kindSum(it.k)
			sums[it.k.Name()] = ks
		}
		rec, err := r.enr.Enrich(ctx, it.k, it.key)
		switch {
		case err == nil && (rec == nil || rec.ID() != it.key || rec.Enriched() == 0):
			// The key must be the one that was due: anything else would
			// never be found fresh and would be looked up again every run.
			err = fmt.Errorf("the enricher's %s record for %s has the key %q or no enriched_time", it.k.Name(), it.key, idOf(rec))
		case err == nil:
			if prev, ok := r.misses.Load(missKey(it.k, it.key)); ok {
				rec = refresh.NextRecord(prev.(kind.Record), rec)
			}
			r.journal(it.k, rec)
		case errors.Is(err, enrich.ErrUnauthorized):
			if !r.keyBad.Swap(true) {
				r.keyErr = err // read after the workers are done
				cancel(err)    // stop in-flight lookups at once, with this cause
				r.stop()
			}
		case errors.Is(err, enrich.ErrUnreachable):
			if !r.unreached.Swap(true) {
				cancel(err) // lookups queued for a slot would only fail alike
				r.stop()
				r.log.Errorf("Input %s: %v. No more lookups this run; the due indicators wait for the next run.", r.opt.Input, err)
				r.note("VirusTotal unreachable: lookups stopped (%v)", err)
			}
		case errors.Is(err, enrich.ErrBudgetSpent):
			// The lookups already past the budget hold their share of
			// it: they go ahead; only new ones are not started.
			r.budgetOut.Store(true)
			r.stopStarting()
		case errors.Is(err, enrich.ErrBudgetUnrecorded):
			if !r.isStopped() {
				r.log.Errorf("Input %s: %v. No more lookups this run; check %s (disk full, permissions).", r.opt.Input, err, r.opt.StateName)
				r.note("budget: %v", err)
			}
			r.stop()
		case errors.Is(err, enrich.ErrQuotaExceeded):
			if !r.quotaGone.Swap(true) {
				// Lookups waiting for a request slot must not send once
				// the slot comes (at a few requests a minute, long after
				// the 429); requests already sent keep their grace to
				// bring in their paid answers.
				cancel(err)
				r.stop()
				if held := (*enrich.HeldError)(nil); errors.As(err, &held) {
					r.quotaHeld = held.Until
					r.log.Warnf("Input %s: VirusTotal said the API key's quota was exceeded (%d stops in a row): no lookups until %s; due indicators wait. The wait doubles while the quota stays exceeded, up to the next 00:00 UTC, when daily quotas reset. Lower requests_per_minute or daily_lookup_budget to fit the key's quota, or use a key with a larger quota.",
						r.opt.Input, held.Streak, held.Until.UTC().Format(time.DateTime+" MST"))
				} else {
					r.log.Warnf("Input %s: VirusTotal says the API key's quota is exceeded: no more lookups this run; answers fetched so far are saved. Lower requests_per_minute or daily_lookup_budget to fit the key's quota, or use a key with a larger quota.", r.opt.Input)
				}
			}
		}
		// A lookup the budget refused mid-retry, or one cut short because
		// the run stopped, failed because the run is ending, not by itself.
		gated := errors.Is(err, errRunStopped) || errors.Is(err, enrich.ErrBudgetSpent) || errors.Is(err, enrich.ErrBudgetUnrecorded)
		results <- result{item: it, ks: ks, rec: rec, err: err, stopped: err != nil && (ctx.Err() != nil || gated),
			notSent: errors.Is(err, enrich.ErrNotSent)}
	}
}

// rated is implemented by records that carry how many VirusTotal engines
// rate the indicator malicious (last_analysis_positive; 0 when unrated).
type rated interface {
	Positives() int64
}

func idOf(rec kind.Record) string {
	if rec == nil {
		return ""
	}
	return rec.ID()
}

// errRunStopped is the cause lookups are called off with when the run
// stops looking up (a store or journal failure).
var errRunStopped = errors.New("the run is stopping: no new requests")

// journal durably records an answer before it goes to the store. If it
// cannot, lookups stop: further answers could be lost to a crash.
func (r *runner) journal(k kind.Kind, rec kind.Record) {
	if r.state == nil {
		return
	}
	doc, err := json.Marshal(rec)
	if err == nil {
		err = r.state.Journal([]checkpoint.Entry{{Kind: k.Name(), Key: rec.ID(), Doc: doc}})
	}
	if err != nil {
		if !r.isStopped() {
			r.log.Errorf("Input %s: cannot journal VirusTotal answers in %s: %v. No more lookups this run; check %s (disk full, permissions).", r.opt.Input, r.state.Path(), err, r.opt.StateName)
		}
		r.note("journal: %v", err)
		r.stop()
	}
}

// write counts the lookup results and saves the answers in batches as they
// arrive; it returns once results is closed and the last batch is saved.
func (r *runner) write(ctx context.Context, results <-chan result) {
	type pending struct {
		k     kind.Kind
		ks    *KindSummary
		batch []kind.Record
	}
	batches := map[string]*pending{}
	var names []string
	for res := range results {
		if !r.account(res) {
			continue
		}
		p := batches[res.k.Name()]
		if p == nil {
			p = &pending{k: res.k, ks: res.ks, batch: make([]kind.Record, 0, r.opt.BatchSize)}
			batches[res.k.Name()] = p
			names = append(names, res.k.Name())
		}
		if p.batch = append(p.batch, res.rec); len(p.batch) == r.opt.BatchSize {
			r.save(ctx, p.k, p.ks, p.batch)
			p.batch = p.batch[:0]
		}
	}
	for _, name := range names {
		p := batches[name]
		r.save(ctx, p.k, p.ks, p.batch)
	}
}

// account counts one lookup result and reports whether it has a record.
// A lookup that sent nothing is not counted: its key stays deferred.
func (r *runner) account(res result) bool {
	if res.notSent {
		return false
	}
	r.sum.LookedUp++
	res.ks.LookedUp++
	if r.opt.Progress != nil {
		r.opt.Progress(r.sum.LookedUp, int(r.dueSeen.Load()))
	}
	switch {
	case res.err != nil:
		r.sum.Failed++
		res.ks.Failed++
		if !res.stopped && !errors.Is(res.err, enrich.ErrUnauthorized) && !errors.Is(res.err, enrich.ErrQuotaExceeded) {
			r.log.Debugf("Input %s: lookup of %s %s failed: %v", r.opt.Input, res.k.Name(), res.key, res.err)
			r.failures++
			r.lastFail = res.err
		}
		return false
	case res.rec.Found():
		r.sum.Found++
		res.ks.Found++
		if f, ok := res.rec.(rated); ok && f.Positives() > 0 {
			r.sum.Flagged++
			res.ks.Flagged++
		}
	default:
		r.sum.NotFound++
		res.ks.NotFound++
	}
	return true
}

// save writes one batch to the store and clears it from the journal. On
// failure the batch stays journaled for the next run and lookups stop; once
// a save has failed, later batches are not sent either (they are journaled
// too), so that a store that is down costs the run one save timeout, not
// one per batch.
func (r *runner) save(ctx context.Context, k kind.Kind, ks *KindSummary, batch []kind.Record) bool {
	if len(batch) == 0 {
		return true
	}
	if r.storeBad.Load() && r.state != nil {
		r.note("%d records not sent after a failed save; they stay in the journal and are saved by the next run", len(batch))
		return false
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	defer context.AfterFunc(ctx, func() {
		t := time.NewTimer(flushGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-sctx.Done():
		}
	})()
	if err := r.store.Save(sctx, k, batch); err != nil {
		kept := "they are lost (no state directory)"
		if r.state != nil {
			kept = "they stay in the journal and are saved by the next run"
		}
		if !r.storeBad.Swap(true) {
			r.log.Errorf("Input %s: saving %d %s records to %s failed: %v; %s. No more lookups this run; %s.", r.opt.Input, len(batch), k.Name(), r.opt.StoreName, err, kept, r.opt.StoreHint)
		}
		r.note("saving %d %s records failed: %v; %s", len(batch), k.Name(), err, kept)
		r.stop()
		return false
	}
	r.sum.KVWrites += len(batch)
	ks.KVWrites += len(batch)
	if r.state != nil {
		keys := make([]string, len(batch))
		for i, rec := range batch {
			keys[i] = rec.ID()
		}
		if err := r.state.Done(k.Name(), keys); err != nil {
			// Harmless: the next run saves them again.
			r.log.Warnf("Input %s: cannot clear saved records from the journal in %s: %v", r.opt.Input, r.state.Path(), err)
		}
	}
	return true
}

// stop makes the run start no more lookups, and calls off the lookups
// waiting for a request slot or a retry (requests already sent keep their
// grace to bring in their paid answers).
func (r *runner) stop() {
	r.stopStarting()
	r.stopMu.Lock()
	cancel := r.cancelLookups
	r.stopMu.Unlock()
	if cancel != nil {
		cancel(errRunStopped)
	}
}

// stopStarting makes the run start no more lookups; those under way go on.
func (r *runner) stopStarting() { r.stopOnce.Do(func() { close(r.stopped) }) }

func (r *runner) isStopped() bool {
	select {
	case <-r.stopped:
		return true
	default:
		return false
	}
}

// note adds a line to Summary.Errors.
func (r *runner) note(format string, args ...any) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if len(r.errs) < maxErrors {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	} else if len(r.errs) == maxErrors {
		r.errs = append(r.errs, "more errors: see the input's log")
	}
}

// finish completes the summary, logs the run's end and returns.
func (r *runner) finish(ctx context.Context, status string, err error) (Summary, error) {
	s := &r.sum
	in := r.opt.Input
	for _, n := range s.Rejected {
		s.RejectedTotal += n
	}
	s.Deferred = s.Due - s.LookedUp
	for _, ks := range s.Kinds {
		for _, n := range ks.Rejected {
			ks.RejectedTotal += n
		}
		ks.Deferred = ks.Due - ks.LookedUp
	}
	switch {
	case r.keyBad.Load():
		s.QuotaState = QuotaKeyRejected
	case !r.quotaHeld.IsZero():
		s.QuotaState = QuotaExceeded
		r.note("VirusTotal quota exceeded in an earlier run: no lookups until %s, %d due indicators deferred", r.quotaHeld.UTC().Format(time.DateTime+" MST"), s.Deferred)
	case r.quotaGone.Load():
		s.QuotaState = QuotaExceeded
		r.note("VirusTotal quota exceeded: lookups stopped, %d due indicators deferred to the next run", s.Deferred)
	case r.budgetOut.Load():
		s.QuotaState = QuotaBudgetExhausted
		r.log.Warnf("Input %s: the daily lookup budget (%d) is spent: %d due indicators wait for the next UTC day. Raise daily_lookup_budget if the key's quota allows.", in, r.opt.DailyLookupBudget, s.Deferred)
	}
	if r.failures > 0 {
		r.log.Warnf("Input %s: %d lookups failed (last: %v); they are retried next run", in, r.failures, r.lastFail)
		r.note("%d lookups failed (last: %v)", r.failures, r.lastFail)
	}
	if ctx.Err() != nil && status != StatusSkipped {
		if cause := context.Cause(ctx); errors.Is(cause, context.DeadlineExceeded) {
			r.log.Warnf("Input %s: the run was stopped before it finished: it reached max_run_seconds; %d due indicators deferred to the next run. If this happens every run, %s.", in, s.Deferred, r.opt.DeadlineHint)
			r.note("run stopped early at max_run_seconds: %d due indicators deferred", s.Deferred)
		} else {
			// A signal (Ctrl-C, SIGTERM from splunkd or a service manager).
			r.log.Warnf("Input %s: the run was stopped before it finished (%v); %d due indicators deferred to the next run.", in, cause, s.Deferred)
			r.note("run stopped early: %v", cause)
		}
	}
	if r.opt.Budget != nil {
		s.BudgetUsed = r.opt.Budget.Used()
	}
	if r.started {
		s.VTCalls = calls(r.enr) - r.vtBefore
		s.KVRequests = requests(r.store) - r.kvBefore
	}
	if s.Distinct > 0 {
		s.CacheHitRate = float64(s.Fresh) / float64(s.Distinct)
	}
	s.Errors = r.errs
	if status == StatusOK && (len(s.Errors) > 0 || s.Deferred > 0) {
		status = StatusPartial
	}
	s.Status = status
	s.Duration = time.Since(r.wall).Seconds()
	r.log.Info("run finished", "status", s.Status, "candidates", s.Candidates, "distinct", s.Distinct, "rejected", s.RejectedTotal,
		"fresh", s.Fresh, "due", s.Due, "looked_up", s.LookedUp, "found", s.Found, "not_found", s.NotFound, "failed", s.Failed,
		"deferred", s.Deferred, "replayed", s.Replayed, "kv_writes", s.KVWrites, "quota_state", s.QuotaState,
		"duration", fmt.Sprintf("%.1fs", s.Duration))
	return *s, err
}

func calls(e enrich.Enricher) int64 {
	if c, ok := e.(enrich.Counter); ok {
		return c.Calls()
	}
	return 0
}

func requests(s Store) int {
	if c, ok := s.(interface{ Requests() int }); ok {
		return c.Requests()
	}
	return 0
}
