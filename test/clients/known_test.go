package clients_test

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// knownFailure is one entry of known_failures.yml: a check that fails
// today for the listed clients, transports and variants, and why.
type knownFailure struct {
	Check      string   `yaml:"check"`
	Clients    []string `yaml:"clients"`
	Transports []string `yaml:"transports"` // empty: both
	Variants   []string `yaml:"variants"`   // empty: both
	Reason     string   `yaml:"reason"`
	used       int
}

// key names one check of one session.
type key struct{ client, transport, variant, check string }

func (k key) String() string {
	return fmt.Sprintf("%s/%s/%s %s", k.client, k.transport, k.variant, k.check)
}

func (f *knownFailure) matches(k key) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return f.Check == k.check && slices.Contains(f.Clients, k.client) && in(f.Transports, k.transport) && in(f.Variants, k.variant)
}

// loadKnownFailures reads and checks the table: every check, client,
// transport and variant must exist, every entry needs a reason, and no
// entry may excuse a with-ids workflow (that variant must pass today).
func loadKnownFailures(path string, checks []string) ([]*knownFailure, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Known []*knownFailure `yaml:"known_failures"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	clientNames := []string{}
	for _, c := range allClients {
		clientNames = append(clientNames, c.name)
	}
	for i, f := range doc.Known {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%s entry %d (%s): %s", path, i+1, f.Check, fmt.Sprintf(format, a...))
		}
		switch {
		case !slices.Contains(checks, f.Check):
			return nil, bad("unknown check; checks are %s", strings.Join(checks, ", "))
		case strings.TrimSpace(f.Reason) == "":
			return nil, bad("no reason")
		case len(f.Clients) == 0:
			return nil, bad("no clients")
		}
		for _, c := range f.Clients {
			if !slices.Contains(clientNames, c) {
				return nil, bad("unknown client %q", c)
			}
		}
		for _, tr := range f.Transports {
			if tr != overStdio && tr != overHTTP {
				return nil, bad("unknown transport %q", tr)
			}
		}
		for _, v := range f.Variants {
			if v != "as-written" && v != "with-ids" {
				return nil, bad("unknown variant %q", v)
			}
		}
		withIDs := len(f.Variants) == 0 || slices.Contains(f.Variants, "with-ids")
		if withIDs && (strings.HasPrefix(f.Check, "workflow/") || f.Check == "screenshot-image") {
			return nil, bad("the with-ids variant of every workflow must pass: list variants: [as-written]")
		}
	}
	return doc.Known, nil
}
