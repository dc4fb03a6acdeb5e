package runtime

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxConnections caps the HTTP server's open connections. An idle
// keep-alive connection costs about 30 KB (its goroutine and buffers), so
// without a cap some 7,500 of them fill a 256 MiB pod (issue #10); 1,024
// take about 30 MB, far more than the concurrent calls one replica serves.
const DefaultMaxConnections = 1024

// refusedConnTimeout bounds the time spent answering a connection over the
// cap.
const refusedConnTimeout = time.Second

// ConnLimiter caps open connections. When a new connection would pass the
// cap, the connection that has been idle longest (a keep-alive connection
// between requests) is closed to make room; when none is idle, the new
// connection is answered 503 and closed. Use Listener around the listener
// and ConnState as the http.Server's ConnState.
type ConnLimiter struct {
	// OnRefuse, when set before serving, is told about each connection
	// refused with 503 (select.go).
	OnRefuse func()
	// Setting names the setting of the cap in the 503 of a refused
	// connection (empty: none is named).
	Setting string

	max  int
	mu   sync.Mutex
	open int
	idle map[*limitedConn]time.Time
}

// NewConnLimiter caps connections at max (DefaultMaxConnections if <= 0).
func NewConnLimiter(max int) *ConnLimiter {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	return &ConnLimiter{max: max, idle: map[*limitedConn]time.Time{}}
}

// Listener wraps ln so that its connections are counted.
func (l *ConnLimiter) Listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, l: l}
}

// ConnState tracks which connections are idle (http.Server.ConnState).
func (l *ConnLimiter) ConnState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StateIdle && !lc.closed {
		l.idle[lc] = time.Now()
	} else {
		delete(l.idle, lc)
	}
}

// Open reports how many connections are open.
func (l *ConnLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

type limitListener struct {
	net.Listener
	l *ConnLimiter
}

func (ll *limitListener) Accept() (net.Conn, error) {
	l := ll.l
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var victim *limitedConn
		if l.open >= l.max {
			var since time.Time
			for ic, t := range l.idle {
				if victim == nil || t.Before(since) {
					victim, since = ic, t
				}
			}
			if victim == nil {
				l.mu.Unlock()
				if l.OnRefuse != nil {
					l.OnRefuse()
				}
				go refuseConn(c, l.max, l.Setting)
				continue
			}
			delete(l.idle, victim)
		}
		l.open++
		lc := &limitedConn{Conn: c, l: l}
		l.mu.Unlock()
		if victim != nil {
			victim.Close()
		}
		return lc, nil
	}
}

type limitedConn struct {
	net.Conn
	l      *ConnLimiter
	once   sync.Once
	closed bool // guarded by l.mu
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.closed = true
		c.l.open--
		delete(c.l.idle, c)
		c.l.mu.Unlock()
	})
	return err
}

// refuseConn answers a connection over the cap with 503 and closes it,
// reading what the client sent first so the close does not reset the
// answer away.
func refuseConn(c net.Conn, max int, setting string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(refusedConnTimeout))
	body := `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"the server has ` + strconv.Itoa(max) + ` connections open, the most it accepts` + parenthesized(setting) + `; retry shortly"}}`
	io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}
