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
	if !ok || r.opt.RetentionDays <= 0 || ctx.Err() != nil || r.storeBad.Load() {
		return
	}
	before := r.now.Add(-time.Duration(r.opt.RetentionDays) * 24 * time.Hour)
	n, err := p.Purge(ctx, before)
	r.sum.Purged += n
	if err != nil {
		r.log.Warnf("Input %s: deleting records not refreshed for %d days (retention_days) failed after %d: %v; the next run tries again", r.opt.Input, r.opt.RetentionDays, n, err)
		r.note("retention: deleting records not refreshed since %s failed after %d: %v", before.UTC().Format(time.DateOnly), n, err)
		return
	}
	if n > 0 {
		r.log.Infof("Input %s: deleted %d records not refreshed since %s (retention_days = %d)", r.opt.Input, n, before.UTC().Format(time.DateOnly), r.opt.RetentionDays)
	}
}
