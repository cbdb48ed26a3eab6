// Package modrun is the modular input's normal run: it reads splunkd's
// input definition, decodes each vtsync stanza's parameters into the run's
// typed settings (package config), prepares what the run takes from
// Splunk (key in storage/passwords, splunkd client, search head cluster
// role), builds the run through the composition root (wire.Build) and runs
// one sync per stanza, writing one vtsync:run summary event each.
package modrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/modinput"
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/wire"
)

const (
	// Scheme is the modular input scheme and binary name.
	Scheme = "vtsync"
	// Realm is the storage/passwords realm of the VirusTotal keys.
	Realm = "vtsync"
	// App is the app that owns the KV collection and the stored keys.
	App = "vtsync"
	// Sourcetype is the summary event's sourcetype.
	Sourcetype = "vtsync:run"
)

// transportFor, when set (tests), returns the transport that reaches the
// server at host instead of the network, or nil for the network.
var transportFor func(host string) http.RoundTripper

// httpClientFor returns the HTTP client for splunkd at uri: nil (the
// client's own) unless transportFor replaces the network.
func httpClientFor(uri string) *http.Client {
	if transportFor == nil {
		return nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil
	}
	if rt := transportFor(u.Host); rt != nil {
		return &http.Client{Transport: rt}
	}
	return nil
}

// vtTransport returns the VirusTotal transport transportFor gives for
// base, or nil for the network.
func vtTransport(base string) http.RoundTripper {
	if transportFor == nil {
		return nil
	}
	if u, err := url.Parse(base); err == nil {
		return transportFor(u.Host)
	}
	return nil
}

// vtTimeout bounds one VirusTotal request; 0 is vt.DefaultTimeout. Tests
// shorten it so that a hanging VirusTotal does not cost them 30 s.
var vtTimeout time.Duration

// Run reads the input definition from stdin, syncs every stanza, and
// writes the summary events to stdout. It returns the process exit code.
// log writes the process's log lines; secrets is its one registry of
// values never written (nil: log's Handler's), which the session key and
// every key a stanza uses join.
func Run(ctx context.Context, stdin io.Reader, stdout io.Writer, log *slog.Logger, secrets *logging.Secrets) int {
	log, secrets = logging.OrDefaults(log, secrets)
	def, err := modinput.ReadDefinition(stdin)
	if err != nil {
		log.Log(ctx, logging.LevelFatal, "cannot read the input definition on stdin", "err", err)
		return 1
	}
	secrets.Add(def.SessionKey)
	events := modinput.NewEventWriter(stdout)
	defer events.Close()
	code := 0
	ran := 0
	for _, st := range def.Stanzas {
		if st.Scheme() != Scheme {
			log.Warn("skipping a stanza of another scheme", "stanza", st.Name, "scheme", Scheme)
			continue
		}
		ran++
		sum := runStanza(ctx, def, st, logging.WithPrefix(log, "input="+st.InputName()), secrets)
		data, _ := json.Marshal(sum)
		if err := events.Write(modinput.Event{Stanza: st.Name, Time: time.Unix(sum.StartTime, 0), Sourcetype: Sourcetype, Data: string(data)}); err != nil {
			log.Error("cannot write the summary event", "err", err)
			code = 1
		}
		if sum.Status == "failed" {
			code = 1
		}
	}
	if ran == 0 {
		// Nothing to do is not a success: splunkd sends the stanzas it
		// runs, so an empty definition means something upstream is wrong.
		log.Error("no "+Scheme+":// stanza in the input definition; nothing synced", "test_with", "splunk cmd splunkd print-modinput-config "+Scheme+" "+Scheme+"://<name>")
		return 1
	}
	return code
}

// runStanza runs one input and always returns a summary, failed or not.
func runStanza(ctx context.Context, def *modinput.Definition, st modinput.Stanza, log *slog.Logger, secrets *logging.Secrets) (sum pipeline.Summary) {
	start := time.Now()
	name := st.InputName()
	// A key typed into the stanza is a secret before it is validated (it
	// may sit in the wrong parameter and be quoted by an error), and no
	// error in the summary event may carry a secret.
	if k := st.Params["api_key"]; strings.TrimSpace(k) != params.Mask {
		secrets.Add(k)
	}
	defer func() {
		for i, e := range sum.Errors {
			sum.Errors[i] = secrets.Scrub(e)
		}
	}()
	// fail logs a failed run briefly and returns its summary, whose
	// error says what to do.
	fail := func(format string, args ...any) pipeline.Summary {
		msg := fmt.Sprintf(format, args...)
		log.Error("run failed", "err", msg)
		return pipeline.Summary{Input: name, ServerHost: def.ServerHost, Status: "failed", StartTime: start.Unix(),
			Rejected: map[string]int{}, QuotaState: "ok", Errors: []string{msg},
			Duration: time.Since(start).Seconds()}
	}
	if strings.TrimSpace(def.CheckpointDir) == "" {
		// Without it there is no run lock, no journal of paid answers and
		// no daily budget count: a run would spend quota unaccounted.
		return fail("The input definition from splunkd has an empty <checkpoint_dir>, where %s://%s keeps its run lock, its journal of paid VirusTotal answers and its daily lookup budget; not running without it. splunkd always sends one: if you run the binary by hand, pass the output of `splunk cmd splunkd print-modinput-config %s %s://%s`.", Scheme, name, Scheme, Scheme, name)
	}
	cfg, err := Config(name, def.CheckpointDir, st.Params)
	if err != nil {
		return fail("Invalid configuration of %s://%s: %v. Fix it in Settings > Data inputs > vtsync.", Scheme, name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.MaxRunSeconds)*time.Second)
	defer cancel()

	client, err := splunkd.New(splunkd.Config{BaseURL: def.ServerURI, SessionKey: def.SessionKey, App: App, CAFile: cfg.Source.CAFile, Logger: log, Secrets: secrets, HTTPClient: httpClientFor(def.ServerURI)})
	if err != nil {
		return fail("Cannot set up the splunkd client for %s: %v", def.ServerURI, err)
	}
	key, err := apiKey(ctx, client, def, st, cfg, log, secrets)
	if err != nil {
		return fail("%v", err)
	}
	secrets.Add(key)

	lookups := true
	role := "standalone"
	switch roles, err := client.ServerRoles(ctx); {
	case err != nil && cfg.SHCLookup == "captain":
		// Fail closed: a cluster member that cannot tell whether it is the
		// captain must not spend quota the captain may be spending too.
		role, lookups = "unknown", false
		log.Warn("cannot read server roles; not looking up this run", "shc_lookup", cfg.SHCLookup, "err", err)
	case err != nil:
		log.Warn("cannot read server roles; looking up anyway", "shc_lookup", cfg.SHCLookup, "err", err)
	default:
		role, lookups = decideRole(roles, cfg.SHCLookup)
		log.Info("search head role", "role", role, "shc_lookup", cfg.SHCLookup, "lookups", lookups)
	}

	run, err := wire.Build(ctx, cfg, wire.Deps{Logger: log, Secrets: secrets, APIKey: key, Search: client, KVStore: client,
		VTTransport: vtTransport(cfg.Enrich.VTAPIURL), VTTimeout: vtTimeout, NoLookups: !lookups})
	if err != nil {
		return fail("Cannot set up the run of %s://%s: %v", Scheme, name, err)
	}
	defer run.Close()
	// pipeline.Run logs its error, which is also in sum.Errors; advise
	// says what to do about it and every other cause of trouble.
	sum, err = pipeline.Run(ctx, run.Options, run.Source, run.Store, run.Enricher)
	adviceWords{input: name, checkpointDir: def.CheckpointDir, maxRunSeconds: cfg.MaxRunSeconds, dailyBudget: cfg.Enrich.DailyLookupBudget}.advise(log, &sum, err)
	sum.Input, sum.ServerHost, sum.Role = name, def.ServerHost, role
	return sum
}

// Config decodes and validates an inputs.conf stanza's parameters, as a
// run of input name with checkpoint directory dir sees them: every
// problem at once, each naming its parameter.
func Config(name, dir string, raw map[string]string) (*config.Config, error) {
	cfg, err := config.FromInputs(name, dir, raw)
	cfg.Origin.Keys = map[string]string{"state_dir": "checkpoint_dir"}
	return cfg, err
}

// apiKey returns the stanza's VirusTotal key. A key typed into the stanza is
// moved to storage/passwords and the stanza value masked; a masked or empty
// stanza reads it back from storage/passwords.
func apiKey(ctx context.Context, c *splunkd.Client, def *modinput.Definition, st modinput.Stanza, cfg *config.Config, log *slog.Logger, secrets *logging.Secrets) (string, error) {
	name := st.InputName()
	if k := cfg.Enrich.APIKey; k != "" && k != params.Mask {
		if err := c.SetPassword(ctx, Realm, name, k); err != nil {
			return "", fmt.Errorf("cannot store the VirusTotal key of input %s in storage/passwords (realm %s): %v; check that splunkd is up and the input's owner may write passwords", name, Realm, err)
		}
		app := st.App
		if app == "" {
			app = App
		}
		mc, err := splunkd.New(splunkd.Config{BaseURL: def.ServerURI, SessionKey: def.SessionKey, App: app, CAFile: cfg.Source.CAFile, Logger: log, Secrets: secrets, HTTPClient: httpClientFor(def.ServerURI)})
		if err == nil {
			err = mc.MaskInputParam(ctx, Scheme, name, "api_key")
		}
		if err != nil {
			log.Warn("key stored in storage/passwords, but api_key not masked in inputs.conf; retrying next run", "err", err)
		} else {
			log.Info("moved the VirusTotal key to storage/passwords and masked api_key", "realm", Realm, "user", name)
		}
		return k, nil
	}
	key, found, err := c.Password(ctx, Realm, name)
	if err != nil {
		return "", fmt.Errorf("cannot read the VirusTotal key of input %s from storage/passwords: %v", name, err)
	}
	if !found || key == "" {
		return "", fmt.Errorf("no VirusTotal key for input %s: enter api_key in Settings > Data inputs > vtsync > %s (it is moved to storage/passwords, realm %s, user %s, on the next run)", name, name, Realm, name)
	}
	return key, nil
}

// decideRole maps splunkd's server_roles to this member's role and whether
// it may spend VirusTotal quota under the shc_lookup policy.
func decideRole(roles []string, policy string) (role string, lookups bool) {
	switch {
	case slices.Contains(roles, "shc_captain"):
		return "shc_captain", true
	case slices.Contains(roles, "shc_member"):
		return "shc_member", policy == "all"
	}
	return "standalone", true
}
