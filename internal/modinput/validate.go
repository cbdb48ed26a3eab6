package modinput

import (
	"bytes"
	"io"
	"strings"

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
// request from stdin and checks the item's parameters with params.Parse
// (no network, so splunkd's timeout is never hit). It returns the process
// exit code: 0 if valid, with nothing written; otherwise 1, after writing
// the validation error that names the parameter to stdout and one ERROR
// line to log. The session key and the API key are never written.
func ValidateArguments(stdin io.Reader, stdout io.Writer, log *logging.Logger) int {
	if log == nil {
		log = logging.Discard()
	}
	v, err := ReadValidation(stdin)
	if err != nil {
		msg := "vtsync could not read the validation request from splunkd: " + err.Error()
		log.Errorf("%s", msg)
		if werr := WriteValidationError(stdout, msg); werr != nil {
			log.Errorf("writing the validation error to stdout: %v", werr)
		}
		return 1
	}
	secrets := []string{v.SessionKey}
	if k := strings.TrimSpace(v.Params["api_key"]); k != params.Mask {
		secrets = append(secrets, k, v.Params["api_key"])
	}
	log.Redact(secrets...)
	if _, err := params.Parse(v.Params); err != nil {
		msg := logging.Scrub(err.Error(), secrets...)
		log.Errorf("input %q is invalid: %s", v.InputName(), msg)
		if werr := WriteValidationError(stdout, msg); werr != nil {
			log.Errorf("writing the validation error to stdout: %v", werr)
		}
		return 1
	}
	return 0
}
