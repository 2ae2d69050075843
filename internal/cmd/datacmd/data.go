// Package datacmd holds `fashionclip data` and its subcommands (pull):
// flags, wiring and rendering (NewCmdX(f, runF), XOptions, xRun) over the
// library packages.
package datacmd

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
)

// EnvFMNISTURL overrides where `data pull fmnist` downloads from.
const EnvFMNISTURL = "FASHIONCLIP_FMNIST_URL"

// NewCmdData builds `fashionclip data`, which fetches benchmark datasets.
func NewCmdData(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Fetch benchmark datasets for bench accuracy",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.UsageError("data needs a subcommand: pull")
		},
	}
	cmd.AddCommand(NewCmdDataPull(f, nil))
	return cmd
}

// DataPullOptions are `data pull`'s arguments and flags.
type DataPullOptions struct {
	f       *cmdutil.Factory
	Dataset string
	To      string
	BaseURL string
	// Files are the files fetched and their MD5s (nil: Fashion-MNIST's
	// published ones); tests name what their local server hands out.
	Files []bench.RemoteFile
}

// NewCmdDataPull builds `fashionclip data pull`.
func NewCmdDataPull(f *cmdutil.Factory, runF func(*DataPullOptions) error) *cobra.Command {
	opts := &DataPullOptions{f: f}
	cmd := &cobra.Command{
		Use:   "pull <fmnist|kagl|deepfashion> [--to DIR]",
		Short: "Download Fashion-MNIST, or say where to get the other datasets",
		Long: `fmnist downloads the four canonical Fashion-MNIST files (train and t10k images and
labels, gzipped) into --to and checks each against its published MD5: a file is written
as NAME.partial and renamed only once its MD5 matches, and files already present with the
right MD5 are not fetched again. The base URL is Zalando's own (GitHub, then S3); --base-url
or $` + EnvFMNISTURL + ` replace it (a mirror holding the same file names).

kagl and deepfashion need an account or a signed agreement: the command prints where
and how to get them, and exits with status 1.`,
		Example: `  fashionclip data pull fmnist --to data/fmnist
  fashionclip bench accuracy --dataset fmnist --data data/fmnist`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dataset = args[0]
			switch opts.Dataset {
			case "fmnist", "kagl", "deepfashion":
			default:
				return cmdutil.UsageError("unknown dataset %q (want fmnist, kagl or deepfashion)", opts.Dataset)
			}
			if runF != nil {
				return runF(opts)
			}
			return dataPullRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "fashion-mnist", "folder to download into")
	cmd.Flags().StringVar(&opts.BaseURL, "base-url", "", "download from this mirror instead (default $"+EnvFMNISTURL+", else Zalando's)")
	return cmd
}

const kaggleHowTo = `The Kaggle "Fashion Product Images" dataset needs a Kaggle account, so fashionclip
cannot fetch it for you. Either version works:
  small (~600 MB): https://www.kaggle.com/datasets/paramaggarwal/fashion-product-images-small
  full  (~25 GB):  https://www.kaggle.com/datasets/paramaggarwal/fashion-product-images-dataset
Download it from the page, or with the kaggle CLI (API token in ~/.kaggle/kaggle.json):
  kaggle datasets download -d paramaggarwal/fashion-product-images-small --unzip -p data/kagl
then point --data at the folder holding styles.csv and images/:
  fashionclip bench accuracy --dataset kagl --data data/kagl
`

const deepFashionHowTo = `DeepFashion is released for non-commercial research on request, so fashionclip
cannot fetch it for you. For the Category and Attribute Prediction Benchmark:
  1. read and accept the agreement at
     https://mmlab.ie.cuhk.edu.hk/projects/DeepFashion/AttributePrediction.html
  2. download Anno/list_category_cloth.txt, Anno/list_category_img.txt,
     Eval/list_eval_partition.txt and Img/img.zip from the shared folder it links;
  3. unzip img.zip next to Anno/ and Eval/ (giving img/...), then:
  fashionclip bench accuracy --dataset deepfashion --data data/deepfashion
`

func dataPullRun(ctx context.Context, o *DataPullOptions) error {
	f := o.f
	switch o.Dataset {
	case "kagl":
		fmt.Fprint(f.IO.ErrOut, kaggleHowTo)
		return &cmdutil.ExitError{Code: cmdutil.ExitFatal}
	case "deepfashion":
		fmt.Fprint(f.IO.ErrOut, deepFashionHowTo)
		return &cmdutil.ExitError{Code: cmdutil.ExitFatal}
	}
	if f.Hub().Offline {
		return fmt.Errorf("--offline (or HF_HUB_OFFLINE=1) forbids downloading Fashion-MNIST")
	}
	bases := bench.FMNISTMirrors
	if o.BaseURL != "" {
		bases = []string{o.BaseURL}
	} else if env := f.Getenv(EnvFMNISTURL); env != "" {
		bases = []string{env}
	}
	for _, b := range bases {
		if !strings.HasPrefix(b, "http://") && !strings.HasPrefix(b, "https://") {
			return cmdutil.UsageError("base URL %q is not http(s)", b)
		}
	}
	files := o.Files
	if files == nil {
		files = bench.FMNISTFiles
	}
	_, err := bench.Pull(ctx, o.To, bench.PullOptions{
		Client:   http.DefaultClient,
		BaseURLs: bases,
		Files:    files,
		Progress: func(r bench.PullResult) {
			if r.Cached {
				fmt.Fprintf(f.IO.Out, "%s: already there, MD5 ok\n", r.Path)
			} else {
				fmt.Fprintf(f.IO.Out, "%s: %d bytes from %s, MD5 ok\n", r.Path, r.Bytes, r.FromURL)
			}
		},
	})
	if err != nil {
		return err
	}
	f.Warnf("Fashion-MNIST is ready: fashionclip bench accuracy --dataset fmnist --data %s", o.To)
	return nil
}
