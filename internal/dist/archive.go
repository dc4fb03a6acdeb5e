package dist

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"io"
	"io/fs"
	"sort"
	"time"
)

// file is one archive entry.
type file struct {
	name string
	mode fs.FileMode // 0o755 for the binary, 0o644 for documents
	data []byte
}

// sortFiles orders entries by name, so the archive does not depend on the
// order files were gathered in.
func sortFiles(files []file) {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
}

// writeTarGz writes a reproducible .tar.gz: entries sorted by name, every
// mtime set to mtime, owner root:root with no user or group names, ustar
// format (no PAX access/change times), and a gzip header without a file
// name or timestamp. Only the inputs decide the bytes.
func writeTarGz(w io.Writer, files []file, mtime time.Time) error {
	sortFiles(files)
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// gzip.Writer's zero Header already has no Name and ModTime (written as
	// 0); set nothing else.
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.name,
			Mode:     int64(f.mode.Perm()),
			Size:     int64(len(f.data)),
			ModTime:  mtime.UTC().Truncate(time.Second),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// writeZip writes a reproducible .zip (Windows): entries sorted by name,
// every mtime set to mtime (the DOS field and the extended-timestamp field
// archive/zip writes for it), Unix modes recorded, deflate at the best level.
func writeZip(w io.Writer, files []file, mtime time.Time) error {
	sortFiles(files)
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, f := range files {
		hdr := &zip.FileHeader{
			Name:     f.name,
			Method:   zip.Deflate,
			Modified: mtime.UTC().Truncate(time.Second),
		}
		hdr.SetMode(f.mode)
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
