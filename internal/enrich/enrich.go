// Package enrich defines the enrichment stage's contract: turning one
// registered domain into a KV record, and the errors that tell the pipeline
// to stop looking up.
package enrich

import (
	"context"
	"errors"

	"github.com/vtsync/vtsync/internal/record"
)

// Enricher looks up one registered domain. A domain the source does not
// know yields a negative record (record.NotFound) and a nil error.
// Implementations are safe for concurrent use and honour ctx.
type Enricher interface {
	Enrich(ctx context.Context, domain string) (record.Record, error)
}

// Counter is implemented by enrichers that count the API requests they
// sent (retries included), for the run summary.
type Counter interface {
	Calls() int64
}

var (
	// ErrQuotaExceeded means the key's quota is spent: stop looking up for
	// this run and keep everything already fetched.
	ErrQuotaExceeded = errors.New("VirusTotal quota exceeded")
	// ErrUnauthorized means the key was rejected: stop at once.
	ErrUnauthorized = errors.New("VirusTotal rejected the API key")
)

// Func adapts a function to Enricher.
type Func func(ctx context.Context, domain string) (record.Record, error)

// Enrich calls f.
func (f Func) Enrich(ctx context.Context, domain string) (record.Record, error) {
	return f(ctx, domain)
}
