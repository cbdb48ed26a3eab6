// Command vtsync keeps a Splunk KV store collection of VirusTotal domain
// records up to date. splunkd runs it as the modular input "vtsync"; it
// also runs standalone (vtsync run --config FILE).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/modinput"
	"github.com/vtsync/vtsync/internal/modrun"
	"github.com/vtsync/vtsync/internal/standalone"
	"github.com/vtsync/vtsync/internal/version"
)

const usage = `vtsync %s — VirusTotal domain enrichment for Splunk

Run by splunkd as the modular input vtsync:
  vtsync                        one sync per stanza (input definition XML on stdin)
  vtsync --scheme               print the modular input scheme
  vtsync --validate-arguments   validate a stanza (validation XML on stdin)

Standalone:
  vtsync run --config FILE [--once | --every 15m]
  vtsync export --config FILE --format csv [--out FILE]
  vtsync detect --config FILE [--events FILE] [--format table|json]
  vtsync version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	log := logging.New(stderr, logging.Info)
	if len(args) == 0 {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return modrun.Run(ctx, stdin, stdout, log)
	}
	switch strings.ToLower(args[0]) {
	case "--scheme":
		if err := modinput.WriteScheme(stdout); err != nil {
			log.Fatalf("Cannot write the scheme: %v", err)
			return 1
		}
		return 0
	case "--validate-arguments":
		return modinput.ValidateArguments(stdin, stdout, log)
	case "run", "export", "detect":
		return standalone.Main(args, stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "vtsync %s\n", version.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, usage, version.Version)
		return 0
	}
	log.Errorf("Invalid arguments to modular input script: unknown command %q. Run 'vtsync help' for usage.", args[0])
	return 2
}
