package pack

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeTree(t *testing.T, files map[string]os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	for name, mode := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+name), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDirIsDeterministic(t *testing.T) {
	files := map[string]os.FileMode{"index.js": 0o600, "lib/a.js": 0o640, "lib/b.js": 0o644, "bootstrap": 0o700}
	a, err := Dir(writeTree(t, files))
	if err != nil {
		t.Fatal(err)
	}
	// A second tree written later, with other timestamps, must give the same bytes.
	dir := writeTree(t, files)
	later := time.Now().Add(48 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "index.js"), later, later); err != nil {
		t.Fatal(err)
	}
	b, err := Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash != b.Hash || !bytes.Equal(a.Zip, b.Zip) {
		t.Errorf("two packs of the same tree differ: %s vs %s", a.Hash, b.Hash)
	}
	if len(a.Hash) != 64 {
		t.Errorf("Hash = %q, want 64 hex digits", a.Hash)
	}
}

func TestDirEntriesSortedWithNormalisedModes(t *testing.T) {
	p, err := Dir(writeTree(t, map[string]os.FileMode{"z.js": 0o600, "bootstrap": 0o700, "lib/x.sh": 0o654, "a.txt": 0o666}))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(p.Zip), int64(len(p.Zip)))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		mode os.FileMode
	}{{"a.txt", 0o644}, {"bootstrap", 0o755}, {"lib/x.sh", 0o755}, {"z.js", 0o644}}
	if len(zr.File) != len(want) {
		t.Fatalf("zip has %d entries, want %d", len(zr.File), len(want))
	}
	for i, f := range zr.File {
		if f.Name != want[i].name || f.Mode() != want[i].mode {
			t.Errorf("entry %d = %s %v, want %s %v", i, f.Name, f.Mode(), want[i].name, want[i].mode)
		}
		if !f.Modified.Equal(epoch) {
			t.Errorf("entry %s modified %v, want %v", f.Name, f.Modified, epoch)
		}
	}
	var total int64
	for name := range map[string]bool{"z.js": true, "bootstrap": true, "lib/x.sh": true, "a.txt": true} {
		total += int64(len("content of " + name))
	}
	if p.UnzippedBytes != total {
		t.Errorf("UnzippedBytes = %d, want %d", p.UnzippedBytes, total)
	}
}

func TestDirContentChangesHash(t *testing.T) {
	dir := writeTree(t, map[string]os.FileMode{"index.js": 0o644})
	a, _ := Dir(dir)
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := Dir(dir)
	if a.Hash == b.Hash {
		t.Error("changing a file's content left the hash unchanged")
	}
}

func TestDirErrors(t *testing.T) {
	if _, err := Dir(t.TempDir()); err == nil {
		t.Error("Dir of an empty directory: no error")
	}
	if _, err := Dir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Dir of a missing directory: no error")
	}
}

func TestZip(t *testing.T) {
	built, err := Dir(writeTree(t, map[string]os.FileMode{"index.js": 0o644}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "code.zip")
	if err := os.WriteFile(path, built.Zip, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Zip(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash != built.Hash || p.UnzippedBytes != built.UnzippedBytes {
		t.Errorf("Zip = %s/%d, want %s/%d", p.Hash, p.UnzippedBytes, built.Hash, built.UnzippedBytes)
	}
	notZip := filepath.Join(t.TempDir(), "x.zip")
	if err := os.WriteFile(notZip, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Zip(notZip); err == nil {
		t.Error("Zip of a non-zip file: no error")
	}
}
