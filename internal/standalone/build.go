package standalone

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/wire"
)

// Build reads the secrets the configuration names (environment variables,
// the key file), registers them with log for redaction, builds the splunkd
// clients, and builds the run through the composition root (wire.Build),
// as the modular input does. No network request is sent.
func (c *Config) Build(ctx context.Context, log *slog.Logger) (*wire.Run, error) {
	deps, err := c.deps(log, true)
	if err != nil {
		return nil, err
	}
	run, err := wire.Build(ctx, &c.Config, deps)
	if err != nil {
		return nil, err
	}
	return run, nil
}

// deps returns what a run of c takes from standalone mode: the splunkd
// clients its source and store use, the browsers of its rules, and, when
// key is true and it enriches at VirusTotal, the API key.
func (c *Config) deps(log *slog.Logger, key bool) (wire.Deps, error) {
	d := wire.Deps{Logger: log, Secrets: logging.SecretsOf(log), IsBrowser: c.Rules.IsBrowser}
	var err error
	if c.Source.Type == SourceSplunk {
		if d.Search, err = c.splunkClient(c.Search, log); err != nil {
			return d, err
		}
	}
	if key && c.Enrich.Type == EnrichVirusTotal {
		if d.APIKey, err = c.apiKey(); err != nil {
			return d, err
		}
		d.Secrets.Add(d.APIKey)
	}
	if c.Store.Type == StoreKVStore {
		if d.KVStore, err = c.splunkClient(c.KVStore, log); err != nil {
			return d, err
		}
	}
	return d, nil
}

// Options returns the pipeline options of a run. Advice about what goes
// wrong speaks of this configuration (advise), never of Splunk's settings
// where no Splunk is involved.
func (c *Config) Options(log *slog.Logger) pipeline.Options {
	return wire.Options(&c.Config, wire.Deps{Logger: log})
}

// NewSource returns the candidate source.
func (c *Config) NewSource(log *slog.Logger) (pipeline.Source, error) {
	d := wire.Deps{Logger: log, IsBrowser: c.Rules.IsBrowser}
	if c.Source.Type == SourceSplunk {
		var err error
		if d.Search, err = c.splunkClient(c.Search, log); err != nil {
			return nil, err
		}
	}
	return wire.Source(&c.Config, d)
}

// OpenStore opens the record store. The embedded store of a run
// (localstore.Shared) locks the file only during each Get and Save;
// readOnly opens it shared with other readers, waiting for a run's
// transaction if need be, and fails if it does not exist yet.
func (c *Config) OpenStore(ctx context.Context, log *slog.Logger, readOnly bool) (pipeline.Store, io.Closer, error) {
	d := wire.Deps{Logger: log}
	if c.Store.Type == StoreKVStore {
		var err error
		if d.KVStore, err = c.splunkClient(c.KVStore, log); err != nil {
			return nil, nil, err
		}
	}
	return wire.OpenStore(ctx, &c.Config, d, readOnly)
}

func (c *Config) splunkClient(sc SplunkConn, log *slog.Logger) (*splunkd.Client, error) {
	cfg := splunkd.Config{BaseURL: sc.URL, Username: sc.Username, CAFile: sc.CAFile, App: sc.App, Logger: log, Secrets: logging.SecretsOf(log)}
	var err error
	if sc.TokenEnv != "" {
		cfg.Token, err = c.secretEnv(sc.key+".token_env", sc.TokenEnv, "a Splunk authentication token")
	} else {
		cfg.Password, err = c.secretEnv(sc.key+".password_env", sc.PasswordEnv, "the password of "+sc.Username)
	}
	if err != nil {
		return nil, err
	}
	cfg.Secrets.Add(cfg.Token, cfg.Password)
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
	if c.APIKeyFile != "" {
		yamlKey, from = "enrich.virustotal.api_key_file", c.APIKeyFile
		k, err := readKeyFile(c.APIKeyFile)
		if err != nil {
			return "", c.errorAt(yamlKey, "%v", err)
		}
		key = k
	} else {
		yamlKey, from = "enrich.virustotal.api_key_env", "environment variable "+c.APIKeyEnv
		key = strings.TrimSpace(os.Getenv(c.APIKeyEnv))
		if key == "" {
			return "", c.errorAt(yamlKey, "environment variable %s is not set or empty; set it to your VirusTotal API key, or use api_key_file, or enrich.type offline", c.APIKeyEnv)
		}
	}
	if !config.ValidAPIKey(key) {
		return "", c.errorAt(yamlKey, "%s %s", from, config.APIKeyRule)
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
func pathError(err error) error { return wire.PathError(err) }
