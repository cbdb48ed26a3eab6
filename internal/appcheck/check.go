package appcheck

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
	_ "github.com/vtsync/vtsync/internal/kind/all" // every kind's collection
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/version"
)

// Problem is one finding, in a file relative to the app directory.
type Problem struct {
	File string
	Msg  string
}

func (p Problem) String() string { return p.File + ": " + p.Msg }

// Names the app's objects must carry (fixed: the detection, the dashboards and other apps use them).
const (
	Collection = "vtsync_domains" // KV collection and its lookup definition
	Sourcetype = "vtsync:run"     // run summary events
)

// archBinDirs are the executable directories AppInspect knows for the
// platforms vtsync ships, with the executable's file name suffix.
var archBinDirs = map[string]string{
	"linux_x86_64/bin":   "",
	"darwin_x86_64/bin":  "",
	"windows_x86_64/bin": ".exe",
}

// Check checks an app source directory (no executables yet).
func Check(appDir string) []Problem { return run(appDir, false) }

// CheckPackaged checks an app as extracted from its package: as Check, and
// it must hold the executables and no development files.
func CheckPackaged(appDir string) []Problem { return run(appDir, true) }

type checker struct {
	dir      string
	packaged bool
	probs    []Problem
	confs    map[string]*Conf
}

func run(appDir string, packaged bool) []Problem {
	c := &checker{dir: appDir, packaged: packaged, confs: map[string]*Conf{}}
	c.files()
	c.identity()
	c.inputs()
	c.executables()
	c.kvstore()
	c.searches()
	c.meta()
	c.icons()
	c.props()
	c.manifest()
	c.declaration()
	c.appserver()
	sort.SliceStable(c.probs, func(i, j int) bool { return c.probs[i].File < c.probs[j].File })
	return c.probs
}

func (c *checker) addf(file, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: file, Msg: fmt.Sprintf(format, args...)})
}

// conf returns the parsed file rel (slash-separated), reporting a missing
// or broken file once; it returns an empty Conf then.
func (c *checker) conf(rel string) *Conf {
	if cf, ok := c.confs[rel]; ok {
		return cf
	}
	cf := &Conf{byName: map[string]*Stanza{}}
	data, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(rel)))
	switch {
	case err != nil:
		c.addf(rel, "cannot read: %v", err)
	default:
		parse := ParseConf
		if strings.HasSuffix(rel, ".spec") {
			parse = ParseSpec
		}
		if p, err := parse(data); err != nil {
			c.addf(rel, "%v", err)
		} else {
			cf = p
		}
	}
	c.confs[rel] = cf
	return cf
}

var hexRun = regexp.MustCompile(`[0-9A-Fa-f]{32,}`)

// files walks the app: parses every .conf and .meta, looks for secrets and
// for files that must not ship.
func (c *checker) files() {
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		base := d.Name()
		if rel == "local" || rel == "metadata/local.meta" {
			c.addf(rel, "must not ship: local settings belong to the admin, and AppInspect fails apps that carry them")
		}
		if c.packaged && (strings.HasPrefix(base, ".") || strings.HasSuffix(base, ".go") || strings.Contains(base, "_test.")) {
			c.addf(rel, "development file in the package")
		}
		if d.IsDir() {
			return nil
		}
		if c.isExecutable(rel) || strings.HasSuffix(base, ".png") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if hexRun.MatchString(line) && !(rel == "README.txt" && sumLine.MatchString(line)) {
				c.addf(rel, "line %d holds a run of 32 or more hexadecimal digits, which looks like an API key; keys belong in storage/passwords", i+1)
			}
		}
		if strings.HasSuffix(base, ".conf") || strings.HasSuffix(base, ".meta") {
			cf := c.conf(rel)
			for _, st := range cf.Stanzas {
				if v, ok := st.Get("api_key"); ok && v != "" && v != params.Mask {
					c.addf(rel, "[%s] sets api_key; ship no key: the admin pastes it in Settings > Data inputs and vtsync moves it to storage/passwords", st.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		c.addf(".", "cannot walk the app: %v", err)
	}
}

func (c *checker) isExecutable(rel string) bool {
	dir := path.Dir(rel)
	_, ok := archBinDirs[dir]
	return ok || dir == "bin"
}

var appIDRE = regexp.MustCompile(`^[A-Za-z0-9._]+$`)

// identity: app id = folder name in app.conf and app.manifest, versions in
// step with internal/version, a visible app with a label.
func (c *checker) identity() {
	const f = "default/app.conf"
	app := c.conf(f)
	folder := filepath.Base(filepath.Clean(c.dir))
	id, _ := app.Stanza("package").Get("id")
	if id != folder {
		c.addf(f, "[package] id = %q; must equal the app folder name %q", id, folder)
	}
	if !appIDRE.MatchString(id) || strings.HasSuffix(id, ".") {
		c.addf(f, "[package] id = %q: use letters, digits, . and _, not ending in .", id)
	}
	if name, _ := app.Stanza("id").Get("name"); name != id {
		c.addf(f, "[id] name = %q; must equal [package] id %q", name, id)
	}
	for _, k := range [][2]string{{"launcher", "version"}, {"id", "version"}} {
		if v, _ := app.Stanza(k[0]).Get(k[1]); v != version.Version {
			c.addf(f, "[%s] %s = %q; internal/version says %q", k[0], k[1], v, version.Version)
		}
	}
	if b, _ := app.Stanza("install").Get("build"); b != strconv.Itoa(version.Build) {
		c.addf(f, "[install] build = %q; internal/version says %d", b, version.Build)
	}
	if version.Build < 1 {
		c.addf(f, "[install] build must be a positive integer")
	}
	ui := app.Stanza("ui")
	if v, _ := ui.Get("is_visible"); !truthy(v) {
		c.addf(f, "[ui] is_visible must be true: the app has dashboards")
	}
	label, _ := ui.Get("label")
	if n := len(label); n < 5 || n > 80 || strings.HasPrefix(strings.ToLower(label), "splunk for") {
		c.addf(f, "[ui] label %q must be 5 to 80 characters and not start with \"Splunk For\"", label)
	}

	const mf = "app.manifest"
	data, err := os.ReadFile(filepath.Join(c.dir, mf))
	if err != nil {
		c.addf(mf, "cannot read: %v", err)
		return
	}
	var m struct {
		SchemaVersion string `json:"schemaVersion"`
		Info          struct {
			ID struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"id"`
		} `json:"info"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		c.addf(mf, "not JSON: %v", err)
		return
	}
	if m.SchemaVersion != "2.0.0" {
		c.addf(mf, "schemaVersion %q; want 2.0.0", m.SchemaVersion)
	}
	if m.Info.ID.Name != id {
		c.addf(mf, "info.id.name %q; must equal [package] id %q", m.Info.ID.Name, id)
	}
	if m.Info.ID.Version != version.Version {
		c.addf(mf, "info.id.version %q; internal/version says %q", m.Info.ID.Version, version.Version)
	}
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y":
		return true
	}
	return false
}

// implicitInputKeys are inputs.conf settings every input may carry besides
// its scheme's own parameters.
var implicitInputKeys = []string{"interval", "index", "sourcetype", "source", "host", "disabled",
	"start_by_shell", "run_introspection", "queue", "_TCP_ROUTING", "_rcvbuf", "python.version"}

// inputs: the spec equals the parameter table; inputs.conf only uses the
// spec's scheme, known keys and valid intervals.
func (c *checker) inputs() {
	const sf = "README/inputs.conf.spec"
	spec := c.conf(sf)
	want := string(InputsSpec(Scheme, params.Args()))
	if got, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(sf))); err == nil && string(got) != want {
		c.addf(sf, "differs from the parameter table in internal/params; run: go run ./build/genassets")
	}
	if len(spec.Stanzas) != 1 {
		c.addf(sf, "has %d stanzas; want exactly [%s://<name>]", len(spec.Stanzas), Scheme)
	}
	for _, st := range spec.Stanzas {
		scheme, name, ok := strings.Cut(st.Name, "://")
		if !ok || scheme != Scheme || name != "<name>" {
			c.addf(sf, "stanza [%s]; want [%s://<name>] (the scheme is the executable's name)", st.Name, Scheme)
		}
		if len(st.Keys) == 0 {
			c.addf(sf, "stanza [%s] lists no properties", st.Name)
		}
		var names []string
		for _, a := range params.Args() {
			names = append(names, a.Name)
		}
		if !slices.Equal(st.Keys, names) {
			c.addf(sf, "[%s] properties %v; params.Args() has %v", st.Name, st.Keys, names)
		}
		for _, a := range params.Args() {
			d := a.Default
			if d == "" {
				d = noDefault
			}
			if docs := st.Docs[a.Name]; !slices.Contains(docs, "Default: "+d) || !slices.Contains(docs, a.Description) {
				c.addf(sf, "%s: description or default differs from params.Args()", a.Name)
			}
		}
	}

	const f = "default/inputs.conf"
	in := c.conf(f)
	known := map[string]bool{}
	for _, k := range implicitInputKeys {
		known[k] = true
	}
	for _, a := range params.Args() {
		known[a.Name] = true
	}
	if in.Stanza(Scheme) == nil {
		c.addf(f, "no [%s] stanza with the scheme's defaults", Scheme)
	}
	for _, st := range in.Stanzas {
		scheme, _, _ := strings.Cut(st.Name, "://")
		if scheme != Scheme {
			c.addf(f, "stanza [%s] is not a %s input", st.Name, Scheme)
			continue
		}
		for _, k := range st.Keys {
			if !known[k] {
				c.addf(f, "[%s] %s is neither a %s parameter nor an inputs.conf setting", st.Name, k, Scheme)
			}
		}
		if v, ok := st.Get("interval"); ok {
			if err := validInterval(v); err != nil {
				c.addf(f, "[%s] %v", st.Name, err)
			}
		}
		if strings.Contains(st.Name, "://") {
			if v, _ := st.Get("disabled"); !truthy(v) {
				c.addf(f, "[%s] must ship disabled = 1: it has no API key until the admin adds one", st.Name)
			}
		}
	}
	if v, _ := in.Stanza(Scheme).Get("sourcetype"); v != Sourcetype {
		c.addf(f, "[%s] sourcetype = %q; the dashboards read %s", Scheme, v, Sourcetype)
	}
}

// executables: every file in a bin directory is the scheme's executable
// for that platform; a package must hold at least one.
func (c *checker) executables() {
	found := 0
	for dir, ext := range archBinDirs {
		entries, err := os.ReadDir(filepath.Join(c.dir, filepath.FromSlash(dir)))
		if err != nil {
			continue
		}
		for _, e := range entries {
			rel := dir + "/" + e.Name()
			if e.Name() != Scheme+ext {
				c.addf(rel, "unexpected file: the executable must be named %s%s, after the scheme", Scheme, ext)
				continue
			}
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() {
				c.addf(rel, "not a regular file")
				continue
			}
			if ext == "" && info.Mode().Perm()&0o111 != 0o111 {
				c.addf(rel, "mode %v; the executable needs 0755", info.Mode().Perm())
			}
			found++
		}
	}
	if c.packaged && found == 0 {
		c.addf(".", "no executable for the %s modular input in linux_x86_64/bin, darwin_x86_64/bin or windows_x86_64/bin", Scheme)
	}
}

// kvstore: each kind's collection declares its record's fields with the
// right types, and its lookup exposes exactly the record's fields.
func (c *checker) kvstore() {
	for _, k := range kind.All() {
		c.kvstoreKind(k)
	}
}

func (c *checker) kvstoreKind(k kind.Kind) {
	const cf = "default/collections.conf"
	name := k.Collection()
	coll := c.conf(cf).Stanza(name)
	if coll == nil {
		c.addf(cf, "no [%s] stanza", name)
		coll = &Stanza{Values: map[string]string{}}
	}
	fields := k.Fields()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	// The Go type of the kind's records says which types each field may
	// be declared with.
	want := recordTypes(reflect.TypeOf(k.NotFound("", time.Time{})))
	declared := map[string]bool{"_key": true}
	for _, key := range coll.Keys {
		v := coll.Values[key]
		switch {
		case strings.HasPrefix(key, "field."):
			f := strings.TrimPrefix(key, "field.")
			declared[f] = true
			types, ok := want[f]
			if !ok || !slices.Contains(names, f) {
				c.addf(cf, "[%s] %s: %s is not a field of the %s kind's records", name, key, f, k.Name())
			} else if !slices.Contains(types, v) {
				c.addf(cf, "[%s] %s = %s; the record's Go type needs one of %v", name, key, v, types)
			}
			if !slices.Contains([]string{"number", "bool", "string", "time"}, v) {
				c.addf(cf, "[%s] %s = %s; collections.conf types are number, bool, string and time", name, key, v)
			}
		case strings.HasPrefix(key, "accelerated_fields."):
			var idx map[string]int
			if err := json.Unmarshal([]byte(v), &idx); err != nil || len(idx) == 0 {
				c.addf(cf, "[%s] %s is not a JSON object of field: 1 or -1", name, key)
			}
			for f, dir := range idx {
				if _, ok := want[f]; !ok || (dir != 1 && dir != -1) {
					c.addf(cf, "[%s] %s: %s: %d is not a record field with direction 1 or -1", name, key, f, dir)
				}
			}
		case key == "enforceTypes" || key == "replicate" || key == "profilingEnabled" || key == "profilingThresholdMs" ||
			key == "replication_dump_strategy" || key == "replication_dump_maximum_file_size":
		default:
			c.addf(cf, "[%s] unknown setting %s", name, key)
		}
	}
	for f, types := range want {
		if !declared[f] && !slices.Contains(types, "") {
			c.addf(cf, "[%s] record field %s is not declared (field.%s = %s)", name, f, f, types[0])
		}
	}
	for _, f := range fields {
		if !f.Accelerated {
			continue
		}
		if v, ok := coll.Get("accelerated_fields." + f.Name); !ok || strings.ReplaceAll(v, " ", "") != `{"`+f.Name+`":1}` {
			c.addf(cf, `[%s] accelerated_fields.%s = {"%s": 1} is missing`, name, f.Name, f.Name)
		}
	}

	const tf = "default/transforms.conf"
	lk := c.conf(tf).Stanza(name)
	if lk == nil {
		c.addf(tf, "no [%s] lookup definition", name)
		return
	}
	if v, _ := lk.Get("external_type"); v != "kvstore" {
		c.addf(tf, "[%s] external_type = %q; want kvstore", name, v)
	}
	if v, _ := lk.Get("collection"); v != name {
		c.addf(tf, "[%s] collection = %q; want %s", name, v, name)
	}
	if v, _ := lk.Get("case_sensitive_match"); v != "false" {
		c.addf(tf, "[%s] case_sensitive_match = %q; want false (keys are stored lower-case)", name, v)
	}
	v, _ := lk.Get("fields_list")
	list := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	for _, f := range list {
		if _, ok := want[f]; !ok && f != "_key" {
			c.addf(tf, "[%s] fields_list names %s, which is not a record field", name, f)
		} else if !declared[f] && !slices.Contains(want[f], "") {
			c.addf(tf, "[%s] fields_list names %s, which the collection does not declare", name, f)
		}
	}
	if got, exp := sortedCopy(list), sortedCopy(names); !slices.Equal(got, exp) {
		c.addf(tf, "[%s] fields_list %v; the %s kind's Fields are %v", name, list, k.Name(), names)
	}
}

// recordTypes maps each field of a record type (but _key) to the
// collections.conf types its Go type allows; "" means it may stay
// undeclared (arrays, which collections.conf cannot type).
func recordTypes(t reflect.Type) map[string][]string {
	out := map[string][]string{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "_key" || name == "" || name == "-" {
			continue
		}
		ft := t.Field(i).Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.String:
			out[name] = []string{"string"}
		case reflect.Bool:
			out[name] = []string{"bool"}
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
			out[name] = []string{"number", "time"}
		case reflect.Slice:
			out[name] = []string{"", "string"}
		}
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// searches: macros resolve, cron schedules are valid, and every search
// and dashboard reads only fields that exist.
func (c *checker) searches() {
	const mf = "default/macros.conf"
	x := &splChecker{macros: map[string]macroDef{}, lookup: Collection, saved: map[string]*fieldSet{}}
	for _, st := range c.conf(mf).Stanzas {
		def, ok := st.Get("definition")
		if !ok {
			c.addf(mf, "[%s] has no definition", st.Name)
		}
		var args []string
		if a, ok := st.Get("args"); ok && a != "" {
			for _, s := range strings.Split(a, ",") {
				args = append(args, strings.TrimSpace(s))
			}
		}
		if m := macroArity.FindStringSubmatch(st.Name); m != nil && m[1] != strconv.Itoa(len(args)) {
			c.addf(mf, "[%s] takes %s arguments but args names %d", st.Name, m[1], len(args))
		}
		x.macros[st.Name] = macroDef{args: args, definition: def}
	}
	for _, st := range c.conf(mf).Stanzas {
		if _, err := x.expand(st.Values["definition"], []string{st.Name}); err != nil {
			c.addf(mf, "[%s] %v", st.Name, err)
		}
	}

	c.candidateSources(x)

	const sf = "default/savedsearches.conf"
	for _, st := range c.conf(sf).Stanzas {
		spl, ok := st.Get("search")
		if !ok {
			c.addf(sf, "[%s] has no search", st.Name)
			continue
		}
		out, err := x.analyse(spl)
		if err != nil {
			c.addf(sf, "[%s] %v", st.Name, err)
		} else {
			x.saved[st.Name] = out
		}
		if v, _ := st.Get("enableSched"); truthy(v) {
			cron, _ := st.Get("cron_schedule")
			if err := ValidCron(cron); err != nil {
				c.addf(sf, "[%s] %v", st.Name, err)
			}
			if _, ok := st.Get("dispatch.earliest_time"); !ok {
				c.addf(sf, "[%s] is scheduled without dispatch.earliest_time", st.Name)
			}
		}
	}

	views := map[string]bool{"search": true}
	dir := filepath.Join(c.dir, "default", "data", "ui", "views")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rel := "default/data/ui/views/" + e.Name()
		if !strings.HasSuffix(e.Name(), ".xml") {
			c.addf(rel, "not a Simple XML view")
			continue
		}
		views[strings.TrimSuffix(e.Name(), ".xml")] = true
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			c.addf(rel, "cannot read: %v", err)
			continue
		}
		if rootElement(data) == "view" {
			c.pageView(rel, strings.TrimSuffix(e.Name(), ".xml"), data)
			continue
		}
		queries, err := viewQueries(data)
		if err != nil {
			c.addf(rel, "%v", err)
			continue
		}
		// Base searches first, then the post-process searches that
		// continue them (<search base="id">).
		bases := map[string]*fieldSet{}
		for _, q := range queries {
			if q.base != "" {
				continue
			}
			out, err := x.analyse(tokenRE.ReplaceAllString(q.query, "token"))
			if err != nil {
				c.addf(rel, "query %q: %v", shorten(q.query), err)
				continue
			}
			if q.id != "" {
				bases[q.id] = out
			}
		}
		for _, q := range queries {
			if q.base == "" {
				continue
			}
			base, ok := bases[q.base]
			if !ok {
				c.addf(rel, "query %q: post-processes base search %q, which the view does not define (or which failed the check)", shorten(q.query), q.base)
				continue
			}
			if _, err := x.postProcess(base, tokenRE.ReplaceAllString(q.query, "token")); err != nil {
				c.addf(rel, "query %q (post-process of %s): %v", shorten(q.query), q.base, err)
			}
		}
	}
	c.nav(views)
}

// The candidate source switch and its variants (macros.conf).
const (
	sourceSwitch = "vtsync_candidate_source"
	sourcePrefix = "vtsync_candidates_"
)

// candidateKinds are the detections with a switch between candidate
// sources: per kind, the switch, the prefix of its source macros, the
// searches that read the sources, and the fields every source yields.
var candidateKinds = []struct {
	kind, switchMacro, prefix string
	searches                  []string
	yields                    []string
}{
	{"domain", sourceSwitch, sourcePrefix, []string{params.DefaultSearch, "| `vtsync_detection`"},
		[]string{"host_name", "endpoint", "count", "event_time"}},
	{"ip", "vtsync_ip_candidate_source", "vtsync_ip_candidates_", []string{"| `vtsync_ip_candidates`", "| `vtsync_ip_detection`"},
		[]string{"dest_ip", "endpoint", "count", "event_time"}},
	{"file", "vtsync_file_candidate_source", "vtsync_file_candidates_", []string{"| `vtsync_file_candidates`", "| `vtsync_file_detection`"},
		[]string{"hash", "sha256", "sha1", "md5", "images", "endpoint", "count", "event_time"}},
}

// candidateSources checks, for each kind's detection, the switch and every
// candidate source it can name: each variant starts with a generating
// command (tstats or search, without the leading pipe, since searches run
// "| `macro`"), reads only the fields of its data (raw Sysmon through the
// Splunk Add-on for Sysmon, a CIM data model, indexed fields), and yields
// what the candidate search and the detection read.
func (c *checker) candidateSources(x *splChecker) {
	const mf = "default/macros.conf"
	for _, ck := range candidateKinds {
		sw, ok := x.macros[ck.switchMacro]
		if !ok {
			c.addf(mf, "has no [%s]: the switch that picks the %s detection's candidate source", ck.switchMacro, ck.kind)
			continue
		}
		var variants []string
		for name := range x.macros {
			if strings.HasPrefix(name, ck.prefix) {
				variants = append(variants, name)
			}
		}
		sort.Strings(variants)
		if len(variants) == 0 {
			c.addf(mf, "defines no %s* candidate source", ck.prefix)
			continue
		}
		if def := strings.TrimSpace(sw.definition); !slices.Contains(variants, strings.Trim(def, "`")) || strings.Count(def, "`") != 2 {
			c.addf(mf, "[%s] = %q; want one of the candidate sources `%s`", ck.switchMacro, def, strings.Join(variants, "`, `"))
		}
		for _, v := range variants {
			body := strings.TrimSpace(x.macros[v].definition)
			if name, _ := commandName(body); name != "tstats" && name != "search" {
				c.addf(mf, "[%s] starts with %q; want a generating command (tstats or search) without a leading pipe", v, name)
				continue
			}
			x.macros[ck.switchMacro] = macroDef{definition: "`" + v + "`"}
			src, err := x.analyse("| `" + v + "`")
			if err != nil {
				c.addf(mf, "[%s] %v", v, err)
				continue
			}
			for _, f := range ck.yields {
				if !src.has(f) {
					c.addf(mf, "[%s] yields no %s (%s candidate sources yield %s)", v, f, ck.kind, strings.Join(ck.yields, ", "))
				}
			}
			for _, spl := range ck.searches {
				if _, err := x.analyse(spl); err != nil {
					c.addf(mf, "with %s = `%s`, %s: %v", ck.switchMacro, v, spl, err)
				}
			}
		}
		x.macros[ck.switchMacro] = sw
	}
}

// macroArity matches the stanza name of a macro with arguments, name(N).
var macroArity = regexp.MustCompile(`^[^()]+\((\d+)\)$`)

// tokenRE matches a Simple XML token such as $time.earliest$.
var tokenRE = regexp.MustCompile(`\$[A-Za-z0-9_.:-]+\$`)

// viewQuery is one <search> of a view: its id, the base search it
// post-processes (if any) and its query.
type viewQuery struct {
	id, base, query string
}

// viewQueries parses a Simple XML dashboard or form and returns its queries.
func viewQueries(data []byte) ([]viewQuery, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var queries []viewQuery
	var root string
	var inQuery bool
	var cur strings.Builder
	var search []viewQuery // enclosing <search> elements
	for {
		t, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, fmt.Errorf("not well-formed XML: %v", err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if root == "" {
				root = t.Name.Local
				if root != "dashboard" && root != "form" {
					return nil, fmt.Errorf("root element <%s>; Simple XML views are <dashboard> or <form>", root)
				}
				if !slices.ContainsFunc(t.Attr, func(a xml.Attr) bool { return a.Name.Local == "version" && a.Value == "1.1" }) {
					return nil, fmt.Errorf(`<%s> lacks version="1.1" (required for current jQuery)`, root)
				}
			}
			switch t.Name.Local {
			case "search":
				var q viewQuery
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "id":
						q.id = a.Value
					case "base":
						q.base = a.Value
					}
				}
				search = append(search, q)
			case "query":
				inQuery = true
				cur.Reset()
			}
		case xml.CharData:
			if inQuery {
				cur.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "query":
				inQuery = false
				q := viewQuery{query: strings.TrimSpace(cur.String())}
				if n := len(search); n > 0 {
					q.id, q.base = search[n-1].id, search[n-1].base
				}
				queries = append(queries, q)
			case "search":
				if n := len(search); n > 0 {
					search = search[:n-1]
				}
			}
		}
	}
	if root == "" {
		return nil, fmt.Errorf("empty view")
	}
	return queries, nil
}

// nav: the navigation parses and names existing views.
func (c *checker) nav(views map[string]bool) {
	const f = "default/data/ui/nav/default.xml"
	data, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(f)))
	if err != nil {
		c.addf(f, "cannot read: %v", err)
		return
	}
	var nav struct {
		XMLName xml.Name
		Views   []struct {
			Name string `xml:"name,attr"`
		} `xml:"view"`
	}
	if err := xml.Unmarshal(data, &nav); err != nil {
		c.addf(f, "not well-formed XML: %v", err)
		return
	}
	if nav.XMLName.Local != "nav" {
		c.addf(f, "root element <%s>; want <nav>", nav.XMLName.Local)
	}
	for _, v := range nav.Views {
		if !views[v.Name] {
			c.addf(f, "names view %q, which default/data/ui/views does not have", v.Name)
		}
	}
}

// meta: default.meta gives read to all, exports the objects other apps'
// searches need, and names only objects that exist.
func (c *checker) meta() {
	const f = "metadata/default.meta"
	m := c.conf(f)
	if v, _ := m.Stanza("").Get("access"); !strings.Contains(strings.ReplaceAll(v, " ", ""), "read:[*]") || !strings.Contains(v, "write") {
		c.addf(f, "[] access = %q; want read : [ * ] and a write list", v)
	}
	for _, objs := range [][]string{{"collections/" + Collection, "collections"}, {"transforms/" + Collection, "transforms"},
		{"macros"}, {"props/" + url.PathEscape(Sourcetype), "props"}} {
		exported := false
		for _, obj := range objs {
			v, _ := m.Stanza(obj).Get("export")
			exported = exported || v == "system"
		}
		if !exported {
			c.addf(f, "[%s] is not exported (export = system) so searches in other apps cannot use it", objs[0])
		}
	}
	for _, st := range m.Stanzas {
		kind, obj, ok := strings.Cut(st.Name, "/")
		if !ok || obj == "" {
			continue
		}
		// Object names are URL-encoded in .meta files.
		if dec, err := url.PathUnescape(obj); err == nil {
			obj = dec
		} else {
			c.addf(f, "[%s]: %v", st.Name, err)
		}
		conf := map[string]string{"collections": "default/collections.conf", "transforms": "default/transforms.conf",
			"props": "default/props.conf", "macros": "default/macros.conf", "savedsearches": "default/savedsearches.conf"}[kind]
		if conf == "" {
			continue
		}
		if c.conf(conf).Stanza(obj) == nil {
			c.addf(f, "[%s] names an object %s does not define", st.Name, conf)
		}
	}
}

// icons: the app icons exist with AppInspect's sizes.
func (c *checker) icons() {
	for name, size := range map[string]int{"appIcon.png": 36, "appIcon_2x.png": 72, "appIconAlt.png": 36, "appIconAlt_2x.png": 72} {
		rel := "static/" + name
		data, err := os.ReadFile(filepath.Join(c.dir, "static", name))
		if err != nil {
			if !strings.Contains(name, "Alt") {
				c.addf(rel, "missing: the app needs its icon")
			}
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			c.addf(rel, "not a PNG: %v", err)
			continue
		}
		if cfg.Width != size || cfg.Height != size {
			c.addf(rel, "%dx%d; want %dx%d", cfg.Width, cfg.Height, size, size)
		}
	}
}

// props: the summary events are JSON and extracted as such.
func (c *checker) props() {
	const f = "default/props.conf"
	st := c.conf(f).Stanza(Sourcetype)
	if v, _ := st.Get("KV_MODE"); v != "json" {
		c.addf(f, "[%s] KV_MODE = %q; want json (the dashboards read the summary's JSON fields)", Sourcetype, v)
	}
}
