module github.com/vtsync/vtsync

go 1.26.0

require (
	github.com/VirusTotal/vt-go v1.1.0 // indirect
	github.com/thedevsaddam/gojsonq/v2 v2.5.2 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
