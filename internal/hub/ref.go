package hub

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultRevision is the branch used when a reference names none.
const DefaultRevision = "main"

// Ref names a model repository at a revision (branch, tag or commit hash).
type Ref struct {
	Repo     string // owner/name
	Revision string // never empty: DefaultRevision when not given
	// Explicit is true when the revision was written out (owner/name@rev);
	// Remove uses it to tell "the whole repo" from "one snapshot".
	Explicit bool
}

func (r Ref) String() string {
	if !r.Explicit {
		return r.Repo
	}
	return r.Repo + "@" + r.Revision
}

var (
	// repoPattern is the Hub's rule for owner/name: each part starts and
	// ends with a letter, digit or underscore. With "--" forbidden too,
	// the "--" between owner and name in a cache folder is unambiguous
	// (a name "a-" would make models--a---b, read back as "a/-b").
	repoPattern   = regexp.MustCompile(`^\w(?:[\w.-]*\w)?/\w(?:[\w.-]*\w)?$`)
	commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// etagPattern keeps an etag usable as one file name in blobs/.
	etagPattern = regexp.MustCompile(`^[0-9A-Za-z_-][0-9A-Za-z._-]*$`)
)

// maxRepoName is the Hub's limit on the name part of a repo id.
const maxRepoName = 96

// ParseRef parses owner/name[@revision] by the Hub's rules for repo ids.
func ParseRef(s string) (Ref, error) {
	repo, rev, explicit := strings.Cut(strings.TrimSpace(s), "@")
	// The Hub forbids "--" and ".." in names; "--" would also make the cache
	// folder name ambiguous.
	_, name, _ := strings.Cut(repo, "/")
	if !repoPattern.MatchString(repo) || strings.Contains(repo, "--") || strings.Contains(repo, "..") || len(name) > maxRepoName {
		return Ref{}, newError(ErrInvalidRef, "invalid repo id %q: want owner/name[@revision]", s)
	}
	if !explicit {
		return Ref{Repo: repo, Revision: DefaultRevision}, nil
	}
	if err := checkRevision(rev); err != nil {
		return Ref{}, newError(ErrInvalidRef, "%v in %q", err, s)
	}
	return Ref{Repo: repo, Revision: rev, Explicit: true}, nil
}

// checkRevision refuses revisions that could not name a refs/ file safely
// (refs/pr/1 is fine: huggingface_hub nests it the same way).
func checkRevision(rev string) error {
	if rev == "" {
		return fmt.Errorf("empty revision after '@'")
	}
	if strings.ContainsAny(rev, "\\\x00 \t\n") || strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/") {
		return fmt.Errorf("invalid revision %q", rev)
	}
	for _, seg := range strings.Split(rev, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid revision %q", rev)
		}
	}
	return nil
}

// IsCommitHash reports whether rev is a full 40-hex commit id.
func IsCommitHash(rev string) bool { return commitPattern.MatchString(rev) }

// RepoFolderName is the cache folder of a model repo: models--owner--name.
func RepoFolderName(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

// repoFromFolderName inverts RepoFolderName: id is the repo the folder
// holds, and valid says whether it is an owner/name id ParseRef accepts
// (a Python cache may hold models--gpt2, from a legacy id without owner).
func repoFromFolderName(name string) (id string, valid bool) {
	rest, ok := strings.CutPrefix(name, "models--")
	if !ok {
		return "", false
	}
	id = strings.ReplaceAll(rest, "--", "/")
	_, err := ParseRef(id)
	return id, err == nil
}

// SnapshotCommit reads the repo and commit off a Hub cache path: a snapshot
// folder {cache}/models--owner--name/snapshots/{40-hex commit}, or any path
// inside one. ok is false for every other path. This names the exact
// weights a model was loaded from (reports, index manifests).
func SnapshotCommit(path string) (repo, commit string, ok bool) {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	for i := len(parts) - 2; i >= 1; i-- {
		if parts[i] != "snapshots" || !IsCommitHash(parts[i+1]) {
			continue
		}
		if repo, ok := repoFromFolderName(parts[i-1]); ok {
			return repo, parts[i+1], true
		}
	}
	return "", "", false
}

// CheckRepoPath refuses a repo file name that would land outside the
// snapshot folder once joined to it: absolute names, drive letters,
// backslashes (Windows separators), "." or ".." segments, empty segments.
func CheckRepoPath(name string) error {
	bad := name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") ||
		(len(name) >= 2 && name[1] == ':') || path.Clean(name) != name
	if !bad {
		for _, seg := range strings.Split(name, "/") {
			if seg == "." || seg == ".." {
				bad = true
			}
		}
	}
	if bad {
		e := newError(ErrUnsafePath, "refusing repo file name %q: it would escape the snapshot folder", name)
		e.File = name
		return e
	}
	return nil
}
