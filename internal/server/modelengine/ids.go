package modelengine

import (
	"path/filepath"
	"strings"

	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// ModelIDs are the names requests may use for the model: its Hub repo
// id (from the model reference, else config.json) first, then its folder name. The server
// adds "fashion-clip".
func ModelIDs(ref string, m *fashionclip.Model) []string {
	var ids []string
	add := func(id string) {
		if id == "" || id == "." || id == string(filepath.Separator) {
			return
		}
		for _, have := range ids {
			if have == id {
				return
			}
		}
		ids = append(ids, id)
	}
	if fashionclip.IsRepoID(ref) && filepath.Clean(ref) != filepath.Clean(m.Dir()) {
		repo, _, _ := strings.Cut(ref, "@")
		add(repo)
	}
	if c, ok := m.Config(); ok && fashionclip.IsRepoID(c.NameOrPath) {
		add(c.NameOrPath)
	}
	add(modelFolderName(m.Dir()))
	if len(ids) == 0 {
		add(server.DefaultModelID)
	}
	return ids
}

// modelFolderName is the model's folder name, also when it was named by its
// graph file (model/model.onnx) or by the onnx/ subfolder.
func modelFolderName(dir string) string {
	dir = filepath.Clean(dir)
	if strings.HasSuffix(dir, ".onnx") {
		dir = filepath.Dir(dir)
	}
	if filepath.Base(dir) == "onnx" {
		dir = filepath.Dir(dir)
	}
	return filepath.Base(dir)
}
