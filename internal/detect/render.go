package detect

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vtsync/vtsync/internal/filesource"
	"github.com/vtsync/vtsync/internal/termtext"
)

// Output formats of vtsync detect.
const (
	FormatTable = "table" // for a person: 80 columns, reasons in words
	FormatJSON  = "json"  // one JSON array
	FormatCSV   = "csv"   // a header row, one row per finding
)

// Formats lists the output formats.
var Formats = []string{FormatTable, FormatJSON, FormatCSV}

// Write writes findings in format (FormatTable, FormatJSON or FormatCSV).
func Write(w io.Writer, format string, findings []Finding) error {
	switch format {
	case FormatTable:
		return WriteTable(w, findings)
	case FormatJSON:
		return WriteJSON(w, findings)
	case FormatCSV:
		return WriteCSV(w, findings)
	}
	return fmt.Errorf("output format %q: use table, json or csv", format)
}

// Table layout: 80 columns. The first column (the domain, the IP address,
// the image's name) is as wide as its longest value, up to domainMax
// (longer ones are cut, ending in "..."); the reasons, hashes, images and
// endpoints are folded onto indented lines under their row.
const (
	tableWidth = 80
	domainMax  = 40
	indent     = "    "
)

// sections are the table's parts, one per detection: the heading of the
// first and last columns.
var sections = map[string]struct{ first, time string }{
	KindDomain: {"DOMAIN", "FIRST CONTACT (UTC)"},
	KindIP:     {"IP ADDRESS", "FIRST CONTACT (UTC)"},
	KindFile:   {"PROCESS IMAGE", "FIRST SEEN (UTC)"},
}

// kindOf is a finding's kind; one without is a domain's.
func kindOf(f Finding) string {
	if f.Kind == "" {
		return KindDomain
	}
	return f.Kind
}

// WriteTable writes findings for a person: one section per detection
// (domains, IP addresses, process images) with the findings in their
// order, one row per indicator (status, endpoints, first contact), then
// its reasons in words, its hash and images (process images), its network
// (IP addresses) and its endpoints on indented lines, nothing wider than
// 80 columns. Every string from data is escaped by termtext.Clean, so no
// control character reaches the terminal. With no findings it writes a
// line saying so.
func WriteTable(w io.Writer, findings []Finding) error {
	if len(findings) == 0 {
		_, err := fmt.Fprintln(w, "no findings")
		return err
	}
	bw := bufio.NewWriter(w)
	wrote := false
	for _, kind := range Kinds {
		var part []Finding
		for _, f := range findings {
			if kindOf(f) == kind {
				part = append(part, f)
			}
		}
		if len(part) == 0 {
			continue
		}
		if wrote {
			bw.WriteString("\n")
		}
		writeSection(bw, kind, part)
		wrote = true
	}
	return bw.Flush()
}

// writeSection writes the table of one detection's findings.
func writeSection(bw *bufio.Writer, kind string, findings []Finding) {
	head := sections[kind]
	name := func(f Finding) string {
		if kind == KindFile && len(f.Images) > 0 {
			return termtext.Clean(filesource.ProcessName(f.Images[0]))
		}
		return termtext.Clean(f.Indicator)
	}
	dw := len(head.first)
	for _, f := range findings {
		dw = max(dw, min(width(name(f)), domainMax))
	}
	row := func(first, status, hosts, time string) {
		fmt.Fprintf(bw, "%s  %-8s  %5s  %s\n", pad(cut(first, dw), dw), status, hosts, time)
	}
	row(head.first, "STATUS", "HOSTS", head.time)
	for _, f := range findings {
		status := f.Status
		if f.Status == StatusPending && f.Alert {
			status = "pending!" // alerts although not looked up (alert_pending)
		}
		first := "-"
		if !f.FirstSeen.IsZero() {
			first = f.FirstSeen.UTC().Format(time.DateTime)
		}
		row(name(f), status, strconv.Itoa(len(f.Hosts)), first)
		for _, r := range f.Reasons {
			fold(bw, "- "+termtext.Clean(r))
		}
		switch kind {
		case KindIP:
			if owner := strings.Join(nonEmpty(termtext.Clean(f.ASOwner), termtext.Clean(f.Country)), ", "); owner != "" {
				fold(bw, "network of "+owner)
			}
		case KindFile:
			fold(bw, hashName(f.Indicator)+" "+termtext.Clean(f.Indicator))
			switch len(f.Images) {
			case 0:
			case 1:
				fold(bw, "image "+termtext.Clean(f.Images[0]))
			default:
				fold(bw, "images "+list(f.Images))
			}
		}
		if len(f.Hosts) > 0 {
			fold(bw, "on "+list(f.Hosts))
		}
	}
}

// hashName names a hash by its length.
func hashName(h string) string {
	switch len(h) {
	case 32:
		return "md5"
	case 40:
		return "sha1"
	}
	return "sha256"
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// list names the first values (endpoints, images), with how many more
// there are.
func list(values []string) string {
	const shown = 2
	names := make([]string, 0, shown)
	for _, h := range values[:min(len(values), shown)] {
		names = append(names, termtext.Clean(h))
	}
	s := strings.Join(names, ", ")
	if more := len(values) - len(names); more > 0 {
		s += ", and " + strconv.Itoa(more) + " more"
	}
	return s
}

// fold writes s on indented lines of at most tableWidth columns, breaking
// at spaces where it can and inside a word where it must; continuation
// lines are indented two more columns.
func fold(w *bufio.Writer, s string) {
	lead := indent
	for {
		room := tableWidth - len(lead)
		if width(s) <= room {
			w.WriteString(lead + s + "\n")
			return
		}
		cutAt := byteIndex(s, room)
		if sp := strings.LastIndexByte(s[:cutAt], ' '); sp > 0 {
			cutAt = sp
		}
		w.WriteString(lead + strings.TrimRight(s[:cutAt], " ") + "\n")
		s = strings.TrimLeft(s[cutAt:], " ")
		lead = indent + "  "
	}
}

// width is the number of runes of s: Clean leaves only printable text.
func width(s string) int { return utf8.RuneCountInString(s) }

// byteIndex returns the byte offset of the n-th rune of s.
func byteIndex(s string, n int) int {
	i := 0
	for pos := range s {
		if i == n {
			return pos
		}
		i++
	}
	return len(s)
}

// cut shortens s to n columns, ending in "..." when it was longer.
func cut(s string, n int) string {
	if width(s) <= n {
		return s
	}
	return s[:byteIndex(s, n-3)] + "..."
}

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-width(s))) }

// WriteJSON writes findings as one JSON array, one finding per line (an
// empty array when there are none), each with the fields of its kind (see
// Finding.MarshalJSON). JSON escapes control characters itself.
func WriteJSON(w io.Writer, findings []Finding) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i, f := range findings {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	if len(findings) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// jsonCommon holds the JSON fields of every finding.
type jsonCommon struct {
	Kind      string   `json:"kind"`
	Indicator string   `json:"indicator"`
	Status    string   `json:"status"`
	Alert     bool     `json:"alert"`
	Rules     []string `json:"rules"`
	Reasons   []string `json:"reasons"`
	Hosts     []string `json:"endpoints"`
	Count     int      `json:"count"`
	FirstSeen *string  `json:"first_seen"`
	Positives *int64   `json:"positives"`
}

// MarshalJSON writes the finding with the fields every finding has, then
// those of its kind: age_days, popularity_rank (null when unknown) and
// cert_issuer for a domain; as_owner and country for an IP address;
// threat_label, images, sha256, sha1 and md5 for a process image. Fields of
// a kind's that are empty are left out, lists are [] rather than null, and
// first_seen is RFC 3339 UTC, null when unknown; positives is null when
// unknown.
func (f Finding) MarshalJSON() ([]byte, error) {
	c := jsonCommon{Kind: kindOf(f), Indicator: f.Indicator, Status: f.Status, Alert: f.Alert, Rules: f.Rules,
		Reasons: f.Reasons, Hosts: f.Hosts, Count: f.Count, Positives: f.Positives}
	if !f.FirstSeen.IsZero() {
		s := f.FirstSeen.UTC().Format(time.RFC3339Nano)
		c.FirstSeen = &s
	}
	for _, l := range []*[]string{&c.Hosts, &c.Rules, &c.Reasons, &f.Images} {
		if *l == nil {
			*l = []string{}
		}
	}
	switch c.Kind {
	case KindIP:
		return json.Marshal(struct {
			jsonCommon
			ASOwner string `json:"as_owner,omitempty"`
			Country string `json:"country,omitempty"`
		}{c, f.ASOwner, f.Country})
	case KindFile:
		return json.Marshal(struct {
			jsonCommon
			ThreatLabel string   `json:"threat_label,omitempty"`
			Images      []string `json:"images"`
			SHA256      string   `json:"sha256,omitempty"`
			SHA1        string   `json:"sha1,omitempty"`
			MD5         string   `json:"md5,omitempty"`
		}{c, f.ThreatLabel, f.Images, f.SHA256, f.SHA1, f.MD5})
	}
	return json.Marshal(struct {
		jsonCommon
		AgeDays        *float64 `json:"age_days"`
		PopularityRank *int64   `json:"popularity_rank"`
		Issuer         string   `json:"cert_issuer,omitempty"`
	}{c, f.AgeDays, f.PopularityRank, f.Issuer})
}

// CSVHeader is the header row of WriteCSV: the columns of every finding,
// then those of a domain, an IP address and a process image.
var CSVHeader = []string{"kind", "indicator", "status", "alert", "rules", "reasons", "endpoints", "count", "first_seen",
	"positives", "age_days", "popularity_rank", "cert_issuer", "as_owner", "country",
	"threat_label", "images", "sha256", "sha1", "md5"}

// WriteCSV writes findings as CSV with CSVHeader, one row per finding
// whatever its kind (the columns of another kind are empty): multi-value
// cells (rules, reasons, endpoints, images) hold their values joined by a
// newline, as Splunk writes multi-value fields; unknown values are empty
// cells; first_seen is RFC 3339 UTC. A cell that a spreadsheet would read
// as a formula (=, +, -, @ first) is prefixed with a single quote, except
// age_days, a number that may be negative.
func WriteCSV(w io.Writer, findings []Finding) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	num := func(v *int64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatInt(*v, 10)
	}
	ageCol := slices.Index(CSVHeader, "age_days")
	for _, f := range findings {
		first, age := "", ""
		if !f.FirstSeen.IsZero() {
			first = f.FirstSeen.UTC().Format(time.RFC3339Nano)
		}
		if f.AgeDays != nil {
			age = strconv.FormatFloat(*f.AgeDays, 'f', -1, 64)
		}
		row := []string{kindOf(f), f.Indicator, f.Status, strconv.FormatBool(f.Alert), strings.Join(f.Rules, "\n"),
			strings.Join(f.Reasons, "\n"), strings.Join(f.Hosts, "\n"), strconv.Itoa(f.Count), first,
			num(f.Positives), age, num(f.PopularityRank), f.Issuer, f.ASOwner, f.Country,
			f.ThreatLabel, strings.Join(f.Images, "\n"), f.SHA256, f.SHA1, f.MD5}
		for i, c := range row {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) && i != ageCol {
				row[i] = "'" + c
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
