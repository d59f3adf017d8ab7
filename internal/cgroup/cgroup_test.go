package cgroup

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// Content of /proc/self/cgroup on the three kinds of host.
const (
	procCgroupV1 = `12:pids:/user.slice/user-1000.slice/session-2.scope
11:cpu,cpuacct:/user.slice
10:memory:/user.slice/user-1000.slice/session-2.scope
9:freezer:/
1:name=systemd:/user.slice/user-1000.slice/session-2.scope
`
	procCgroupV2     = "0::/user.slice/user-1000.slice/session-2.scope\n"
	procCgroupHybrid = `9:name=systemd:/
8:pids:/
4:memory:/process_api/5433f2d0bc241a825cc948cd24ca7d90
2:cpuacct:/
1:cpu:/
0::/
`
)

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []procCgroup
		wantErr string
	}{
		{
			name: "v1",
			in:   procCgroupV1,
			want: []procCgroup{
				{controllers: []string{"pids"}, path: "/user.slice/user-1000.slice/session-2.scope"},
				{controllers: []string{"cpu", "cpuacct"}, path: "/user.slice"},
				{controllers: []string{"memory"}, path: "/user.slice/user-1000.slice/session-2.scope"},
				{controllers: []string{"freezer"}, path: "/"},
				{controllers: []string{"name=systemd"}, path: "/user.slice/user-1000.slice/session-2.scope"},
			},
		},
		{
			name: "v2",
			in:   procCgroupV2,
			want: []procCgroup{{v2: true, path: "/user.slice/user-1000.slice/session-2.scope"}},
		},
		{
			name: "hybrid",
			in:   procCgroupHybrid,
			want: []procCgroup{
				{controllers: []string{"name=systemd"}, path: "/"},
				{controllers: []string{"pids"}, path: "/"},
				{controllers: []string{"memory"}, path: "/process_api/5433f2d0bc241a825cc948cd24ca7d90"},
				{controllers: []string{"cpuacct"}, path: "/"},
				{controllers: []string{"cpu"}, path: "/"},
				{v2: true, path: "/"},
			},
		},
		{
			name: "path with colon",
			in:   "0::/a:b\n",
			want: []procCgroup{{v2: true, path: "/a:b"}},
		},
		{name: "empty", in: "", want: nil},
		{name: "two fields", in: "0:/x\n", wantErr: "want 3 fields"},
		{name: "bad id", in: "x::/\n", wantErr: "hierarchy id"},
		{name: "relative path", in: "0::x\n", wantErr: "not absolute"},
		{name: "v1 without controllers", in: "3::/\n", wantErr: "without controllers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcCgroup([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []mountEntry
		wantErr string
	}{
		{
			name: "hybrid",
			in: `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
			want: []mountEntry{
				{root: "/", mountPoint: "/sys/fs/cgroup/cpu", options: []string{"rw", "cpu"}},
				{root: "/", mountPoint: "/sys/fs/cgroup/memory", options: []string{"rw", "memory"}},
				{root: "/", mountPoint: "/sys/fs/cgroup/unified", v2: true, options: []string{"rw"}},
			},
		},
		{
			name: "optional fields and co-mounted controllers",
			in:   "30 25 0:26 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid shared:12 master:3 - cgroup cgroup rw,cpu,cpuacct\n",
			want: []mountEntry{
				{root: "/docker/abc", mountPoint: "/sys/fs/cgroup/cpu,cpuacct", options: []string{"rw", "cpu", "cpuacct"}},
			},
		},
		{
			name: "escaped mount point",
			in:   `29 1 0:25 / /mnt/cg\040two rw - cgroup2 none rw,nsdelegate` + "\n",
			want: []mountEntry{{root: "/", mountPoint: "/mnt/cg two", v2: true, options: []string{"rw", "nsdelegate"}}},
		},
		{
			name: "no cgroup mounts",
			in:   "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n",
			want: nil,
		},
		{name: "no separator", in: "22 1 8:1 / / rw,relatime ext4 /dev/sda1 rw\n", wantErr: "malformed"},
		{name: "truncated after separator", in: "22 1 8:1 / / rw -  cgroup2\n", wantErr: "malformed"},
		{name: "bad escape", in: `29 1 0:25 / /mnt/a\04 rw - cgroup2 none rw` + "\n", wantErr: "escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMountinfo([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHostDir(t *testing.T) {
	tests := []struct {
		name                   string
		mountPoint, root, path string
		want                   string
		wantErr                bool
	}{
		{name: "root mount", mountPoint: "/sys/fs/cgroup/memory", root: "/", path: "/a/b", want: "/sys/fs/cgroup/memory/a/b"},
		{name: "root mount, root cgroup", mountPoint: "/sys/fs/cgroup", root: "/", path: "/", want: "/sys/fs/cgroup"},
		{name: "container mount, own cgroup is root", mountPoint: "/sys/fs/cgroup", root: "/docker/abc", path: "/docker/abc", want: "/sys/fs/cgroup"},
		{name: "container mount, below root", mountPoint: "/sys/fs/cgroup", root: "/docker/abc", path: "/docker/abc/x", want: "/sys/fs/cgroup/x"},
		{name: "outside mount root", mountPoint: "/sys/fs/cgroup", root: "/docker/abc", path: "/docker/abcd", wantErr: true},
		{name: "dotdot cleaned", mountPoint: "/sys/fs/cgroup", root: "/", path: "/a/../../b", want: "/sys/fs/cgroup/b"},
		{name: "relative path", mountPoint: "/sys/fs/cgroup", root: "/", path: "a", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hostDir(tt.mountPoint, tt.root, tt.path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMemoryFiredV2(t *testing.T) {
	tests := []struct {
		name    string
		events  string
		want    bool
		wantErr bool
	}{
		{name: "quiet", events: "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n", want: false},
		{name: "hit max without kill", events: "low 0\nhigh 0\nmax 57\noom 1\noom_kill 0\n", want: false},
		{name: "oom kill", events: "low 0\nhigh 0\nmax 1234\noom 1\noom_kill 1\n", want: true},
		{name: "group kill", events: "oom 1\noom_kill 0\noom_group_kill 1\n", want: true},
		{name: "old kernel without counters", events: "low 0\nhigh 0\nmax 0\noom 0\n", want: false},
		{name: "garbage", events: "oom_kill x\n", wantErr: true},
		{name: "three fields", events: "oom_kill 1 2\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memoryFiredV2([]byte(tt.events))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMemoryFiredV1(t *testing.T) {
	tests := []struct {
		name       string
		oomControl string
		failcnt    []byte
		want       bool
		wantErr    bool
	}{
		{name: "quiet", oomControl: "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", failcnt: []byte("0\n"), want: false},
		{name: "killed", oomControl: "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", failcnt: []byte("31\n"), want: true},
		{name: "counter wins over failcnt", oomControl: "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", failcnt: []byte("31\n"), want: false},
		{name: "old kernel, limit hit", oomControl: "oom_kill_disable 0\nunder_oom 0\n", failcnt: []byte("12\n"), want: true},
		{name: "old kernel, limit not hit", oomControl: "oom_kill_disable 0\nunder_oom 0\n", failcnt: []byte("0\n"), want: false},
		{name: "old kernel, no failcnt", oomControl: "oom_kill_disable 0\nunder_oom 0\n", failcnt: nil, wantErr: true},
		{name: "bad failcnt", oomControl: "under_oom 0\n", failcnt: []byte("many"), wantErr: true},
		{name: "bad oom_control", oomControl: "oom_kill -1\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memoryFiredV1([]byte(tt.oomControl), tt.failcnt)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPidsFired(t *testing.T) {
	tests := []struct {
		name    string
		events  string
		want    bool
		wantErr bool
	}{
		{name: "quiet", events: "max 0\n", want: false},
		{name: "refused", events: "max 81\n", want: true},
		{name: "newer kernel fields", events: "max 3\nmax.imposed 3\n", want: true},
		{name: "empty", events: "", want: false},
		{name: "garbage", events: "max lots\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pidsFired([]byte(tt.events))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePids(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "several", in: "12\n345\n7\n", want: []int{12, 345, 7}},
		{name: "zero", in: "0\n", wantErr: true},
		{name: "negative", in: "-4\n", wantErr: true},
		{name: "word", in: "12\nabc\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePids([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		name    string
		l       Limits
		want    []string
		wantErr bool
	}{
		{name: "none", l: Limits{}, want: nil},
		{name: "all", l: Limits{MemoryBytes: 1 << 20, Pids: 10, CPUs: 1.5}, want: []string{"memory", "pids", "cpu"}},
		{name: "cpu only", l: Limits{CPUs: 0.5}, want: []string{"cpu"}},
		{name: "negative memory", l: Limits{MemoryBytes: -1}, wantErr: true},
		{name: "negative pids", l: Limits{Pids: -1}, wantErr: true},
		{name: "negative cpus", l: Limits{CPUs: -0.5}, wantErr: true},
		{name: "nan cpus", l: Limits{CPUs: math.NaN()}, wantErr: true},
		{name: "infinite cpus", l: Limits{CPUs: math.Inf(1)}, wantErr: true},
		{name: "cpus below minimum quota", l: Limits{CPUs: 0.001}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.l.validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCPUValues(t *testing.T) {
	tests := []struct {
		name      string
		cpus      float64
		wantQuota int64
		wantMax   string
	}{
		{name: "half", cpus: 0.5, wantQuota: 50000, wantMax: "50000 100000"},
		{name: "one", cpus: 1, wantQuota: 100000, wantMax: "100000 100000"},
		{name: "fraction above one", cpus: 2.25, wantQuota: 225000, wantMax: "225000 100000"},
		{name: "minimum", cpus: 0.01, wantQuota: 1000, wantMax: "1000 100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := cpuQuotaUsec(tt.cpus)
			if err != nil || q != tt.wantQuota {
				t.Errorf("cpuQuotaUsec(%v): got %d, %v, want %d, nil", tt.cpus, q, err, tt.wantQuota)
			}
			m, err := cpuMaxValue(tt.cpus)
			if err != nil || m != tt.wantMax {
				t.Errorf("cpuMaxValue(%v): got %q, %v, want %q, nil", tt.cpus, m, err, tt.wantMax)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"airlock-0123abcd", true},
		{"a.b_c", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"a\x00b", false},
		{strings.Repeat("a", 201), false},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, "/", "_"), func(t *testing.T) {
			if got := validName(tt.name); got != tt.want {
				t.Errorf("validName(%q): got %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func FuzzParseProcCgroup(f *testing.F) {
	for _, s := range []string{procCgroupV1, procCgroupV2, procCgroupHybrid, "0::/a:b\n", "3::/\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseProcCgroup([]byte(s))
		if err != nil {
			return
		}
		for _, c := range got {
			if !strings.HasPrefix(c.path, "/") {
				t.Errorf("accepted relative path %q", c.path)
			}
			if c.v2 != (len(c.controllers) == 0) {
				t.Errorf("entry %+v: v2 and controllers disagree", c)
			}
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n")
	f.Add(`29 1 0:25 / /mnt/cg\040two rw shared:1 - cgroup2 none rw,nsdelegate` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseMountinfo([]byte(s))
		if err != nil {
			return
		}
		for _, m := range got {
			if m.mountPoint == "" || m.root == "" {
				t.Errorf("accepted empty path in %+v", m)
			}
		}
	})
}

func FuzzParseKeyedCounters(f *testing.F) {
	f.Add("oom 1\noom_kill 2\n")
	f.Add("max 0")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseKeyedCounters([]byte(s))
		if err != nil {
			return
		}
		for k := range m {
			if k == "" || strings.ContainsAny(k, " \t\n") {
				t.Errorf("accepted bad key %q", k)
			}
		}
	})
}
