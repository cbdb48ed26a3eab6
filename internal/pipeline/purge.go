package pipeline

import (
	"context"
	"time"
)

// purge deletes the records not refreshed for opt.RetentionDays, when the
// store can (Purger), after the run's lookups and saves: a run that was
// stopped, or whose store failed, leaves it to the next run. It counts the
// deletions in Summary.Purged; a failure is noted, never fatal.
func (r *runner) purge(ctx context.Context) {
	p, ok := r.store.(Purger)
	if !ok || r.opt.RetentionDays <= 0 || ctx.Err() != nil || r.first(StopStoreFailed) != nil {
		return
	}
	before := r.now.Add(-time.Duration(r.opt.RetentionDays) * 24 * time.Hour)
	for _, k := range r.metKinds() {
		n, err := p.Purge(ctx, k, before)
		r.sum.Purged += n
		if err != nil {
			r.log.Warn("deleting records past the retention failed; the next run tries again", "kind", k.Name(), "retention_days", r.opt.RetentionDays, "deleted", n, "error", err)
			r.note("retention: deleting %s records not refreshed since %s failed after %d: %v", k.Name(), before.UTC().Format(time.DateOnly), n, err)
			continue
		}
		if n > 0 {
			r.log.Info("deleted records past the retention", "kind", k.Name(), "deleted", n, "not_refreshed_since", before.UTC().Format(time.DateOnly), "retention_days", r.opt.RetentionDays)
		}
	}
}
