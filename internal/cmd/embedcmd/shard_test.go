package embedcmd

import (
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/source"
)

func TestEmbedIndexShardFlags(t *testing.T) {
	tests := []struct {
		name      string
		spec      string
		shards    int
		shardsSet bool
		env       map[string]string
		want      source.Shard
		wantErr   string
	}{
		{name: "none", want: source.Shard{}},
		{name: "flag", spec: "2/5", want: source.Shard{Index: 2, Of: 5}},
		{name: "flag beats env", spec: "0/2", env: map[string]string{EnvJobIndex: "1"}, want: source.Shard{Index: 0, Of: 2}},
		{name: "k8s", shards: 4, shardsSet: true, env: map[string]string{EnvJobIndex: "3"}, want: source.Shard{Index: 3, Of: 4}},
		{name: "k8s single job", env: map[string]string{EnvJobIndex: "0"}, want: source.Shard{}},
		{name: "k8s without --shards", env: map[string]string{EnvJobIndex: "2"}, wantErr: "give --shards N"},
		{name: "k8s index too big", shards: 2, shardsSet: true, env: map[string]string{EnvJobIndex: "2"}, wantErr: "not below --shards 2"},
		{name: "k8s garbage", shards: 2, shardsSet: true, env: map[string]string{EnvJobIndex: "x"}, wantErr: "not a number"},
		{name: "slurm", env: map[string]string{EnvSlurmTaskID: "12", EnvSlurmTaskMin: "10", EnvSlurmTaskCount: "4"}, want: source.Shard{Index: 2, Of: 4}},
		{name: "slurm without min", env: map[string]string{EnvSlurmTaskID: "1", EnvSlurmTaskCount: "2"}, want: source.Shard{Index: 1, Of: 2}},
		{name: "slurm --shards wins over count", shards: 8, shardsSet: true, env: map[string]string{EnvSlurmTaskID: "5", EnvSlurmTaskCount: "2"}, want: source.Shard{Index: 5, Of: 8}},
		{name: "slurm without count", env: map[string]string{EnvSlurmTaskID: "1"}, wantErr: "give --shards N"},
		{name: "slurm out of range", env: map[string]string{EnvSlurmTaskID: "9", EnvSlurmTaskCount: "3"}, wantErr: "not a shard of 3"},
		{name: "K equals N", spec: "3/3", wantErr: "0 ≤ K < N"},
		{name: "negative", spec: "-1/3", wantErr: "0 ≤ K < N"},
		{name: "not a fraction", spec: "3", wantErr: "want K/N"},
		{name: "zero shards", spec: "0/0", wantErr: "want K/N"},
		{name: "both flags", spec: "0/2", shards: 2, shardsSet: true, wantErr: "not both"},
		{name: "--shards alone", shards: 3, shardsSet: true, wantErr: "needs the shard number"},
		{name: "--shards 0", shards: 0, shardsSet: true, wantErr: "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cmdutil.NewFactory(nil, func(k string) string { return tt.env[k] })
			got, err := shardFromFlags(f, tt.spec, tt.shards, tt.shardsSet)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
					t.Errorf("got %v, %v; want a usage error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
