package cmdutil

import (
	"errors"
	"net/http"
	"strings"

	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/modelfiles"
)

// HubRemedy says how to fix a failure of internal/hub ("" when err is none,
// or nothing helps). usage: the error is in what the user typed (exit 2).
// Call it before any other case of Remedy(): hub errors wrap a
// *modelfiles.NoGraphError as their cause.
func HubRemedy(err error) (fix string, usage bool) {
	var he *hub.Error
	if !errors.As(err, &he) {
		var se *hub.StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound && strings.HasSuffix(se.URL, ".tgz") {
			return "check --version: that ONNX Runtime release may not exist for this platform; or pass --from FILE", false
		}
		return "", false
	}
	ref := he.Ref.String()
	pull := "run `fashionclip model pull " + ref + VariantArg(he.Variant) + "`"
	repoURL := strings.TrimRight(he.Endpoint, "/") + "/" + he.Ref.Repo
	runtime := he.Ref.Repo == "" // an ONNX Runtime archive, not a model
	switch {
	case errors.Is(err, hub.ErrInvalidRef):
		return "write the model as owner/name or owner/name@revision, or give a local model folder", true
	case errors.Is(err, hub.ErrInvalidChecksum):
		return "give --sha256 the archive's sha256 as 64 hex digits", true
	case errors.Is(err, hub.ErrNotCached): // before ErrUnreachable: a cache miss may wrap it
		return pull + " while online, or pass --model DIR with a local model folder", false
	case errors.Is(err, hub.ErrOfflineMode) && runtime:
		return "pass a downloaded archive with --from FILE, or run without --offline and HF_HUB_OFFLINE", false
	case errors.Is(err, hub.ErrOfflineMode):
		return "run without --offline and HF_HUB_OFFLINE", false
	case errors.Is(err, hub.ErrUnreachable):
		return "check the network or proxy (HTTPS_PROXY), set HF_ENDPOINT to a mirror, set HF_HUB_OFFLINE=1 to use the cache, or pass --model DIR with a local model folder", false
	case errors.Is(err, hub.ErrGated) && !he.TokenSent:
		return "set HF_TOKEN to a token with access (or run `huggingface-cli login`)", false
	case errors.Is(err, hub.ErrGated):
		return "request access at " + repoURL + ", then set HF_TOKEN to a token of that account", false
	case errors.Is(err, hub.ErrRepoNotFound) && !he.TokenSent:
		return "check the repo id; if the repo is private or gated, set HF_TOKEN to a token with access", false
	case errors.Is(err, hub.ErrRepoNotFound):
		return "check the repo id, and that the token in HF_TOKEN can see the repo", false
	case errors.Is(err, hub.ErrRevisionNotFound):
		return "check the revision: a branch, tag or commit of " + repoURL, false
	case errors.Is(err, hub.ErrFileNotFound):
		return pull + " again: the revision may have moved during the pull", false
	case errors.Is(err, hub.ErrNotFound):
		return "check the repo id and the revision", false
	case errors.Is(err, hub.ErrNoGraph):
		var ng *modelfiles.NoGraphError
		if errors.As(err, &ng) && len(ng.Available) > 0 {
			return "pick a variant the repo offers: --variant " + strings.ReplaceAll(ng.AvailableNames(), ", ", " or --variant "), false
		}
		return "use a repo with an ONNX export (such as Xenova/clip-vit-base-patch32), or pass --model DIR", false
	case errors.Is(err, hub.ErrChecksum) && runtime:
		return "check the --sha256 value, or download the archive again", false
	case errors.Is(err, hub.ErrChecksum):
		return pull + " again; if it keeps failing, report it to the repo's owner or the mirror", false
	case errors.Is(err, hub.ErrUnverifiable):
		return "use a Hub or mirror that sends file sizes or hashes (unset HF_ENDPOINT to use huggingface.co)", false
	case errors.Is(err, hub.ErrTooLarge) && runtime:
		return "download the archive yourself and pass --from FILE", false
	case errors.Is(err, hub.ErrTooLarge):
		return "use a Hub or mirror that sends file sizes (unset HF_ENDPOINT to use huggingface.co)", false
	case errors.Is(err, hub.ErrDiskSpace):
		return "free some disk space, or set HF_HUB_CACHE to a folder on a larger disk", false
	case errors.Is(err, hub.ErrUnsupportedPlatform):
		return "download the release for this platform yourself and pass --from FILE, or point --ort-lib at an installed library", false
	case errors.Is(err, hub.ErrUnsafePath):
		return "do not use this repo or archive: its file names would write outside their folder", false
	}
	return "", false
}
