package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/miosa-osa/miosa-mcp/internal/localfs"
)

// rootsTimeout bounds the wait for the client's answer to roots/list.
const rootsTimeout = 10 * time.Second

// clientRootsSource is where the allowed directories come from, as
// refusals quote it, when the client declares roots (without them:
// localFiles.serverRoots).
const clientRootsSource = "the client's roots, from roots/list"

// rootsCache keeps a session's roots between calls when the client
// promises to announce changes (roots.listChanged); its
// notifications/roots/list_changed drops them, so the next call asks
// again. A fetch that overlaps a change is used once but not kept.
type rootsCache struct {
	mu    sync.Mutex
	gen   uint64
	roots *localfs.Roots
	at    uint64 // gen when roots were fetched
}

// sessionWithRootsCache is a session that keeps a rootsCache (the stdio
// session).
type sessionWithRootsCache interface {
	rootsCache() *rootsCache
}

func (c *rootsCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.roots = nil
}

func (c *rootsCache) get() (*localfs.Roots, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.roots != nil && c.at == c.gen {
		return c.roots, c.gen
	}
	return nil, c.gen
}

func (c *rootsCache) put(gen uint64, r *localfs.Roots) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.roots, c.at = r, gen
	}
}

// localRoots returns the directories this call may read and write: the
// client's roots when it declared the roots capability (asked with
// roots/list, cached as above), else the working directory and the
// --allow-dir directories. A client that declared roots but does not
// answer gets an error, not the server's own list: its roots are the
// boundary it set.
func (l *localFiles) roots(ctx context.Context) (*localfs.Roots, error) {
	sess := server.ClientSessionFromContext(ctx)
	var caps mcp.ClientCapabilities
	if ci, ok := sess.(server.SessionWithClientInfo); ok {
		caps = ci.GetClientCapabilities()
	}
	rs, ok := sess.(server.SessionWithRoots)
	if caps.Roots == nil || !ok {
		r, skipped := localfs.NewRoots(append([]string{l.cfg.WorkDir}, l.cfg.AllowDirs...), l.cfg.WorkDir, l.cfg.Home, l.serverRoots)
		for _, err := range skipped {
			l.log.Debug("local files: allowed directory left out", "error", err)
		}
		return r, nil
	}
	var cache *rootsCache
	if c, ok := sess.(sessionWithRootsCache); ok && caps.Roots.ListChanged {
		cache = c.rootsCache()
	}
	var gen uint64
	if cache != nil {
		var r *localfs.Roots
		if r, gen = cache.get(); r != nil {
			return r, nil
		}
	}
	rctx, cancel := context.WithTimeout(ctx, rootsTimeout)
	defer cancel()
	res, err := rs.ListRoots(rctx, mcp.ListRootsRequest{})
	if err != nil {
		if rctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s", rootsTimeout)
		}
		return nil, fmt.Errorf("the client declares roots but roots/list failed (%v), so no local path can be checked", err)
	}
	var dirs []string
	for _, root := range res.Roots {
		d, err := localfs.ParseFileURI(root.URI)
		if err != nil {
			l.log.Debug("local files: client root ignored", "error", err)
			continue
		}
		dirs = append(dirs, d)
	}
	r, skipped := localfs.NewRoots(dirs, l.cfg.WorkDir, l.cfg.Home, clientRootsSource)
	for _, err := range skipped {
		l.log.Debug("local files: client root left out", "error", err)
	}
	if cache != nil {
		cache.put(gen, r)
	}
	return r, nil
}
