package mock

import (
	"fmt"
	"hash/fnv"
	"time"
)

// computer is a cloud desktop VM together with everything that hangs off
// it: desktop, filesystem, env, services, domains, ports, network policy,
// volume attachments and checkpoints. Deleting it drops all of them.
type computer struct {
	meta
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	Slug          string            `json:"slug,omitempty"`
	Status        string            `json:"status"`
	Visibility    string            `json:"visibility,omitempty"`
	TemplateType  string            `json:"template_type,omitempty"`
	Size          string            `json:"size,omitempty"`
	TenantID      string            `json:"tenant_id,omitempty"`
	WorkspaceID   string            `json:"workspace_id,omitempty"`
	IPAddress     string            `json:"ip_address,omitempty"`
	VNCURL        string            `json:"vnc_url,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	PreviewDomain string            `json:"preview_domain,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"`
	UpdatedAt     time.Time         `json:"updated_at,omitzero"`

	desktop     *desktop
	fs          *memfs
	logs        logbook
	env         map[string]*envVar
	services    registry[service]
	domains     registry[domain]
	ports       map[int]*port
	policy      *networkPolicy
	attachments registry[attachment]
	checkpoints registry[checkpoint]
}

// computerHome is the login user's home; exec starts there.
const computerHome = "/home/user"

func (s *state) newComputer(c *call, name, template, size, workspaceID string, md map[string]string) *computer {
	id, seq := s.newID("cmp_")
	// Slugs get the ID's tail so that equal names stay unique; a default
	// name already carries it.
	slug := slugify(name) + "-" + id[len(id)-4:]
	if name == "" {
		name = "computer-" + id[len(id)-4:]
		slug = name
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	sum := h.Sum32()
	cmp := &computer{
		meta:          meta{seq: seq},
		ID:            id,
		Name:          name,
		Slug:          slug,
		Visibility:    "private",
		TemplateType:  template,
		Size:          size,
		TenantID:      tenantID,
		WorkspaceID:   workspaceID,
		IPAddress:     fmt.Sprintf("10.%d.%d.%d", 16+sum%16, sum>>8&0xff, 2+sum>>16%250),
		VNCURL:        fmt.Sprintf("https://%s.vnc.%s", slug, mockDomain),
		Metadata:      md,
		PreviewDomain: fmt.Sprintf("%s.%s", slug, mockDomain),
		CreatedAt:     c.now,
		UpdatedAt:     c.now,
		desktop:       newDesktop(),
		fs: newFS(c.now, computerHome+"/Desktop", computerHome+"/Documents",
			computerHome+"/Downloads", "/tmp", "/etc", "/var/log"),
		env:   map[string]*envVar{},
		ports: map[int]*port{},
	}
	cmp.fs.writeFile("/etc/hostname", []byte(slug+"\n"), c.now)
	cmp.fs.writeFile(computerHome+"/Desktop/README.txt", []byte("This computer runs on the offline MIOSA mock: nothing here is real.\n"), c.now)
	c.schedule(&cmp.Status, &cmp.tr, "creating", "running")
	cmp.logs.boot(c.now, "allocating "+size+" VM for "+id, "pulling template "+template, "booting kernel")
	cmp.logs.add(c.now.Add(c.readyAfter), "desktop session ready (Xfce, 1024x768)")
	s.computers.put(id, cmp)
	return cmp
}

// settle brings the computer's status up to date with the clock.
func (cmp *computer) settle(now time.Time) {
	if at, ok := cmp.tr.settle(&cmp.Status, now); ok {
		cmp.UpdatedAt = at
	}
}

// computer looks up the path's computer_id and settles its status.
func (s *state) computer(c *call) (*computer, *reply) {
	id := c.path("computer_id")
	cmp, ok := s.computers.get(id)
	if !ok {
		r := notFound("computer", id)
		return nil, &r
	}
	cmp.settle(c.now)
	return cmp, nil
}

// runningComputer is computer() for actions that need the VM up
// (desktop, exec, files): anything else is a 409 the caller can act on.
func (s *state) runningComputer(c *call) (*computer, *reply) {
	cmp, errR := s.computer(c)
	if errR != nil {
		return nil, errR
	}
	if cmp.Status != "running" {
		r := invalidState(fmt.Sprintf("computer %s is not running (status %s): wait until computer_get shows running", cmp.ID, cmp.Status))
		return nil, &r
	}
	return cmp, nil
}

func createComputer(s *state, c *call) reply {
	body := struct {
		Name         string            `json:"name"`
		TemplateType string            `json:"template_type"`
		Size         string            `json:"size"`
		WorkspaceID  string            `json:"workspace_id"`
		Metadata     map[string]string `json:"metadata"`
	}{TemplateType: "miosa-desktop", Size: "small"}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if body.WorkspaceID != "" {
		if _, ok := s.workspaces.get(body.WorkspaceID); !ok {
			return notFound("workspace", body.WorkspaceID)
		}
	}
	return ok(s.newComputer(c, body.Name, body.TemplateType, body.Size, body.WorkspaceID, body.Metadata))
}

func listComputers(s *state, c *call) reply {
	status, ws := c.query("status"), c.query("workspace_id")
	items := filter(s.computers.all(), func(cmp *computer) bool {
		cmp.settle(c.now)
		return (status == "" || cmp.Status == status) && (ws == "" || cmp.WorkspaceID == ws)
	})
	page, meta := pageOf(items, c)
	return okPage(page, meta)
}

func getComputer(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	return ok(cmp)
}

func updateComputer(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	var body struct {
		Name     *string           `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	if r := c.bind(&body); r != nil {
		return *r
	}
	if body.Name != nil {
		cmp.Name = *body.Name
	}
	if body.Metadata != nil {
		cmp.Metadata = body.Metadata
	}
	cmp.UpdatedAt = c.now
	return ok(cmp)
}

func deleteComputer(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	for _, a := range cmp.attachments.all() {
		if v, ok := s.volumes.get(a.VolumeID); ok {
			v.Status = "available"
		}
	}
	s.computers.remove(cmp.ID)
	return noContent()
}

// startComputer boots a stopped computer; it is running at once (the brief
// boot of a warm VM), while a computer still creating keeps its schedule.
func startComputer(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	if cmp.Status != "running" && !cmp.tr.pending() {
		cmp.Status = "running"
		cmp.UpdatedAt = c.now
		cmp.logs.add(c.now, "computer started")
	}
	return ok(cmp)
}

func stopComputer(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	cmp.tr.cancel()
	if cmp.Status != "stopped" {
		cmp.Status = "stopped"
		cmp.UpdatedAt = c.now
		cmp.logs.add(c.now, "computer stopped")
	}
	return ok(cmp)
}

// restartComputer reboots: status starting, then running after ReadyAfter.
// Programs die, so the desktop's windows are gone too.
func restartComputer(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	c.schedule(&cmp.Status, &cmp.tr, "starting", "running")
	cmp.UpdatedAt = c.now
	cmp.desktop = newDesktop()
	cmp.logs.add(c.now, "computer restarting")
	cmp.logs.add(c.now.Add(c.readyAfter), "desktop session ready (Xfce, 1024x768)")
	return ok(cmp)
}

func getComputerLogs(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	return ok(cmp.logs.tail(c))
}
