package app

import (
	"net/url"
	"sort"
	"strings"
)

// storageInfo is what the settings panel shows of the browser's storage for
// this site.
type storageInfo struct {
	Known        bool  // read at least once
	Usage, Quota int64 // navigator.storage.estimate(); 0 when unknown
	Persisted    bool  // navigator.storage.persisted(): kept when space runs low
	Models       []cachedModel
}

// cachedModel is one model folder's files in the model cache.
type cachedModel struct {
	URL   string // the folder, as the worker fetched it (absolute)
	Files int
	Bytes int64
}

// cachedFile is one entry of the model cache: its URL and size.
type cachedFile struct {
	URL   string
	Bytes int64
}

// modelFolder is the model folder a cached file belongs to: the folder of
// its config files, so onnx/<file> counts with the folder above.
func modelFolder(fileURL string) string {
	u, err := url.Parse(fileURL)
	if err != nil {
		return fileURL
	}
	u.RawQuery, u.Fragment = "", ""
	dir := u.Path[:strings.LastIndexByte(u.Path, '/')+1]
	dir = strings.TrimSuffix(dir, "onnx/")
	u.Path, u.RawPath = dir, ""
	return u.String()
}

// groupModels sums cached files per model folder, sorted by folder.
func groupModels(files []cachedFile) []cachedModel {
	sums := map[string]*cachedModel{}
	for _, f := range files {
		folder := modelFolder(f.URL)
		if sums[folder] == nil {
			sums[folder] = &cachedModel{URL: folder}
		}
		sums[folder].Files++
		sums[folder].Bytes += f.Bytes
	}
	out := make([]cachedModel, 0, len(sums))
	for _, m := range sums {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}
