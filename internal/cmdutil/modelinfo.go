package cmdutil

import (
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// IndexModelInfo describes the loaded model for the manifest.
func IndexModelInfo(m *fashionclip.Model) (index.ModelInfo, error) {
	id, err := m.Identity()
	return index.ModelInfo{Repo: id.Repo, Revision: id.Revision, Folder: id.Folder, Graph: id.Graph,
		Variant: id.Variant, Recipe: id.Recipe}, err
}
