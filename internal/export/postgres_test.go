package export

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fashionclip/fashionclip/internal/index"
)

// postgres is a throwaway server: initdb into a temporary folder, its own
// port and socket folder, stopped (and removed) when the test ends.
type postgres struct {
	bin, dir, port string
	cred           *syscall.Credential
}

func startPostgres(t *testing.T) *postgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("PostgreSQL not installed: run scripts/install-db-test-tools.sh (Debian package postgresql) to run this test")
	}
	pg := &postgres{bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "fashionclip-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The server refuses to run as root: run it as the package's user.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pg.port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	data := filepath.Join(dir, "data")
	pg.run(t, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C")
	pg.run(t, "pg_ctl", "-D", data, "-w", "-t", "60", "-l", filepath.Join(dir, "log"), "-o",
		fmt.Sprintf("-p %s -k %s -c listen_addresses='' -c fsync=off", pg.port, dir), "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(pg.bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("stopping PostgreSQL: %v\n%s", err, out)
		}
	})
	return pg
}

func (pg *postgres) run(t *testing.T, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(pg.bin, prog), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "log"))
		t.Fatalf("%s: %v\n%s\n%s", prog, err, out, log)
	}
}

// psql runs psql (as the caller) against the server.
func (pg *postgres) psql(args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(pg.bin, "psql"), append([]string{"-X", "-q", "-h", pg.dir, "-p", pg.port, "-U", "postgres", "-d", "postgres"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return out, nil
}

// TestPgvectorLoadsIntoPostgres loads the COPY script into a real
// PostgreSQL with `psql -f` and reads every row back. Debian ships no
// pgvector, so the real[] form is loaded here and the vector form only
// when the extension is installed.
func TestPgvectorLoadsIntoPostgres(t *testing.T) {
	pg := startPostgres(t)
	types := []string{PGReal}
	if out, err := pg.psql("-tAc", "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"); err == nil && strings.TrimSpace(string(out)) == "1" {
		types = append(types, PGVector)
	} else {
		t.Log("pgvector is not installed: loading the real[] form only")
	}
	for _, pgType := range types {
		t.Run(pgType, func(t *testing.T) {
			table := "shop.items " + pgType
			if _, err := pg.psql("-c", "CREATE SCHEMA IF NOT EXISTS shop"); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "items.sql")
			const n, dim = 60, 32
			_, want, items := exportShards(t, Options{Format: FormatPgvector, PGType: pgType, PGTable: table, Out: file}, n, dim, index.DTypeFloat32)
			if _, err := pg.psql("-v", "ON_ERROR_STOP=1", "-f", file); err != nil {
				t.Fatal(err)
			}
			out, err := pg.psql("-c", fmt.Sprintf(`COPY (SELECT id, path, kind, text, size, (extract(epoch FROM mtime) * 1000000)::bigint, sha256, embedding::text FROM shop."items %s") TO STDOUT`, pgType))
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			sc := bufio.NewScanner(bytes.NewReader(out))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				f := strings.Split(sc.Text(), "\t")
				if len(f) != 8 {
					t.Fatalf("row %q", sc.Text())
				}
				it, ok := items[f[0]]
				if !ok {
					t.Fatalf("unknown id %s", f[0])
				}
				field := func(s string) *string {
					if s == `\N` {
						return nil
					}
					s = strings.NewReplacer(`\t`, "\t", `\\`, `\`, `\n`, "\n").Replace(s)
					return &s
				}
				num := func(s string) *int64 {
					if s == `\N` {
						return nil
					}
					v, _ := strconv.ParseInt(s, 10, 64)
					return &v
				}
				checkRow(t, pqRow{ID: f[0], Path: field(f[1]), Kind: f[2], Text: field(f[3]), Size: num(f[4]), MTime: num(f[5]), SHA256: field(f[6])}, it)
				vals := strings.Split(strings.Trim(f[7], "{}[]"), ",")
				w := want[it.Key()]
				if len(vals) != dim {
					t.Fatalf("%d values", len(vals))
				}
				for k, s := range vals {
					v, err := strconv.ParseFloat(s, 32)
					if err != nil || float32(v) != w[k] {
						t.Fatalf("%s[%d] = %s, want %v", f[0], k, s, w[k])
					}
				}
				rows++
			}
			if rows != len(want) {
				t.Errorf("%d rows in PostgreSQL, want %d", rows, len(want))
			}
			// The script is one transaction: loading it again fails whole.
			if _, err := pg.psql("-v", "ON_ERROR_STOP=1", "-f", file); err == nil {
				t.Error("loading the script twice succeeded")
			}
		})
	}
}
