package splunkd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/vtsync/vtsync/internal/params"
)

// PasswordEntity returns the storage/passwords entity name of realm and
// user: "realm:user:", with ":" inside either part written "\:" and "\"
// written "\\" (the form splunkd uses in ids and in passwords.conf).
func PasswordEntity(realm, user string) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	return esc.Replace(realm) + ":" + esc.Replace(user) + ":"
}

type entryList struct {
	Entry []struct {
		Name    string          `json:"name"`
		Content json.RawMessage `json:"content"`
	} `json:"entry"`
}

// Password reads the secret stored in storage/passwords for realm and user
// (GET …/storage/passwords/<realm:user:>). found is false when there is
// none. The secret is added to the client's Secrets, so no later log line
// or error text holds it.
func (c *Client) Password(ctx context.Context, realm, user string) (secret string, found bool, err error) {
	body, _, err := c.do(ctx, request{
		method: http.MethodGet,
		path:   c.nsPath("storage", "passwords", escapeSegment(PasswordEntity(realm, user))),
		query:  url.Values{"output_mode": {"json"}},
	})
	if IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, c.redact(err)
	}
	var v entryList
	if err := json.Unmarshal(body, &v); err != nil || len(v.Entry) == 0 {
		return "", false, fmt.Errorf("splunkd storage/passwords %s: answer holds no entry", PasswordEntity(realm, user))
	}
	var content struct {
		ClearPassword *string `json:"clear_password"`
	}
	if err := json.Unmarshal(v.Entry[0].Content, &content); err != nil || content.ClearPassword == nil {
		return "", false, fmt.Errorf("splunkd storage/passwords %s: entry has no clear_password (the splunkd user needs the list_storage_passwords capability)", PasswordEntity(realm, user))
	}
	c.secrets.Add(*content.ClearPassword)
	return *content.ClearPassword, true, nil
}

// SetPassword stores secret for realm and user in storage/passwords: it
// creates the entry (201) or, when one exists (splunkd answers 409
// Conflict), updates its password.
func (c *Client) SetPassword(ctx context.Context, realm, user, secret string) error {
	if user == "" || secret == "" {
		return errors.New("splunkd storage/passwords: user and secret must not be empty")
	}
	c.secrets.Add(secret)
	form := url.Values{"name": {user}, "password": {secret}}
	if realm != "" {
		form.Set("realm", realm)
	}
	_, _, err := c.do(ctx, request{
		method: http.MethodPost,
		path:   c.nsPath("storage", "passwords"),
		query:  url.Values{"output_mode": {"json"}},
		form:   form,
	})
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		_, _, err = c.do(ctx, request{
			method: http.MethodPost,
			path:   c.nsPath("storage", "passwords", escapeSegment(PasswordEntity(realm, user))),
			query:  url.Values{"output_mode": {"json"}},
			form:   url.Values{"password": {secret}},
		})
	}
	return c.redact(err)
}

// MaskInputParam replaces the value of param in the modular input
// <scheme>://<name> with params.Mask (POST
// …/data/inputs/<scheme>/<name>), so inputs.conf no longer holds the secret.
func (c *Client) MaskInputParam(ctx context.Context, scheme, name, param string) error {
	_, _, err := c.do(ctx, request{
		method: http.MethodPost,
		path:   c.nsPath("data", "inputs", escapeSegment(scheme), escapeSegment(name)),
		query:  url.Values{"output_mode": {"json"}},
		form:   url.Values{param: {params.Mask}},
	})
	return c.redact(err)
}

// ServerRoles returns splunkd's server_roles (GET /services/server/info),
// e.g. "search_head", "kv_store", "shc_captain", "shc_member". An answer
// that does not state the roles (no server_roles, or null) is an error:
// the caller cannot tell a cluster member from a standalone instance.
func (c *Client) ServerRoles(ctx context.Context) ([]string, error) {
	body, _, err := c.do(ctx, request{
		method: http.MethodGet,
		path:   "/services/server/info",
		query:  url.Values{"output_mode": {"json"}},
	})
	if err != nil {
		return nil, c.redact(err)
	}
	var v entryList
	if err := json.Unmarshal(body, &v); err != nil || len(v.Entry) == 0 {
		return nil, errors.New("splunkd GET /services/server/info: answer holds no entry")
	}
	var content struct {
		Roles json.RawMessage `json:"server_roles"`
	}
	if err := json.Unmarshal(v.Entry[0].Content, &content); err != nil {
		return nil, fmt.Errorf("splunkd GET /services/server/info: %v", err)
	}
	// splunkd always lists the roles; a standalone instance names several
	// (indexer, search_head, kv_store, …) and a cluster member names
	// shc_member. A missing or null server_roles states nothing, so the
	// role is unknown. An empty list is a statement: no role, in particular
	// no cluster role, and is returned as such.
	switch {
	case content.Roles == nil:
		return nil, errors.New("splunkd GET /services/server/info answered without server_roles, so this instance's role is unknown")
	case string(content.Roles) == "null":
		return nil, errors.New("splunkd GET /services/server/info answered server_roles: null, so this instance's role is unknown")
	}
	var roles []string
	if json.Unmarshal(content.Roles, &roles) != nil {
		// A single role may come as a plain string.
		var one string
		if err := json.Unmarshal(content.Roles, &one); err != nil {
			return nil, errors.New("splunkd GET /services/server/info: server_roles is neither a list nor a string")
		}
		roles = []string{one}
	}
	return roles, nil
}
