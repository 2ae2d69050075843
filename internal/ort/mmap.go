package ort

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps a whole file read-only. Cache files are never rewritten in
// place (a new one is renamed over), so the mapping stays valid.
func mapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() <= 0 || int64(int(st.Size())) != st.Size() {
		return nil, fmt.Errorf("%s: size %d", path, st.Size())
	}
	return syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmap(b []byte) { syscall.Munmap(b) }
