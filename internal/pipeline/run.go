package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vtsync/vtsync/internal/domain"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/record"
)

// Run performs one sync. It returns a non-nil error only when the run
// failed (Summary.Status "failed").
func Run(ctx context.Context, opt Options, src Source, store Store, enr enrich.Enricher) (Summary, error) {
	opt = withDefaults(opt)
	started := time.Now()
	now := opt.Now()
	sum := Summary{Input: opt.Input, StartTime: now.Unix(), Rejected: map[string]int{}, QuotaState: "ok", BudgetLimit: opt.DailyLookupBudget}

	seen := map[string]struct{}{}
	var order []string
	srcErr := src.Candidates(ctx, func(v string) error {
		sum.Candidates++
		d, reason := domain.Normalize(v)
		if reason != "" {
			sum.Rejected[string(reason)]++
			sum.RejectedTotal++
			return nil
		}
		if _, ok := seen[d]; !ok {
			seen[d] = struct{}{}
			order = append(order, d)
		}
		return nil
	})
	if srcErr != nil {
		sum.Errors = append(sum.Errors, "search: "+srcErr.Error())
	}
	sum.Distinct = len(order)

	var due []string
	for i := 0; i < len(order); i += 1000 {
		chunk := order[i:min(i+1000, len(order))]
		got, err := store.Get(ctx, chunk)
		if err != nil {
			sum.Errors = append(sum.Errors, "freshness check: "+err.Error())
			due = append(due, chunk...)
			continue
		}
		for _, d := range chunk {
			if r, ok := got[d]; ok && r.Fresh(now.Unix(), opt.RefreshDays, opt.NotFoundRefreshHours) {
				sum.Fresh++
			} else {
				due = append(due, d)
			}
		}
	}
	sum.Due = len(due)

	var batch []record.Record
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := store.Save(context.WithoutCancel(ctx), batch); err != nil {
			sum.Errors = append(sum.Errors, "save: "+err.Error())
		} else {
			sum.KVWrites += len(batch)
		}
		batch = batch[:0]
	}
	var runErr error
	for _, d := range due {
		if !opt.Lookups || ctx.Err() != nil || (opt.DailyLookupBudget > 0 && sum.LookedUp >= opt.DailyLookupBudget) {
			break
		}
		sum.LookedUp++
		rec, err := enr.Enrich(ctx, d)
		switch {
		case err == nil:
			if rec.VTFound {
				sum.Found++
			} else {
				sum.NotFound++
			}
			batch = append(batch, rec)
			if len(batch) >= opt.BatchSize {
				flush()
			}
			continue
		case errors.Is(err, enrich.ErrUnauthorized):
			sum.QuotaState = "key_rejected"
			runErr = fmt.Errorf("input %s: %w: check api_key", opt.Input, err)
		case errors.Is(err, enrich.ErrQuotaExceeded):
			sum.QuotaState = "quota_exceeded"
		}
		sum.Failed++
		if runErr != nil || sum.QuotaState != "ok" {
			break
		}
	}
	flush()
	sum.Deferred = sum.Due - sum.LookedUp
	if sum.Distinct > 0 {
		sum.CacheHitRate = float64(sum.Fresh) / float64(sum.Distinct)
	}
	sum.Duration = time.Since(started).Seconds()
	switch {
	case runErr != nil:
		sum.Status = "failed"
	case !opt.Lookups:
		sum.Status = "skipped"
	case len(sum.Errors) > 0 || sum.Deferred > 0:
		sum.Status = "partial"
	default:
		sum.Status = "ok"
	}
	return sum, runErr
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
	if opt.BatchSize <= 0 || opt.BatchSize > 1000 {
		opt.BatchSize = 1000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = logging.Discard()
	}
	return opt
}
