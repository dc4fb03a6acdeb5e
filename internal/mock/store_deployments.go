package mock

import (
	"fmt"
	"time"
)

// deployment is the spec's Deployment. It is pending until its first
// publish; each publish builds a new version (building → ready) while the
// deployment goes building → running and serves the new version.
type deployment struct {
	meta
	ID                  string            `json:"id"`
	TenantID            string            `json:"tenant_id"`
	OwnerID             string            `json:"owner_id"`
	Name                string            `json:"name"`
	Slug                string            `json:"slug"`
	RepoURL             string            `json:"repo_url,omitempty"`
	RepoProvider        string            `json:"repo_provider,omitempty"`
	Branch              string            `json:"branch,omitempty"`
	BuildCommand        string            `json:"build_command,omitempty"`
	RunCommand          string            `json:"run_command,omitempty"`
	RuntimeImage        string            `json:"runtime_image,omitempty"`
	CurrentBuildID      string            `json:"current_build_id,omitempty"`
	ActiveVersionID     string            `json:"active_version_id,omitempty"`
	SourceType          string            `json:"source_type,omitempty"`
	State               string            `json:"state"`
	AutoDeploy          bool              `json:"auto_deploy"`
	DeploymentProduct   string            `json:"deployment_product"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	ExternalWorkspaceID string            `json:"external_workspace_id,omitempty"`
	ExternalUserID      string            `json:"external_user_id,omitempty"`
	ExternalProjectID   string            `json:"external_project_id,omitempty"`
	PublicURL           string            `json:"public_url"`
	CreatedAt           time.Time         `json:"created_at,omitzero"`
	UpdatedAt           time.Time         `json:"updated_at,omitzero"`

	projectID string // from the source sandbox; the list's project_id filter
	env       map[string]string
	versions  registry[deploymentVersion]
	logs      logbook
}

// deploymentVersion is the spec's DeploymentVersion.
type deploymentVersion struct {
	meta
	ID                  string            `json:"id"`
	DeploymentID        string            `json:"deployment_id"`
	TenantID            string            `json:"tenant_id"`
	CreatedBy           string            `json:"created_by"`
	SourceSandboxID     string            `json:"source_sandbox_id,omitempty"`
	BuildID             string            `json:"build_id"`
	VersionNumber       int               `json:"version_number"`
	Kind                string            `json:"kind"`
	State               string            `json:"state"`
	ArtifactURI         string            `json:"artifact_uri"`
	ArtifactSHA256      string            `json:"artifact_sha256"`
	RuntimeImage        string            `json:"runtime_image,omitempty"`
	RuntimeCommand      string            `json:"runtime_command,omitempty"`
	RuntimePort         int               `json:"runtime_port,omitempty"`
	HealthCheckPath     string            `json:"health_check_path,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	PromotedAt          time.Time         `json:"promoted_at,omitzero"`
	ExternalWorkspaceID string            `json:"external_workspace_id,omitempty"`
	ExternalUserID      string            `json:"external_user_id,omitempty"`
	ExternalProjectID   string            `json:"external_project_id,omitempty"`
	CreatedAt           time.Time         `json:"created_at,omitzero"`
	UpdatedAt           time.Time         `json:"updated_at,omitzero"`
}

const ownerID = "usr_mock"

func (d *deployment) settle(now time.Time) {
	if at, ok := d.tr.settle(&d.State, now); ok {
		d.UpdatedAt = at
	}
	for _, v := range d.versions.all() {
		if at, ok := v.tr.settle(&v.State, now); ok {
			v.UpdatedAt = at
		}
	}
}

func (s *state) newDeployment(c *call, name string) *deployment {
	id, seq := s.newID("dep_")
	slug := slugify(name) + "-" + id[len(id)-4:]
	d := &deployment{
		meta: meta{seq: seq}, ID: id, TenantID: tenantID, OwnerID: ownerID, Name: name, Slug: slug,
		State: "pending", DeploymentProduct: "miosa_deploy", PublicURL: "https://" + slug + "." + mockDomain,
		CreatedAt: c.now, UpdatedAt: c.now, env: map[string]string{},
	}
	d.logs.add(c.now, "deployment %s created", id)
	s.deployments.put(id, d)
	return d
}

func createDeployment(s *state, c *call) reply {
	var body struct {
		Name                string            `json:"name"`
		SourceType          string            `json:"source_type"`
		RepoURL             string            `json:"repo_url"`
		Branch              string            `json:"branch"`
		BuildCommand        string            `json:"build_command"`
		RunCommand          string            `json:"run_command"`
		AutoDeploy          bool              `json:"auto_deploy"`
		Metadata            map[string]string `json:"metadata"`
		ExternalWorkspaceID string            `json:"external_workspace_id"`
		ExternalUserID      string            `json:"external_user_id"`
		ExternalProjectID   string            `json:"external_project_id"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	d := s.newDeployment(c, body.Name)
	d.SourceType, d.RepoURL, d.Branch = body.SourceType, body.RepoURL, body.Branch
	if d.RepoURL != "" {
		d.RepoProvider = "github"
		if d.Branch == "" {
			d.Branch = "main"
		}
	}
	d.BuildCommand, d.RunCommand, d.AutoDeploy, d.Metadata = body.BuildCommand, body.RunCommand, body.AutoDeploy, body.Metadata
	d.ExternalWorkspaceID, d.ExternalUserID, d.ExternalProjectID = body.ExternalWorkspaceID, body.ExternalUserID, body.ExternalProjectID
	return ok(d)
}

func listDeployments(s *state, c *call) reply {
	q := c.r.URL.Query()
	items := filter(s.deployments.all(), func(d *deployment) bool {
		d.settle(c.now)
		return matches(q.Get("state"), d.State) && matches(q.Get("project_id"), d.projectID) &&
			matches(q.Get("external_workspace_id"), d.ExternalWorkspaceID) &&
			matches(q.Get("external_user_id"), d.ExternalUserID) &&
			matches(q.Get("external_project_id"), d.ExternalProjectID)
	})
	page, next, r := cursorOf(items, c)
	if r != nil {
		return *r
	}
	return okCursor(page, next)
}

func (s *state) deployment(c *call) (*deployment, *reply) {
	id := c.path("deployment_id")
	d, found := s.deployments.get(id)
	if !found {
		r := notFound("deployment", id)
		return nil, &r
	}
	d.settle(c.now)
	return d, nil
}

func getDeployment(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	return ok(d)
}

func deleteDeployment(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	s.deployments.remove(d.ID)
	return noContent()
}

// buildSpec is what a publish or a sandbox deploy asks to build.
type buildSpec struct {
	sandbox                          *sandbox
	kind, outputPath                 string
	buildCommand, runCommand, health string
	port                             int
	environment                      string
}

// build creates the next version from a sandbox and schedules the
// deployment through building → running with that version active.
func (s *state) build(c *call, d *deployment, b buildSpec) *deploymentVersion {
	kind := b.kind
	if kind == "" || kind == "auto" {
		kind = "dynamic"
		if b.outputPath != "" {
			kind = "static"
		}
	}
	id, seq := s.newID("ver_")
	n := d.versions.len() + 1
	v := &deploymentVersion{
		meta: meta{seq: seq}, ID: id, DeploymentID: d.ID, TenantID: tenantID, CreatedBy: ownerID,
		SourceSandboxID: b.sandbox.ID, BuildID: "bld_" + randString(12), VersionNumber: n, Kind: kind,
		ArtifactURI:    fmt.Sprintf("s3://miosa-artifacts/%s/%s/%s.tar.zst", tenantID, d.ID, id),
		ArtifactSHA256: randHex(64), RuntimeCommand: b.runCommand, RuntimePort: b.port, HealthCheckPath: b.health,
		ExternalWorkspaceID: d.ExternalWorkspaceID, ExternalUserID: d.ExternalUserID, ExternalProjectID: d.ExternalProjectID,
		PromotedAt: c.now, CreatedAt: c.now, UpdatedAt: c.now,
	}
	if kind == "dynamic" {
		v.RuntimeImage = "registry." + mockDomain + "/runtime/" + b.sandbox.TemplateID + ":latest"
		if v.RuntimePort == 0 {
			v.RuntimePort = 3000
		}
	}
	if b.environment != "" {
		v.Metadata = map[string]string{"environment": b.environment}
	}
	c.schedule(&v.State, &v.tr, "building", "ready")
	d.versions.put(id, v)
	c.schedule(&d.State, &d.tr, "building", "running")
	d.ActiveVersionID, d.CurrentBuildID, d.UpdatedAt = id, v.BuildID, c.now
	d.RuntimeImage, d.projectID = v.RuntimeImage, b.sandbox.ProjectID
	if b.buildCommand != "" {
		d.BuildCommand = b.buildCommand
	}
	if b.runCommand != "" {
		d.RunCommand = b.runCommand
	}
	d.logs.add(c.now, "build %s started for version %d (%s) from sandbox %s", v.BuildID, n, kind, b.sandbox.ID)
	d.logs.add(c.now.Add(c.readyAfter/2), "build %s: artifact uploaded (sha256 %s…)", v.BuildID, v.ArtifactSHA256[:12])
	d.logs.add(c.now.Add(c.readyAfter), "version %d is live at %s", n, d.PublicURL)
	return v
}

// publishResult is the spec's PublishResult.
type publishResult struct {
	Deployment *deployment        `json:"deployment"`
	Version    *deploymentVersion `json:"version"`
	Services   []map[string]any   `json:"services"`
	Promoted   bool               `json:"promoted"`
}

func publishDeployment(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	var body struct {
		SourceSandboxID string `json:"source_sandbox_id"`
		Kind            string `json:"kind"`
		OutputPath      string `json:"output_path"`
		BuildCommand    string `json:"build_command"`
		RunCommand      string `json:"run_command"`
		Port            int    `json:"port"`
		HealthCheckPath string `json:"health_check_path"`
		Environment     string `json:"environment"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	sb, found := s.sandboxes.get(body.SourceSandboxID)
	if !found {
		return notFound("sandbox", body.SourceSandboxID)
	}
	v := s.build(c, d, buildSpec{sandbox: sb, kind: body.Kind, outputPath: body.OutputPath,
		buildCommand: body.BuildCommand, runCommand: body.RunCommand, port: body.Port,
		health: body.HealthCheckPath, environment: body.Environment})
	return ok(publishResult{Deployment: d, Version: v, Promoted: true,
		Services: []map[string]any{{"name": "web", "url": d.PublicURL, "port": v.RuntimePort, "kind": v.Kind}}})
}

// rollbackDeployment activates the given version, or the one before the
// active version.
func rollbackDeployment(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	var body struct {
		VersionID string `json:"version_id"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	target := body.VersionID
	if target == "" {
		active, found := d.versions.get(d.ActiveVersionID)
		for _, v := range d.versions.all() {
			if found && v.VersionNumber == active.VersionNumber-1 {
				target = v.ID
			}
		}
		if target == "" {
			return conflict("deployment " + d.ID + " has no earlier version to roll back to")
		}
	}
	return s.activate(c, d, target)
}

func promoteDeploymentVersion(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	return s.activate(c, d, c.path("version_id"))
}

func (s *state) activate(c *call, d *deployment, versionID string) reply {
	v, found := d.versions.get(versionID)
	if !found {
		return notFound("deployment version", versionID)
	}
	if v.State != "ready" {
		return invalidState(fmt.Sprintf("version %s is not ready (state %s)", v.ID, v.State))
	}
	d.ActiveVersionID, d.UpdatedAt, v.PromotedAt = v.ID, c.now, c.now
	if d.State != "building" {
		d.State = "running"
	}
	d.logs.add(c.now, "version %d (%s) is now active", v.VersionNumber, v.ID)
	return ok(d)
}

func listDeploymentEnv(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	return ok(d.env)
}

func setDeploymentEnv(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	var body struct{ Key, Value string }
	if r := c.bind(&body); r != nil {
		return *r
	}
	if !isAssignment(body.Key + "=") {
		return invalid("key", "must be a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
	}
	d.env[body.Key] = body.Value
	d.UpdatedAt = c.now
	return ok(actionResult{Success: true, Message: body.Key + " set; it applies from the next publish"})
}

func getDeploymentLogs(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	return ok(d.logs.tail(c))
}

func listDeploymentVersions(s *state, c *call) reply {
	d, r := s.deployment(c)
	if r != nil {
		return *r
	}
	q := c.r.URL.Query()
	items := filter(d.versions.all(), func(v *deploymentVersion) bool {
		return matches(q.Get("external_workspace_id"), v.ExternalWorkspaceID) &&
			matches(q.Get("external_user_id"), v.ExternalUserID) &&
			matches(q.Get("external_project_id"), v.ExternalProjectID)
	})
	page, next, rr := cursorOf(items, c)
	if rr != nil {
		return *rr
	}
	return okCursor(page, next)
}

// sandboxDeployResult is the spec's SandboxDeployResult.
type sandboxDeployResult struct {
	ID                    string `json:"id"`
	DeploymentID          string `json:"deployment_id"`
	URL                   string `json:"url"`
	PreviewURL            string `json:"preview_url"`
	URLClass              string `json:"url_class"`
	StableForEmbedding    bool   `json:"stable_for_embedding"`
	RecommendedNextAction string `json:"recommended_next_action"`
}

// deploySandbox publishes a sandbox to a new deployment, or to the given
// deployment_id, and returns the durable URL.
func deploySandbox(s *state, c *call) reply {
	sb, r := s.sandbox(c)
	if r != nil {
		return *r
	}
	if sb.State == "destroyed" {
		return invalidState("sandbox " + sb.ID + " is destroyed")
	}
	var body struct {
		Name            string `json:"name"`
		DeploymentID    string `json:"deployment_id"`
		OutputPath      string `json:"output_path"`
		Entrypoint      string `json:"entrypoint"`
		BuildCommand    string `json:"build_command"`
		RunCommand      string `json:"run_command"`
		StartCommand    string `json:"start_command"`
		Port            int    `json:"port"`
		HealthCheckPath string `json:"health_check_path"`
		DeploymentType  string `json:"deployment_type"`
		Domain          string `json:"domain"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	var d *deployment
	if body.DeploymentID != "" {
		found := false
		if d, found = s.deployments.get(body.DeploymentID); !found {
			return notFound("deployment", body.DeploymentID)
		}
		d.settle(c.now)
	} else {
		d = s.newDeployment(c, orDefault(body.Name, sb.Name))
		d.SourceType = "sandbox"
	}
	if body.DeploymentType != "" {
		d.DeploymentProduct = body.DeploymentType
	}
	if body.Domain != "" {
		d.PublicURL = "https://" + body.Domain
	}
	run := orDefault(body.RunCommand, orDefault(body.StartCommand, body.Entrypoint))
	v := s.build(c, d, buildSpec{sandbox: sb, outputPath: body.OutputPath, buildCommand: body.BuildCommand,
		runCommand: run, port: body.Port, health: body.HealthCheckPath})
	return ok(sandboxDeployResult{
		ID: v.ID, DeploymentID: d.ID, URL: d.PublicURL, PreviewURL: d.PublicURL, URLClass: "durable",
		StableForEmbedding:    true,
		RecommendedNextAction: "Poll deployment_get until state is running, then open the URL.",
	})
}
