package bench_test

import (
	"os"
	"testing"

	"github.com/miosa-osa/miosa-mcp/bench"
)

// TestResidentPagesOfThisProcess attributes this test binary's own resident
// pages: the code that runs is resident, the sections' and tables' shares
// add up, and the running packages are found by their symbols.
func TestResidentPagesOfThisProcess(t *testing.T) {
	p, err := bench.ResidentPages(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	share := func(list []bench.Share, name string) bench.Share {
		for _, s := range list {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no %q in %+v", name, list)
		return bench.Share{}
	}
	text := share(p.Sections, ".text")
	if text.Resident <= 0 || text.Resident > text.Size {
		t.Errorf(".text resident %d of %d bytes, want some and at most all", text.Resident, text.Size)
	}
	var mapped, sections int64
	for _, m := range p.Mappings {
		mapped += m.Resident
	}
	for _, s := range p.Sections {
		sections += s.Resident
	}
	if sections > mapped {
		t.Errorf("sections hold %d resident bytes, more than the %d of the mappings", sections, mapped)
	}
	pcln := share(p.Sections, ".gopclntab")
	var size, res int64
	for _, s := range p.Pclntab {
		size, res = size+s.Size, res+s.Resident
	}
	if len(p.Pclntab) != 6 || size != pcln.Size || res != pcln.Resident {
		t.Errorf(".gopclntab tables %+v add up to %d bytes (%d resident), want the section's %d (%d)", p.Pclntab, size, res, pcln.Size, pcln.Resident)
	}
	// The stack walks and traceback of this very test read pc tables.
	if share(p.Pclntab, "pc tables").Resident == 0 {
		t.Error("no pc table page resident")
	}
	for _, pkg := range []string{"runtime", "testing", "github.com/miosa-osa/miosa-mcp/bench"} {
		if share(p.Packages, pkg).Resident <= 0 {
			t.Errorf("package %s has no resident bytes", pkg)
		}
	}
	if len(p.Runs) == 0 {
		t.Error("no runs of resident pages counted")
	}
}
