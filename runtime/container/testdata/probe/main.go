// Command probe reports what a container process sees (working
// directory, IDs, hostname, network interfaces, environment) and exits
// with the code given as its first argument ("sleep" sleeps instead).
// PROBE_CAT=/a,/b also prints "cat:/a=<content>" for each file, or
// "cat:/a=<missing>" when it does not exist. PROBE_LS=/d,/e prints
// "ls:/d=x,y" with the sorted names in each directory, or
// "ls:/d=<missing>" when it cannot be read.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	wd, _ := os.Getwd()
	host, _ := os.Hostname()
	fmt.Printf("cwd=%s\nuid=%d\ngid=%d\nhostname=%s\n", wd, os.Getuid(), os.Getgid(), host)
	var nets []string
	if ents, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, e := range ents {
			nets = append(nets, e.Name())
		}
	}
	fmt.Printf("net=%s\n", strings.Join(nets, ","))
	fmt.Printf("pid=%d\n", os.Getpid())
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Printf("env:%s\n", kv)
	}
	if paths := os.Getenv("PROBE_CAT"); paths != "" {
		for _, p := range strings.Split(paths, ",") {
			b, err := os.ReadFile(p)
			if err != nil {
				b = []byte("<missing>")
			}
			fmt.Printf("cat:%s=%s\n", p, b)
		}
	}
	if dirs := os.Getenv("PROBE_LS"); dirs != "" {
		for _, d := range strings.Split(dirs, ",") {
			ents, err := os.ReadDir(d)
			if err != nil {
				fmt.Printf("ls:%s=<missing>\n", d)
				continue
			}
			names := make([]string, 0, len(ents))
			for _, e := range ents {
				names = append(names, e.Name())
			}
			sort.Strings(names)
			fmt.Printf("ls:%s=%s\n", d, strings.Join(names, ","))
		}
	}
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		time.Sleep(time.Minute)
	}
	if len(os.Args) > 1 {
		code, _ := strconv.Atoi(os.Args[1])
		os.Exit(code)
	}
}
