// Package logging is vtsync's one logging path and keeps its secrets out
// of every text it writes. Handler is the log/slog handler every
// *slog.Logger of the program writes through: one line per record,
// prefixed with a level splunkd's ExecProcessor understands (DEBUG, INFO,
// WARN, ERROR, FATAL), the control characters of data escaped in the
// message, every key and every value, and the secrets of a Secrets
// registry masked. Secrets is the one list of those secrets: the
// composition root makes it and gives it to the Handler and to the
// components that learn a secret (the splunkd client, the VirusTotal
// enricher) or write text that is not a log line (event summaries, error
// messages), which add to it and scrub with it.
package logging

import "log/slog"

// LevelFatal is the slog level of FATAL records, above slog.LevelError:
// splunkd's ExecProcessor knows FATAL, slog does not.
//
//	log.Log(ctx, logging.LevelFatal, "cannot read the input definition", "err", err)
const LevelFatal = slog.LevelError + 4
