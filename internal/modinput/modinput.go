// Package modinput speaks splunkd's modular-input protocol over plain
// readers and writers: the --scheme document, the input definition and
// validation request read from stdin, the validation error and the XML event
// stream written to stdout. It does no network I/O.
package modinput

import "strings"

// SchemeName is the modular-input scheme (inputs.conf stanzas are
// vtsync://<name>); the executable's file name must equal it.
const SchemeName = "vtsync"

// Definition is the input definition splunkd writes to stdin on a normal run.
type Definition struct {
	ServerHost    string
	ServerURI     string
	SessionKey    string
	CheckpointDir string
	Stanzas       []Stanza
}

// Stanza is one configured input of a Definition.
type Stanza struct {
	Name   string              // "<scheme>://<input name>"
	App    string              // the app the stanza lives in; empty from older splunkd
	Params map[string]string   // <param> values, never nil
	Lists  map[string][]string // <param_list> values, never nil
}

// InputName returns the part of the stanza name after "://", or the whole
// name if it has no scheme.
func (s Stanza) InputName() string { return inputName(s.Name) }

// Scheme returns the part of the stanza name before "://", or "" if it has
// none.
func (s Stanza) Scheme() string {
	if i := strings.Index(s.Name, "://"); i >= 0 {
		return s.Name[:i]
	}
	return ""
}

// Validation is the request splunkd writes to stdin for
// --validate-arguments: the one input being created or edited.
type Validation struct {
	ServerHost    string
	ServerURI     string
	SessionKey    string
	CheckpointDir string
	ItemName      string // "aaa" or "<scheme>://aaa", depending on the sender
	Params        map[string]string
	Lists         map[string][]string
}

// InputName returns the item name without a "<scheme>://" prefix.
func (v Validation) InputName() string { return inputName(v.ItemName) }

func inputName(name string) string {
	if i := strings.Index(name, "://"); i >= 0 {
		return name[i+3:]
	}
	return name
}
