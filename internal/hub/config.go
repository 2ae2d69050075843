// Package hub downloads models from the Hugging Face Hub into the cache
// layout huggingface_hub uses, so a model fetched by Python is found here
// without network and a model fetched here is found by Python:
//
//	{cache}/models--{owner}--{name}/blobs/{etag}
//	{cache}/models--{owner}--{name}/snapshots/{commit}/{path}  -> ../../blobs/{etag}
//	{cache}/models--{owner}--{name}/refs/{revision}             (holds the commit hash)
//	{cache}/.locks/models--{owner}--{name}/{etag}.lock
//
// The etag is the file's sha256 for LFS files and its git blob sha1 for
// regular ones; both are verified before a blob is linked.
//
// The package never prints; progress goes through the Progress interface.
package hub

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// Config says where the Hub and the cache are. Build it with NewConfig.
type Config struct {
	// Endpoint is the Hub's base URL without a trailing slash ($HF_ENDPOINT).
	Endpoint string
	// Token is sent as a Bearer token to the Hub, never to another host.
	Token string
	// CacheDir is the hub cache folder (the one holding models--*).
	CacheDir string
	// Offline forbids every network request ($HF_HUB_OFFLINE).
	Offline bool
}

// NewConfig is the one way to configure the Hub client: it reads the same
// variables as huggingface_hub, with the same precedence, and offline (a
// command-line switch) forces offline mode on top of $HF_HUB_OFFLINE.
// getenv is os.Getenv outside tests (nil means os.Getenv).
func NewConfig(getenv func(string) string, offline bool) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	hfHome := HFHome(getenv)
	cfg := Config{
		Endpoint: strings.TrimRight(getenv("HF_ENDPOINT"), "/"),
		CacheDir: CacheDir(getenv),
		Offline:  offline || isTrue(getenv("HF_HUB_OFFLINE")) || isTrue(getenv("TRANSFORMERS_OFFLINE")),
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	cfg.Token = strings.TrimSpace(getenv("HF_TOKEN"))
	if cfg.Token == "" {
		cfg.Token = strings.TrimSpace(getenv("HUGGING_FACE_HUB_TOKEN"))
	}
	if cfg.Token == "" {
		// `huggingface-cli login` stores the token here.
		tokenPath := getenv("HF_TOKEN_PATH")
		if tokenPath == "" {
			tokenPath = filepath.Join(hfHome, "token")
		} else {
			tokenPath = expandPath(tokenPath, getenv)
		}
		if b, err := os.ReadFile(tokenPath); err == nil {
			cfg.Token = strings.TrimSpace(string(b))
		}
	}
	return cfg
}

// HFHome is $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func HFHome(getenv func(string) string) string {
	home := getenv("HF_HOME")
	if home == "" {
		xdg := getenv("XDG_CACHE_HOME")
		if xdg == "" {
			xdg = filepath.Join(userHome(getenv), ".cache")
		}
		home = filepath.Join(xdg, "huggingface")
	}
	return expandPath(home, getenv)
}

// CacheDir is $HF_HUB_CACHE, else the legacy $HUGGINGFACE_HUB_CACHE, else
// HFHome()/hub: exactly huggingface_hub's rule.
func CacheDir(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := getenv("HF_HUB_CACHE")
	if dir == "" {
		dir = getenv("HUGGINGFACE_HUB_CACHE")
	}
	if dir == "" {
		return filepath.Join(HFHome(getenv), "hub")
	}
	return expandPath(dir, getenv)
}

func userHome(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

var envRef = regexp.MustCompile(`\$(\w+|\{[^}]*\})`)

// expandPath mirrors Python's expandvars(expanduser(p)): a leading ~ becomes
// the home folder and $VAR / ${VAR} are replaced when set (left as is when not).
func expandPath(p string, getenv func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = userHome(getenv) + p[1:]
	}
	return envRef.ReplaceAllStringFunc(p, func(m string) string {
		name := strings.Trim(m[1:], "{}")
		if v := getenv(name); v != "" {
			return v
		}
		return m
	})
}

// isTrue accepts the values huggingface_hub treats as true.
func isTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}
