package mock

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Network policy and exposed ports of a computer.

// networkPolicy is the spec's NetworkPolicy. A computer without one allows
// all egress (the README's assumed default).
type networkPolicy struct {
	ComputerID    string        `json:"computer_id"`
	Rules         []networkRule `json:"rules"`
	DefaultEffect string        `json:"default_effect"`
}

type networkRule struct {
	Effect      string `json:"effect"`
	Destination string `json:"destination"`
	Ports       string `json:"ports,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
}

func (cmp *computer) networkPolicy() *networkPolicy {
	if cmp.policy != nil {
		return cmp.policy
	}
	return &networkPolicy{ComputerID: cmp.ID, Rules: []networkRule{}, DefaultEffect: "allow"}
}

func getNetworkPolicy(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	return ok(cmp.networkPolicy())
}

func setNetworkPolicy(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	body := struct {
		Rules         []networkRule `json:"rules"`
		DefaultEffect string        `json:"default_effect"`
	}{DefaultEffect: "allow"}
	if r := c.bind(&body); r != nil {
		return *r
	}
	rules := make([]networkRule, 0, len(body.Rules))
	for _, rule := range body.Rules {
		rule.Protocol = orDefault(rule.Protocol, "any")
		rules = append(rules, rule)
	}
	cmp.policy = &networkPolicy{ComputerID: cmp.ID, Rules: rules, DefaultEffect: body.DefaultEffect}
	return ok(cmp.policy)
}

func resetNetworkPolicy(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	cmp.policy = nil
	return noContent()
}

// port is the spec's Port: a port of the computer exposed at a public URL.
type port struct {
	Port      int       `json:"port"`
	Protocol  string    `json:"protocol"`
	URL       string    `json:"url"`
	PublicURL string    `json:"public_url"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

func portURL(cmp *computer, n int, protocol string) string {
	host := fmt.Sprintf("%s-%d.%s", cmp.Slug, n, mockDomain)
	if protocol == "tcp" {
		return fmt.Sprintf("tcp://%s:%d", host, 30000+n%30000)
	}
	return "https://" + host
}

// exposeComputerPort is idempotent: exposing an exposed port updates its
// protocol and returns it.
func exposeComputerPort(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	body := struct {
		Port     int    `json:"port"`
		Protocol string `json:"protocol"`
	}{Protocol: "http"}
	if r := c.bind(&body); r != nil {
		return *r
	}
	p, found := cmp.ports[body.Port]
	if !found {
		p = &port{Port: body.Port, CreatedAt: c.now}
		cmp.ports[body.Port] = p
	}
	p.Protocol = body.Protocol
	p.URL = portURL(cmp, body.Port, body.Protocol)
	p.PublicURL = p.URL
	return ok(p)
}

func listComputerPorts(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	out := make([]*port, 0, len(cmp.ports))
	for _, p := range cmp.ports {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return ok(out)
}

func getComputerPortUrl(s *state, c *call) reply {
	cmp, r := s.computer(c)
	if r != nil {
		return *r
	}
	n, _ := strconv.Atoi(c.path("port"))
	p, found := cmp.ports[n]
	if !found {
		return notFound("exposed port", fmt.Sprintf("%d on %s (expose it first)", n, cmp.ID))
	}
	return ok(map[string]string{"url": p.URL, "public_url": p.PublicURL, "slug": fmt.Sprintf("%s-%d", cmp.Slug, n)})
}
