// Command probe reports what a container process sees (working
// directory, IDs, hostname, network interfaces, environment) and exits
// with the code given as its first argument ("sleep" sleeps instead).
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
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		time.Sleep(time.Minute)
	}
	if len(os.Args) > 1 {
		code, _ := strconv.Atoi(os.Args[1])
		os.Exit(code)
	}
}
