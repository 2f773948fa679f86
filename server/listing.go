package server

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ListingName is the file name that, in a folder under /models/ without such
// a file, is answered with a JSON listing of the folder's regular files:
//
//	{"files": [{"name": "decoder_model_merged_q4.onnx", "size": 80127592}, ...]}
//
// Names are sorted; dotfiles, sub-folders, links and unfinished downloads
// (".part") are left out. The app reads <model>/onnx/index.json to choose
// among the variants the server actually has (modelconfig.ListingFile).
const ListingName = "index.json"

// listing is the JSON of a folder listing (modelconfig.Listing reads it).
type listing struct {
	Files []listedFile `json:"files"`
}

type listedFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// serveListing answers name (".../index.json", which does not exist) with
// the listing of its folder, or reports false when that folder cannot be
// listed (missing, or not a folder inside the tree).
func (t *tree) serveListing(w http.ResponseWriter, r *http.Request, name string) bool {
	root, err := os.OpenRoot(t.dir)
	if err != nil {
		return false
	}
	defer root.Close()
	dir := path.Dir(name)
	if info, err := root.Stat(dir); err != nil || !info.IsDir() {
		return false
	}
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		return false
	}
	l := listing{Files: []listedFile{}}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".part") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		l.Files = append(l.Files, listedFile{Name: n, Size: info.Size()})
	}
	slices.SortFunc(l.Files, func(a, b listedFile) int { return strings.Compare(a.Name, b.Name) })
	body, err := json.Marshal(l)
	if err != nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return true
}

// listable reports whether a failed open of name may be answered with a
// listing instead of a 404.
func (t *tree) listable(name string, err error) bool {
	return t.listings && path.Base(name) == ListingName && errors.Is(err, fs.ErrNotExist)
}
