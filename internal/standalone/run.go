package standalone

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/detect"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/localstore"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/termtext"
)

// RunOnce performs one sync with cfg: it builds the stages, runs the
// pipeline under the max_run_seconds deadline and closes the store. When
// ctx is cancelled (SIGINT, SIGTERM) the run stops looking up, stores what
// it fetched and returns. progress, if not nil, is called as lookups
// finish. The error is non-nil when the run failed; it has been logged.
func RunOnce(ctx context.Context, cfg *Config, log *slog.Logger, progress func(done, total int)) (pipeline.Summary, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.MaxRunSeconds)*time.Second)
	defer cancel()
	rt, err := cfg.Build(ctx, log)
	if err != nil {
		log.Error("run failed", "err", err)
		return pipeline.Summary{
			Input: cfg.Name, Status: "failed", StartTime: start.Unix(), Rejected: map[string]int{},
			QuotaState: "ok", Errors: []string{err.Error()}, Duration: time.Since(start).Seconds(),
		}, err
	}
	defer rt.Close()
	rt.Options.Progress = progress
	sum, err := pipeline.Run(ctx, rt.Options, rt.Source, rt.Store, rt.Enricher)
	cfg.advise(log, &sum, err)
	return sum, err
}

// RunEvery syncs with cfg every interval until ctx is done, then returns
// nil. Runs never overlap: a run that takes longer than interval is
// followed at once by the next. Each run opens and closes the store, so
// that detect and export can read the embedded store between runs.
// onSummary, if not nil, receives each run's summary and error; a failed
// run does not stop the schedule.
func RunEvery(ctx context.Context, cfg *Config, interval time.Duration, log *slog.Logger, progress func(done, total int), onSummary func(pipeline.Summary, error)) error {
	if interval <= 0 {
		return fmt.Errorf("run interval %v: must be positive, such as 15m", interval)
	}
	for {
		start := time.Now()
		sum, err := RunOnce(ctx, cfg, log, progress)
		if onSummary != nil {
			onSummary(sum, err)
		}
		wait := interval - time.Since(start)
		if ctx.Err() != nil {
			return nil
		}
		log.Info("next run", "in", max(wait, 0).Round(time.Second))
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// DetectOptions are vtsync detect's flags.
type DetectOptions struct {
	Events    []string          // events files; none = the configured file source
	Format    filesource.Format // of Events; "" = by extension
	KeepClear bool              // list the indicators no rule flagged too, with the reasons (--all)
	// Kinds are the detections to run (detect.Kinds); none = every
	// detection the events feed.
	Kinds []string
}

// DetectResult is what Detect found: the findings, what was dropped on the
// way, and the detections that ran.
type DetectResult struct {
	Findings []detect.Finding
	Stats    detect.Stats
	Kinds    []string // the detections run, in detect.Kinds order
}

// usageError is a problem with the flags or the configuration, found
// before anything was done (exit code ExitUsage).
type usageError struct{ error }

// Detect runs the detections over events files and the configured store:
// opt.Events (read with the default field names of every kind, in that
// order) replace the configuration's file source, which is read with its
// own field names, for the kinds it names. It returns the findings and
// what was dropped on the way.
func Detect(ctx context.Context, cfg *Config, opt DetectOptions, log *slog.Logger) (DetectResult, error) {
	// Another events file than the configured one has its own field names:
	// it is read with the default ones, of every kind.
	fields := filesource.Fields{AllKinds: true}
	paths, format := opt.Events, opt.Format
	run := map[string]bool{}
	for _, k := range detect.Kinds {
		run[k] = len(opt.Kinds) == 0 || slices.Contains(opt.Kinds, k)
	}
	switch {
	case len(paths) > 0:
	case cfg.Source.Type == SourceFile && cfg.Source.File.Format != filesource.Domains:
		paths, fields = []string{cfg.Source.File.Path}, cfg.Source.File.Fields
		if format == "" {
			format = cfg.Source.File.Format
		}
		// The configured file is read for the kinds it is configured for.
		for _, c := range []struct {
			kind, key, example string
			off                bool
		}{
			{detect.KindDomain, "source.file.domain_field", "", fields.NoDomain},
			{detect.KindIP, "source.file.ip_field", "DestinationIp", fields.IP == ""},
			{detect.KindFile, "source.file.hash_field", "Hashes", fields.Hash == ""},
		} {
			switch {
			case !c.off || !run[c.kind]:
			case len(opt.Kinds) > 0 && c.kind == detect.KindDomain:
				return DetectResult{}, usageError{cfg.errorAt(c.key, "is empty, so %s gives no domains to the domain detection (--kind domain); unset it, or pass --events FILE", cfg.Source.File.Path)}
			case len(opt.Kinds) > 0:
				return DetectResult{}, usageError{cfg.errorAt(c.key, "is not set, so %s gives nothing to the %s detection (--kind %s); set it to the field that holds them, such as %s, or pass --events FILE", cfg.Source.File.Path, kindWords[c.kind], c.kind, c.example)}
			default:
				run[c.kind] = false
				log.Debug("detection not run", "detection", kindWords[c.kind], "unset", c.key)
			}
		}
	default:
		return DetectResult{}, usageError{errors.New("detect needs events (hosts, processes, times): pass --events FILE, an NDJSON or CSV export; the configured source gives domains only")}
	}
	d := detect.New(cfg.Rules)
	d.KeepClear = opt.KeepClear
	for _, path := range paths {
		read, err := filesource.Read(ctx, path, format, fields, func(e filesource.Event) error {
			if run[cmp.Or(e.Kind, detect.KindDomain)] {
				d.Add(e)
			}
			return nil
		})
		if err != nil {
			return DetectResult{}, err
		}
		if w := read.Warning(path); w != "" {
			log.Warn(w)
		}
	}
	store, closer, err := cfg.OpenStore(ctx, log, true)
	if err != nil {
		return DetectResult{}, err
	}
	if closer != nil {
		defer closer.Close()
	}
	// Stores bound their own requests (the KV store asks 1000 keys at a
	// time). A detection not run asks for nothing: its lookup stays nil.
	// A KV store without the IP address or file collection (a Splunk
	// without the app's collections.conf) skips that detection, unless
	// --kind asked for it.
	var l detect.Lookups
	get := func(k kind.Kind, keys []string) (map[string]kind.Record, bool, error) {
		recs, err := store.Get(ctx, k, keys)
		switch {
		case err != nil && k.Name() != detect.KindDomain && len(opt.Kinds) == 0 && splunkd.IsNotFound(err):
			log.Warn("detection skipped", "detection", kindWords[k.Name()], "err", err)
			run[k.Name()] = false
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("reading the %s records: %w", k.Name(), err)
		}
		return recs, true, nil
	}
	if run[detect.KindDomain] {
		recs, ok, err := get(domainkind.Kind{}, d.DomainCandidates())
		if err != nil {
			return DetectResult{}, err
		}
		if ok {
			l.Domain = func(dom string) (record.Record, bool) { r, ok := recs[dom].(record.Record); return r, ok }
		}
	}
	if run[detect.KindIP] {
		recs, ok, err := get(ipkind.Kind{}, d.IPCandidates())
		if err != nil {
			return DetectResult{}, err
		}
		if ok {
			l.IP = func(ip string) (ipkind.Record, bool) { r, ok := recs[ip].(ipkind.Record); return r, ok }
		}
	}
	if run[detect.KindFile] {
		recs, ok, err := get(filekind.Kind{}, d.FileCandidates())
		if err != nil {
			return DetectResult{}, err
		}
		if ok {
			l.File = func(h string) (filekind.Record, bool) { r, ok := recs[h].(filekind.Record); return r, ok }
		}
	}
	res := DetectResult{Findings: d.Findings(l), Stats: d.Stats()}
	for _, k := range detect.Kinds {
		if run[k] {
			res.Kinds = append(res.Kinds, k)
		}
	}
	return res, nil
}

// kindWords names each detection in messages.
var kindWords = map[string]string{detect.KindDomain: "domain", detect.KindIP: "IP address", detect.KindFile: "process image"}

// Export formats.
const (
	ExportCSV  = "csv"  // a Splunk CSV lookup table (localstore.ExportCSV)
	ExportJSON = "json" // one KV record JSON document per line
)

// Export writes every domain record of the embedded store to w and
// returns how many it wrote.
func Export(ctx context.Context, cfg *Config, w io.Writer, format string, log *slog.Logger) (int, error) {
	return ExportKind(ctx, cfg, domainkind.Kind{}, w, format, log)
}

// ExportKind writes every record of kind k of the embedded store to w, as
// the lookup table of k's collection, and returns how many it wrote.
func ExportKind(ctx context.Context, cfg *Config, k kind.Kind, w io.Writer, format string, log *slog.Logger) (int, error) {
	if format != ExportCSV && format != ExportJSON {
		return 0, fmt.Errorf("export format %q: use csv or json", format)
	}
	if cfg.Store.Type != StoreEmbedded {
		return 0, fmt.Errorf("export reads the embedded store, but store.type is kvstore: in Splunk, run | inputlookup %s | outputlookup %s.csv", k.Collection(), k.Collection())
	}
	store, closer, err := cfg.OpenStore(ctx, log, true)
	if err != nil {
		return 0, err
	}
	// The export is written to memory under the lock and copied to w after,
	// so that a slow reader of w (a pager) does not hold up a run's saves.
	var buf bytes.Buffer
	n, err := exportTo(&buf, store.(*localstore.Store), k, format)
	if cerr := closer.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	_, err = buf.WriteTo(w)
	return n, err
}

// writeForTerminal writes an export to a person's terminal: every value
// with its control characters escaped (termtext), so that a certificate
// issuer or a registrar chosen by a domain's owner cannot clear the screen
// or forge rows. A CSV cell's line breaks (the multivalue separator) show
// as \n. Redirected or written with --out, the export is left as it is.
func writeForTerminal(w io.Writer, data []byte, format string) error {
	if format != ExportCSV {
		// JSON lines: the encoder escaped C0 controls; DEL, C1 and the
		// format characters that reorder text it leaves raw.
		var b strings.Builder
		for line := range strings.Lines(string(data)) {
			b.WriteString(termtext.Clean(strings.TrimSuffix(line, "\n")))
			b.WriteByte('\n')
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	cw := csv.NewWriter(w)
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		for i, v := range row {
			row[i] = termtext.Clean(v)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func exportTo(w io.Writer, ls *localstore.Store, k kind.Kind, format string) (int, error) {
	if format == ExportCSV {
		return ls.ExportKindCSV(w, k)
	}
	n := 0
	enc := json.NewEncoder(w)
	err := ls.Each(k, func(r kind.Record) error {
		n++
		return enc.Encode(r)
	})
	return n, err
}
