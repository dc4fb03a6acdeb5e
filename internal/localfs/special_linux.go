package localfs

import (
	"os"
	"syscall"
)

// openNonblock keeps opening a FIFO from blocking when one is swapped in
// between the Lstat and the open (it is then refused by the Fstat check).
// It has no effect on regular files.
const openNonblock = syscall.O_NONBLOCK

// Magic numbers of the kernel pseudo-filesystems (statfs(2)).
const (
	procSuperMagic  = 0x9fa0
	sysfsMagic      = 0x62656572
	debugfsMagic    = 0x64626720
	tracefsMagic    = 0x74726163
	securityfsMagic = 0x73636673
	cgroupMagic     = 0x27e0eb
	cgroup2Magic    = 0x63677270
)

// pseudoFS reports whether f is on procfs, sysfs or a kin: their regular
// files report a size of 0 (or 4096) whatever they yield.
func pseudoFS(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var st syscall.Statfs_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstatfs(int(fd), &st) }); err != nil || serr != nil {
		return false
	}
	switch int64(st.Type) {
	case procSuperMagic, sysfsMagic, debugfsMagic, tracefsMagic, securityfsMagic, cgroupMagic, cgroup2Magic:
		return true
	}
	return false
}
