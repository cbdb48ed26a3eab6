package appcheck

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/record"
)

// This file follows the fields an SPL pipeline reads and creates, command
// by command, so that the app's searches and dashboards can only read what
// exists: run-summary fields (pipeline.Summary's JSON names), KV record
// fields (record.Fields), fields of the endpoint events the detection
// starts from, and fields an earlier command of the same search created.
// It knows the commands the app uses; any other command is reported, so the
// check never passes a search it did not understand.

// eventFields are the fields of the endpoint network events that tstats
// reads without a data model (the vtsync_events macro's data: the blog's
// Sysmon events with indexed http_host, dest and process_name).
var eventFields = []string{"_time", "index", "sourcetype", "source", "host", "dest", "process_name", "http_host"}

// sysmonSource is the source of raw Sysmon events as the Splunk Add-on for
// Sysmon indexes them; sysmonFields are the search-time fields the add-on
// extracts from them that the candidate search may read (Sysmon's event
// schema: EventCode 3 network connection, 22 DNS query, 1 process
// creation).
const sysmonSource = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"

var sysmonFields = []string{"EventCode", "EventID", "Computer", "UtcTime", "Image", "ProcessId", "ProcessGuid", "User",
	"QueryName", "QueryStatus", "QueryResults",
	"Protocol", "Initiated", "SourceIp", "SourceHostname", "SourcePort", "DestinationIp", "DestinationHostname", "DestinationPort",
	"CommandLine", "ParentImage", "Hashes", "OriginalFileName"}

// dataModels are the CIM data model datasets tstats may read (from
// datamodel=<model>.<dataset>), with the fields the Common Information
// Model defines for them, prefixed by the dataset name as tstats names
// them. In Network_Resolution src is the client that asked and dest the DNS
// server; in Web src is the client and dest the web server.
var dataModels = map[string][]string{
	"Network_Resolution.DNS": {"DNS.query", "DNS.src", "DNS.dest", "DNS.message_type", "DNS.query_type", "DNS.record_type",
		"DNS.reply_code", "DNS.answer", "DNS.src_ip", "DNS.dest_ip", "DNS.vendor_product"},
	"Web.Web": {"Web.site", "Web.url", "Web.uri_path", "Web.src", "Web.dest", "Web.user", "Web.http_user_agent",
		"Web.http_method", "Web.status", "Web.category", "Web.action", "Web.vendor_product"},
	"Network_Traffic.All_Traffic": {"All_Traffic.src", "All_Traffic.src_ip", "All_Traffic.dest", "All_Traffic.dest_ip",
		"All_Traffic.dest_port", "All_Traffic.app", "All_Traffic.action", "All_Traffic.transport", "All_Traffic.vendor_product"},
}

// restEndpoints are the REST endpoints the app's searches read with | rest,
// with the fields of their entries.
var restEndpoints = map[string][]string{
	"/services/data/inputs/vtsync": {"title", "id", "updated", "author", "disabled", "interval", "index", "sourcetype",
		"host", "splunk_server", "eai:acl.app", "eai:acl.sharing"},
}

// defaultFields exist on every indexed event.
var defaultFields = []string{"_time", "_raw", "index", "sourcetype", "source", "host"}

// externalMacros are macros the app uses but does not define, with the
// fields they create. ut_parse_extended(url, list) comes from URL Toolbox
// (Splunkbase app 2734), the detection's documented dependency.
var externalMacros = map[string][]string{
	"ut_parse_extended(2)": {"ut_scheme", "ut_netloc", "ut_domain", "ut_domain_without_tld",
		"ut_subdomain", "ut_tld", "ut_path", "ut_query", "ut_fragment", "ut_port",
		"ut_subdomain_count", "ut_subdomain_parts"},
}

// fieldSet is the set of fields available at a point of a pipeline.
type fieldSet struct {
	names    map[string]bool
	prefixes []string // map fields: any name with this prefix exists
	open     bool     // unknown field names exist (after timechart ... by x)
}

func newFieldSet(names ...string) *fieldSet {
	f := &fieldSet{names: map[string]bool{}}
	for _, n := range names {
		f.names[n] = true
	}
	return f
}

func (f *fieldSet) clone() *fieldSet {
	c := newFieldSet()
	for n := range f.names {
		c.names[n] = true
	}
	c.prefixes = append(c.prefixes, f.prefixes...)
	c.open = f.open
	return c
}

func (f *fieldSet) has(name string) bool {
	if f.open || f.names[name] {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// summaryFields are the fields of a vtsync:run event: the JSON names of
// pipeline.Summary (maps as name.<key>, slices as name{} the way KV_MODE =
// json extracts them) plus the default fields.
func summaryFields() *fieldSet {
	f := newFieldSet(defaultFields...)
	t := reflect.TypeFor[pipeline.Summary]()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		switch t.Field(i).Type.Kind() {
		case reflect.Map:
			f.prefixes = append(f.prefixes, name+".")
		case reflect.Slice:
			f.names[name+"{}"] = true
		default:
			f.names[name] = true
		}
	}
	return f
}

func recordFields() *fieldSet { return newFieldSet(record.Fields...) }

// lookupFields returns the fields of the KV lookup name: the domain record
// (record.Fields) for the app's lookup, or the record contract of the kind
// whose collection it is (vtsync_ips, vtsync_files).
func (x *splChecker) lookupFields(name string) (*fieldSet, error) {
	if name == x.lookup {
		return recordFields(), nil
	}
	known := []string{x.lookup}
	for _, k := range kind.All() {
		if k.Collection() == name && name != x.lookup {
			f := newFieldSet()
			for _, fd := range k.Fields() {
				f.names[fd.Name] = true
			}
			return f, nil
		}
		if k.Collection() != x.lookup {
			known = append(known, k.Collection())
		}
	}
	return nil, fmt.Errorf("the app check knows only the lookups %s, not %s", strings.Join(known, ", "), name)
}

// macroDef is one macros.conf stanza.
type macroDef struct {
	args       []string
	definition string
}

// splChecker analyses the app's searches.
type splChecker struct {
	macros map[string]macroDef // by "name" or "name(N)"
	lookup string              // the app's KV lookup definition
	saved  map[string]*fieldSet
}

var macroRef = regexp.MustCompile("`([^`]*)`")

// macroKey returns the macros.conf stanza name a reference calls, and the
// reference's arguments.
func macroKey(ref string) (string, []string) {
	ref = strings.TrimSpace(ref)
	open := strings.IndexByte(ref, '(')
	if open < 0 || !strings.HasSuffix(ref, ")") {
		return ref, nil
	}
	args := splitTop(ref[open+1:len(ref)-1], ',')
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	return fmt.Sprintf("%s(%d)", strings.TrimSpace(ref[:open]), len(args)), args
}

// expand replaces every macro reference by its definition, recursively.
// References to external macros are left in place without the backticks,
// so that the analyser sees them as commands.
func (x *splChecker) expand(spl string, stack []string) (string, error) {
	if strings.Count(spl, "`")%2 != 0 {
		return "", fmt.Errorf("unbalanced backtick in %q", shorten(spl))
	}
	var err error
	out := macroRef.ReplaceAllStringFunc(spl, func(m string) string {
		if err != nil {
			return ""
		}
		key, args := macroKey(m[1 : len(m)-1])
		if _, ok := externalMacros[key]; ok {
			return m[1 : len(m)-1]
		}
		def, ok := x.macros[key]
		if !ok {
			err = fmt.Errorf("macro `%s` is not defined in macros.conf (nor a known external macro)", key)
			return ""
		}
		for _, s := range stack {
			if s == key {
				err = fmt.Errorf("macro `%s` expands to itself (%s)", key, strings.Join(append(stack, key), " -> "))
				return ""
			}
		}
		if len(stack) > 20 {
			err = fmt.Errorf("macros nest deeper than 20 levels at `%s`", key)
			return ""
		}
		body := def.definition
		for i, a := range def.args {
			body = strings.ReplaceAll(body, "$"+a+"$", args[i])
		}
		var sub string
		sub, err = x.expand(body, append(stack, key))
		return sub
	})
	return out, err
}

// analyse expands spl and follows its fields. It returns the fields of the
// final result.
func (x *splChecker) analyse(spl string) (*fieldSet, error) {
	exp, err := x.expand(spl, nil)
	if err != nil {
		return nil, err
	}
	cmds, err := splitPipes(exp)
	if err != nil {
		return nil, err
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("empty search")
	}
	var avail *fieldSet
	if strings.TrimSpace(cmds[0]) == "" {
		cmds = cmds[1:] // "| generating-command ..."
		if len(cmds) == 0 {
			return nil, fmt.Errorf("empty search")
		}
		if avail, err = x.generating(cmds[0]); err != nil {
			return nil, err
		}
	} else {
		body := cmds[0]
		if name, rest := commandName(body); strings.EqualFold(name, "search") {
			body = rest
		}
		if avail, err = x.eventSearch(body); err != nil {
			return nil, err
		}
	}
	for _, c := range cmds[1:] {
		if avail, err = x.command(c, avail); err != nil {
			return nil, err
		}
	}
	return avail, nil
}

// postProcess follows a post-process search (a dashboard's <search
// base=...>): its commands continue from the base search's fields.
func (x *splChecker) postProcess(base *fieldSet, spl string) (*fieldSet, error) {
	exp, err := x.expand(spl, nil)
	if err != nil {
		return nil, err
	}
	cmds, err := splitPipes(exp)
	if err != nil {
		return nil, err
	}
	avail := base.clone()
	for _, c := range cmds {
		if strings.TrimSpace(c) == "" {
			return nil, fmt.Errorf("empty command in post-process search %q", shorten(spl))
		}
		if avail, err = x.command(c, avail); err != nil {
			return nil, err
		}
	}
	return avail, nil
}

func commandName(c string) (string, string) {
	c = strings.TrimSpace(c)
	end := strings.IndexFunc(c, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '(' })
	if end < 0 {
		return c, ""
	}
	return c[:end], c[end:]
}

// eventSearch handles a search that starts from indexed events: the
// vtsync:run summary events, and raw Sysmon events.
func (x *splChecker) eventSearch(body string) (*fieldSet, error) {
	toks, err := tokenize(body)
	if err != nil {
		return nil, err
	}
	var avail *fieldSet
	for i := 0; i+2 < len(toks); i++ {
		switch {
		case toks[i].s == "sourcetype" && toks[i+1].s == "=" && toks[i+2].s == Sourcetype:
			avail = summaryFields()
		case toks[i].s == "source" && toks[i+1].s == "=" && toks[i+2].s == sysmonSource:
			avail = newFieldSet(append(slices.Clone(defaultFields), sysmonFields...)...)
		}
	}
	if avail == nil {
		return nil, fmt.Errorf("search %q reads events other than sourcetype=%q or source=%q; the app check knows no other event fields", shorten(body), Sourcetype, sysmonSource)
	}
	return avail, readFields(searchReads(toks), avail, "search")
}

func (x *splChecker) generating(c string) (*fieldSet, error) {
	name, rest := commandName(c)
	toks, err := tokenize(rest)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(name) {
	case "tstats":
		return tstats(toks)
	case "search":
		return x.eventSearch(rest)
	case "rest":
		for _, w := range strings.Fields(rest) {
			if strings.HasPrefix(w, "/") {
				f, ok := restEndpoints[w]
				if !ok {
					return nil, fmt.Errorf("rest %s: the app check knows no such endpoint", w)
				}
				return newFieldSet(f...), nil
			}
		}
		return nil, fmt.Errorf("rest without an endpoint")
	case "inputlookup":
		i := skipOptions(toks, 0)
		if i >= len(toks) || toks[i].kind != tWord {
			return nil, fmt.Errorf("inputlookup without a lookup name")
		}
		name := toks[i].s
		out, err := x.lookupFields(name)
		if err != nil {
			return nil, fmt.Errorf("inputlookup %s: %w", name, err)
		}
		if len(toks) == i+1 {
			return nil, fmt.Errorf("inputlookup %s reads the whole collection: give it a where clause (inputlookup %s where <condition>), which the KV store answers with a query", name, name)
		}
		if rest := toks[i+1:]; len(rest) > 0 {
			if !strings.EqualFold(rest[0].s, "where") {
				return nil, fmt.Errorf("inputlookup %s: unexpected %q (want where <condition>)", name, rest[0].s)
			}
			if err := readFields(exprReads(rest[1:]), out, "inputlookup where"); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "loadjob":
		for i := 0; i+2 < len(toks); i++ {
			if toks[i].s == "savedsearch" && toks[i+1].s == "=" {
				parts := strings.SplitN(toks[i+2].s, ":", 3)
				if len(parts) != 3 {
					return nil, fmt.Errorf("loadjob savedsearch=%q is not owner:app:name", toks[i+2].s)
				}
				out, ok := x.saved[parts[2]]
				if !ok {
					return nil, fmt.Errorf("loadjob names saved search %q, which savedsearches.conf does not define", parts[2])
				}
				return out.clone(), nil
			}
		}
		return nil, fmt.Errorf("loadjob without savedsearch=")
	case "makeresults":
		return newFieldSet("_time"), nil
	}
	return nil, fmt.Errorf("generating command %q is not known to the app check", name)
}

// tstats: tstats [opts] agg(field) [as name] ... [from datamodel=M.D]
// [where <terms>] [by f1, f2]. Without a data model it reads indexed
// fields (eventFields); with one, that dataset's CIM fields.
func tstats(toks []token) (*fieldSet, error) {
	events := newFieldSet(eventFields...)
	for j := 0; j+3 < len(toks); j++ {
		if strings.EqualFold(toks[j].s, "from") && toks[j+1].s == "datamodel" && toks[j+2].s == "=" {
			f, ok := dataModels[toks[j+3].s]
			if !ok {
				return nil, fmt.Errorf("tstats from datamodel=%s: the app check knows the datasets %s", toks[j+3].s, strings.Join(slices.Sorted(maps.Keys(dataModels)), ", "))
			}
			events = newFieldSet(append([]string{"_time"}, f...)...)
			toks = slices.Delete(slices.Clone(toks), j, j+4)
			break
		}
	}
	i := skipOptions(toks, 0)
	var aggEnd int
	for aggEnd = i; aggEnd < len(toks); aggEnd++ {
		if w := strings.ToLower(toks[aggEnd].s); toks[aggEnd].kind == tWord && (w == "where" || w == "by" || w == "from") {
			break
		}
	}
	created, reads, err := aggregations(toks[i:aggEnd])
	if err != nil {
		return nil, err
	}
	if err := readFields(reads, events, "tstats"); err != nil {
		return nil, err
	}
	out := newFieldSet(created...)
	for i = aggEnd; i < len(toks); {
		switch strings.ToLower(toks[i].s) {
		case "from":
			return nil, fmt.Errorf("tstats from: want from datamodel=<model>.<dataset>")
		case "where":
			j := i + 1
			for j < len(toks) && !strings.EqualFold(toks[j].s, "by") {
				j++
			}
			if err := readFields(searchReads(toks[i+1:j]), events, "tstats where"); err != nil {
				return nil, err
			}
			i = j
		case "by":
			by := identList(toks[i+1:])
			if err := readFields(by, events, "tstats by"); err != nil {
				return nil, err
			}
			for _, b := range by {
				out.names[b] = true
			}
			i = len(toks)
		default:
			return nil, fmt.Errorf("tstats: unexpected %q", toks[i].s)
		}
	}
	return out, nil
}

// command applies one non-generating command to the available fields.
func (x *splChecker) command(c string, avail *fieldSet) (*fieldSet, error) {
	name, rest := commandName(c)
	if key, args := macroKey(c); externalMacros[key] != nil {
		if err := readFields(args, avail, key); err != nil {
			return nil, err
		}
		out := avail.clone()
		for _, f := range externalMacros[key] {
			out.names[f] = true
		}
		return out, nil
	}
	toks, err := tokenize(rest)
	if err != nil {
		return nil, err
	}
	cmd := strings.ToLower(name)
	switch cmd {
	case "search":
		return avail, readFields(searchReads(toks), avail, cmd)
	case "where":
		return avail, readFields(exprReads(toks), avail, cmd)
	case "eval":
		out := avail.clone()
		for _, asg := range splitTokens(toks) {
			if len(asg) < 3 || asg[0].kind != tWord || asg[1].s != "=" {
				return nil, fmt.Errorf("eval: %q is not field = expression", joinTokens(asg))
			}
			if err := readFields(exprReads(asg[2:]), out, "eval "+asg[0].s); err != nil {
				return nil, err
			}
			out.names[asg[0].s] = true
		}
		return out, nil
	case "stats", "eventstats", "streamstats", "timechart", "chart":
		i := skipOptions(toks, 0)
		byAt := len(toks)
		for j := i; j < len(toks); j++ {
			if toks[j].kind == tWord && strings.EqualFold(toks[j].s, "by") {
				byAt = j
				break
			}
		}
		created, reads, err := aggregations(toks[i:byAt])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		var by []string
		if byAt < len(toks) {
			by = identList(toks[byAt+1 : skipTrailingOptions(toks, byAt+1)])
		}
		if err := readFields(append(reads, by...), avail, cmd); err != nil {
			return nil, err
		}
		var out *fieldSet
		switch cmd {
		case "eventstats", "streamstats":
			out = avail.clone()
		case "timechart":
			out = newFieldSet("_time")
			out.open = len(by) > 0 // one column per value of the split-by field
		case "chart":
			out = newFieldSet(by...)
			out.open = len(by) > 1
		default:
			out = newFieldSet(by...)
		}
		for _, f := range created {
			out.names[f] = true
		}
		return out, nil
	case "lookup":
		return x.lookupCmd(toks, avail)
	case "table", "fields":
		names := identList(toks)
		if cmd == "fields" && len(toks) > 0 && toks[0].s == "-" {
			out := avail.clone()
			for _, n := range identList(toks[1:]) {
				delete(out.names, n)
			}
			return out, nil
		}
		if cmd == "fields" && len(toks) > 0 && toks[0].s == "+" {
			names = identList(toks[1:])
		}
		if err := readFields(names, avail, cmd); err != nil {
			return nil, err
		}
		out := newFieldSet(names...)
		for _, internal := range []string{"_time", "_raw"} {
			if cmd == "fields" && avail.has(internal) {
				out.names[internal] = true // fields keeps internal fields
			}
		}
		return out, nil
	case "rename":
		out := avail.clone()
		for _, part := range splitTokens(toks) {
			if len(part) != 3 || !strings.EqualFold(part[1].s, "as") {
				return nil, fmt.Errorf("rename: %q is not old AS new", joinTokens(part))
			}
			if err := readFields([]string{part[0].s}, out, cmd); err != nil {
				return nil, err
			}
			delete(out.names, part[0].s)
			out.names[part[2].s] = true
		}
		return out, nil
	case "sort", "dedup":
		return avail, readFields(identList(toks), avail, cmd)
	case "mvexpand":
		return avail, readFields(identList(toks[skipOptions(toks, 0):]), avail, cmd)
	case "append":
		sub := strings.TrimSpace(rest)
		if !strings.HasPrefix(sub, "[") || !strings.HasSuffix(sub, "]") {
			return nil, fmt.Errorf("append: want append [ search ... ]")
		}
		inner, err := x.analyse(strings.TrimSpace(sub[1 : len(sub)-1]))
		if err != nil {
			return nil, fmt.Errorf("append subsearch: %w", err)
		}
		out := avail.clone()
		for n := range inner.names {
			out.names[n] = true
		}
		out.prefixes = append(out.prefixes, inner.prefixes...)
		out.open = out.open || inner.open
		return out, nil
	case "head", "tail":
		return avail, nil
	}
	return nil, fmt.Errorf("command %q is not known to the app check; teach it in internal/appcheck/spl.go", name)
}

// lookupCmd: lookup [opts] <name> in [AS field] ... [OUTPUT|OUTPUTNEW out [AS name] ...].
func (x *splChecker) lookupCmd(toks []token, avail *fieldSet) (*fieldSet, error) {
	i := skipOptions(toks, 0)
	if i >= len(toks) {
		return nil, fmt.Errorf("lookup without a lookup name")
	}
	name := toks[i].s
	rec, err := x.lookupFields(name)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", name, err)
	}
	out := avail.clone()
	outAt := len(toks)
	for j := i + 1; j < len(toks); j++ {
		if w := strings.ToUpper(toks[j].s); w == "OUTPUT" || w == "OUTPUTNEW" {
			outAt = j
			break
		}
	}
	for _, m := range asPairs(toks[i+1 : outAt]) {
		if !rec.has(m[0]) {
			return nil, fmt.Errorf("lookup %s matches on %s, which is not a record field", name, m[0])
		}
		if err := readFields([]string{m[1]}, avail, "lookup"); err != nil {
			return nil, err
		}
	}
	if outAt == len(toks) { // no OUTPUT: every record field
		for n := range rec.names {
			out.names[n] = true
		}
		return out, nil
	}
	for _, m := range asPairs(toks[outAt+1:]) {
		if !rec.has(m[0]) {
			return nil, fmt.Errorf("lookup %s outputs %s, which is not a record field (record.Fields, or the kind's Fields)", name, m[0])
		}
		out.names[m[1]] = true
	}
	return out, nil
}

// asPairs reads "a [AS b] c [AS d] ..." as (a,b) pairs, b defaulting to a.
func asPairs(toks []token) [][2]string {
	var out [][2]string
	for i := 0; i < len(toks); i++ {
		if toks[i].kind == tComma {
			continue
		}
		p := [2]string{toks[i].s, toks[i].s}
		if i+2 < len(toks) && strings.EqualFold(toks[i+1].s, "as") {
			p[1] = toks[i+2].s
			i += 2
		}
		out = append(out, p)
	}
	return out
}

// aggregations reads "func(field) [as name], count [as name] ...".
func aggregations(toks []token) (created, reads []string, err error) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tComma {
			continue
		}
		if t.kind != tWord {
			return nil, nil, fmt.Errorf("unexpected %q in aggregations", t.s)
		}
		name := t.s
		if i+1 < len(toks) && toks[i+1].kind == tLParen {
			j := i + 2
			for j < len(toks) && toks[j].kind != tRParen {
				if toks[j].kind == tLParen {
					return nil, nil, fmt.Errorf("%s(...) with an expression is not known to the app check", t.s)
				}
				j++
			}
			if j == len(toks) {
				return nil, nil, fmt.Errorf("%s( is not closed", t.s)
			}
			args := toks[i+2 : j]
			reads = append(reads, identList(args)...)
			name = t.s + "(" + joinTokens(args) + ")"
			i = j
		}
		if i+2 < len(toks) && strings.EqualFold(toks[i+1].s, "as") {
			name = toks[i+2].s
			i += 2
		}
		created = append(created, name)
	}
	return created, reads, nil
}

// skipOptions skips leading key=value options.
func skipOptions(toks []token, i int) int {
	for i+2 < len(toks) && toks[i].kind == tWord && toks[i+1].s == "=" {
		i += 3
	}
	return i
}

// skipTrailingOptions returns where trailing key=value options start.
func skipTrailingOptions(toks []token, from int) int {
	for j := from; j+1 < len(toks); j++ {
		if toks[j].kind == tWord && toks[j+1].s == "=" {
			return j
		}
	}
	return len(toks)
}

// searchReads returns the fields a search-language clause compares:
// field=value, field!=value, field<value, field IN (...).
func searchReads(toks []token) []string {
	var out []string
	for i := 0; i+1 < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord || !isIdent(t.s) {
			continue
		}
		next := toks[i+1]
		if next.kind == tOp && next.s != "." || strings.EqualFold(next.s, "in") {
			out = append(out, t.s)
		}
	}
	return out
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "xor": true, "like": true, "in": true, "true": true, "false": true, "null": true, "as": true}

// exprReads returns the field names an eval expression reads: identifiers
// that are not function names or keywords, and 'quoted' names.
func exprReads(toks []token) []string {
	var out []string
	for i, t := range toks {
		switch {
		case t.kind == tQuoted:
			out = append(out, t.s)
		case t.kind == tWord && isIdent(t.s) && !keywords[strings.ToLower(t.s)]:
			if i+1 < len(toks) && toks[i+1].kind == tLParen {
				continue // function call
			}
			out = append(out, t.s)
		}
	}
	return out
}

// identList returns the field names in a list such as "a, b c".
func identList(toks []token) []string {
	var out []string
	for _, t := range toks {
		if t.kind == tWord && isIdent(t.s) && !keywords[strings.ToLower(t.s)] || t.kind == tQuoted {
			out = append(out, t.s)
		}
	}
	return out
}

func readFields(names []string, avail *fieldSet, where string) error {
	var missing []string
	for _, n := range names {
		if !avail.has(n) {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("%s reads %s, which is neither a vtsync:run summary field (pipeline.Summary), a KV record field (record.Fields), an event field of vtsync_events, nor created earlier in the search",
		where, strings.Join(missing, ", "))
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.{}:]*$`)

func isIdent(s string) bool {
	if !identRE.MatchString(s) || strings.HasSuffix(s, ".") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err != nil
}

// Tokens of a command's arguments.
const (
	tWord = iota
	tString
	tQuoted
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind int
	s    string
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && j+1 < len(s) {
					b.WriteByte(s[j])
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated %c in %q", c, shorten(s))
			}
			kind := tString
			if c == '\'' {
				kind = tQuoted
			}
			out = append(out, token{kind, b.String()})
			i = j + 1
		case c == '(':
			out = append(out, token{tLParen, "("})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")"})
			i++
		case c == ',':
			out = append(out, token{tComma, ","})
			i++
		case strings.IndexByte("=!<>+-/%", c) >= 0:
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			out = append(out, token{tOp, s[i:j]})
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n\r\"'(),=!<>+-/%", s[j]) < 0 {
				j++
			}
			out = append(out, token{tWord, s[i:j]})
			i = j
		}
	}
	return out, nil
}

// splitTokens splits at commas outside parentheses.
func splitTokens(toks []token) [][]token {
	var out [][]token
	depth, start := 0, 0
	for i, t := range toks {
		switch t.kind {
		case tLParen:
			depth++
		case tRParen:
			depth--
		case tComma:
			if depth == 0 {
				out = append(out, toks[start:i])
				start = i + 1
			}
		}
	}
	return append(out, toks[start:])
}

func joinTokens(toks []token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.s
	}
	return strings.Join(parts, " ")
}

// splitPipes splits a search into commands at | outside quotes and
// brackets. Subsearches are refused except as the argument of append,
// which the check follows.
func splitPipes(s string) ([]string, error) {
	var out []string
	start, depth := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			if name, _ := commandName(s[start:i]); depth == 0 && !strings.EqualFold(name, "append") {
				return nil, fmt.Errorf("subsearch in %q: the app check follows subsearches of append only", shorten(s))
			}
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == '|' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c in %q", quote, shorten(s))
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced [ in %q", shorten(s))
	}
	return append(out, strings.TrimSpace(s[start:])), nil
}

// splitTop splits s at sep outside quotes and parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
