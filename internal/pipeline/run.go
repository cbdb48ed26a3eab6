package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
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
		wall: time.Now(), now: opt.Now(),
		policy: refresh.Policy{RefreshDays: opt.RefreshDays, NotFoundHours: opt.NotFoundRefreshHours,
			NotFoundMaxHours: opt.NotFoundMaxHours, YoungRefreshDays: opt.YoungRefreshDays, JitterPercent: opt.RefreshJitterPercent},
	}
	r.sum = Summary{Input: opt.Input, StartTime: r.now.Unix(), Rejected: map[string]int{},
		QuotaState: QuotaOK, BudgetLimit: opt.DailyLookupBudget, Kinds: map[string]*KindSummary{}}
	return r.run(ctx)
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
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
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
	log   *slog.Logger
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
	started  bool  // the run got past opening its state (counters read)

	// starting is done when the run must start no more lookups; its cause
	// is the first halting *Stop (or the run's context's cause). The
	// lookups' context (see run) is called off alike, but for a spent
	// budget, whose lookups already past it go on.
	starting     context.Context
	stopStarting context.CancelCauseFunc
	callOff      context.CancelCauseFunc
	stopMu       sync.Mutex
	stops        []*Stop // one per reason, in the order met
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
	// Stopping to start lookups, and calling off those waiting, are two
	// contexts: a spent budget ends the first only. Both end with ctx.
	r.starting, r.stopStarting = context.WithCancelCause(ctx)
	defer r.stopStarting(nil)
	lookCtx, callOff := context.WithCancelCause(ctx)
	defer callOff(nil)
	r.callOff = callOff

	if r.opt.StateDir != "" {
		st, err := checkpoint.Open(r.opt.StateDir, r.opt.Input)
		if errors.Is(err, checkpoint.ErrLocked) {
			r.log.Warn("run skipped: another run of the input holds its state lock")
			r.note("another run of input %s is still running: skipped", r.opt.Input)
			r.record(&Stop{Reason: StopOverlap})
			return r.finish(ctx, StatusSkipped, nil)
		}
		if err != nil {
			stop := &Stop{Reason: StopStateFailed, Err: fmt.Errorf("cannot open the state in %s: %w", r.opt.StateDir, err)}
			r.log.Error("cannot open the state: the run lock, journal and quota live there", "dir", r.opt.StateDir, "error", err)
			r.note("%v", stop)
			r.record(stop)
			return r.finish(ctx, StatusFailed, stop)
		}
		defer st.Close()
		r.state = st
		if st.SetAside != "" {
			r.log.Error("state file damaged: set aside and a new one started; answers journaled in it and not yet saved are lost (looked up again later)", "set_aside", st.SetAside)
			r.note("state file damaged, set aside as %s", st.SetAside)
			r.record(&Stop{Reason: StopStateDamaged, Err: fmt.Errorf("the state file was damaged and set aside as %s", st.SetAside)})
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
		stop := r.first(StopStoreFailed)
		err := fmt.Errorf("the answers left by a previous run could not be saved; this run does not read its source or look up, and they stay in the journal for the next run: %w", stop)
		r.log.Error("answers left by a previous run not saved: no search and no lookups this run")
		return r.finish(ctx, StatusFailed, err)
	}
	if !r.opt.Lookups {
		r.sum.Role = "shc_member"
		r.log.Info("no search and no lookups this run: this process must not spend quota (a search head cluster member that is not, or may not be, the captain)")
		return r.finish(ctx, StatusSkipped, nil)
	}

	chunks := make(chan chunk, 16)
	work := make(chan item)
	results := make(chan result, r.opt.MaxConcurrency)
	var srcErr error
	var stages, workers sync.WaitGroup
	stages.Go(func() { srcErr = r.collect(ctx, chunks) })
	stages.Go(func() { r.dispatch(ctx, chunks, work) })
	for range r.opt.MaxConcurrency {
		workers.Go(func() { r.lookup(lookCtx, work, results) })
	}
	go func() { workers.Wait(); close(results) }()
	r.write(ctx, results)
	stages.Wait()
	r.purge(ctx)

	if srcErr != nil && nothingToLookUp(srcErr) && ctx.Err() == nil {
		// Read, but nothing in it: a mistake in the configuration, not a
		// failure of the source; the run is partial, not silently ok.
		r.log.Warn("the source yields nothing to look up", "error", srcErr)
		r.note("the source yields nothing to look up: %v", srcErr)
		r.record(&Stop{Reason: StopNothingToLookUp, Err: srcErr})
		srcErr = nil
	}
	if srcErr == nil && r.sum.Candidates > 0 && r.sum.Distinct == 0 {
		// Every value was junk: not a quiet run but a source that yields
		// no indicators (the wrong field, a file that is not an events
		// export).
		rejected := topReasons(r.sum.Rejected)
		r.log.Warn("every candidate value was rejected: nothing to look up", "candidates", r.sum.Candidates, "rejected", rejected)
		r.note("all %d candidate values were rejected (%s): no indicators to look up", r.sum.Candidates, rejected)
		r.record(&Stop{Reason: StopNothingToLookUp, Rejected: rejected,
			Err: fmt.Errorf("all %d candidate values were rejected (%s)", r.sum.Candidates, rejected)})
	}
	var runErr error
	status := StatusOK
	if srcErr != nil && ctx.Err() == nil { // a cancelled run says so in finish
		stop := &Stop{Reason: StopSourceFailed, Err: fmt.Errorf("reading the source failed after %d candidate values: %w", r.sum.Candidates, srcErr)}
		r.log.Error("reading the source failed; values collected before were processed", "candidates", r.sum.Candidates, "error", srcErr)
		r.note("%v", stop)
		r.record(stop)
		if r.sum.Candidates == 0 {
			runErr = stop
			status = StatusFailed
		}
	}
	if stop := r.first(StopUnreachable); stop != nil && r.sum.LookedUp == 0 && runErr == nil {
		runErr = fmt.Errorf("nothing was looked up: %w", stop)
		status = StatusFailed
	}
	if stop := r.first(StopKeyRejected); stop != nil {
		runErr = stop
		r.log.Error("lookups stopped: the key was rejected", "error", stop.Err)
		r.note("%v", stop)
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
		r.log.Error("cannot read the journal", "path", r.state.Path(), "error", err)
		r.note("journal unreadable: %v", err)
		r.record(&Stop{Reason: StopStateDamaged, Err: fmt.Errorf("cannot read the journal in %s: %w", r.state.Path(), err)})
		return true
	}
	byKind, names, unread := r.decodePending(entries)
	dropped += unread
	if dropped > 0 {
		r.log.Warn("unreadable journaled answers dropped; later runs look those indicators up again", "dropped", dropped, "path", r.state.Path())
		r.note("%d unreadable journal entries dropped", dropped)
		r.record(&Stop{Reason: StopStateDamaged, Err: fmt.Errorf("%d journaled answers in %s could not be read", dropped, r.state.Path())})
	}
	if len(byKind) == 0 {
		return true
	}
	r.log.Info("saving the answers left by a previous run", "answers", len(entries)-unread)
	for _, name := range names {
		k, pending := byKind[name].k, byKind[name].recs
		ks := r.kindSum(k)
		pending = r.newerThanStored(ctx, k, pending)
		for i := 0; i < len(pending); i += r.opt.BatchSize {
			if ctx.Err() != nil { // SIGTERM, deadline: the rest stays journaled
				r.log.Info("answers left by a previous run stay in the journal for the next run")
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
			r.log.Warn("cannot clear superseded answers from the journal", "answers", len(done), "path", r.state.Path(), "error", err)
		}
		r.log.Info("journaled answers older than the stored records dropped", "kind", k.Name(), "answers", len(done))
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
	stop := r.starting.Done()
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
			r.log.Error("checking the freshness of keys in the store failed: they are not looked up this run", "kind", c.k.Name(), "keys", len(c.keys), "error", err)
			r.note("freshness check of %d %s keys failed: %v", len(c.keys), c.k.Name(), err)
			r.record(&Stop{Reason: StopStoreUnread, Err: fmt.Errorf("checking the freshness of %d %s keys failed: %w", len(c.keys), c.k.Name(), err)})
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
// stops looking up. Every request is paid for: the enricher spends the
// daily budget right before it sends one, and an answer is journaled
// before it is handed on to be saved.
func (r *runner) lookup(ctx context.Context, work <-chan item, results chan<- result) {
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
			r.halt(&Stop{Reason: StopKeyRejected, Err: err}) // stop in-flight lookups at once
		case errors.Is(err, enrich.ErrUnreachable):
			// Lookups queued for a slot would only fail alike.
			if r.halt(&Stop{Reason: StopUnreachable, Err: err}) {
				r.log.Error("lookups stopped: the enricher's service is unreachable; the due indicators wait for the next run", "error", err)
				r.note("unreachable: lookups stopped (%v)", err)
			}
		case errors.Is(err, enrich.ErrBudgetSpent):
			// The lookups already past the budget hold their share of
			// it: they go ahead; only new ones are not started.
			r.halt(&Stop{Reason: StopBudgetSpent, Err: err})
		case errors.Is(err, enrich.ErrBudgetUnrecorded):
			if r.halt(&Stop{Reason: StopStateFailed, Err: err}) {
				r.log.Error("cannot record a lookup in the daily budget: no more lookups this run", "error", err)
				r.note("budget: %v", err)
			}
		case errors.Is(err, enrich.ErrQuotaExceeded):
			// Lookups waiting for a request slot must not send once the
			// slot comes (at a few requests a minute, long after the
			// 429); requests already sent keep their grace to bring in
			// their paid answers.
			stop := &Stop{Reason: StopQuotaExceeded, Err: err}
			if held := (*enrich.HeldError)(nil); errors.As(err, &held) {
				stop.Until = held.Until
			}
			if r.halt(stop) {
				if stop.Until.IsZero() {
					r.log.Warn("lookups stopped: the key's quota is exceeded; answers fetched so far are saved", "error", err)
				} else {
					r.log.Warn("lookups held: the key's quota was exceeded in an earlier run; due indicators wait",
						"until", stop.Until.UTC().Format(time.DateTime+" MST"), "stops_in_a_row", streakOf(err))
				}
			}
		}
		// A lookup the budget refused mid-retry, or one cut short because
		// the run stopped, failed because the run is ending, not by itself.
		results <- result{item: it, ks: ks, rec: rec, err: err, stopped: err != nil && (ctx.Err() != nil || gated(err)),
			notSent: err != nil && errors.Is(err, enrich.ErrNotSent)}
	}
}

// gated reports whether a lookup's error came from the run ending rather
// than from the lookup itself: a Stop, or the budget refusing it.
func gated(err error) bool {
	var stop *Stop
	return errors.As(err, &stop) || errors.Is(err, enrich.ErrBudgetSpent) || errors.Is(err, enrich.ErrBudgetUnrecorded)
}

// streakOf returns the quota stops in a row of a held lookup's error.
func streakOf(err error) int {
	var h *enrich.HeldError
	if errors.As(err, &h) {
		return h.Streak
	}
	return 0
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
		if r.halt(&Stop{Reason: StopStateFailed, Err: fmt.Errorf("cannot journal answers in %s: %w", r.state.Path(), err)}) {
			r.log.Error("cannot journal answers: no more lookups this run", "path", r.state.Path(), "error", err)
		}
		r.note("journal: %v", err)
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
			r.log.Debug("lookup failed", "kind", res.k.Name(), "key", res.key, "error", res.err)
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
	if r.first(StopStoreFailed) != nil && r.state != nil {
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
		if r.halt(&Stop{Reason: StopStoreFailed, Err: fmt.Errorf("saving %d %s records failed: %w", len(batch), k.Name(), err)}) {
			r.log.Error("saving records failed: no more lookups this run; "+kept, "kind", k.Name(), "records", len(batch), "error", err)
		}
		r.note("saving %d %s records failed: %v; %s", len(batch), k.Name(), err, kept)
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
			r.log.Warn("cannot clear saved records from the journal", "path", r.state.Path(), "error", err)
		}
	}
	return true
}

// record adds stop to the run's Stops unless one of its reason is there,
// and reports whether it did.
func (r *runner) record(stop *Stop) bool {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	for _, s := range r.stops {
		if s.Reason == stop.Reason {
			return false
		}
	}
	r.stops = append(r.stops, stop)
	return true
}

// halt records stop and makes the run start no more lookups, stop being
// the cause if it is the first; for every reason but a spent budget it
// also calls off the lookups waiting for a request slot or a retry
// (requests already sent keep their grace to bring in their paid
// answers). It reports whether stop is the first of its reason.
func (r *runner) halt(stop *Stop) bool {
	first := r.record(stop)
	r.stopStarting(stop)
	if stop.Reason.callsOff() {
		r.callOff(stop)
	}
	return first
}

// first returns the run's Stop of reason re, or nil.
func (r *runner) first(re Reason) *Stop {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	for _, s := range r.stops {
		if s.Reason == re {
			return s
		}
	}
	return nil
}

// isStopped reports whether the run starts no more lookups.
func (r *runner) isStopped() bool { return r.starting.Err() != nil }

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
	// A rejected key outranks every other stop in quota_state, whichever
	// came first.
	quota := r.first(StopQuotaExceeded)
	switch {
	case r.first(StopKeyRejected) != nil:
		s.QuotaState = QuotaKeyRejected
	case quota != nil && !quota.Until.IsZero():
		s.QuotaState = QuotaExceeded
		r.note("quota exceeded in an earlier run: no lookups until %s, %d due indicators deferred", quota.Until.UTC().Format(time.DateTime+" MST"), s.Deferred)
	case quota != nil:
		s.QuotaState = QuotaExceeded
		r.note("quota exceeded: lookups stopped, %d due indicators deferred to the next run", s.Deferred)
	case r.first(StopBudgetSpent) != nil:
		s.QuotaState = QuotaBudgetExhausted
		r.log.Warn("the daily lookup budget is spent: due indicators wait for the next UTC day", "budget", r.opt.DailyLookupBudget, "deferred", s.Deferred)
	}
	if r.failures > 0 {
		r.log.Warn("lookups failed; they are retried next run", "failed", r.failures, "last", r.lastFail)
		r.note("%d lookups failed (last: %v)", r.failures, r.lastFail)
	}
	if ctx.Err() != nil && status != StatusSkipped {
		stop := stopOf(ctx)
		r.record(stop)
		if stop.Reason == StopDeadline {
			r.log.Warn("the run reached its deadline before it finished: due indicators deferred to the next run", "deferred", s.Deferred)
			r.note("run stopped early at its deadline: %d due indicators deferred", s.Deferred)
		} else {
			// A signal (Ctrl-C, SIGTERM from splunkd or a service manager).
			r.log.Warn("the run was stopped before it finished: due indicators deferred to the next run", "cause", stop.Err, "deferred", s.Deferred)
			r.note("run stopped early: %v", stop.Err)
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
	s.Stops = r.stops
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
