package config

import (
	"strconv"
	"strings"

	"github.com/vtsync/vtsync/internal/params"
)

// Error is one problem with a setting: the parameter or key it names, what
// is wrong, and where the setting was written.
type Error struct {
	// Setting is what is wrong: an inputs.conf parameter (a params.Args
	// name), or the YAML key of a setting only the YAML file has.
	Setting string
	Msg     string
	// Where it was written: the key (the YAML key's dotted path, or the
	// name the modular input knows a setting by, such as checkpoint_dir)
	// and, for a configuration file (Origin.File), the file and the key's
	// line (0 when neither the key nor its section is in the file).
	File string
	Line int
	Key  string
}

func (e *Error) Error() string {
	if e.File == "" {
		if isParam(e.Setting) {
			return "parameter " + e.Setting + ": " + e.Msg
		}
		if e.Key == "" {
			return e.Msg
		}
		return e.Key + ": " + e.Msg
	}
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Key + ": " + e.Msg
}

// Unwrap returns, for an inputs.conf parameter, the *params.Error that
// names it, so that errors.As finds the parameter whichever decoder set it.
func (e *Error) Unwrap() error {
	if isParam(e.Setting) {
		return &params.Error{Param: e.Setting, Msg: e.Msg}
	}
	return nil
}

func isParam(name string) bool { return order(name) > 0 }

// Errors is every problem Validate found: in parameter order for
// inputs.conf, in line order for a file. errors.As finds each *Error and
// *params.Error in it.
type Errors []*Error

// Error joins the problems: "; " between inputs.conf parameters (one log
// line, one summary event), a line each for a file (one ERROR line each).
func (es Errors) Error() string {
	sep := "; "
	if len(es) > 0 && es[0].File != "" {
		sep = "\n"
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, sep)
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Origin says where a configuration was written, so that each error names
// the setting as its author wrote it. The zero Origin is inputs.conf:
// errors name the parameter.
type Origin struct {
	File string // the configuration file; "" for inputs.conf parameters
	// Keys maps a setting to its YAML key path when they differ
	// (vt_api_url → enrich.virustotal.vt_api_url); a setting not in Keys
	// is its own key (refresh_days, source.file.path).
	Keys map[string]string
	// Lines maps each YAML key path in the file to its line.
	Lines map[string]int
}

// Key returns the YAML key path of setting.
func (o Origin) Key(setting string) string {
	if k, ok := o.Keys[setting]; ok {
		return k
	}
	return setting
}

// Has reports whether the file sets key (a YAML key path).
func (o Origin) Has(key string) bool {
	_, ok := o.Lines[key]
	return ok
}

// place fills in where e's setting was written.
func (o Origin) place(e *Error) {
	if e.Setting != "" {
		e.Key = o.Key(e.Setting)
	}
	if o.File == "" {
		return
	}
	e.File = o.File
	if e.Key != "" {
		e.Line = o.Line(e.Key)
	}
}

// Line returns the line of key or, when the key is not in the file, of
// its closest enclosing section that is (0: none).
func (o Origin) Line(key string) int {
	for {
		if n, ok := o.Lines[key]; ok {
			return n
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}
