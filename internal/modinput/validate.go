package modinput

import (
	"bytes"
	"io"
	"log/slog"
	"strings"

	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/params"
)

// WriteValidationError writes the document splunkd shows the user when
// --validate-arguments fails: <error><message>msg</message></error>, with
// no declaration and no trailing newline.
func WriteValidationError(w io.Writer, msg string) error {
	var b bytes.Buffer
	b.WriteString("<error><message>")
	escapeText(&b, msg)
	b.WriteString("</message></error>")
	_, err := w.Write(b.Bytes())
	return err
}

// ValidateArguments runs --validate-arguments: it reads the validation
// request from stdin and checks the item's parameters with config.FromInputs
// (no network, so splunkd's timeout is never hit). It returns the process
// exit code: 0 if valid, with nothing written; otherwise 1, after writing
// the validation error that names the parameter to stdout and one ERROR
// line to log. The session key and the API key join secrets (nil: the
// registry of log's logging.Handler, or one of its own) and are never
// written.
func ValidateArguments(stdin io.Reader, stdout io.Writer, log *slog.Logger, secrets *logging.Secrets) int {
	log, secrets = logging.OrDefaults(log, secrets)
	v, err := ReadValidation(stdin)
	if err != nil {
		msg := "vtsync could not read the validation request from splunkd: " + err.Error()
		log.Error("validation request unreadable", "err", err)
		if werr := WriteValidationError(stdout, msg); werr != nil {
			log.Error("writing the validation error to stdout failed", "err", werr)
		}
		return 1
	}
	secrets.Add(v.SessionKey)
	if k := strings.TrimSpace(v.Params["api_key"]); k != params.Mask {
		secrets.Add(v.Params["api_key"])
	}
	if _, err := config.FromInputs(v.InputName(), "", v.Params); err != nil {
		msg := secrets.Scrub(err.Error())
		log.Error("input invalid", "input", v.InputName(), "err", msg)
		if werr := WriteValidationError(stdout, msg); werr != nil {
			log.Error("writing the validation error to stdout failed", "err", werr)
		}
		return 1
	}
	return 0
}
