package mock

import (
	"time"
)

// workspace is the spec's Workspace.
type workspace struct {
	meta
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Slug        string            `json:"slug"`
	TenantID    string            `json:"tenant_id"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	CreatedAt   time.Time         `json:"created_at,omitzero"`
	UpdatedAt   time.Time         `json:"updated_at,omitzero"`
}

func listWorkspaces(s *state, c *call) reply {
	page, meta := pageOf(s.workspaces.all(), c)
	return okPage(page, meta)
}

func createWorkspace(s *state, c *call) reply {
	var body struct {
		Name        string            `json:"name"`
		Description string            `json:"description"`
		Slug        string            `json:"slug"`
		Metadata    map[string]string `json:"metadata"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	slug := orDefault(body.Slug, slugify(body.Name))
	for _, w := range s.workspaces.all() {
		if w.Slug == slug {
			return conflict("a workspace with slug " + slug + " already exists")
		}
	}
	id, seq := s.newID("ws_")
	w := &workspace{meta: meta{seq: seq}, ID: id, Name: body.Name, Slug: slug, TenantID: tenantID,
		Description: body.Description, Metadata: body.Metadata, CreatedAt: c.now, UpdatedAt: c.now}
	s.workspaces.put(id, w)
	return ok(w)
}

func (s *state) workspace(c *call) (*workspace, *reply) {
	id := c.path("workspace_id")
	w, found := s.workspaces.get(id)
	if !found {
		r := notFound("workspace", id)
		return nil, &r
	}
	return w, nil
}

func getWorkspace(s *state, c *call) reply {
	w, r := s.workspace(c)
	if r != nil {
		return *r
	}
	return ok(w)
}

func updateWorkspace(s *state, c *call) reply {
	w, r := s.workspace(c)
	if r != nil {
		return *r
	}
	var body struct {
		Name        *string           `json:"name"`
		Description *string           `json:"description"`
		Metadata    map[string]string `json:"metadata"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if body.Name != nil {
		w.Name = *body.Name
	}
	if body.Description != nil {
		w.Description = *body.Description
	}
	if body.Metadata != nil {
		w.Metadata = body.Metadata
	}
	w.UpdatedAt = c.now
	return ok(w)
}

// getWorkspaceStats counts the resources placed in the workspace.
func getWorkspaceStats(s *state, c *call) reply {
	w, r := s.workspace(c)
	if r != nil {
		return *r
	}
	stats := map[string]int{"computers": 0, "running_computers": 0, "sandboxes": 0, "running_sandboxes": 0, "databases": 0}
	for _, cmp := range s.computers.all() {
		if cmp.WorkspaceID == w.ID {
			cmp.settle(c.now)
			stats["computers"]++
			if cmp.Status == "running" {
				stats["running_computers"]++
			}
		}
	}
	for _, sb := range s.sandboxes.all() {
		if sb.WorkspaceID == w.ID {
			sb.settle(c.now)
			stats["sandboxes"]++
			if sb.State == "running" {
				stats["running_sandboxes"]++
			}
		}
	}
	for _, db := range s.databases.all() {
		if db.workspaceID == w.ID {
			stats["databases"]++
		}
	}
	return ok(stats)
}

// getWorkspaceUsage reports usage for a month (period YYYY-MM, default the
// current one) from the runtime of the workspace's computers and sandboxes.
func getWorkspaceUsage(s *state, c *call) reply {
	w, r := s.workspace(c)
	if r != nil {
		return *r
	}
	period := orDefault(c.query("period"), c.now.Format("2006-01"))
	hours := 0.0
	if period == c.now.Format("2006-01") {
		for _, cmp := range s.computers.all() {
			if cmp.WorkspaceID == w.ID {
				hours += c.now.Sub(cmp.CreatedAt).Hours()
			}
		}
		for _, sb := range s.sandboxes.all() {
			if sb.WorkspaceID == w.ID {
				sb.settle(c.now)
				hours += float64(sb.TotalRuntimeSec) / 3600
			}
		}
	}
	return ok(map[string]any{
		"workspace_id": w.ID, "period": period,
		"compute_hours": round2(hours), "storage_gb": 0.0, "bandwidth_gb": 0.0,
		"cost_cents": int(hours * 5),
	})
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
