package standalone

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vtsync/vtsync/internal/budget"
	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/filesource"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/localstore"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/vt"
	"github.com/vtsync/vtsync/internal/wire"
)

// Runtime is what one run needs, built from a Config. Close releases the
// store.
type Runtime struct {
	Source   pipeline.Source
	Store    pipeline.Store
	Enricher enrich.Enricher
	Options  pipeline.Options
	closer   io.Closer
}

// Close closes the store.
func (r *Runtime) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Build reads the secrets the configuration names (environment variables,
// the key file), registers them with log for redaction, and builds the
// source, enricher, store and run options. No network request is sent.
func (c *Config) Build(ctx context.Context, log *logging.Logger) (*Runtime, error) {
	src, err := c.NewSource(log)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return nil, c.errorAt("state_dir", "cannot create %s: %v", c.StateDir, err)
	}
	enr, daily, err := c.newEnricher(log)
	if err != nil {
		return nil, err
	}
	store, closer, err := c.OpenStore(ctx, log, false)
	if err != nil {
		return nil, err
	}
	opt := c.Options(log)
	if daily != nil {
		opt.Budget = daily
	}
	return &Runtime{Source: src, Store: store, Enricher: enr, Options: opt, closer: closer}, nil
}

// Options returns the pipeline options of a run. Its messages speak of
// this configuration: its file, its store, its keys, never of Splunk's
// settings where no Splunk is involved.
func (c *Config) Options(log *logging.Logger) pipeline.Options {
	opt := pipeline.Options{
		Input:                c.Name,
		RefreshDays:          c.Params.RefreshDays,
		NotFoundRefreshHours: c.Params.NotFoundRefreshHours,
		NotFoundMaxHours:     c.Params.NotFoundMaxHours,
		YoungRefreshDays:     c.Params.YoungRefreshDays,
		RefreshJitterPercent: c.Params.RefreshJitterPercent,
		RetentionDays:        c.Params.RetentionDays,
		MaxConcurrency:       c.Params.MaxConcurrency,
		DailyLookupBudget:    c.Params.DailyLookupBudget,
		Lookups:              true, // one process per configuration: no cluster to elect from
		StateDir:             c.StateDir,
		Logger:               log,

		StateName:    c.StateDir + " (state_dir in " + c.File + ")",
		DeadlineHint: "raise max_run_seconds in " + c.File,
		OverlapHint:  "run less often (--every) or lower max_run_seconds in " + c.File,
	}
	switch c.Source.Type {
	case SourceFile:
		opt.SourceName = "the events file " + c.Source.Path
		if c.Source.Format == filesource.Domains {
			opt.SourceName = "the domain list " + c.Source.Path
		}
		opt.SourceHint = "check the file and source.file in " + c.File
	case SourceSplunk:
		opt.SourceName = "the search"
		opt.SourceHint = "check source.splunk.search in " + c.File + " and splunkd at " + c.Source.Splunk.URL
		opt.DeadlineHint += " or shorten source.splunk.earliest_time"
	}
	switch c.Store.Type {
	case StoreEmbedded:
		opt.StoreName = "the embedded store " + c.Store.Path
		opt.StoreHint = "check the disk of " + filepath.Dir(c.Store.Path) + " (space, permissions) and store.embedded.path in " + c.File
	case StoreKVStore:
		opt.StoreName = "the KV store collection " + c.Params.Collection
		opt.StoreHint = "check splunkd at " + c.Store.KVStore.URL + " (its KV store status) and store.kvstore.collection in " + c.File
	}
	switch {
	case c.Enrich.Type == EnrichOffline:
	case c.Enrich.APIKeyFile != "":
		opt.KeyHint = "put a valid key in " + c.Enrich.APIKeyFile + " (enrich.virustotal.api_key_file in " + c.File + ")"
	default:
		opt.KeyHint = "set environment variable " + c.Enrich.APIKeyEnv + " to a valid key (enrich.virustotal.api_key_env in " + c.File + ")"
	}
	return opt
}

// NewSource returns the candidate source.
func (c *Config) NewSource(log *logging.Logger) (pipeline.Source, error) {
	switch c.Source.Type {
	case SourceFile:
		if _, err := os.Stat(c.Source.Path); err != nil {
			return nil, c.errorAt("source.file.path", "%v", pathError(err))
		}
		s := &filesource.Source{Path: c.Source.Path, Format: c.Source.Format, Fields: c.Source.Fields,
			Domain: domainkind.Kind{}, IP: ipkind.Kind{}, File: filekind.Kind{}}
		if c.Source.SkipBrowsers {
			rules := c.Rules
			s.Exclude = func(e filesource.Event) bool { return rules.IsBrowser(e.Process) }
		}
		return s, nil
	case SourceSplunk:
		client, err := c.splunkClient(c.Source.Splunk, log)
		if err != nil {
			return nil, err
		}
		fields, err := wire.SearchFields(c.Params)
		if err != nil {
			return nil, c.paramError(err)
		}
		return &splunkd.SearchSource{
			Client: client, Search: c.Params.Search, EarliestTime: c.Params.EarliestTime,
			LatestTime: c.Params.LatestTime, Fields: fields,
		}, nil
	}
	return nil, fmt.Errorf("source.type %q is unknown", c.Source.Type)
}

// NewEnricher returns the enricher; for VirusTotal it reads the API key.
func (c *Config) NewEnricher(log *logging.Logger) (enrich.Enricher, error) {
	e, _, err := c.newEnricher(log)
	return e, err
}

// newEnricher returns the enricher and, for VirusTotal, the daily budget
// it spends, counted in the key's quota file in state_dir, which every
// process using the key shares.
func (c *Config) newEnricher(log *logging.Logger) (enrich.Enricher, *budget.Daily, error) {
	switch c.Enrich.Type {
	case EnrichOffline:
		if fi, err := os.Stat(c.Enrich.OfflineDir); err != nil || !fi.IsDir() {
			return nil, nil, c.errorAt("enrich.offline.dir", "%s is not a directory of saved VirusTotal responses", c.Enrich.OfflineDir)
		}
		return vt.Offline{Dir: c.Enrich.OfflineDir}, nil, nil
	case EnrichVirusTotal:
		key, err := c.apiKey()
		if err != nil {
			return nil, nil, err
		}
		log.Redact(key)
		for _, w := range c.Params.Warnings() {
			log.Warnf("%s", w)
		}
		cfg := vt.Config{
			APIKey: key, BaseURL: c.Params.VTAPIURL, RequestsPerMinute: c.Params.RequestsPerMinute,
			ProxyURL: c.Params.ProxyURL, MaxConns: c.Params.MaxConcurrency, Logger: log.Slog(), Secrets: log.Secrets(),
		}
		quota, err := wire.KeyQuota(c.StateDir, key, c.Params)
		if err != nil {
			return nil, nil, c.errorAt("state_dir", "%v", err)
		}
		if quota != nil {
			cfg.Pacer = quota
		}
		daily := wire.Budget(c.Params, quota)
		cfg.Budget = daily
		cfg.Hold = wire.QuotaHold(key, quota)
		e, err := vt.New(cfg)
		if err != nil {
			return nil, nil, c.errorAt("enrich.virustotal", "%s", logging.Scrub(err.Error(), key))
		}
		return e, daily, nil
	}
	return nil, nil, fmt.Errorf("enrich.type %q is unknown", c.Enrich.Type)
}

// paramError names the YAML key of a parameter error.
func (c *Config) paramError(err error) error {
	var pe *params.Error
	if errors.As(err, &pe) {
		if key, ok := paramKeys[pe.Param]; ok {
			return c.errorAt(key, "%s", pe.Msg)
		}
	}
	return err
}

// OpenStore opens the record store. The embedded store of a run
// (localstore.Shared) locks the file only during each Get and Save;
// readOnly opens it shared with other readers, waiting for a run's
// transaction if need be, and fails if it does not exist yet.
func (c *Config) OpenStore(_ context.Context, log *logging.Logger, readOnly bool) (pipeline.Store, io.Closer, error) {
	switch c.Store.Type {
	case StoreEmbedded:
		if readOnly {
			s, err := localstore.OpenReadOnly(c.Store.Path, func(msg string) { log.Infof("%s", msg) })
			if err != nil {
				return nil, nil, c.storeError(err)
			}
			return s, s, nil
		}
		// A run holds the file only during each Get and Save, so that
		// detect and export can read it while the run lasts.
		s, err := localstore.OpenShared(c.Store.Path)
		if err != nil {
			return nil, nil, c.storeError(err)
		}
		if s.SetAside != "" {
			log.Errorf("%s", s.SetAside)
		}
		return s, s, nil
	case StoreKVStore:
		client, err := c.splunkClient(c.Store.KVStore, log)
		if err != nil {
			return nil, nil, err
		}
		return client.Collections(wire.Collections(c.Params)), nil, nil
	}
	return nil, nil, fmt.Errorf("store.type %q is unknown", c.Store.Type)
}

// storeError names the key behind the embedded store's file: its own
// path, or state_dir when the file is in its default place there.
func (c *Config) storeError(err error) error {
	if _, set := c.lines["store.embedded.path"]; !set {
		return c.errorAt("state_dir", "the embedded store (by default in state_dir): %v", err)
	}
	return c.errorAt("store.embedded.path", "%v", err)
}

func (c *Config) splunkClient(sc SplunkConn, log *logging.Logger) (*splunkd.Client, error) {
	cfg := splunkd.Config{BaseURL: sc.URL, Username: sc.Username, CAFile: sc.CAFile, App: sc.App, Logger: log.Slog(), Secrets: log.Secrets()}
	var err error
	if sc.TokenEnv != "" {
		cfg.Token, err = c.secretEnv(sc.key+".token_env", sc.TokenEnv, "a Splunk authentication token")
	} else {
		cfg.Password, err = c.secretEnv(sc.key+".password_env", sc.PasswordEnv, "the password of "+sc.Username)
	}
	if err != nil {
		return nil, err
	}
	log.Redact(cfg.Token, cfg.Password)
	if sc.CAFile != "" {
		if err := checkCAFile(sc.CAFile); err != nil {
			return nil, c.errorAt(sc.caKey, "%v", err)
		}
	}
	client, err := splunkd.New(cfg)
	if err != nil {
		return nil, c.errorAt(sc.key+".url", "%v", err)
	}
	return client, nil
}

// checkCAFile checks that a CA file holds a PEM certificate, so that the
// error names the ca_file setting rather than the connection's URL.
func checkCAFile(path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return pathError(err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate; give the PEM file of the CA that signed splunkd's certificate", path)
	}
	return nil
}

func (c *Config) secretEnv(key, name, what string) (string, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return "", c.errorAt(key, "environment variable %s is not set or empty; set it to %s", name, what)
	}
	return v, nil
}

// maxKeyFile bounds the key file read: a key is under 200 bytes.
const maxKeyFile = 4096

// apiKey reads the VirusTotal key from its environment variable or file and
// checks its form with the modular input's rule.
func (c *Config) apiKey() (string, error) {
	var key, from, yamlKey string
	if c.Enrich.APIKeyFile != "" {
		yamlKey, from = "enrich.virustotal.api_key_file", c.Enrich.APIKeyFile
		k, err := readKeyFile(c.Enrich.APIKeyFile)
		if err != nil {
			return "", c.errorAt(yamlKey, "%v", err)
		}
		key = k
	} else {
		yamlKey, from = "enrich.virustotal.api_key_env", "environment variable "+c.Enrich.APIKeyEnv
		key = strings.TrimSpace(os.Getenv(c.Enrich.APIKeyEnv))
		if key == "" {
			return "", c.errorAt(yamlKey, "environment variable %s is not set or empty; set it to your VirusTotal API key, or use api_key_file, or enrich.type offline", c.Enrich.APIKeyEnv)
		}
	}
	if _, err := params.Parse(map[string]string{"api_key": key}); err != nil {
		var pe *params.Error
		if errors.As(err, &pe) && pe.Param == "api_key" {
			return "", c.errorAt(yamlKey, "%s %s", from, pe.Msg)
		}
		return "", err
	}
	return key, nil
}

// readKeyFile reads a key file that only its owner can read.
func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", pathError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("%s can be read by group or others (mode %04o); a key file must be private: run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return "", fmt.Errorf("%s is too large to be a key file; it must hold only the VirusTotal API key", path)
	}
	key, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	key = strings.TrimSpace(key)
	if key == "" {
		return "", fmt.Errorf("%s is empty; write your VirusTotal API key in it", path)
	}
	return key, nil
}

// pathError words a file error without Go's "open" prefix.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such file or directory", pe.Path)
		}
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
