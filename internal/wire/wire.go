// Package wire is the composition root of a run: from one validated
// config.Config and the dependencies of where it runs (the resolved API
// key, the splunkd clients, the logger, transports) it builds the source,
// the enricher, the store and the pipeline's options, so that the modular
// input and the standalone CLI build a run alike.
package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/vtsync/vtsync/internal/budget"
	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/keyquota"
	"github.com/vtsync/vtsync/internal/kind"
	_ "github.com/vtsync/vtsync/internal/kind/all" // registers every kind
	"github.com/vtsync/vtsync/internal/localstore"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/version"
	"github.com/vtsync/vtsync/internal/vt"
)

// Deps are what a run takes from where it runs, never from its
// configuration or its context.
type Deps struct {
	// Logger writes the run's log lines (nil: none); Secrets is the
	// process's one registry of values never written (nil: the logger's
	// Handler's, or one of the run's own). The resolved key joins it.
	Logger  *slog.Logger
	Secrets *logging.Secrets
	// APIKey is the VirusTotal key (EnrichVirusTotal), already resolved:
	// from storage/passwords, or from an environment variable or key file.
	APIKey string
	// Search is the client of the splunkd that runs the search
	// (SourceSearch); KVStore the client of the KV store (StoreKVStore).
	// They may be the same.
	Search  *splunkd.Client
	KVStore *splunkd.Client
	// VTTransport, if set, replaces the network for VirusTotal (tests);
	// VTTimeout bounds one request (0: vt.DefaultTimeout).
	VTTransport http.RoundTripper
	VTTimeout   time.Duration
	// IsBrowser reports whether a process is one of the detection's
	// browsers, whose network events a file source with SkipBrowsers
	// leaves out.
	IsBrowser func(process string) bool
	// NoLookups: this process must not spend quota (a search head cluster
	// member that is not the captain); the run still replays its journal
	// and reports.
	NoLookups bool
}

// Run is one run's stages and options. Close releases what Build opened.
type Run struct {
	Source   pipeline.Source
	Enricher enrich.Enricher
	Store    pipeline.Store
	Options  pipeline.Options
	closer   io.Closer
}

// Close releases the store.
func (r *Run) Close() error {
	if r == nil || r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Build builds the stages of a run of cfg, which Validate has passed. It
// sends no network request; it creates the state directory and opens the
// embedded store. Errors name the setting at fault, placed by cfg.Origin.
func Build(ctx context.Context, cfg *config.Config, deps Deps) (*Run, error) {
	deps = deps.defaults()
	log := deps.Logger
	src, err := Source(cfg, deps)
	if err != nil {
		return nil, err
	}
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, cfg.Errorf("state_dir", "cannot create %s: %v", cfg.StateDir, err)
		}
	}
	opt := Options(cfg, deps)
	enr, daily, err := Enricher(cfg, deps)
	if err != nil {
		return nil, err
	}
	if daily != nil {
		opt.Budget = daily
	}
	store, closer, err := OpenStore(ctx, cfg, deps, false)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w.Msg, w.Args...)
	}
	return &Run{Source: src, Enricher: enr, Store: store, Options: opt, closer: closer}, nil
}

// defaults fills in a logger that writes nothing and the secrets registry.
func (d Deps) defaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Secrets == nil {
		d.Secrets = logging.SecretsOf(d.Logger)
	}
	if d.Secrets == nil {
		d.Secrets = logging.NewSecrets()
	}
	return d
}

// Options returns the pipeline options of a run of cfg: the refresh and
// retention policy, concurrency, budget, state directory. The run's
// messages give no advice: the edge that runs it advises from its Stops.
func Options(cfg *config.Config, deps Deps) pipeline.Options {
	deps = deps.defaults()
	opt := pipeline.Options{
		Input:                cfg.Name,
		RefreshDays:          cfg.RefreshDays,
		NotFoundRefreshHours: cfg.NotFoundRefreshHours,
		NotFoundMaxHours:     cfg.NotFoundMaxHours,
		YoungRefreshDays:     cfg.YoungRefreshDays,
		RefreshJitterPercent: cfg.RefreshJitterPercent,
		RetentionDays:        cfg.RetentionDays,
		MaxConcurrency:       cfg.Enrich.MaxConcurrency,
		Lookups:              !deps.NoLookups,
		StateDir:             cfg.StateDir,
		Logger:               deps.Logger,
	}
	if cfg.Enrich.Type == config.EnrichVirusTotal {
		opt.DailyLookupBudget = cfg.Enrich.DailyLookupBudget
	}
	return opt
}

// Source returns the candidate source of cfg.
func Source(cfg *config.Config, deps Deps) (pipeline.Source, error) {
	deps = deps.defaults()
	switch s := cfg.Source; s.Type {
	case config.SourceFile:
		if _, err := os.Stat(s.File.Path); err != nil {
			return nil, cfg.Errorf("source.file.path", "%v", PathError(err))
		}
		k := kinds()
		src := &filesource.Source{Path: s.File.Path, Format: s.File.Format, Fields: s.File.Fields,
			Domain: k["domain"], IP: k["ip"], File: k["file"]}
		if s.File.SkipBrowsers && deps.IsBrowser != nil {
			src.Exclude = func(e filesource.Event) bool { return deps.IsBrowser(e.Process) }
		}
		return src, nil
	case config.SourceSearch:
		if deps.Search == nil {
			return nil, errors.New("wire: a search source needs the splunkd client (Deps.Search)")
		}
		fields, err := SearchFields(cfg)
		if err != nil {
			return nil, err
		}
		return &splunkd.SearchSource{Client: deps.Search, Search: s.Search, EarliestTime: s.EarliestTime,
			LatestTime: s.LatestTime, Fields: fields}, nil
	}
	return nil, cfg.Errorf("source.type", "%q is unknown", cfg.Source.Type)
}

func kinds() map[string]kind.Kind {
	out := map[string]kind.Kind{}
	for _, k := range kind.All() {
		out[k.Name()] = k
	}
	return out
}

// SearchFields returns the result fields a search feeds, one per kind
// whose field parameter is set, in parameter order.
func SearchFields(cfg *config.Config) ([]splunkd.Field, error) {
	var out []splunkd.Field
	var names []string
	for _, k := range kind.ByParam() {
		p := k.Param().Name
		names = append(names, p)
		if field := cfg.Source.Fields[k.Name()]; field != "" {
			out = append(out, splunkd.Field{Name: field, Param: p, Kind: k})
		}
	}
	if len(out) == 0 {
		if len(names) == 0 {
			return nil, errors.New("wire: this build of vtsync has no indicator kind")
		}
		return nil, cfg.Errorf(names[0], "is empty and %s: nothing would be looked up", params.NoneSet(names[1:]))
	}
	return out, nil
}

// Collections returns the KV collection of each kind that cfg names
// instead of the kind's own: the domain kind's is the collection
// parameter.
func Collections(cfg *config.Config) map[string]string {
	return map[string]string{"domain": cfg.Store.Collection}
}

// Enricher returns the enricher of cfg and, for VirusTotal, the daily
// budget it spends, counted in the key's quota file in the state
// directory, which every process using the key shares.
func Enricher(cfg *config.Config, deps Deps) (enrich.Enricher, *budget.Daily, error) {
	deps = deps.defaults()
	switch e := cfg.Enrich; e.Type {
	case config.EnrichOffline:
		if fi, err := os.Stat(e.OfflineDir); err != nil || !fi.IsDir() {
			return nil, nil, cfg.Errorf("enrich.offline.dir", "%s is not a directory of saved VirusTotal responses", e.OfflineDir)
		}
		return vt.Offline{Dir: e.OfflineDir}, nil, nil
	case config.EnrichVirusTotal:
		if deps.APIKey == "" {
			return nil, nil, cfg.Errorf("api_key", "no VirusTotal key")
		}
		deps.Secrets.Add(deps.APIKey)
		// One pace and one daily count for the key, whichever inputs use it.
		quota, err := KeyQuota(cfg.StateDir, deps.APIKey, cfg)
		if err != nil {
			return nil, nil, cfg.Errorf("state_dir", "cannot keep the VirusTotal key's quota: %v", err)
		}
		vc := vt.Config{APIKey: deps.APIKey, BaseURL: e.VTAPIURL, RequestsPerMinute: e.RequestsPerMinute,
			MaxConns: e.MaxConcurrency, Timeout: deps.VTTimeout, Transport: deps.VTTransport, ProxyURL: e.ProxyURL,
			Agent: "vtsync/" + version.Version, Logger: deps.Logger, Secrets: deps.Secrets}
		if quota != nil {
			vc.Pacer = quota
		}
		daily := Budget(cfg, quota)
		vc.Budget = daily
		vc.Hold = QuotaHold(deps.APIKey, quota)
		enr, err := vt.New(vc)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot set up the VirusTotal client: %w", deps.Secrets.ScrubError(err))
		}
		return enr, daily, nil
	}
	return nil, nil, cfg.Errorf("enrich.type", "%q is unknown", cfg.Enrich.Type)
}

// KeyQuota returns the API key's shared quota (pace and daily count) kept
// in dir, or nil without a dir: then the input paces and counts alone.
func KeyQuota(dir, apiKey string, cfg *config.Config) (*keyquota.Key, error) {
	if dir == "" {
		return nil, nil
	}
	interval, burst := vt.Pacing(cfg.Enrich.RequestsPerMinute)
	return keyquota.Open(dir, apiKey, interval, burst)
}

// Budget returns the daily lookup budget of cfg (daily_lookup_budget),
// counted in quota, the key's file that every input using the key shares,
// or in memory for one run without one. The VT enricher is built with it
// and spends it before each request; the run reports it.
func Budget(cfg *config.Config, quota *keyquota.Key) *budget.Daily {
	if quota == nil {
		return budget.New(cfg.Enrich.DailyLookupBudget, nil, nil)
	}
	return budget.New(cfg.Enrich.DailyLookupBudget, quota, nil)
}

// OpenStore opens the record store of cfg. The embedded store of a run
// (localstore.Shared) locks the file only during each Get and Save;
// readOnly opens it shared with other readers, waiting for a run's
// transaction if need be, and fails if it does not exist yet.
func OpenStore(_ context.Context, cfg *config.Config, deps Deps, readOnly bool) (pipeline.Store, io.Closer, error) {
	log := deps.defaults().Logger
	switch cfg.Store.Type {
	case config.StoreEmbedded:
		if readOnly {
			s, err := localstore.OpenReadOnly(cfg.Store.Path, func(msg string) { log.Info("waiting for the embedded store", "detail", msg) })
			if err != nil {
				return nil, nil, storeError(cfg, err)
			}
			return s, s, nil
		}
		s, err := localstore.OpenShared(cfg.Store.Path)
		if err != nil {
			return nil, nil, storeError(cfg, err)
		}
		if s.SetAside != "" {
			log.Error("embedded store damaged, set aside", "detail", s.SetAside)
		}
		return s, s, nil
	case config.StoreKVStore:
		if deps.KVStore == nil {
			return nil, nil, errors.New("wire: a KV store needs the splunkd client (Deps.KVStore)")
		}
		return deps.KVStore.Collections(Collections(cfg)), nil, nil
	}
	return nil, nil, cfg.Errorf("store.type", "%q is unknown", cfg.Store.Type)
}

// storeError names the key behind the embedded store's file: its own
// path, or state_dir when the file is in its default place there.
func storeError(cfg *config.Config, err error) error {
	if !cfg.Origin.Has("store.embedded.path") {
		return cfg.Errorf("state_dir", "the embedded store (by default in state_dir): %v", err)
	}
	return cfg.Errorf("store.embedded.path", "%v", err)
}

// PathError words a file error without Go's "open" prefix.
func PathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such file or directory", pe.Path)
		}
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

// QuotaHold returns the API key's quota hold: kept in quota, the key's
// file that every input using the key shares, or in this process's memory
// without one. The VT enricher is built with it.
func QuotaHold(apiKey string, quota *keyquota.Key) vt.QuotaHold {
	if quota == nil {
		return keyquota.InMemory(apiKey)
	}
	return quota
}
