package ortnative

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLibraryRelPath(t *testing.T) {
	got, err := libraryRelPath("linux", "amd64")
	want := filepath.Join("node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64", "libonnxruntime.so.1")
	if err != nil || got != want {
		t.Errorf("linux/amd64: %q, %v", got, err)
	}
	if got, _ := libraryRelPath("darwin", "arm64"); !strings.HasSuffix(got, filepath.Join("darwin", "arm64", "libonnxruntime.1.dylib")) {
		t.Errorf("darwin/arm64: %q", got)
	}
	if _, err := libraryRelPath("linux", "riscv64"); err == nil || !strings.Contains(err.Error(), LibraryEnv) {
		t.Errorf("linux/riscv64: %v", err)
	}
}

func TestSearchUpFindsParent(t *testing.T) {
	root := t.TempDir()
	rel := filepath.Join("node_modules", "lib.so")
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(filepath.Join(root, "node_modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := searchUp(rel, []string{deep}); ok {
		t.Fatal("found a library that is not there")
	}
	if err := os.WriteFile(filepath.Join(root, rel), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := searchUp(rel, []string{filepath.Join(root, "elsewhere"), deep}); !ok || got != filepath.Join(root, rel) {
		t.Errorf("searchUp = %q, %v", got, ok)
	}
}

func TestFindLibraryOverrides(t *testing.T) {
	lib := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(LibraryEnv, lib)
	if got, err := FindLibrary(""); err != nil || got != lib {
		t.Errorf("with %s set: %q, %v", LibraryEnv, got, err)
	}
	if _, err := FindLibrary(filepath.Dir(lib)); err == nil {
		t.Error("a directory was accepted as the library")
	}
	t.Setenv(LibraryEnv, lib+".missing")
	if _, err := FindLibrary(""); err == nil || !strings.Contains(err.Error(), LibraryEnv) {
		t.Errorf("with %s missing: %v", LibraryEnv, err)
	}
}

func TestFindLibraryNotFoundSaysWhatToRun(t *testing.T) {
	t.Setenv(LibraryEnv, "")
	t.Chdir(t.TempDir())
	_, err := FindLibrary("")
	if err == nil {
		t.Skip("a library is installed above the test binary's folder")
	}
	if msg := err.Error(); !strings.Contains(msg, "npm ci --ignore-scripts") || strings.Contains(msg, "\n") {
		t.Errorf("error %q should be one line naming npm ci --ignore-scripts", msg)
	}
}
