package modinput_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vtsync/vtsync/internal/modinput"
)

func ExampleReadDefinition() {
	stdin := strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>
<input>
  <server_host>sh1</server_host>
  <server_uri>https://127.0.0.1:8089</server_uri>
  <session_key>abc</session_key>
  <checkpoint_dir>/opt/splunk/var/lib/splunk/modinputs/vtsync</checkpoint_dir>
  <configuration>
    <stanza name="vtsync://main" app="vtsync">
      <param name="interval">900</param>
      <param name="collection">vtsync_domains</param>
    </stanza>
  </configuration>
</input>`)
	def, err := modinput.ReadDefinition(stdin)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range def.Stanzas {
		fmt.Println(s.Scheme(), s.InputName(), s.App, s.Params["collection"])
	}
	// Output: vtsync main vtsync vtsync_domains
}

func ExampleEventWriter() {
	w := modinput.NewEventWriter(os.Stdout)
	w.Write(modinput.Event{
		Stanza:     "vtsync://main",
		Time:       time.Unix(1700000000, 250000000),
		Sourcetype: "vtsync:run",
		Data:       `{"candidates":3,"looked_up":1}`,
	})
	w.Close()
	// Output:
	// <stream>
	// <event stanza="vtsync://main" unbroken="1"><time>1700000000.250</time><sourcetype>vtsync:run</sourcetype><data>{"candidates":3,"looked_up":1}</data><done/></event>
	// </stream>
}
