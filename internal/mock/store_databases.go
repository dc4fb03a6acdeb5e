package mock

import (
	"fmt"
	"time"
)

// database is the spec's Database: creating → running after ReadyAfter.
// Its credentials are fixed at creation.
type database struct {
	meta
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	TenantID      string    `json:"tenant_id"`
	EnvironmentID string    `json:"environment_id"`
	Engine        string    `json:"engine"`
	Version       string    `json:"version"`
	Status        string    `json:"status"`
	Host          string    `json:"host"`
	Port          int       `json:"port"`
	Region        string    `json:"region"`
	SizeGB        int       `json:"size_gb"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`

	workspaceID string
	username    string
	password    string
	logs        logbook
}

// engines gives each engine's default version, port and URL scheme.
var engines = map[string]struct {
	version, scheme string
	port            int
}{
	"postgresql": {"16", "postgresql", 5432},
	"mysql":      {"8.0", "mysql", 3306},
	"redis":      {"7.2", "redis", 6379},
}

func (db *database) settle(now time.Time) {
	if at, ok := db.tr.settle(&db.Status, now); ok {
		db.UpdatedAt = at
	}
}

func listDatabases(s *state, c *call) reply {
	status := c.query("status")
	items := filter(s.databases.all(), func(db *database) bool {
		db.settle(c.now)
		return matches(status, db.Status)
	})
	page, next, r := cursorOf(items, c)
	if r != nil {
		return *r
	}
	return okCursor(page, next)
}

func createDatabase(s *state, c *call) reply {
	body := struct {
		Name        string `json:"name"`
		Engine      string `json:"engine"`
		Version     string `json:"version"`
		Region      string `json:"region"`
		SizeGB      int    `json:"size_gb"`
		WorkspaceID string `json:"workspace_id"`
	}{Engine: "postgresql", Region: defaultRegion, SizeGB: 10}
	if r := c.bind(&body); r != nil {
		return *r
	}
	for _, db := range s.databases.all() {
		if db.Name == body.Name {
			return conflict("a database named " + body.Name + " already exists")
		}
	}
	if body.WorkspaceID != "" {
		if _, found := s.workspaces.get(body.WorkspaceID); !found {
			return notFound("workspace", body.WorkspaceID)
		}
	}
	eng := engines[body.Engine]
	id, seq := s.newID("db_")
	db := &database{
		meta: meta{seq: seq}, ID: id, Name: body.Name, TenantID: tenantID, EnvironmentID: "env_production",
		Engine: body.Engine, Version: orDefault(body.Version, eng.version),
		Host: fmt.Sprintf("%s.db.%s.%s", id, body.Region, mockDomain), Port: eng.port,
		Region: body.Region, SizeGB: body.SizeGB, CreatedAt: c.now, UpdatedAt: c.now,
		workspaceID: body.WorkspaceID, username: "miosa", password: randString(24),
	}
	c.schedule(&db.Status, &db.tr, "creating", "running")
	db.logs.boot(c.now, "provisioning "+body.Engine+" "+db.Version+" ("+fmt.Sprint(body.SizeGB)+" GB) in "+body.Region, "initialising data directory")
	db.logs.add(c.now.Add(c.readyAfter), "database system is ready to accept connections")
	s.databases.put(id, db)
	return ok(db)
}

func (s *state) database(c *call) (*database, *reply) {
	id := c.path("database_id")
	db, found := s.databases.get(id)
	if !found {
		r := notFound("database", id)
		return nil, &r
	}
	db.settle(c.now)
	return db, nil
}

func getDatabase(s *state, c *call) reply {
	db, r := s.database(c)
	if r != nil {
		return *r
	}
	return ok(db)
}

func deleteDatabase(s *state, c *call) reply {
	db, r := s.database(c)
	if r != nil {
		return *r
	}
	s.databases.remove(db.ID)
	return noContent()
}

func getDatabaseCredentials(s *state, c *call) reply {
	db, r := s.database(c)
	if r != nil {
		return *r
	}
	eng := engines[db.Engine]
	dbName := slugify(db.Name)
	var u string
	if db.Engine == "redis" {
		u = fmt.Sprintf("redis://:%s@%s:%d/0", db.password, db.Host, db.Port)
		dbName = "0"
	} else {
		u = fmt.Sprintf("%s://%s:%s@%s:%d/%s", eng.scheme, db.username, db.password, db.Host, db.Port, dbName)
	}
	return ok(map[string]any{
		"url": u, "connection_string": u, "host": db.Host, "port": db.Port,
		"database": dbName, "username": db.username, "password": db.password,
	})
}

func getDatabaseLogs(s *state, c *call) reply {
	db, r := s.database(c)
	if r != nil {
		return *r
	}
	return ok(db.logs.tail(c))
}
