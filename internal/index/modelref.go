package index

import (
	"fmt"
	"os"
)

// ModelFolderGoneError is an index made with a local model folder that no
// longer exists, so the model to search it with is unknown.
type ModelFolderGoneError struct {
	Index, Folder string
}

func (e *ModelFolderGoneError) Error() string {
	return fmt.Sprintf("index %s was made with the model folder %s, which is gone", e.Index, e.Folder)
}

// ModelRef names the model the index at dir was made with, as a model
// loader takes it: the local folder when the manifest records one (it must
// still exist), else the Hub repository as repo@revision; "" when the
// manifest records neither (the default model then applies).
func ModelRef(dir string, m ModelInfo) (string, error) {
	if m.Folder != "" {
		if _, err := os.Stat(m.Folder); err != nil {
			return "", &ModelFolderGoneError{Index: dir, Folder: m.Folder}
		}
		return m.Folder, nil
	}
	if m.Repo == "" {
		return "", nil
	}
	if m.Revision != "" {
		return m.Repo + "@" + m.Revision, nil
	}
	return m.Repo, nil
}
