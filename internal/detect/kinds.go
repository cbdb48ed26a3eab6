package detect

import (
	"cmp"
	"maps"
	"slices"

	"github.com/vtsync/vtsync/internal/filesource"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
)

// addIP counts a destination IP address: events of other Sysmon codes,
// browser processes and addresses vtsync never looks up (private,
// loopback, documentation, ...: vtsync_ip_not_public) are dropped; the
// rest count towards their canonical address (the collection's key).
func (d *Detector) addIP(e filesource.Event) {
	st := &d.stats.IP
	st.Events++
	switch {
	case !filesource.KindCode(e):
		st.Other++
		return
	case d.rules.IsBrowser(e.Process):
		st.Browser++
		return
	}
	ip, why := ipkind.Normalize(e.Dest)
	if why != "" {
		st.Rejected++
		return
	}
	s := d.ips[ip]
	if s == nil {
		s = &seen{hosts: map[string]struct{}{}}
		d.ips[ip] = s
	}
	s.add(e)
}

// addFile counts a process image's Hashes: events of other Sysmon codes
// (an image load's Hashes name a DLL, not the process) and values without
// an MD5, SHA-1 or SHA-256 are dropped; the rest count towards the image's
// strongest hash, the one vtsync looks up. Browsers are not left out.
func (d *Detector) addFile(e filesource.Event) {
	st := &d.stats.File
	st.Events++
	if !filesource.KindCode(e) {
		st.Other++
		return
	}
	h := filekind.Parts(e.Dest)
	key := cmp.Or(h.SHA256, h.SHA1, h.MD5)
	if key == "" {
		st.Rejected++
		return
	}
	s := d.files[key]
	if s == nil {
		s = &seenFile{seen: seen{hosts: map[string]struct{}{}}, images: map[string]struct{}{}}
		d.files[key] = s
	}
	s.add(e)
	s.hashes.SHA256 = cmp.Or(s.hashes.SHA256, h.SHA256)
	s.hashes.SHA1 = cmp.Or(s.hashes.SHA1, h.SHA1)
	s.hashes.MD5 = cmp.Or(s.hashes.MD5, h.MD5)
	if image := cmp.Or(e.Image, e.Process); image != "" {
		s.images[image] = struct{}{}
	}
}

// IPCandidates returns, sorted, the IP addresses whose records Findings
// will ask for. The IP detection has no host-count filter.
func (d *Detector) IPCandidates() []string {
	return slices.Sorted(maps.Keys(d.ips))
}

// FileCandidates returns, sorted, every hash of the images seen: Findings
// asks for each image's record by its SHA-256, SHA-1 and MD5.
func (d *Detector) FileCandidates() []string {
	var out []string
	for _, s := range d.files {
		out = append(out, s.lookupOrder()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookupOrder is the hashes a record of the image is read by, in order.
func (s *seenFile) lookupOrder() []string {
	var out []string
	for _, h := range []string{s.hashes.SHA256, s.hashes.SHA1, s.hashes.MD5} {
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}

// ipFindings judges each IP address against its record.
func (d *Detector) ipFindings(lookup func(string) (ipkind.Record, bool)) []Finding {
	if lookup == nil {
		return nil
	}
	st := &d.stats.IP
	st.Distinct, st.Quiet, st.Flagged, st.Pending = len(d.ips), 0, 0, 0
	var out byStatus
	for ip, s := range d.ips {
		f := s.finding(KindIP, ip)
		rec, ok := lookup(ip)
		if ok {
			f.Positives, f.ASOwner, f.Country = rec.LastAnalysisPositive, rec.ASOwner, rec.Country
		}
		out.add(d.judge(&f, st, ok, rec.VTFound, rec.LastAnalysisPositive, ""), f)
	}
	return out.ordered()
}

// fileFindings judges each process image against the record read by its
// SHA-256, else its SHA-1, else its MD5.
func (d *Detector) fileFindings(lookup func(string) (filekind.Record, bool)) []Finding {
	if lookup == nil {
		return nil
	}
	st := &d.stats.File
	st.Distinct, st.Quiet, st.Flagged, st.Pending = len(d.files), 0, 0, 0
	var out byStatus
	for key, s := range d.files {
		f := s.finding(KindFile, key)
		f.Images = slices.Sorted(maps.Keys(s.images))
		var rec filekind.Record
		ok := false
		for _, h := range s.lookupOrder() {
			if rec, ok = lookup(h); ok {
				break
			}
		}
		f.SHA256, f.SHA1, f.MD5 = s.hashes.SHA256, s.hashes.SHA1, s.hashes.MD5
		if ok {
			f.Positives, f.ThreatLabel = rec.LastAnalysisPositive, rec.PopularThreatLabel
			f.SHA256, f.SHA1, f.MD5 = cmp.Or(f.SHA256, rec.SHA256), cmp.Or(f.SHA1, rec.SHA1), cmp.Or(f.MD5, rec.MD5)
		}
		out.add(d.judge(&f, st, ok, rec.VTFound, rec.LastAnalysisPositive, rec.PopularThreatLabel), f)
	}
	return out.ordered()
}

// judge sets an IP address's or image's status, rules and reasons from its
// record (ok = there is one) and counts it; it returns the status, or ""
// for a clear finding not kept.
func (d *Detector) judge(f *Finding, st *KindStats, ok, found bool, positives *int64, label string) string {
	if !ok {
		f.Status, f.Alert = StatusPending, d.rules.AlertPending
		f.Rules, f.Reasons = []string{}, []string{ReasonPending}
		st.Pending++
		return StatusPending
	}
	f.Rules, f.Reasons = d.rules.judgeVerdict([]string{}, []string{}, found, positives, label)
	if len(f.Rules) == 0 {
		st.Quiet++
		if !d.KeepClear {
			return ""
		}
		f.Status, f.Reasons = StatusClear, d.rules.explainVerdict(found, positives)
		return StatusClear
	}
	f.Status, f.Alert = StatusFlagged, true
	st.Flagged++
	return StatusFlagged
}

// byStatus gathers findings by the status judge gave them; a finding
// judge did not keep ("") is dropped.
type byStatus struct{ flagged, pending, clear []Finding }

func (b *byStatus) add(status string, f Finding) {
	switch status {
	case StatusFlagged:
		b.flagged = append(b.flagged, f)
	case StatusPending:
		b.pending = append(b.pending, f)
	case StatusClear:
		b.clear = append(b.clear, f)
	}
}

func (b *byStatus) ordered() []Finding { return order(b.flagged, b.pending, b.clear) }
