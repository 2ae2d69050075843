package cli

import "github.com/spf13/cobra"

// newHelpEnvironment is `fashionclip help environment`, a help topic.
func newHelpEnvironment() *cobra.Command {
	return &cobra.Command{
		Use:   "environment",
		Short: "The environment variables fashionclip reads",
		Long: `fashionclip reads these variables (a flag, where there is one, wins over its variable).

Model, runtime and caches
  FASHIONCLIP_MODEL        the default --model (a folder or a Hub repo id owner/name[@rev])
  FASHIONCLIP_ORT_LIB      the ONNX Runtime library (like --ort-lib)
  FASHIONCLIP_CACHE        fashionclip's own cache: derived graphs, installed runtimes
                           (default $XDG_CACHE_HOME/fashionclip or ~/.cache/fashionclip)
  FASHIONCLIP_ORT_DOWNLOAD_BASE  where 'runtime install' downloads releases from
  FASHIONCLIP_FMNIST_URL   a mirror for 'data pull fmnist'
  FASHIONCLIP_API_KEY      serve's bearer token (like --api-key, but not visible in ps)

Hugging Face Hub (the same as huggingface_hub's; the cache is shared with Python)
  HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE   the hub cache folder (default $HF_HOME/hub)
  HF_HOME                  the Hugging Face home (default $XDG_CACHE_HOME/huggingface)
  HF_ENDPOINT              the Hub or a mirror (default https://huggingface.co)
  HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH   the token for gated or private repos
  HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1   never touch the network (like --offline)
  HTTPS_PROXY, NO_PROXY    the usual proxy settings

Batch jobs ('embed -o' shards)
  JOB_COMPLETION_INDEX     a Kubernetes Indexed Job's index: the shard number (with --shards N)
  SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT   a Slurm array's task

Terminal
  NO_COLOR                 no colour when set to anything (no-color.org)
  TERM=dumb                no colour
  COLUMNS                  the table width on a terminal (default: the terminal's)`,
	}
}

func addHelpTopics(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.AddCommand(newHelpEnvironment())
		}
	}
}
