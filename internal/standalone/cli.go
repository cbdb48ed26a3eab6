package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vtsync/vtsync/internal/detect"
	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/progress"
)

// Exit codes of the commands.
const (
	ExitOK     = 0 // done (a partial run, such as a spent budget, included)
	ExitFailed = 1 // the run or command failed
	ExitUsage  = 2 // bad flags or configuration
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
		fmt.Fprintln(stderr, "ERROR no command: use run, export or detect")
		return ExitUsage
	}
	cmds := map[string]func(context.Context, []string, io.Reader, io.Writer, io.Writer) int{
		"run": RunMain, "export": ExportMain, "detect": DetectMain,
	}
	cmd, ok := cmds[strings.ToLower(args[0])]
	if !ok {
		fmt.Fprintf(stderr, "ERROR unknown command %q: use run, export or detect\n", args[0])
		return ExitUsage
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}

func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: vtsync %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and loads the configuration; on failure it has
// written the problem to stderr and returns the exit code.
func parseFlags(fs *flag.FlagSet, args []string, config *string, stderr io.Writer) (*Config, int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ExitOK
		}
		return nil, ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ERROR unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return nil, ExitUsage
	}
	cfg, err := Load(*config)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "ERROR %s\n", line)
		}
		return nil, ExitUsage
	}
	return cfg, -1
}

func newLogger(w io.Writer, verbose bool) *logging.Logger {
	if verbose {
		return logging.New(w, logging.Debug)
	}
	return logging.New(w, logging.Info)
}

// RunMain is `vtsync run`: sync once (--once, the default) or every
// interval (--every 15m) until ctx is done. Each run's summary goes to
// stdout: a JSON object per line, or readable text when stdout is a
// terminal. Logs go to stderr, under a progress bar when stderr is a
// terminal.
func RunMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("run", "[--config FILE] [--once | --every DURATION] [-v]", stderr)
	config := fs.String("config", DefaultConfig, "configuration `file`")
	once := fs.Bool("once", false, "run once and exit (the default)")
	every := fs.Duration("every", 0, "run every `interval`, such as 15m, until interrupted")
	verbose := fs.Bool("v", false, "log debug lines")
	cfg, code := parseFlags(fs, args, config, stderr)
	if cfg == nil {
		return code
	}
	if *once && *every != 0 {
		fmt.Fprintln(stderr, "ERROR --once and --every exclude each other")
		return ExitUsage
	}
	if *every < 0 || (*every > 0 && *every < time.Second) {
		fmt.Fprintf(stderr, "ERROR --every %v: give an interval of at least 1s, such as 15m\n", *every)
		return ExitUsage
	}

	logw := stderr
	var bar *progress.Bar
	var onProgress func(done, total int)
	if progress.IsTerminal(stderr) {
		bar = progress.New(stderr)
		logw = bar.Writer()
		onProgress = bar.Update
	}
	log := newLogger(logw, *verbose).With(cfg.Name)
	human := progress.IsTerminal(stdout)
	failed := false
	report := func(sum pipeline.Summary, err error) {
		if bar != nil {
			bar.Done()
		}
		if err != nil {
			log.Errorf("%v", err)
			failed = true
		} else {
			failed = sum.Status == "failed"
		}
		if human {
			progress.WriteSummary(stdout, sum)
			return
		}
		b, _ := json.Marshal(sum)
		fmt.Fprintf(stdout, "%s\n", b)
	}

	if *every == 0 {
		report(RunOnce(ctx, cfg, log, onProgress))
	} else {
		log.Infof("running every %s; stop with Ctrl-C", *every)
		if err := RunEvery(ctx, cfg, *every, log, onProgress, report); err != nil {
			log.Errorf("%v", err)
			return ExitFailed
		}
		log.Infof("stopped")
		return ExitOK
	}
	if failed {
		return ExitFailed
	}
	return ExitOK
}

// ExportMain is `vtsync export`: write the embedded store's records as a
// Splunk CSV lookup table (or JSON lines) to stdout or --out.
func ExportMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("export", "[--config FILE] [--format csv|json] [--out FILE]", stderr)
	config := fs.String("config", DefaultConfig, "configuration `file`")
	format := fs.String("format", ExportCSV, "csv (a Splunk lookup table) or json (one record per line)")
	out := fs.String("out", "", "write to `file` (replaced atomically) instead of stdout")
	verbose := fs.Bool("v", false, "log debug lines")
	cfg, code := parseFlags(fs, args, config, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(stderr, *verbose).With(cfg.Name)
	if *format != ExportCSV && *format != ExportJSON {
		log.Errorf("--format %q: use csv or json", *format)
		return ExitUsage
	}
	var n int
	var err error
	if *out == "" {
		n, err = Export(ctx, cfg, stdout, *format, log)
	} else {
		n, err = exportFile(ctx, cfg, *out, *format, log)
	}
	if err != nil {
		log.Errorf("export: %v", err)
		return ExitFailed
	}
	if *out != "" {
		log.Infof("exported %d records to %s", n, *out)
	}
	return ExitOK
}

// exportFile writes the export next to path and renames it into place, so
// that a reader (Splunk's lookup) never sees half a file.
func exportFile(ctx context.Context, cfg *Config, path, format string, log *logging.Logger) (int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	n, err := Export(ctx, cfg, tmp, format, log)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return n, os.Rename(tmp.Name(), path)
}

// DetectMain is `vtsync detect`: run the detection over the events file
// (the configured file source, or --events) and the store, and print the
// findings as a table or JSON on stdout; a count of what was dropped goes
// to stderr.
func DetectMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("detect", "[--config FILE] [--events FILE] [--format table|json]", stderr)
	config := fs.String("config", DefaultConfig, "configuration `file`")
	events := fs.String("events", "", "events `file` (NDJSON or CSV); default: the configured file source")
	eventsFormat := fs.String("events-format", "", "ndjson or csv; default: by the events file's extension")
	format := fs.String("format", "table", "table or json")
	verbose := fs.Bool("v", false, "log debug lines")
	cfg, code := parseFlags(fs, args, config, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(stderr, *verbose).With(cfg.Name)
	if *format != "table" && *format != "json" {
		log.Errorf("--format %q: use table or json", *format)
		return ExitUsage
	}
	var ef filesource.Format
	if *eventsFormat != "" {
		f, err := filesource.ParseFormat(*eventsFormat, "")
		if err != nil {
			log.Errorf("--events-format: %v", err)
			return ExitUsage
		}
		ef = f
	}
	findings, st, err := Detect(ctx, cfg, *events, ef, log)
	if err != nil {
		log.Errorf("detect: %v", err)
		return ExitFailed
	}
	if *format == "json" {
		err = detect.WriteJSON(stdout, findings)
	} else {
		err = detect.WriteTable(stdout, findings)
	}
	if err != nil {
		log.Errorf("writing findings: %v", err)
		return ExitFailed
	}
	log.Infof("%d flagged, %d pending; %d events: %d browser, %d without a public domain; %d domains: %d over %d hosts, %d popular, %d not flagged",
		st.Flagged, st.Pending, st.Events, st.Browser, st.Rejected, st.Domains, st.TooManyHosts, cfg.Rules.MaxDistinctHosts, st.Popular, st.Quiet)
	return ExitOK
}
