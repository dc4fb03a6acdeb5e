package mock

import (
	"fmt"
	"strings"
	"time"
)

// sandbox is the spec's Sandbox: a lightweight VM with a filesystem and a
// shell, provisioning → running after ReadyAfter.
type sandbox struct {
	meta
	ID                  string            `json:"id"`
	Name                string            `json:"name,omitempty"`
	Slug                string            `json:"slug,omitempty"`
	State               string            `json:"state"`
	TemplateID          string            `json:"template_id"`
	Size                string            `json:"size"`
	ResourceContract    resourceContract  `json:"resource_contract"`
	CPUCount            int               `json:"cpu_count"`
	MemoryMB            int               `json:"memory_mb"`
	DiskSizeMB          int               `json:"disk_size_mb"`
	TenantID            string            `json:"tenant_id"`
	WorkspaceID         string            `json:"workspace_id,omitempty"`
	ProjectID           string            `json:"project_id,omitempty"`
	ExternalWorkspaceID string            `json:"external_workspace_id,omitempty"`
	ExternalUserID      string            `json:"external_user_id,omitempty"`
	ExternalProjectID   string            `json:"external_project_id,omitempty"`
	Ready               bool              `json:"ready"`
	Persistent          bool              `json:"persistent"`
	AlwaysOn            bool              `json:"always_on"`
	TimeoutSec          int               `json:"timeout_sec,omitempty"`
	TimeoutRemainingMS  *int64            `json:"timeout_remaining_ms,omitempty"`
	IdleTimeoutSec      int               `json:"idle_timeout_sec,omitempty"`
	BootPath            string            `json:"boot_path"`
	BootMS              int64             `json:"boot_ms"`
	PreviewURL          string            `json:"preview_url,omitempty"`
	PreviewDomain       string            `json:"preview_domain"`
	Tags                []string          `json:"tags"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	CreatedAt           time.Time         `json:"created_at,omitzero"`
	StartedAt           time.Time         `json:"started_at,omitzero"`
	ReadyAt             time.Time         `json:"ready_at,omitzero"`
	DestroyedAt         time.Time         `json:"destroyed_at,omitzero"`
	TotalRuntimeSec     int64             `json:"total_runtime_sec"`

	env       map[string]string
	fs        *memfs
	logs      logbook
	snapshots registry[sandboxSnapshot]
	runtime   time.Duration // accumulated running time before the current run
	runSince  time.Time     // start of the current run, zero while not running
}

// resourceContract is the spec's ResourceContract.
type resourceContract struct {
	ID         string `json:"id"`
	Version    string `json:"version"`
	Product    string `json:"product"`
	Size       string `json:"size"`
	VCPUs      int    `json:"vcpus"`
	MemoryMB   int    `json:"memory_mb"`
	DiskSizeMB int    `json:"disk_size_mb"`
}

// sizes are the machine sizes shared by computers and sandboxes.
var sizes = map[string]struct{ vcpus, memMB, diskMB, centsPerHour int }{
	"xs":     {1, 1024, 10240, 2},
	"small":  {2, 2048, 20480, 5},
	"medium": {4, 4096, 40960, 10},
	"large":  {8, 8192, 81920, 20},
	"xl":     {16, 16384, 163840, 40},
}

// sandboxWorkdir is where exec starts and where relative paths resolve.
const sandboxWorkdir = "/workspace"

// settle applies the pending state change and the lifetime (timeout_sec):
// a sandbox whose lifetime has run out is destroyed, as upstream.
func (sb *sandbox) settle(now time.Time) {
	if at, ok := sb.tr.settle(&sb.State, now); ok {
		sb.ReadyAt, sb.runSince = at, at
	}
	if sb.TimeoutSec > 0 && sb.State != "destroyed" && !sb.AlwaysOn {
		end := sb.CreatedAt.Add(time.Duration(sb.TimeoutSec) * time.Second)
		if !now.Before(end) {
			sb.pauseClock(end)
			sb.State, sb.DestroyedAt, sb.TimeoutRemainingMS = "destroyed", end, nil
			sb.tr.cancel()
			sb.logs.add(end, "lifetime of %ds reached: sandbox destroyed", sb.TimeoutSec)
		} else {
			left := end.Sub(now).Milliseconds()
			sb.TimeoutRemainingMS = &left
		}
	}
	sb.Ready = sb.State == "running"
	total := sb.runtime
	if !sb.runSince.IsZero() {
		total += now.Sub(sb.runSince)
	}
	sb.TotalRuntimeSec = int64(total / time.Second)
}

func (sb *sandbox) pauseClock(now time.Time) {
	if !sb.runSince.IsZero() {
		sb.runtime += now.Sub(sb.runSince)
		sb.runSince = time.Time{}
	}
}

func createSandbox(s *state, c *call) reply {
	body := struct {
		TemplateID          string            `json:"template_id"`
		Size                string            `json:"size"`
		Name                string            `json:"name"`
		TimeoutSec          int               `json:"timeout_sec"`
		IdleTimeoutSec      int               `json:"idle_timeout_sec"`
		Persistent          bool              `json:"persistent"`
		AlwaysOn            bool              `json:"always_on"`
		Env                 map[string]string `json:"env"`
		Metadata            map[string]string `json:"metadata"`
		Region              string            `json:"region"`
		Tags                []string          `json:"tags"`
		ExternalWorkspaceID string            `json:"external_workspace_id"`
		ExternalUserID      string            `json:"external_user_id"`
		ExternalProjectID   string            `json:"external_project_id"`
		WorkspaceID         string            `json:"workspace_id"`
		ProjectID           string            `json:"project_id"`
	}{TemplateID: "miosa-sandbox", Size: "small"}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if body.WorkspaceID != "" {
		if _, found := s.workspaces.get(body.WorkspaceID); !found {
			return notFound("workspace", body.WorkspaceID)
		}
	}
	id, seq := s.newID("sbx_")
	slug := slugify(body.Name) + "-" + id[len(id)-4:]
	if body.Name == "" {
		body.Name = "sandbox-" + id[len(id)-4:]
		slug = body.Name
	}
	sz := sizes[body.Size]
	tags := body.Tags
	if tags == nil {
		tags = []string{}
	}
	env := body.Env
	if env == nil {
		env = map[string]string{}
	}
	sb := &sandbox{
		meta: meta{seq: seq}, ID: id, Name: body.Name, Slug: slug, TemplateID: body.TemplateID, Size: body.Size,
		ResourceContract: resourceContract{ID: "rc_sandbox_" + body.Size, Version: "2025-01", Product: "sandbox",
			Size: body.Size, VCPUs: sz.vcpus, MemoryMB: sz.memMB, DiskSizeMB: sz.diskMB},
		CPUCount: sz.vcpus, MemoryMB: sz.memMB, DiskSizeMB: sz.diskMB, TenantID: tenantID,
		WorkspaceID: body.WorkspaceID, ProjectID: body.ProjectID,
		ExternalWorkspaceID: body.ExternalWorkspaceID, ExternalUserID: body.ExternalUserID, ExternalProjectID: body.ExternalProjectID,
		Persistent: body.Persistent, AlwaysOn: body.AlwaysOn, TimeoutSec: body.TimeoutSec, IdleTimeoutSec: body.IdleTimeoutSec,
		BootPath: "cold", BootMS: c.readyAfter.Milliseconds(), PreviewDomain: slug + "." + mockDomain,
		Tags: tags, Metadata: body.Metadata, CreatedAt: c.now, StartedAt: c.now,
		env: env, fs: newFS(c.now, sandboxWorkdir, "/tmp", "/home/user"),
	}
	c.schedule(&sb.State, &sb.tr, "provisioning", "running")
	if sb.State == "running" {
		sb.ReadyAt, sb.runSince = c.now, c.now
	}
	sb.logs.boot(c.now, "provisioning "+body.Size+" sandbox "+id+" from template "+body.TemplateID, "mounting /workspace")
	sb.logs.add(c.now.Add(c.readyAfter), "sandbox ready")
	sb.settle(c.now)
	s.sandboxes.put(id, sb)
	return ok(sb)
}

func listSandboxes(s *state, c *call) reply {
	q := c.r.URL.Query()
	state := q.Get("state")
	var tags []string
	for _, v := range q["tags"] {
		tags = append(tags, splitComma(v)...)
	}
	items := filter(s.sandboxes.all(), func(sb *sandbox) bool {
		sb.settle(c.now)
		return (state == "" || sb.State == state) &&
			matches(q.Get("external_workspace_id"), sb.ExternalWorkspaceID) &&
			matches(q.Get("external_user_id"), sb.ExternalUserID) &&
			matches(q.Get("external_project_id"), sb.ExternalProjectID) &&
			hasAll(sb.Tags, tags)
	})
	return ok(items)
}

func (s *state) sandbox(c *call) (*sandbox, *reply) {
	id := c.path("sandbox_id")
	sb, found := s.sandboxes.get(id)
	if !found {
		r := notFound("sandbox", id)
		return nil, &r
	}
	sb.settle(c.now)
	return sb, nil
}

// runningSandbox is sandbox() for exec and file operations.
func (s *state) runningSandbox(c *call) (*sandbox, *reply) {
	sb, r := s.sandbox(c)
	if r != nil {
		return nil, r
	}
	if sb.State != "running" {
		hint := "wait until sandbox_get shows running"
		if sb.State == "paused" {
			hint = "resume it first"
		}
		r := invalidState(fmt.Sprintf("sandbox %s is not running (state %s): %s", sb.ID, sb.State, hint))
		return nil, &r
	}
	return sb, nil
}

func getSandbox(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	return ok(sb)
}

// deleteSandbox answers 200 with the sandbox in state destroyed (the spec
// allows 200 or 204); afterwards the sandbox is gone (404).
func deleteSandbox(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	sb.pauseClock(c.now)
	sb.tr.cancel()
	sb.State, sb.Ready, sb.DestroyedAt = "destroyed", false, c.now
	sb.TimeoutRemainingMS = nil
	s.sandboxes.remove(sb.ID)
	return ok(sb)
}

func pauseSandbox(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	switch sb.State {
	case "paused":
	case "running":
		sb.pauseClock(c.now)
		sb.State, sb.Ready = "paused", false
		sb.logs.add(c.now, "sandbox paused")
	default:
		return invalidState(fmt.Sprintf("sandbox %s cannot be paused in state %s", sb.ID, sb.State))
	}
	return ok(sb)
}

func resumeSandbox(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	switch sb.State {
	case "running", "provisioning":
	case "paused":
		sb.State, sb.Ready, sb.runSince = "running", true, c.now
		sb.logs.add(c.now, "sandbox resumed")
	default:
		return invalidState(fmt.Sprintf("sandbox %s cannot be resumed in state %s", sb.ID, sb.State))
	}
	return ok(sb)
}

// sandboxExecResult is the spec's SandboxExecResult.
type sandboxExecResult struct {
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
}

func execSandbox(s *state, c *call) reply {
	sb, r := s.runningSandbox(c)
	if r != nil {
		return *r
	}
	var body struct {
		Command string            `json:"command"`
		Cwd     string            `json:"cwd"`
		Env     map[string]string `json:"env"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	env := map[string]string{}
	for k, v := range sb.env {
		env[k] = v
	}
	for k, v := range body.Env {
		env[k] = v
	}
	cwd := abs(orDefault(body.Cwd, sandboxWorkdir), sandboxWorkdir)
	if n, found := sb.fs.stat(cwd); !found || !n.dir {
		return ok(sandboxExecResult{Stderr: "sh: cd: " + cwd + ": No such file or directory\n", ExitCode: 2, DurationMS: 1})
	}
	sh := &shell{fs: sb.fs, cwd: cwd, home: "/home/user", user: "user", host: sb.Slug, env: env, now: c.now}
	res := sh.run(body.Command)
	sb.logs.add(c.now, "exec: %s (exit %d)", body.Command, res.code)
	return ok(sandboxExecResult{Stdout: res.stdout, Stderr: res.stderr, ExitCode: res.code, DurationMS: int64(3 + len(body.Command)%40)})
}

func getSandboxLogs(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	return ok(sb.logs.tail(c))
}

// sandboxPreview is the spec's SandboxPreview.
type sandboxPreview struct {
	URL                   string         `json:"url"`
	PreviewURL            string         `json:"preview_url"`
	Port                  int            `json:"port"`
	URLClass              string         `json:"url_class"`
	StableForEmbedding    bool           `json:"stable_for_embedding"`
	RecommendedNextAction string         `json:"recommended_next_action"`
	URLInfo               map[string]any `json:"url_info"`
}

func exposeSandboxPort(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	body := struct {
		Port int `json:"port"`
	}{Port: 3000}
	if r := c.bind(&body); r != nil {
		return *r
	}
	url := fmt.Sprintf("https://%s-%d.preview.%s", sb.Slug, body.Port, mockDomain)
	sb.PreviewURL = url
	return ok(sandboxPreview{
		URL: url, PreviewURL: url, Port: body.Port, URLClass: "ephemeral_preview",
		RecommendedNextAction: "This URL dies with the sandbox; use sandbox_deploy or deployment_publish for a durable one.",
		URLInfo:               map[string]any{"expires_with_sandbox": true, "sandbox_id": sb.ID},
	})
}

func matches(want, have string) bool { return want == "" || want == have }

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
