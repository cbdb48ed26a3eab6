package vt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/vtsync/vtsync/internal/jsonerr"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/kind/vtjson"
)

// Lookup reads the saved answer for key of kind k and maps it with the
// kind. The answer is the body of GET /api/v3/<k.Path(key)>, in
// <Dir>/<k.Path(key)>.json — domains/example.com.json,
// ip_addresses/8.8.8.8.json, files/<hash>.json — with "_" for each ":" of
// an IPv6 address (file names on Windows cannot hold ":"); or else in
// <Dir>/<key>.json, the layout Enrich reads domains from (keys of
// different kinds never look alike). A missing file, or a saved
// NotFoundError answer, gives the kind's negative record.
//
// A file is trusted by its content, not its name: its object must be of
// the kind's type, and its id must be key (IP addresses compared in
// canonical form, domain names case-insensitively), or key must be one of
// its md5, sha1 and sha256 (a file asked for by a hash other than its
// SHA-256 id).
func (o Offline) Lookup(ctx context.Context, k kind.Kind, key string) (kind.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("offline VirusTotal lookup of %s %s: %w", k.Name(), key, err)
	}
	// A normalised key is safe in a file name: no separators, no "..".
	if nk, why := k.Normalize(key); why != "" || nk != key {
		return nil, fmt.Errorf("offline VirusTotal lookup of %s %q: not a normalised %s", k.Name(), key, k.Name())
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	rel := strings.ReplaceAll(k.Path(key), ":", "_") + ".json"
	path := filepath.Join(o.Dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		path = filepath.Join(o.Dir, strings.ReplaceAll(key, ":", "_")+".json")
		b, err = os.ReadFile(path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return k.NotFound(key, now()), nil
	}
	if err != nil {
		return nil, fmt.Errorf("offline VirusTotal lookup of %s %s: %w", k.Name(), key, err)
	}
	var env struct {
		Data  json.RawMessage `json:"data"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("offline VirusTotal lookup of %s %s: %s: %s; save the whole response of GET /api/v3/%s", k.Name(), key, path, jsonerr.Describe(err), k.Path(key))
	}
	if env.Error.Code == "NotFoundError" {
		return k.NotFound(key, now()), nil
	}
	if !vtjson.IsObject(env.Data) {
		return nil, fmt.Errorf("offline VirusTotal lookup of %s %s: %s has no \"data\" object; save the whole response of GET /api/v3/%s",
			k.Name(), key, path, k.Path(key))
	}
	if err := sameObject(env.Data, key); err != nil {
		return nil, fmt.Errorf("offline VirusTotal lookup of %s %s: %s %v; a file holds the response for the %s it is named after, so rename or replace it",
			k.Name(), key, path, err, k.Name())
	}
	rec, err := k.Map(key, b, now())
	if err != nil {
		return nil, fmt.Errorf("offline VirusTotal lookup of %s %s: %s: %v", k.Name(), key, path, err)
	}
	return rec, nil
}

// sameObject checks that the saved object is the one key names: its id is
// key, or key is one of its hashes.
func sameObject(data json.RawMessage, key string) error {
	var obj struct {
		ID         any `json:"id"`
		Attributes struct {
			MD5, SHA1, SHA256 any
		} `json:"attributes"`
	}
	// A mistyped attributes member is the mapping's business, not ours.
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(data, &obj); err != nil && !errors.As(err, &typeErr) {
		return fmt.Errorf("is not a VirusTotal object: %v", err)
	}
	id, _ := obj.ID.(string)
	if id != "" && canonicalID(id) == key {
		return nil
	}
	for _, h := range []any{obj.Attributes.MD5, obj.Attributes.SHA1, obj.Attributes.SHA256} {
		if s, ok := h.(string); ok && s != "" && strings.EqualFold(s, key) {
			return nil
		}
	}
	return fmt.Errorf("holds the object of %s (its data.id), not of %s", quoteJSON(obj.ID), key)
}

// canonicalID writes an object id as keys are written: an IP address in
// canonical form, a name in lower-case ASCII without a trailing dot.
func canonicalID(id string) string {
	if a, err := netip.ParseAddr(id); err == nil {
		return a.Unmap().String()
	}
	id = strings.TrimSuffix(id, ".")
	if a, err := idna.Lookup.ToASCII(id); err == nil {
		id = a
	}
	return strings.ToLower(id)
}
