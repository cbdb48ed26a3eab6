// Package all registers every indicator kind vtsync ships: import it for
// its side effect, then use kind.Lookup and kind.All. A new kind is one
// package under internal/kind and one import here.
package all

import (
	_ "github.com/vtsync/vtsync/internal/kind/domain" // domain
	_ "github.com/vtsync/vtsync/internal/kind/file"   // file
	_ "github.com/vtsync/vtsync/internal/kind/ip"     // ip
)
