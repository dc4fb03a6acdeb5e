package mock

import (
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Services, env vars and domains of a computer.

// service is the spec's Service: a supervised background process.
type service struct {
	meta
	ID            string            `json:"id"`
	ComputerID    string            `json:"computer_id"`
	Name          string            `json:"name"`
	Command       string            `json:"command"`
	Status        string            `json:"status"`
	Port          int               `json:"port,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	WorkingDir    string            `json:"working_dir,omitempty"`
	AutoRestart   bool              `json:"auto_restart"`
	RestartPolicy string            `json:"restart_policy"`
	PID           int               `json:"pid,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"`
	UpdatedAt     time.Time         `json:"updated_at,omitzero"`

	logs logbook
}

func createService(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	body := struct {
		Name          string            `json:"name"`
		Command       string            `json:"command"`
		WorkingDir    string            `json:"working_dir"`
		Env           map[string]string `json:"env"`
		Port          int               `json:"port"`
		RestartPolicy string            `json:"restart_policy"`
	}{RestartPolicy: "always"}
	if r := c.bind(&body); r != nil {
		return *r
	}
	for _, o := range cmp.services.all() {
		if o.Name == body.Name {
			return conflict("a service named " + body.Name + " already exists on " + cmp.ID)
		}
	}
	id, seq := s.newID("svc_")
	svc := &service{
		meta: meta{seq: seq}, ID: id, ComputerID: cmp.ID, Name: body.Name, Command: body.Command,
		Port: body.Port, Env: body.Env, WorkingDir: orDefault(body.WorkingDir, computerHome),
		RestartPolicy: body.RestartPolicy, AutoRestart: body.RestartPolicy != "never",
		CreatedAt: c.now, UpdatedAt: c.now,
	}
	svc.start(c.now)
	cmp.services.put(id, svc)
	return ok(svc)
}

func (svc *service) start(now time.Time) {
	svc.Status, svc.PID, svc.UpdatedAt = "running", 1000+rand.IntN(30000), now
	svc.logs.add(now, "[supervisor] started %s (pid %d): %s", svc.Name, svc.PID, svc.Command)
	if svc.Port > 0 {
		svc.logs.add(now.Add(300*time.Millisecond), "listening on 0.0.0.0:%d", svc.Port)
	}
}

func (svc *service) stop(now time.Time) {
	if svc.Status == "running" {
		svc.logs.add(now, "[supervisor] stopped %s (pid %d)", svc.Name, svc.PID)
	}
	svc.Status, svc.PID, svc.UpdatedAt = "stopped", 0, now
}

func listServices(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	return ok(cmp.services.all())
}

func (s *state) service(c *call) (*computer, *service, *reply) {
	cmp, r := s.computer(c)
	if r != nil {
		return nil, nil, r
	}
	svc, found := cmp.services.get(c.path("service_id"))
	if !found {
		nf := notFound("service", c.path("service_id"))
		return nil, nil, &nf
	}
	return cmp, svc, nil
}

func startService(s *state, c *call) reply {
	_, svc, r := s.service(c)
	if r != nil {
		return *r
	}
	if svc.Status != "running" {
		svc.start(c.now)
	}
	return ok(svc)
}

func stopService(s *state, c *call) reply {
	_, svc, r := s.service(c)
	if r != nil {
		return *r
	}
	svc.stop(c.now)
	return ok(svc)
}

func restartService(s *state, c *call) reply {
	_, svc, r := s.service(c)
	if r != nil {
		return *r
	}
	svc.stop(c.now)
	svc.start(c.now)
	return ok(svc)
}

// getServiceLogs returns a snapshot; with follow=true it sends the same
// lines as a text/event-stream that ends at once (the mock has no live
// process to follow).
func getServiceLogs(s *state, c *call) reply {
	_, svc, r := s.service(c)
	if r != nil {
		return *r
	}
	lines := svc.logs.tail(c)
	if follow, _ := c.queryBool("follow"); follow {
		var b strings.Builder
		for _, l := range lines.Lines {
			b.WriteString("data: " + l + "\n\n")
		}
		return binaryReply("text/event-stream", []byte(b.String()))
	}
	return ok(lines)
}

func deleteService(s *state, c *call) reply {
	cmp, svc, r := s.service(c)
	if r != nil {
		return *r
	}
	cmp.services.remove(svc.ID)
	return noContent()
}

// envVar is the spec's EnvVar.
type envVar struct {
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

func listComputerEnv(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	out := make([]*envVar, 0, len(cmp.env))
	for _, v := range cmp.env {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return ok(out)
}

func setComputerEnv(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	var body struct{ Name, Value string }
	if r := c.bind(&body); r != nil {
		return *r
	}
	if !isAssignment(body.Name + "=") {
		return invalid("name", "must be a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
	}
	v, found := cmp.env[body.Name]
	if !found {
		v = &envVar{Name: body.Name, CreatedAt: c.now}
		cmp.env[body.Name] = v
	}
	v.Value, v.UpdatedAt = body.Value, c.now
	return ok(v)
}

func deleteComputerEnv(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	name := c.path("name")
	if _, found := cmp.env[name]; !found {
		return notFound("environment variable", name)
	}
	delete(cmp.env, name)
	return noContent()
}

// domain is the spec's Domain: a custom hostname pointed at a computer. It
// is pending until ReadyAfter, then active (DNS "verified", TLS issued).
type domain struct {
	meta
	ID                 string    `json:"id"`
	ComputerID         string    `json:"computer_id"`
	TenantID           string    `json:"tenant_id"`
	FQDN               string    `json:"fqdn"`
	Status             string    `json:"status"`
	VerificationTarget string    `json:"verification_target"`
	Instructions       string    `json:"instructions"`
	VerifiedAt         time.Time `json:"verified_at,omitzero"`
	TLSIssuedAt        time.Time `json:"tls_issued_at,omitzero"`
	CreatedAt          time.Time `json:"created_at,omitzero"`
	UpdatedAt          time.Time `json:"updated_at,omitzero"`
}

func (d *domain) settle(now time.Time) {
	if at, ok := d.tr.settle(&d.Status, now); ok {
		d.VerifiedAt, d.TLSIssuedAt, d.UpdatedAt = at, at, at
	}
}

func addComputerDomain(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	var body struct{ FQDN string }
	if r := c.bind(&body); r != nil {
		return *r
	}
	fqdn := strings.ToLower(strings.TrimSuffix(body.FQDN, "."))
	if !strings.Contains(fqdn, ".") || strings.ContainsAny(fqdn, " /:") {
		return invalid("fqdn", "must be a hostname such as app.example.com")
	}
	for _, other := range s.computers.all() {
		for _, d := range other.domains.all() {
			if d.FQDN == fqdn {
				return conflict("domain " + fqdn + " is already attached to " + other.ID)
			}
		}
	}
	id, seq := s.newID("dom_")
	target := cmp.Slug + ".cname." + mockDomain
	d := &domain{
		meta: meta{seq: seq}, ID: id, ComputerID: cmp.ID, TenantID: tenantID, FQDN: fqdn,
		VerificationTarget: target,
		Instructions:       "Create a CNAME record for " + fqdn + " pointing to " + target + ".",
		CreatedAt:          c.now, UpdatedAt: c.now,
	}
	c.schedule(&d.Status, &d.tr, "pending", "active")
	if d.Status == "active" {
		d.VerifiedAt, d.TLSIssuedAt = c.now, c.now
	}
	cmp.domains.put(id, d)
	return ok(d)
}

func listComputerDomains(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	items := cmp.domains.all()
	for _, d := range items {
		d.settle(c.now)
	}
	return ok(items)
}

func deleteComputerDomain(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	if !cmp.domains.remove(c.path("domain_id")) {
		return fail(http.StatusNotFound, "NOT_FOUND", "domain not found: "+c.path("domain_id"))
	}
	return noContent()
}
