// Package appcheck checks the vtsync Splunk app the way AppInspect and
// splunkd would, and against vtsync's own contracts: the parameter table,
// the KV record and the run summary that the app's searches read.
package appcheck
