package mock

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhooks, functions and API keys.

// webhook is the spec's Webhook. The secret is shown on create only.
type webhook struct {
	meta
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

func listWebhooks(s *state, c *call) reply {
	active, filtered := c.queryBool("active")
	items := make([]webhook, 0, s.webhooks.len())
	for _, w := range s.webhooks.all() {
		if !filtered || w.Active == active {
			v := *w
			v.Secret = ""
			items = append(items, v)
		}
	}
	page, next, r := cursorOf(ptrs(items), c)
	if r != nil {
		return *r
	}
	return okCursor(page, next)
}

func createWebhook(s *state, c *call) reply {
	body := struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
		Active bool     `json:"active"`
	}{Active: true}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if u, err := url.Parse(body.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("url", "must be an absolute http(s) URL")
	}
	id, seq := s.newID("wh_")
	w := &webhook{meta: meta{seq: seq}, ID: id, TenantID: tenantID, URL: body.URL, Events: body.Events,
		Secret: orDefault(body.Secret, "whsec_"+randString(32)), Active: body.Active, CreatedAt: c.now, UpdatedAt: c.now}
	s.webhooks.put(id, w)
	return ok(w)
}

func deleteWebhook(s *state, c *call) reply {
	if !s.webhooks.remove(c.path("webhook_id")) {
		return notFound("webhook", c.path("webhook_id"))
	}
	return noContent()
}

// testWebhook reports a delivery without sending anything: the mock never
// makes outbound requests.
func testWebhook(s *state, c *call) reply {
	w, found := s.webhooks.get(c.path("webhook_id"))
	if !found {
		return notFound("webhook", c.path("webhook_id"))
	}
	id, _ := s.newID("dlv_")
	return ok(map[string]any{
		"id": id, "webhook_id": w.ID, "event_type": "webhook.test", "status_code": http.StatusOK,
		"success": true, "attempted_at": c.now, "duration_ms": 42,
		"response_body": "(mock) delivery simulated; nothing was sent to " + w.URL,
	})
}

// function is the spec's Function. Only a function created with code is
// deployed; invoking any other answers 404 FUNCTION_NOT_DEPLOYED.
type function struct {
	meta
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	TenantID  string    `json:"tenant_id"`
	Runtime   string    `json:"runtime"`
	Handler   string    `json:"handler"`
	Status    string    `json:"status"`
	InvokeURL string    `json:"invoke_url,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

func listFunctions(s *state, c *call) reply {
	status := c.query("status")
	items := filter(s.functions.all(), func(f *function) bool { return matches(status, f.Status) })
	page, next, r := cursorOf(items, c)
	if r != nil {
		return *r
	}
	return okCursor(page, next)
}

func createFunction(s *state, c *call) reply {
	body := struct {
		Name    string `json:"name"`
		Runtime string `json:"runtime"`
		Handler string `json:"handler"`
		Code    string `json:"code"`
	}{Runtime: "nodejs20", Handler: "index.handler"}
	if r := c.bind(&body); r != nil {
		return *r
	}
	for _, f := range s.functions.all() {
		if f.Name == body.Name {
			return conflict("a function named " + body.Name + " already exists")
		}
	}
	id, seq := s.newID("fn_")
	f := &function{meta: meta{seq: seq}, ID: id, Name: body.Name, TenantID: tenantID, Runtime: body.Runtime,
		Handler: body.Handler, Status: "draft", CreatedAt: c.now, UpdatedAt: c.now}
	if body.Code != "" {
		f.Status, f.InvokeURL = "deployed", "https://fn."+mockDomain+"/"+id
	}
	s.functions.put(id, f)
	return ok(f)
}

// invokeFunction echoes the payload back from a deployed function.
func invokeFunction(s *state, c *call) reply {
	f, found := s.functions.get(c.path("function_id"))
	if !found {
		return notFound("function", c.path("function_id"))
	}
	if f.Status != "deployed" {
		return fail(http.StatusNotFound, "FUNCTION_NOT_DEPLOYED", "function is not deployed")
	}
	var body struct {
		Payload map[string]any `json:"payload"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	return ok(map[string]any{
		"status_code": http.StatusOK,
		"body":        map[string]any{"ok": true, "function": f.Name, "echo": body.Payload, "note": "(mock) no code was run"},
		"headers":     map[string]string{"content-type": "application/json"},
		"duration_ms": 12,
	})
}

func deleteFunction(s *state, c *call) reply {
	if !s.functions.remove(c.path("function_id")) {
		return notFound("function", c.path("function_id"))
	}
	return noContent()
}

// apiKey is the spec's ApiKey; the secret (token and key, both the same)
// is returned on create only.
type apiKey struct {
	meta
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id"`
	Name       string    `json:"name"`
	Prefix     string    `json:"prefix"`
	Scopes     []string  `json:"scopes"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	Token      string    `json:"token,omitempty"`
	Key        string    `json:"key,omitempty"`
}

func listApiKeys(s *state, c *call) reply {
	items := make([]apiKey, 0, s.apiKeys.len())
	for _, k := range s.apiKeys.all() {
		v := *k
		v.Token, v.Key = "", ""
		items = append(items, v)
	}
	page, next, r := cursorOf(ptrs(items), c)
	if r != nil {
		return *r
	}
	return okCursor(page, next)
}

func createApiKey(s *state, c *call) reply {
	var body struct {
		Name      string    `json:"name"`
		Scopes    []string  `json:"scopes"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if !body.ExpiresAt.IsZero() && !body.ExpiresAt.After(c.now) {
		return invalid("expires_at", "must be in the future")
	}
	scopes := body.Scopes
	if len(scopes) == 0 {
		scopes = []string{"*"}
	}
	id, seq := s.newID("key_")
	secret := "msk_u_" + randString(40)
	k := &apiKey{meta: meta{seq: seq}, ID: id, TenantID: tenantID, Name: body.Name, Prefix: secret[:10],
		Scopes: scopes, ExpiresAt: body.ExpiresAt.UTC(), CreatedAt: c.now, Token: secret, Key: secret}
	stored := *k
	stored.Token, stored.Key = "", ""
	s.apiKeys.put(id, &stored)
	return ok(k)
}

func deleteApiKey(s *state, c *call) reply {
	if !s.apiKeys.remove(c.path("api_key_id")) {
		return notFound("API key", c.path("api_key_id"))
	}
	return noContent()
}

// ptrs turns a slice of values into pointers, so copies can go through
// cursorOf (whose seqNo method has a pointer receiver).
func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
