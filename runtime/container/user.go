package container

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// passwdEntry is one line of /etc/passwd or /etc/group: name, numeric
// ID, and for passwd the primary group and home directory.
type passwdEntry struct {
	name string
	id   int
	gid  int
	home string
	// members of a group
	members []string
}

// readEntries parses an /etc/passwd (passwd true) or /etc/group file;
// a missing file has no entries.
func readEntries(path string, passwd bool) ([]passwdEntry, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []passwdEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, ":")
		if len(p) < 3 {
			continue
		}
		id, err := strconv.Atoi(p[2])
		if err != nil {
			continue
		}
		e := passwdEntry{name: p[0], id: id}
		if passwd && len(p) >= 6 {
			e.gid, _ = strconv.Atoi(p[3])
			e.home = p[5]
		}
		if !passwd && len(p) >= 4 && p[3] != "" {
			e.members = strings.Split(p[3], ",")
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// resolveUser turns "user[:group]" (names or numbers) into IDs using
// the passwd and group files: a numeric user absent from passwd gets
// gid 0 unless a group is given; a name must be present.
func resolveUser(spec, passwdPath, groupPath string) (uid, gid int, groups []int, home string, err error) {
	home = "/"
	if spec == "" {
		spec = "0"
	}
	user, group, hasGroup := strings.Cut(spec, ":")
	users, err := readEntries(passwdPath, true)
	if err != nil {
		return 0, 0, nil, "", err
	}
	grps, err := readEntries(groupPath, false)
	if err != nil {
		return 0, 0, nil, "", err
	}
	var entry *passwdEntry
	if n, nerr := strconv.Atoi(user); nerr == nil {
		uid = n
		for i := range users {
			if users[i].id == n {
				entry = &users[i]
				break
			}
		}
	} else {
		for i := range users {
			if users[i].name == user {
				entry = &users[i]
				break
			}
		}
		if entry == nil {
			return 0, 0, nil, "", fmt.Errorf("unable to find user %s: no matching entries in passwd file", user)
		}
		uid = entry.id
	}
	if entry != nil {
		gid, home = entry.gid, entry.home
	}
	if hasGroup {
		if n, nerr := strconv.Atoi(group); nerr == nil {
			gid = n
		} else {
			found := false
			for _, g := range grps {
				if g.name == group {
					gid, found = g.id, true
					break
				}
			}
			if !found {
				return 0, 0, nil, "", fmt.Errorf("unable to find group %s: no matching entries in group file", group)
			}
		}
	}
	groups = []int{gid}
	if entry != nil && !hasGroup {
		for _, g := range grps {
			for _, m := range g.members {
				if m == entry.name && g.id != gid {
					groups = append(groups, g.id)
				}
			}
		}
	}
	if home == "" {
		home = "/"
	}
	return uid, gid, groups, home, nil
}

// mergeEnv applies KEY=VALUE pairs in order, later ones replacing
// earlier ones with the same key.
func mergeEnv(lists ...[]string) []string {
	var out []string
	idx := map[string]int{}
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := idx[k]; ok {
				out[i] = kv
				continue
			}
			idx[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// identity resolves the user inside the container's root (after
// pivot_root) and returns the process environment: a default PATH,
// HOSTNAME and HOME, then the spec's.
func identity(cfg initConfig) (env []string, uid, gid int, groups []int, err error) {
	uid, gid, groups, home, err := resolveUser(cfg.Spec.User, "/etc/passwd", "/etc/group")
	if err != nil {
		return nil, 0, 0, nil, err
	}
	env = mergeEnv([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=" + cfg.Hostname,
	}, cfg.Spec.Env)
	env = mergeEnv([]string{"HOME=" + home}, env)
	return env, uid, gid, groups, nil
}
