package server

import (
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

// checkRequestPath vets every request path before routing and returns 0
// when it may proceed, 400 when it is malformed and 404 when it tries to
// leave its folder. It does not clean the path (cleaning "/models/../x"
// into "/x" would silently route it elsewhere); it refuses it instead.
//
// Malformed (400): not starting with "/", control bytes (NUL included),
// backslashes (literal or %5c, a separator on Windows) and encoded slashes
// (%2f, which would hide a separator from the segment checks).
// Not found (404): "." or ".." segments, however encoded, and empty
// segments ("//etc/passwd"); a single trailing slash is allowed for pages.
func checkRequestPath(u *url.URL) int {
	p := u.Path
	if !strings.HasPrefix(p, "/") || hasControlByte(p) || strings.Contains(p, `\`) {
		return http.StatusBadRequest
	}
	raw := strings.ToLower(u.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return http.StatusBadRequest
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		if seg == "." || seg == ".." || (seg == "" && i != len(segs)-1) {
			return http.StatusNotFound
		}
	}
	return 0
}

// hasControlByte reports whether s holds an ASCII control byte or DEL.
func hasControlByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// fileName maps a URL path under prefix to a name inside the tree's root,
// or returns ok=false for a path that must be 404: the folder itself, a
// directory-style path (trailing slash), or any segment starting with '.'
// (dotfiles and dot-directories such as .git or .env). It expects a path
// that passed checkRequestPath; fs.ValidPath is a second guard.
func fileName(urlPath, prefix string) (name string, ok bool) {
	name, found := strings.CutPrefix(urlPath, prefix)
	if !found || name == "" || strings.HasSuffix(name, "/") {
		return "", false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	if !fs.ValidPath(name) {
		return "", false
	}
	return name, true
}
