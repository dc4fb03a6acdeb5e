package bench

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// pageSize is the page size of /proc/PID/pagemap's entries (x86-64, arm64
// with 4 KiB pages: the machines make bench runs on).
const pageSize = 4096

// Pages says where the resident pages of a process's own binary lie: per
// mapping, per ELF section, per pclntab table, per package and symbol.
// Bytes are resident bytes (pages with the present bit set).
type Pages struct {
	Binary   string
	Mappings []Share // named by their permissions, e.g. "r-xp"
	Sections []Share // ELF sections with an address, in address order
	Pclntab  []Share // .gopclntab's tables, in file order
	Packages []Share // symbols' packages, most resident first
	Symbols  []Share // most resident first
	// Runs counts runs of consecutive resident pages by their length in pages.
	Runs map[int]int
}

// Share is one part of the binary: its size and how much of it is resident.
type Share struct {
	Name           string
	Size, Resident int64
}

// ResidentPages reads /proc/PID/maps and /proc/PID/pagemap for the mappings
// of the process's executable and attributes each resident page to the
// ELF sections and symbols it holds.
func ResidentPages(pid int) (*Pages, error) {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, err
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	maps, err := binaryMappings(pid, exe)
	if err != nil {
		return nil, err
	}
	if len(maps) == 0 {
		return nil, fmt.Errorf("no mapping of %s in /proc/%d/maps", exe, pid)
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, err
	}
	defer pm.Close()

	p := &Pages{Binary: exe, Runs: map[int]int{}}
	var resident []uint64 // ELF addresses of resident pages
	for _, m := range maps {
		bias, ok := loadBias(f, m)
		if !ok {
			continue
		}
		n := (m.end - m.start) / pageSize
		buf := make([]byte, n*8)
		if _, err := pm.ReadAt(buf, int64(m.start/pageSize*8)); err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading pagemap: %w", err)
		}
		sh := Share{Name: m.perms, Size: int64(m.end - m.start)}
		run := 0
		for i := uint64(0); i < n; i++ {
			if binary.LittleEndian.Uint64(buf[i*8:])>>63 == 1 {
				sh.Resident += pageSize
				resident = append(resident, m.start+i*pageSize-bias)
				run++
				continue
			}
			if run > 0 {
				p.Runs[run]++
			}
			run = 0
		}
		if run > 0 {
			p.Runs[run]++
		}
		p.Mappings = append(p.Mappings, sh)
	}

	var secs []*elf.Section
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Addr != 0 && s.Size > 0 {
			secs = append(secs, s)
		}
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i].Addr < secs[j].Addr })
	for _, s := range secs {
		p.Sections = append(p.Sections, Share{Name: s.Name, Size: int64(s.Size), Resident: overlap(resident, s.Addr, s.Addr+s.Size)})
		if s.Name == ".gopclntab" {
			p.Pclntab = pclntabShares(s, resident)
		}
	}

	syms, err := f.Symbols()
	if err != nil {
		// A stripped binary (go test and go run link with -s): the
		// functions from the pc-line table still place the code.
		if syms, err = funcSymbols(f); err != nil {
			return nil, fmt.Errorf("the binary's symbols: %w", err)
		}
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })
	pkgs, names := map[string]int64{}, map[string]int64{}
	j := 0
	for _, a := range resident {
		for j < len(syms) && syms[j].Value+syms[j].Size <= a {
			j++
		}
		for k := j; k < len(syms) && syms[k].Value < a+pageSize; k++ {
			s := syms[k]
			if s.Size == 0 || s.Value+s.Size <= a {
				continue
			}
			ov := int64(min(s.Value+s.Size, a+pageSize) - max(s.Value, a))
			pkgs[symbolPackage(s.Name)] += ov
			names[s.Name] += ov
		}
	}
	p.Packages, p.Symbols = ranked(pkgs), ranked(names)
	return p, nil
}

// funcSymbols are the functions of the binary's pc-line table, as symbols.
func funcSymbols(f *elf.File) ([]elf.Symbol, error) {
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return nil, fmt.Errorf("no .gopclntab or .text")
	}
	data, err := pcln.Data()
	if err != nil {
		return nil, err
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil, err
	}
	syms := make([]elf.Symbol, 0, len(tab.Funcs))
	for _, fn := range tab.Funcs {
		syms = append(syms, elf.Symbol{Name: fn.Name, Value: fn.Entry, Size: fn.End - fn.Entry})
	}
	return syms, nil
}

// mapping is one line of /proc/PID/maps.
type mapping struct {
	start, end, offset uint64
	perms              string
}

func binaryMappings(pid int, exe string) ([]mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 6 || strings.Join(fl[5:], " ") != exe {
			continue
		}
		lo, hi, _ := strings.Cut(fl[0], "-")
		var m mapping
		var e1, e2, e3 error
		m.start, e1 = strconv.ParseUint(lo, 16, 64)
		m.end, e2 = strconv.ParseUint(hi, 16, 64)
		m.offset, e3 = strconv.ParseUint(fl[2], 16, 64)
		if e1 != nil || e2 != nil || e3 != nil {
			return nil, fmt.Errorf("unreadable maps line %q", sc.Text())
		}
		m.perms = fl[1]
		out = append(out, m)
	}
	return out, sc.Err()
}

// loadBias is the difference between the mapping's addresses and the ELF
// addresses of the same file bytes (zero for a non-PIE binary).
func loadBias(f *elf.File, m mapping) (uint64, bool) {
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_LOAD && ph.Off <= m.offset && m.offset < ph.Off+max(ph.Filesz, 1) {
			return m.start - (ph.Vaddr + (m.offset - ph.Off)), true
		}
	}
	return 0, false
}

// overlap is how many bytes of the resident pages lie in [lo, hi).
func overlap(resident []uint64, lo, hi uint64) int64 {
	var n int64
	for _, a := range resident {
		if a < hi && a+pageSize > lo {
			n += int64(min(hi, a+pageSize) - max(lo, a))
		}
	}
	return n
}

// pclntabShares splits .gopclntab into the tables its header (Go 1.18+)
// names: function names, compilation units, files, pc tables, and the
// function table with the functions' records.
func pclntabShares(s *elf.Section, resident []uint64) []Share {
	hdr := make([]byte, 8+8*8)
	if _, err := s.ReadAt(hdr, 0); err != nil {
		return nil
	}
	if m := binary.LittleEndian.Uint32(hdr); m != 0xfffffff0 && m != 0xfffffff1 || hdr[7] != 8 {
		return nil // another pclntab version, or not 64-bit
	}
	word := func(i int) uint64 { return binary.LittleEndian.Uint64(hdr[8+8*i:]) }
	parts := []struct {
		name string
		off  uint64
	}{
		{"header", 0}, {"function names", word(3)}, {"compilation units", word(4)},
		{"files", word(5)}, {"pc tables", word(6)}, {"function table and records", word(7)}, {"", s.Size},
	}
	var out []Share
	for i := 0; i+1 < len(parts); i++ {
		lo, hi := s.Addr+parts[i].off, s.Addr+parts[i+1].off
		out = append(out, Share{Name: parts[i].name, Size: int64(hi - lo), Resident: overlap(resident, lo, hi)})
	}
	return out
}

// symbolPackage is the package of a Go symbol name: the path up to the
// first dot after its last slash ("net/http.(*conn).serve" → "net/http");
// compiler-made symbols ("type:*T", "go:func.*") go by their prefix.
func symbolPackage(name string) string {
	if i := strings.IndexByte(name, ':'); i > 0 && !strings.Contains(name[:i], ".") {
		return name[:i+1]
	}
	slash := strings.LastIndexByte(name, '/')
	if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}

func ranked(m map[string]int64) []Share {
	out := make([]Share, 0, len(m))
	for k, v := range m {
		out = append(out, Share{Name: k, Resident: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Resident != out[j].Resident {
			return out[i].Resident > out[j].Resident
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Write prints the attribution, top packages and symbols only (MB = 10^6
// bytes).
func (p *Pages) Write(w io.Writer, top int) {
	mb := func(n int64) string { return fmt.Sprintf("%7.2f MB", float64(n)/1e6) }
	fmt.Fprintf(w, "%s\nmappings of the binary (size, resident):\n", p.Binary)
	for _, s := range p.Mappings {
		fmt.Fprintf(w, "  %-5s %s %s\n", s.Name, mb(s.Size), mb(s.Resident))
	}
	fmt.Fprintln(w, "sections of a page or more (size, resident):")
	for _, s := range p.Sections {
		if s.Size < pageSize {
			continue
		}
		fmt.Fprintf(w, "  %-16s %s %s\n", s.Name, mb(s.Size), mb(s.Resident))
	}
	if len(p.Pclntab) > 0 {
		fmt.Fprintln(w, ".gopclntab tables (size, resident):")
		for _, s := range p.Pclntab {
			fmt.Fprintf(w, "  %-28s %s %s\n", s.Name, mb(s.Size), mb(s.Resident))
		}
	}
	var lens []int
	pages, by16 := 0, 0
	for l, n := range p.Runs {
		lens = append(lens, l)
		pages += l * n
		if l%16 == 0 {
			by16 += l * n
		}
	}
	sort.Ints(lens)
	fmt.Fprintf(w, "runs of resident pages (length in pages × count): ")
	for _, l := range lens {
		fmt.Fprintf(w, "%d×%d ", l, p.Runs[l])
	}
	if pages > 0 {
		fmt.Fprintf(w, "\n  %.0f %% of resident pages lie in runs of a multiple of 16 pages (fault-around)\n", 100*float64(by16)/float64(pages))
	}
	fmt.Fprintf(w, "packages, top %d (resident bytes of their symbols):\n", top)
	for i, s := range p.Packages {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %s  %s\n", mb(s.Resident), s.Name)
	}
	fmt.Fprintf(w, "symbols, top %d:\n", top)
	for i, s := range p.Symbols {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %s  %s\n", mb(s.Resident), s.Name)
	}
}
