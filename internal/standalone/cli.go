package standalone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vtsync/vtsync/internal/detect"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/progress"
	"github.com/vtsync/vtsync/internal/termtext"
)

// Exit codes of the commands (vtsync --help and the README list them).
const (
	ExitOK      = 0 // done
	ExitFailed  = 1 // the run or command failed
	ExitUsage   = 2 // bad command, flags or configuration: nothing was done
	ExitPartial = 3 // a run ended with work left for the next one (status partial or skipped)
)

// DefaultConfig is the configuration file used when --config is not given.
const DefaultConfig = "vtsync.yaml"

// Main runs the standalone command args[0] (run, export or detect) with
// the rest of args as its flags. SIGINT and SIGTERM stop it gracefully: a
// run stops looking up, stores what it fetched and returns.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Dispatch(ctx, args, stdin, stdout, stderr)
}

// Dispatch is Main with the caller's context.
func Dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "ERROR no command: the commands are run, export and detect; run 'vtsync help' for usage")
		return ExitUsage
	}
	cmds := map[string]func(context.Context, []string, io.Reader, io.Writer, io.Writer) int{
		"run": RunMain, "export": ExportMain, "detect": DetectMain,
	}
	cmd, ok := cmds[strings.ToLower(args[0])]
	if !ok {
		fmt.Fprintf(stderr, "ERROR unknown command %q: the commands are run, export and detect; run 'vtsync help' for usage\n", termtext.Clean(args[0]))
		return ExitUsage
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}

// flags is one command's flag set and its help.
type flags struct {
	*flag.FlagSet
	synopsis string // the flags in brief, after "vtsync <name>"
	about    string // what the command does, and its exit codes
}

func newFlags(name, synopsis, about string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Parse reports errors to parseFlags, which words them; help goes to
	// stdout, errors to stderr.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, synopsis: synopsis, about: about}
}

// help writes the command's help: usage line, what it does, its flags.
func (f *flags) help(w io.Writer) {
	fmt.Fprintf(w, "usage: vtsync %s %s\n\n%s\n\nFlags:\n", f.Name(), f.synopsis, f.about)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// usageError reports a bad command line on stderr, with the usage line and
// where the full help is.
func (f *flags) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "ERROR "+format+"\n", args...)
	fmt.Fprintf(stderr, "usage: vtsync %s %s\nRun 'vtsync help %s' for the flags.\n", f.Name(), f.synopsis, f.Name())
	return ExitUsage
}

// flagValue matches the flag package's error for a value its flag refused.
var flagValue = regexp.MustCompile(`^invalid value "(.*)" for flag -([\w-]+): `)

// parseFlags parses args and loads the configuration; on failure it has
// written the problem to stderr (or the help to stdout) and returns the
// exit code.
func parseFlags(fs *flags, args []string, config *string, stdout, stderr io.Writer) (*Config, int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.help(stdout)
			return nil, ExitOK
		}
		// "invalid value "15" for flag -every: ..." reads "--every 15: ...".
		msg := flagValue.ReplaceAllString(err.Error(), "--$2 $1: ")
		msg = strings.Replace(msg, "flag provided but not defined: ", "unknown flag ", 1)
		return nil, fs.usageError(stderr, "%s", termtext.Clean(msg))
	}
	if fs.NArg() > 0 {
		return nil, fs.usageError(stderr, "unexpected argument %q", termtext.Clean(fs.Arg(0)))
	}
	cfg, err := Load(*config)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "ERROR %s\n", termtext.Clean(line))
		}
		return nil, ExitUsage
	}
	return cfg, -1
}

// interval is the --every flag: a duration with its unit, at least 1s.
type interval time.Duration

func (v *interval) String() string {
	if v == nil || *v == 0 {
		return ""
	}
	return time.Duration(*v).String()
}

func (v *interval) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil && strings.Trim(s, "0123456789.") == "":
		return errors.New("give the interval with its unit, such as 15m, 1h or 90s")
	case err != nil:
		return errors.New("give a duration such as 15m, 1h or 90s")
	case d < time.Second:
		return errors.New("give an interval of at least 1s, such as 15m; for a single run use --once")
	}
	*v = interval(d)
	return nil
}

// newLogger returns the command's logger, writing to w through the
// program's Handler with the process's one registry of secrets, every
// line prefixed with the input's name.
func newLogger(w io.Writer, verbose bool, name string) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return logging.WithPrefix(slog.New(logging.NewHandler(w, level, logging.NewSecrets())), name)
}

// RunMain is `vtsync run`: sync once (--once, the default) or every
// interval (--every 15m) until ctx is done. Each run's summary goes to
// stdout: a JSON object per line, or readable text when stdout is a
// terminal. Logs go to stderr, under a progress bar when stderr is a
// terminal.
func RunMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("run", "[--config FILE] [--once | --every DURATION] [-v]",
		`Syncs the configured source into the store: reads the candidates, looks up at
VirusTotal (or the offline folder) the domains without a fresh record, and
stores the answers. Each run's summary goes to stdout: readable text on a
terminal, one JSON object per line otherwise. Logs go to stderr.

Exit codes: 0 ok; 1 failed; 2 bad flags or configuration; 3 partial (work
left for the next run: budget or quota spent, lookups failed, stopped early,
or another run of this input holds its state). With --every, the code is 0
once a signal (Ctrl-C) stops the schedule.`)
	config := fs.String("config", DefaultConfig, "configuration `file`")
	once := fs.Bool("once", false, "run once and exit (the default)")
	var every interval
	fs.Var(&every, "every", "run every `interval` (a duration with its unit, such as 15m or 1h) until interrupted")
	verbose := fs.Bool("v", false, "log debug lines")
	cfg, code := parseFlags(fs, args, config, stdout, stderr)
	if cfg == nil {
		return code
	}
	if *once && every != 0 {
		return fs.usageError(stderr, "--once and --every exclude each other")
	}

	logw := stderr
	var bar *progress.Bar
	var onProgress func(done, total int)
	if progress.IsTerminal(stderr) {
		bar = progress.New(stderr)
		logw = bar.Writer()
		onProgress = bar.Update
	}
	log := newLogger(logw, *verbose, cfg.Name)
	human := progress.IsTerminal(stdout)
	code = ExitOK
	// The run has logged its errors; report writes the summary only.
	report := func(sum pipeline.Summary, err error) {
		if bar != nil {
			bar.Done()
		}
		code = exitCode(sum.Status, err)
		if human {
			progress.WriteSummary(stdout, sum, cfg.about())
			return
		}
		b, _ := json.Marshal(sum)
		fmt.Fprintf(stdout, "%s\n", b)
	}

	if every == 0 {
		report(RunOnce(ctx, cfg, log, onProgress))
		return code
	}
	log.Info("running on a schedule; stop with Ctrl-C", "every", time.Duration(every))
	if err := RunEvery(ctx, cfg, time.Duration(every), log, onProgress, report); err != nil {
		log.Error("schedule failed", "err", err)
		return ExitFailed
	}
	log.Info("stopped")
	return ExitOK
}

// about says what a run of c works with, for its human summary.
func (c *Config) about() progress.About {
	a := progress.About{
		Offline: c.Enrich.Type == EnrichOffline,
		Budget:  "enrich.virustotal.daily_lookup_budget in " + c.File,
		Run:     "vtsync run --config " + shellWord(c.File),
	}
	switch c.Store.Type {
	case StoreEmbedded:
		a.Store = "the embedded store " + c.Store.Path
	case StoreKVStore:
		a.Store = "the KV store collection " + c.Store.Collection
	}
	if c.Source.Type == SourceFile && c.Source.File.Format != filesource.Domains {
		a.Detect = "vtsync detect --config " + shellWord(c.File)
	}
	return a
}

// shellWord quotes s for a shell when it holds more than safe characters.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:+=,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// exitCode is the exit code of a run that ended with status and err.
func exitCode(status string, err error) int {
	switch {
	case err != nil || status == pipeline.StatusFailed:
		return ExitFailed
	case status == pipeline.StatusPartial || status == pipeline.StatusSkipped:
		return ExitPartial
	}
	return ExitOK
}

// ExportMain is `vtsync export`: write the embedded store's records as a
// Splunk CSV lookup table (or JSON lines) to stdout or --out.
func ExportMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("export", "[--config FILE] [--kind domain|ip|file] [--format csv|json] [--out FILE] [-v]",
		`Writes every record of one indicator kind in the embedded store (domains by
default) as a Splunk CSV lookup table with the fields of the kind's KV
collection (or one JSON record per line) to stdout, or to --out, replaced
atomically. It reads while a run is in progress.

Exit codes: 0 ok; 1 failed; 2 bad flags or configuration.`)
	config := fs.String("config", DefaultConfig, "configuration `file`")
	kindName := fs.String("kind", "domain", "the kind of records to export: "+strings.Join(kindNames(), ", "))
	format := fs.String("format", ExportCSV, "csv (a Splunk lookup table) or json (one record per line)")
	out := fs.String("out", "", "write to `file` (replaced atomically) instead of stdout")
	verbose := fs.Bool("v", false, "log debug lines")
	cfg, code := parseFlags(fs, args, config, stdout, stderr)
	if cfg == nil {
		return code
	}
	if *format != ExportCSV && *format != ExportJSON {
		return fs.usageError(stderr, "--format %q: use csv or json", termtext.Clean(*format))
	}
	log := newLogger(stderr, *verbose, cfg.Name)
	k, ok := kind.Lookup(strings.ToLower(strings.TrimSpace(*kindName)))
	if !ok {
		return fs.usageError(stderr, "--kind %q: use %s", termtext.Clean(*kindName), strings.Join(kindNames(), ", "))
	}
	if *out != "" {
		if err := checkOut(*out, *format); err != nil {
			return fs.usageError(stderr, "%s", termtext.Clean(err.Error()))
		}
	}
	var n int
	var err error
	switch {
	case *out == "" && progress.IsTerminal(stdout):
		var buf bytes.Buffer
		if n, err = ExportKind(ctx, cfg, k, &buf, *format, log); err == nil {
			err = writeForTerminal(stdout, buf.Bytes(), *format)
		}
	case *out == "":
		n, err = ExportKind(ctx, cfg, k, stdout, *format, log)
	default:
		n, err = exportFile(ctx, cfg, k, *out, *format, log)
	}
	if err != nil {
		log.Error("export failed", "err", err)
		return ExitFailed
	}
	if *out != "" {
		log.Info("exported", "records", n, "file", *out)
	}
	return ExitOK
}

// kindNames lists the kinds export knows, by name.
func kindNames() []string {
	var out []string
	for _, k := range kind.All() {
		out = append(out, k.Name())
	}
	return out
}

// checkOut checks that --out names a file vtsync can put in place: not a
// directory, in a directory that exists.
func checkOut(path, format string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("--out %s is a directory; give the file to write, such as %s", path, filepath.Join(path, "vtsync_domains."+format))
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--out %s: the directory %s does not exist; create it, or give a file in another directory", path, dir)
	case err != nil:
		return fmt.Errorf("--out %s: %v", path, pathError(err))
	case !fi.IsDir():
		return fmt.Errorf("--out %s: %s is not a directory", path, dir)
	}
	return nil
}

// exportFile writes the export next to path and renames it into place, so
// that a reader (Splunk's lookup) never sees half a file.
func exportFile(ctx context.Context, cfg *Config, k kind.Kind, path, format string, log *slog.Logger) (int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, fmt.Errorf("--out %s: cannot write in %s (the file is written beside its place, then renamed): %v", path, filepath.Dir(path), errors.Unwrap(err))
	}
	defer os.Remove(tmp.Name())
	n, err := ExportKind(ctx, cfg, k, tmp, format, log)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("--out %s: cannot put the file in place: %v", path, pathError(err))
	}
	return n, nil
}

// DetectMain is `vtsync detect`: run the detections over the events file
// (the configured file source, or --events) and the store, and print the
// findings as a table, JSON or CSV on stdout; a count of what was dropped
// goes to stderr, one line per detection.
func DetectMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("detect", "[--config FILE] [--events FILE]... [--events-format ndjson|csv] [--kind domain|ip|file|all] [--format table|json|csv] [--all] [-v]",
		`Runs the app's detections over the events (the configured file source, or
each --events file in turn) and the store's records, and prints the flagged
and pending indicators on stdout (with --all, the others too, with the reason
they were not flagged): a table for a person, or json or csv. The domain
detection reads destination host names; the IP address detection the
addresses non-browser processes contacted (Sysmon EventCode 3 DestinationIp);
the process image detection the hashes of the images started (Sysmon
EventCode 1 Hashes). The configured file feeds the detections of the fields
it names (source.file.ip_field, hash_field); an --events file feeds all three,
read under their default field names. What was dropped on the way is counted
on stderr.

Exit codes: 0 ok; 1 failed; 2 bad flags or configuration.`)
	config := fs.String("config", DefaultConfig, "configuration `file`")
	var events []string
	fs.Func("events", "events `file` (NDJSON or CSV), repeatable; default: the configured file source", func(s string) error {
		events = append(events, s)
		return nil
	})
	all := fs.Bool("all", false, "also list the indicators no rule flagged, with the reasons")
	kindName := fs.String("kind", "all", "the detection to run: "+strings.Join(detect.Kinds, ", ")+", or all")
	eventsFormat := fs.String("events-format", "", "ndjson or csv; default: by the events file's extension")
	format := fs.String("format", detect.FormatTable, "table (for a person, 80 columns), json or csv")
	verbose := fs.Bool("v", false, "log debug lines")
	cfg, code := parseFlags(fs, args, config, stdout, stderr)
	if cfg == nil {
		return code
	}
	if !slices.Contains(detect.Formats, *format) {
		return fs.usageError(stderr, "--format %q: use table, json or csv", termtext.Clean(*format))
	}
	var kinds []string
	switch k := strings.ToLower(strings.TrimSpace(*kindName)); {
	case k == "all":
	case slices.Contains(detect.Kinds, k):
		kinds = []string{k}
	default:
		return fs.usageError(stderr, "--kind %q: use %s or all", termtext.Clean(*kindName), strings.Join(detect.Kinds, ", "))
	}
	var ef filesource.Format
	if *eventsFormat != "" {
		f, err := filesource.ParseFormat(*eventsFormat, "")
		if err != nil {
			return fs.usageError(stderr, "--events-format: %s", termtext.Clean(err.Error()))
		}
		ef = f
	}
	log := newLogger(stderr, *verbose, cfg.Name)
	res, err := Detect(ctx, cfg, DetectOptions{Events: events, Format: ef, KeepClear: *all, Kinds: kinds}, log)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		log.Error("detect failed", "err", err)
		return ExitUsage
	case err != nil:
		log.Error("detect failed", "err", err)
		return ExitFailed
	}
	// The table escapes data itself; JSON and CSV are escaped as export's
	// are when they go to a terminal, and left as they are otherwise.
	if *format != detect.FormatTable && progress.IsTerminal(stdout) {
		var buf bytes.Buffer
		if err = detect.Write(&buf, *format, res.Findings); err == nil {
			err = writeForTerminal(stdout, buf.Bytes(), *format)
		}
	} else {
		err = detect.Write(stdout, *format, res.Findings)
	}
	if err != nil {
		log.Error("writing findings failed", "err", err)
		return ExitFailed
	}
	st := res.Stats
	for _, k := range res.Kinds {
		switch k {
		case detect.KindDomain:
			log.Info("domain detection", "flagged", st.Flagged, "pending", st.Pending, "events", st.Events, "browser_events", st.Browser,
				"events_without_public_domain", st.Rejected, "domains", st.Domains, "domains_over_max_hosts", st.TooManyHosts,
				"max_distinct_hosts", cfg.Rules.MaxDistinctHosts, "not_flagged", st.Quiet, "young_but_popular", st.PopularYoung)
		case detect.KindIP:
			ip := st.IP
			log.Info("ip detection", "flagged", ip.Flagged, "pending", ip.Pending, "events", ip.Events,
				"events_not_network_connection", ip.Other, "browser_events", ip.Browser, "events_without_public_address", ip.Rejected,
				"addresses", ip.Distinct, "not_flagged", ip.Quiet)
		case detect.KindFile:
			f := st.File
			log.Info("file detection", "flagged", f.Flagged, "pending", f.Pending, "events", f.Events,
				"events_not_process_creation", f.Other, "events_without_hash", f.Rejected, "images", f.Distinct, "not_flagged", f.Quiet)
		}
	}
	return ExitOK
}
