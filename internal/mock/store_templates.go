package mock

import "time"

// sandboxTemplate is the spec's SandboxTemplate.
type sandboxTemplate struct {
	meta
	ID          string            `json:"id"`
	TenantID    string            `json:"tenant_id,omitempty"`
	Name        string            `json:"name"`
	Slug        string            `json:"slug"`
	Description string            `json:"description,omitempty"`
	BuildSpec   map[string]any    `json:"build_spec,omitempty"`
	Status      string            `json:"status"`
	ImageRef    string            `json:"image_ref"`
	Aliases     []string          `json:"aliases,omitempty"`
	Metadata    map[string]string `json:"-"`
	CreatedAt   time.Time         `json:"created_at,omitzero"`
	UpdatedAt   time.Time         `json:"updated_at,omitzero"`
}

// seedTemplates adds the public templates every account sees.
func (s *state) seedTemplates() {
	epoch := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, t := range []struct{ slug, name, desc string }{
		{"miosa-sandbox", "MIOSA Sandbox", "Ubuntu 24.04 with Python 3.12, Node 20 and common build tools"},
		{"python", "Python 3.12", "Python 3.12 with pip, uv and the scientific stack"},
		{"node", "Node.js 20", "Node.js 20 LTS with npm, pnpm and yarn"},
	} {
		_, seq := s.newID("tpl_")
		s.templates.put(t.slug, &sandboxTemplate{
			meta: meta{seq: seq}, ID: t.slug, Name: t.name, Slug: t.slug, Description: t.desc,
			Status: "ready", ImageRef: "registry." + mockDomain + "/templates/" + t.slug + ":latest",
			Aliases: []string{t.slug + ":latest"}, CreatedAt: epoch, UpdatedAt: epoch,
		})
	}
}

func (t *sandboxTemplate) settle(now time.Time) {
	if at, ok := t.tr.settle(&t.Status, now); ok {
		t.UpdatedAt = at
	}
}

// listSandboxTemplates lists public and custom templates; aliases are only
// included when asked for (include_aliases=true).
func listSandboxTemplates(s *state, c *call) reply {
	withAliases, _ := c.queryBool("include_aliases")
	items := s.templates.all()
	out := make([]sandboxTemplate, 0, len(items))
	for _, t := range items {
		t.settle(c.now)
		v := *t
		if !withAliases {
			v.Aliases = nil
		}
		out = append(out, v)
	}
	return ok(out)
}

// createSandboxTemplate registers a custom template; it builds for
// ReadyAfter, then is ready.
func createSandboxTemplate(s *state, c *call) reply {
	var body struct {
		Name        string            `json:"name"`
		BuildSpec   map[string]any    `json:"build_spec"`
		Slug        string            `json:"slug"`
		Description string            `json:"description"`
		Metadata    map[string]string `json:"metadata"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	slug := orDefault(body.Slug, slugify(body.Name))
	for _, t := range s.templates.all() {
		if t.Slug == slug {
			return conflict("a sandbox template with slug " + slug + " already exists")
		}
	}
	id, seq := s.newID("tpl_")
	t := &sandboxTemplate{
		meta: meta{seq: seq}, ID: id, TenantID: tenantID, Name: body.Name, Slug: slug, Description: body.Description,
		BuildSpec: body.BuildSpec, ImageRef: "registry." + mockDomain + "/" + tenantID + "/" + slug + ":latest",
		Metadata: body.Metadata, CreatedAt: c.now, UpdatedAt: c.now,
	}
	c.schedule(&t.Status, &t.tr, "building", "ready")
	s.templates.put(id, t)
	return ok(t)
}
