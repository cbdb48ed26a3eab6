package modinput

import (
	"bytes"
	"io"

	"github.com/vtsync/vtsync/internal/params"
)

// Scheme texts shown in Splunk Web (Settings > Data inputs).
const (
	SchemeTitle       = "VirusTotal indicator enrichment"
	SchemeDescription = "Runs a Splunk search for candidate domains, IP addresses and file hashes, looks up in VirusTotal those that have no fresh record (paced to the API key's quota) and keeps the results in KV store collections (vtsync_domains, vtsync_ips, vtsync_files)."
)

// WriteScheme writes the --scheme document: external validation, one
// process per input, XML streaming, and one <arg> per entry of params.Args
// in the SDKs' element order. No argument is required by splunkd: every one
// has a default, and api_key may be absent because a masked stanza reads it
// from storage/passwords.
func WriteScheme(w io.Writer) error {
	var b bytes.Buffer
	elem := func(indent, name, text string) {
		b.WriteString(indent + "<" + name + ">")
		escapeText(&b, text)
		b.WriteString("</" + name + ">\n")
	}
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<scheme>\n")
	elem("    ", "title", SchemeTitle)
	elem("    ", "description", SchemeDescription)
	elem("    ", "use_external_validation", "true")
	elem("    ", "use_single_instance", "false")
	elem("    ", "streaming_mode", "xml")
	b.WriteString("    <endpoint>\n        <args>\n")
	const in = "                "
	for _, a := range params.Args() {
		b.WriteString("            <arg name=\"")
		escapeAttr(&b, a.Name)
		b.WriteString("\">\n")
		if a.Title != "" {
			elem(in, "title", a.Title)
		}
		if a.Description != "" {
			elem(in, "description", a.Description)
		}
		elem(in, "data_type", a.DataType)
		elem(in, "required_on_edit", "false")
		elem(in, "required_on_create", "false")
		b.WriteString("            </arg>\n")
	}
	b.WriteString("        </args>\n    </endpoint>\n</scheme>\n")
	_, err := w.Write(b.Bytes())
	return err
}
