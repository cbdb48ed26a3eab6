package wire_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vtsync/vtsync/internal/budget"
	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/modrun"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/standalone"
	"github.com/vtsync/vtsync/internal/vt"
	"github.com/vtsync/vtsync/internal/vttest"
	"github.com/vtsync/vtsync/internal/wire"
)

// One run, written once as an inputs.conf stanza and once as the
// standalone YAML: both decoders give the same typed configuration, and
// the composition root builds the same stages and options from it,
// whichever of the modular input and the CLI asks.
func TestInputsAndYAMLBuildTheSameRun(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	raw := map[string]string{
		"search": "index=sysmon EventCode=3", "earliest_time": "-1h", "latest_time": "-5m",
		"domain_field": "dest_host", "ip_field": "dest_ip", "hash_field": "Hashes", "collection": "my_domains",
		"vt_api_url": "https://vt.example.org/api/v3/", "requests_per_minute": "600", "daily_lookup_budget": "2000",
		"max_concurrency": "8", "refresh_days": "3", "not_found_refresh_hours": "12", "not_found_max_hours": "96",
		"young_refresh_days": "5", "refresh_jitter_percent": "20", "retention_days": "60", "shc_lookup": "all",
		"max_run_seconds": "600", "interval": "900", "index": "main",
	}
	yml := `name: default
state_dir: ` + state + `
refresh_days: 3
not_found_refresh_hours: 12
not_found_max_hours: 96
young_refresh_days: 5
refresh_jitter_percent: 20
retention_days: 60
max_run_seconds: 600
source:
  splunk:
    url: https://127.0.0.1:8089
    token_env: WIRE_TEST_TOKEN
    search: index=sysmon EventCode=3
    earliest_time: -1h
    latest_time: -5m
    domain_field: dest_host
    ip_field: dest_ip
    hash_field: Hashes
enrich:
  virustotal:
    api_key_env: WIRE_TEST_VT_KEY
    vt_api_url: https://vt.example.org/api/v3/
    requests_per_minute: 600
    daily_lookup_budget: 2000
    max_concurrency: 8
store:
  kvstore:
    collection: my_domains
`
	path := filepath.Join(dir, "vtsync.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WIRE_TEST_TOKEN", "splunk-token-0123456789")
	t.Setenv("WIRE_TEST_VT_KEY", vttest.APIKey)

	fromInputs, err := modrun.Config("default", state, raw)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := standalone.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// The settings are the same; only where they were written differs
	// (and the YAML's shc_lookup, which standalone mode has no use for).
	a, b := *fromInputs, fromYAML.Config
	a.Origin, b.Origin = config.Origin{}, config.Origin{}
	b.SHCLookup = "all"
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the decoders disagree:\ninputs.conf %+v\nYAML        %+v", a, b)
	}

	log := slog.New(slog.DiscardHandler)
	client, err := splunkd.New(splunkd.Config{BaseURL: "https://127.0.0.1:8089", SessionKey: "session-key-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := wire.Build(context.Background(), fromInputs, wire.Deps{Logger: log, APIKey: vttest.APIKey, Search: client, KVStore: client})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	cli, err := fromYAML.Build(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	// The options: the same policy, budget and state.
	strip := func(o pipeline.Options) pipeline.Options {
		o.Logger, o.Budget = nil, nil
		return o
	}
	if mo, co := strip(mod.Options), strip(cli.Options); !reflect.DeepEqual(mo, co) {
		t.Errorf("options differ:\nmodular input %+v\nCLI           %+v", mo, co)
	}
	want := pipeline.Options{Input: "default", RefreshDays: 3, NotFoundRefreshHours: 12, NotFoundMaxHours: 96,
		YoungRefreshDays: 5, RefreshJitterPercent: 20, RetentionDays: 60, MaxConcurrency: 8, DailyLookupBudget: 2000,
		Lookups: true, StateDir: state}
	if got := strip(mod.Options); !reflect.DeepEqual(got, want) {
		t.Errorf("options %+v, want %+v", got, want)
	}
	limit := func(b pipeline.Budget) int {
		d, _ := b.(*budget.Daily)
		if d == nil {
			return -1
		}
		return d.Limit()
	}
	if limit(mod.Options.Budget) != 2000 || limit(cli.Options.Budget) != 2000 {
		t.Errorf("budgets %v %v, want both of 2000 a day", mod.Options.Budget, cli.Options.Budget)
	}

	// The stages: one search with the same fields per kind, the VT
	// enricher, the KV collections.
	ms, ok1 := mod.Source.(*splunkd.SearchSource)
	cs, ok2 := cli.Source.(*splunkd.SearchSource)
	if !ok1 || !ok2 {
		t.Fatalf("sources %T and %T, want *splunkd.SearchSource", mod.Source, cli.Source)
	}
	if ms.Search != "search index=sysmon EventCode=3" || ms.Search != cs.Search || ms.EarliestTime != cs.EarliestTime ||
		ms.LatestTime != cs.LatestTime || !reflect.DeepEqual(ms.Fields, cs.Fields) || len(ms.Fields) != 3 {
		t.Errorf("searches differ:\nmodular input %+v\nCLI           %+v", *ms, *cs)
	}
	if _, ok := mod.Enricher.(*vt.Enricher); !ok {
		t.Errorf("modular input enricher %T", mod.Enricher)
	}
	if _, ok := cli.Enricher.(*vt.Enricher); !ok {
		t.Errorf("CLI enricher %T", cli.Enricher)
	}
	if _, ok := mod.Store.(*splunkd.Collections); !ok {
		t.Errorf("modular input store %T", mod.Store)
	}
	if _, ok := cli.Store.(*splunkd.Collections); !ok {
		t.Errorf("CLI store %T", cli.Store)
	}
}

// Build refuses what it cannot build, naming the setting as its origin
// wrote it.
func TestBuildErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.StateDir = dir
	cfg.Source = config.Source{Type: config.SourceFile, File: config.FileSource{Path: filepath.Join(dir, "missing.ndjson")}}
	cfg.Enrich.Type, cfg.Enrich.OfflineDir = config.EnrichOffline, dir
	cfg.Store = config.Store{Type: config.StoreEmbedded, Path: filepath.Join(dir, "vtsync.db")}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Origin = config.Origin{File: "c.yaml", Lines: map[string]int{"source": 3, "source.file": 4, "source.file.path": 5}}
	_, err := wire.Build(context.Background(), cfg, wire.Deps{})
	if want := "c.yaml:5: source.file.path: " + filepath.Join(dir, "missing.ndjson") + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	// A search without a splunkd client is a wiring mistake, not the
	// user's: it says which dependency is missing.
	cfg = config.Default()
	if _, err := wire.Build(context.Background(), cfg, wire.Deps{}); err == nil {
		t.Error("a search source built without a splunkd client")
	}
}
