// Command vtsync keeps Splunk KV store collections of VirusTotal records of
// domains, IP addresses and file hashes up to date. splunkd runs it as the modular input "vtsync"; it
// also runs standalone (vtsync run --config FILE).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/modinput"
	"github.com/vtsync/vtsync/internal/modrun"
	"github.com/vtsync/vtsync/internal/progress"
	"github.com/vtsync/vtsync/internal/standalone"
	"github.com/vtsync/vtsync/internal/termtext"
	"github.com/vtsync/vtsync/internal/version"
)

const usage = `vtsync %s — VirusTotal enrichment of domains, IP addresses and file hashes for Splunk

Run by splunkd as the modular input vtsync:
  vtsync                        one sync per stanza (input definition XML on stdin)
  vtsync --scheme               print the modular input scheme
  vtsync --validate-arguments   validate a stanza (validation XML on stdin)

Standalone:
  vtsync run --config FILE [--once | --every 15m]
  vtsync export --config FILE [--kind domain|ip|file] [--format csv|json] [--out FILE]
  vtsync detect --config FILE [--events FILE] [--kind domain|ip|file|all] [--format table|json|csv]
  vtsync version
  vtsync help COMMAND           the flags of run, export or detect (also: vtsync COMMAND --help)

Exit codes:
  0  done
  1  failed: the run or the command did not do its job (the log says why)
  2  usage: a bad command, flag or configuration; nothing was done
  3  partial: a run ended with work left for the next one (budget or quota
     spent, lookups failed, stopped early, another run of the input running)
As a modular input, vtsync exits 0 or 1 (a stanza's run failed); splunkd
logs a non-zero exit code, and each run's status is in its vtsync:run event.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The process's one registry of secrets: the Handler redacts them from
	// every line, and whatever learns one (the session key, a VirusTotal
	// key) adds it. The standalone commands make their own, with the
	// verbosity of their flags.
	secrets := logging.NewSecrets()
	log := slog.New(logging.NewHandler(stderr, slog.LevelInfo, secrets))
	if len(args) == 0 {
		// splunkd hands the input definition on a pipe; a person who typed
		// a bare vtsync at a terminal wants to know what it does.
		if progress.IsTerminal(stdin) {
			fmt.Fprintf(stderr, usage, version.Version)
			fmt.Fprintln(stderr, "\nvtsync without a command reads splunkd's input definition on stdin; to run it by hand, see the standalone commands above.")
			return standalone.ExitUsage
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return modrun.Run(ctx, stdin, stdout, log, secrets)
	}
	switch strings.ToLower(args[0]) {
	case "--scheme":
		if err := modinput.WriteScheme(stdout); err != nil {
			log.Log(context.Background(), logging.LevelFatal, "cannot write the scheme", "err", err)
			return standalone.ExitFailed
		}
		return standalone.ExitOK
	case "--validate-arguments":
		return modinput.ValidateArguments(stdin, stdout, log, secrets)
	case "run", "export", "detect":
		return standalone.Main(args, stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "vtsync %s\n", version.Version)
		return standalone.ExitOK
	case "help", "-h", "--help":
		if len(args) > 1 && strings.ToLower(args[0]) == "help" {
			// vtsync help run is vtsync run --help.
			return standalone.Main([]string{args[1], "--help"}, stdin, stdout, stderr)
		}
		fmt.Fprintf(stdout, usage, version.Version)
		return standalone.ExitOK
	}
	fmt.Fprintf(stderr, "ERROR unknown command %q: the commands are run, export, detect, version and help; run 'vtsync help' for usage\n", termtext.Clean(args[0]))
	return standalone.ExitUsage
}
