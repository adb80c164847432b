// Command probe reports what a container process sees (working
// directory, IDs, hostname, network interfaces, environment) and exits
// with the code given as its first argument ("sleep" sleeps instead).
// PROBE_CAT=/a,/b also prints "cat:/a=<content>" for each file, or
// "cat:/a=<missing>" when it does not exist. PROBE_LS=/d,/e prints
// "ls:/d=x,y" with the sorted names in each directory, or
// "ls:/d=<missing>" when it cannot be read. PROBE_TTY=1 prints
// "tty0=" and the file behind stdin, "isatty0=" and "isatty1=" (true or
// false) and "winsize=ROWSxCOLS" of stdin. Other first arguments:
// "winch" waits (up to 20 s) for SIGWINCH and prints the new winsize;
// "read" prints "read:" and a line read from stdin; "alloc N" touches N
// MiB of memory, then prints "allocated".
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	if os.Getenv("PROBE_TTY") == "1" {
		tty, _ := os.Readlink("/proc/self/fd/0")
		fmt.Printf("tty0=%s\nisatty0=%t\nisatty1=%t\nwinsize=%s\n", tty, isatty(0), isatty(1), winsize())
	}
	if len(os.Args) > 1 && extra(os.Args[1:]) {
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		time.Sleep(time.Minute)
	}
	if len(os.Args) > 1 {
		code, _ := strconv.Atoi(os.Args[1])
		os.Exit(code)
	}
}

func isatty(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

func winsize() string {
	ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil {
		return "none"
	}
	return fmt.Sprintf("%dx%d", ws.Row, ws.Col)
}

// extra runs the modes other than an exit code and "sleep"; it reports
// whether it ran one.
func extra(args []string) bool {
	switch args[0] {
	case "winch":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGWINCH)
		fmt.Println("waiting for SIGWINCH")
		select {
		case <-c:
			fmt.Printf("resized=%s\n", winsize())
		case <-time.After(20 * time.Second):
			fmt.Println("no SIGWINCH")
		}
	case "read":
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Printf("read:%q %v\n", strings.TrimRight(line, "\r\n"), err)
	case "alloc":
		n := 0
		if len(args) > 1 {
			n, _ = strconv.Atoi(args[1])
		}
		mem := make([][]byte, n)
		for i := range mem {
			mem[i] = make([]byte, 1<<20)
			for j := 0; j < len(mem[i]); j += 4096 {
				mem[i][j] = 1
			}
		}
		fmt.Println("allocated")
	default:
		return false
	}
	return true
}
