// Package pack builds the deterministic zip of a function's code and its hash. The same directory
// always gives the same bytes (sorted entries, fixed timestamps, normalised modes), so the hash is
// known at plan time and plan and apply always agree on it.
package pack

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Package is a built code package.
type Package struct {
	Zip []byte
	// Hash is the hex sha256 of Zip.
	Hash string
	// UnzippedBytes is the sum of the entries' uncompressed sizes.
	UnzippedBytes int64
}

// epoch is every entry's timestamp: zip cannot store times before 1980.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Dir zips the regular files under dir. Files with any execute bit keep mode 0755 (a custom runtime's
// bootstrap must stay executable), all others get 0644. Symbolic links are followed.
func Dir(dir string) (*Package, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("the directory contains no files")
	}
	slices.Sort(files)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var unzipped int64
	for _, path := range files {
		n, err := addFile(zw, dir, path)
		if err != nil {
			return nil, err
		}
		unzipped += n
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return newPackage(buf.Bytes(), unzipped), nil
}

func addFile(zw *zip.Writer, dir, path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if !info.Mode().IsRegular() {
		return 0, nil
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return 0, err
	}
	mode := fs.FileMode(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	hdr := &zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate, Modified: epoch}
	hdr.SetMode(mode)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to flush
	return io.Copy(w, f)
}

// Zip reads a prebuilt zip as it is; its hash is that of its bytes.
func Zip(path string) (*Package, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("not a zip file (%w)", err)
	}
	var unzipped int64
	for _, f := range zr.File {
		unzipped += int64(f.UncompressedSize64)
	}
	return newPackage(b, unzipped), nil
}

func newPackage(b []byte, unzipped int64) *Package {
	sum := sha256.Sum256(b)
	return &Package{Zip: b, Hash: hex.EncodeToString(sum[:]), UnzippedBytes: unzipped}
}
