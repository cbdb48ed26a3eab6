package splunkd

import (
	"context"
	"io"
	"log/slog"

	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/record"
)

// saveDomains saves domain records in a collection.
func saveDomains(k *KVStore, ctx context.Context, recs []record.Record) error {
	out := make([]kind.Record, len(recs))
	for i, r := range recs {
		out[i] = r
	}
	return k.Save(ctx, out)
}

// getDomains reads domain records from a collection.
func getDomains(k *KVStore, ctx context.Context, keys []string) (map[string]record.Record, error) {
	got, err := k.Get(ctx, domainkind.Kind{}, keys)
	if got == nil {
		return nil, err
	}
	out := make(map[string]record.Record, len(got))
	for key, r := range got {
		out[key] = r.(record.Record)
	}
	return out, err
}

// domainField is the search field of the domain kind.
func domainField(name string) []Field {
	return []Field{{Name: name, Param: "domain_field", Kind: domainkind.Kind{}}}
}

// testLogger writes records at lvl and above to w through the program's
// Handler, with a registry of its own that the client shares (see
// Config.Secrets).
func testLogger(w io.Writer, lvl slog.Level) *slog.Logger {
	return slog.New(logging.NewHandler(w, lvl, nil))
}
