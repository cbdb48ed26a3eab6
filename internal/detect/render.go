package detect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// maxHostsShown bounds the host names listed in a table cell; the count is
// always shown and WriteJSON lists them all.
const maxHostsShown = 2

// WriteTable writes findings as an aligned text table: domain, hosts, first
// seen (UTC), age in days, certificate issuer, positives, why flagged.
// Unknown values are "-". With no findings it writes a line saying so.
func WriteTable(w io.Writer, findings []Finding) error {
	if len(findings) == 0 {
		_, err := fmt.Fprintln(w, "no findings")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tHOSTS\tFIRST SEEN (UTC)\tAGE (DAYS)\tISSUER\tPOSITIVES\tWHY")
	for _, f := range findings {
		age, pos, why := "-", "-", strings.Join(f.Why, ", ")
		if f.AgeDays != nil {
			age = strconv.FormatFloat(*f.AgeDays, 'f', 2, 64)
		}
		if f.Positives != nil {
			pos = strconv.FormatInt(*f.Positives, 10)
		}
		if f.Pending {
			why = "pending: not enriched yet"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			f.Domain, hostsCell(f.Hosts), timeCell(f.FirstSeen), age, dash(f.Issuer), pos, why)
	}
	return tw.Flush()
}

func hostsCell(hosts []string) string {
	if len(hosts) == 0 {
		return "0"
	}
	shown := hosts[:min(len(hosts), maxHostsShown)]
	s := strconv.Itoa(len(hosts)) + " (" + strings.Join(shown, ", ")
	if more := len(hosts) - len(shown); more > 0 {
		s += ", +" + strconv.Itoa(more)
	}
	return s + ")"
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSON writes findings as one JSON array, one finding per line (an
// empty array when there are none). first_seen is RFC 3339 UTC, null when
// unknown; age_days and positives are null when unknown.
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
// Go's zero time.
func jsonFinding(f Finding) any {
	type alias Finding
	var first *string
	if !f.FirstSeen.IsZero() {
		s := f.FirstSeen.UTC().Format(time.RFC3339Nano)
		first = &s
	}
	if f.Hosts == nil {
		f.Hosts = []string{}
	}
	return struct {
		alias
		FirstSeen *string `json:"first_seen"`
	}{alias(f), first}
}
