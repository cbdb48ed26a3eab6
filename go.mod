module github.com/vtsync/vtsync

go 1.26.0

require (
	github.com/VirusTotal/vt-go v1.1.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
	golang.org/x/time v0.16.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/thedevsaddam/gojsonq/v2 v2.5.2 // indirect
	golang.org/x/text v0.43.0 // indirect
)
