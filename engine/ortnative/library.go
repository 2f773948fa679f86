package ortnative

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LibraryEnv names the environment variable that overrides the library search.
const LibraryEnv = "ONNXRUNTIME_LIB"

// installHint is what a user must run to get the library.
const installHint = `run "npm ci --ignore-scripts" in the repository root`

// FindLibrary resolves the shared library path New would open for explicit
// (Options.LibraryPath): explicit itself, else $ONNXRUNTIME_LIB, else the
// onnxruntime-node copy found by searching upwards from the working
// directory and from the executable's folder. The error is one line saying
// what to run.
func FindLibrary(explicit string) (string, error) {
	if explicit != "" {
		return checkFile(explicit, "LibraryPath")
	}
	if p := os.Getenv(LibraryEnv); p != "" {
		return checkFile(p, LibraryEnv)
	}
	rel, err := libraryRelPath(runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return "", err
	}
	roots := searchRoots()
	if p, ok := searchUp(rel, roots); ok {
		return p, nil
	}
	return "", fmt.Errorf("onnxruntime library not found: no %s in or above %s; %s, or set %s",
		rel, strings.Join(roots, " or "), installHint, LibraryEnv)
}

// checkFile returns path if it names an existing file; what says where the
// path came from, for the error.
func checkFile(path, what string) (string, error) {
	st, err := os.Stat(path)
	if err == nil && st.IsDir() {
		err = errors.New("is a directory")
	}
	if err != nil {
		return "", fmt.Errorf("onnxruntime library %s=%s: %w", what, path, err)
	}
	return path, nil
}

// libraryRelPath is where onnxruntime-node keeps the library for a platform,
// relative to the folder holding node_modules.
func libraryRelPath(goos, goarch string) (string, error) {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[goarch]
	name := map[string]string{
		"linux":   "libonnxruntime.so.1",
		"darwin":  "libonnxruntime.1.dylib",
		"windows": "onnxruntime.dll",
	}[goos]
	if arch == "" || name == "" {
		return "", fmt.Errorf("onnxruntime-node ships no library for %s/%s; set %s", goos, goarch, LibraryEnv)
	}
	return filepath.Join("node_modules", "onnxruntime-node", "bin", "napi-v6", goos, arch, name), nil
}

// searchRoots are the folders the search starts from: the working directory
// (go test runs in the package folder) and the executable's folder (bin/ of
// a build), without duplicates.
func searchRoots() []string {
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		if dir := filepath.Dir(exe); len(roots) == 0 || roots[0] != dir {
			roots = append(roots, dir)
		}
	}
	return roots
}

// searchUp looks for rel under each root and each of its parents, nearest
// first.
func searchUp(rel string, roots []string) (string, bool) {
	for _, root := range roots {
		for dir := root; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, rel)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, true
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", false
}
