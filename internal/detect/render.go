package detect

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// Table layout: 80 columns. The domain column is as wide as the longest
// domain, up to domainMax (longer names are cut, ending in "..."); the
// reasons and endpoints are folded onto indented lines under their row.
const (
	tableWidth = 80
	domainMax  = 40
	indent     = "    "
)

// WriteTable writes findings for a person: one row per domain (status,
// endpoints, first contact), then its reasons in words and its endpoints on
// indented lines, nothing wider than 80 columns. Every string from data is
// escaped by termtext.Clean, so no control character reaches the terminal.
// With no findings it writes a line saying so.
func WriteTable(w io.Writer, findings []Finding) error {
	if len(findings) == 0 {
		_, err := fmt.Fprintln(w, "no findings")
		return err
	}
	bw := bufio.NewWriter(w)
	dw := len("DOMAIN")
	for _, f := range findings {
		dw = max(dw, min(width(termtext.Clean(f.Domain)), domainMax))
	}
	row := func(dom, status, hosts, first string) {
		fmt.Fprintf(bw, "%s  %-8s  %5s  %s\n", pad(cut(dom, dw), dw), status, hosts, first)
	}
	row("DOMAIN", "STATUS", "HOSTS", "FIRST CONTACT (UTC)")
	for _, f := range findings {
		status := f.Status
		if f.Status == StatusPending && f.Alert {
			status = "pending!" // alerts although not looked up (alert_pending)
		}
		first := "-"
		if !f.FirstSeen.IsZero() {
			first = f.FirstSeen.UTC().Format(time.DateTime)
		}
		row(termtext.Clean(f.Domain), status, strconv.Itoa(len(f.Hosts)), first)
		for _, r := range f.Reasons {
			fold(bw, "- "+termtext.Clean(r))
		}
		if len(f.Hosts) > 0 {
			fold(bw, "on "+hostList(f.Hosts))
		}
	}
	return bw.Flush()
}

// hostList names the first endpoints, with how many more there are.
func hostList(hosts []string) string {
	const shown = 2
	names := make([]string, 0, shown)
	for _, h := range hosts[:min(len(hosts), shown)] {
		names = append(names, termtext.Clean(h))
	}
	s := strings.Join(names, ", ")
	if more := len(hosts) - len(names); more > 0 {
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
// empty array when there are none). first_seen is RFC 3339 UTC, null when
// unknown; age_days, positives and popularity_rank are null when unknown.
// JSON escapes control characters itself.
func WriteJSON(w io.Writer, findings []Finding) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i, f := range findings {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		b, err := json.Marshal(jsonFinding(f))
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

// jsonFinding is Finding with first_seen null when unknown rather than
// Go's zero time, and empty lists as [] rather than null.
func jsonFinding(f Finding) any {
	type alias Finding
	var first *string
	if !f.FirstSeen.IsZero() {
		s := f.FirstSeen.UTC().Format(time.RFC3339Nano)
		first = &s
	}
	for _, l := range []*[]string{&f.Hosts, &f.Rules, &f.Reasons} {
		if *l == nil {
			*l = []string{}
		}
	}
	return struct {
		alias
		FirstSeen *string `json:"first_seen"`
	}{alias(f), first}
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"domain", "status", "alert", "rules", "reasons", "endpoints", "count",
	"first_seen", "age_days", "positives", "popularity_rank", "cert_issuer"}

// WriteCSV writes findings as CSV with CSVHeader: multi-value cells
// (rules, reasons, endpoints) hold their values joined by a newline, as
// Splunk writes multi-value fields; unknown values are empty cells;
// first_seen is RFC 3339 UTC. A cell that a spreadsheet would read as a
// formula (=, +, -, @ first) is prefixed with a single quote.
func WriteCSV(w io.Writer, findings []Finding) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, f := range findings {
		first, age, pos, rank := "", "", "", ""
		if !f.FirstSeen.IsZero() {
			first = f.FirstSeen.UTC().Format(time.RFC3339Nano)
		}
		if f.AgeDays != nil {
			age = strconv.FormatFloat(*f.AgeDays, 'f', -1, 64)
		}
		if f.Positives != nil {
			pos = strconv.FormatInt(*f.Positives, 10)
		}
		if f.PopularityRank != nil {
			rank = strconv.FormatInt(*f.PopularityRank, 10)
		}
		row := []string{f.Domain, f.Status, strconv.FormatBool(f.Alert), strings.Join(f.Rules, "\n"),
			strings.Join(f.Reasons, "\n"), strings.Join(f.Hosts, "\n"), strconv.Itoa(f.Count), first, age, pos, rank, f.Issuer}
		for i, c := range row {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) && i != 8 {
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
