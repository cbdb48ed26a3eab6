package appcheck

import (
	"bytes"
	"fmt"

	"github.com/vtsync/vtsync/internal/params"
)

// Scheme is the modular-input scheme; the executable must carry this name.
const Scheme = "vtsync"

// noDefault is how the spec writes an empty default.
const noDefault = "(none)"

// InputsSpec renders README/inputs.conf.spec for scheme from the parameter
// table: one "name = <value>" per parameter, its description and its
// default as "*" lines. The shipped file must equal this output.
func InputsSpec(scheme string, args []params.Arg) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# The %s modular input: one [%s://<name>] stanza per input.\n", scheme, scheme)
	b.WriteString("# Generated from the parameter table in internal/params by\n")
	b.WriteString("# `go run ./build/genassets`; edit the table, not this file.\n\n")
	fmt.Fprintf(&b, "[%s://<name>]\n", scheme)
	for _, a := range args {
		fmt.Fprintf(&b, "\n%s = <value>\n", a.Name)
		fmt.Fprintf(&b, "* %s\n", a.Description)
		if a.Required {
			b.WriteString("* Required.\n")
		}
		d := a.Default
		if d == "" {
			d = noDefault
		}
		fmt.Fprintf(&b, "* Default: %s\n", d)
	}
	return b.Bytes()
}
