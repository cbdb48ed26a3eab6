package localstore

import (
	"context"

	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"github.com/vtsync/vtsync/internal/record"
)

// kindStore is what a run asks of the store.
type kindStore interface {
	Get(ctx context.Context, k kind.Kind, keys []string) (map[string]kind.Record, error)
	Save(ctx context.Context, k kind.Kind, recs []kind.Record) error
}

// saveDomains saves domain records as a run does.
func saveDomains(s kindStore, ctx context.Context, recs []record.Record) error {
	out := make([]kind.Record, len(recs))
	for i, r := range recs {
		out[i] = r
	}
	return s.Save(ctx, domainkind.Kind{}, out)
}

// getDomains reads domain records as a run does.
func getDomains(s kindStore, ctx context.Context, keys []string) (map[string]record.Record, error) {
	got, err := s.Get(ctx, domainkind.Kind{}, keys)
	if got == nil {
		return nil, err
	}
	out := make(map[string]record.Record, len(got))
	for k, r := range got {
		out[k] = r.(record.Record)
	}
	return out, err
}
