/*
 * floor: the least work that still gives a container comparable to the
 * quick form, as a lower bound for the benchmark.
 *
 *   floor ROOTFS PROGRAM [ARG...]
 *
 * Parent: clone(NEWNS|NEWPID|NEWUTS|NEWIPC|NEWNET|NEWCGROUP), wait, and exit
 * with the child's status (128+signal if it was killed).
 * Child: make / recursively private, bind ROOTFS onto itself, chdir into it,
 * pivot_root(".", "."), detach the old root, mount proc, drop the bounding
 * set to Docker's 14 capabilities, execve PROGRAM.
 *
 * No /dev, sysfs, masked paths, hostname, or sync pipe: it is a floor.
 * Build: gcc -O2 -static -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

static const int docker_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL,
	CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW,
	CAP_SYS_CHROOT, CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP,
};

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	_exit(125);
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int n = CAP_LAST_CAP;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

static int is_docker_cap(int c)
{
	for (size_t i = 0; i < sizeof docker_caps / sizeof docker_caps[0]; i++)
		if (docker_caps[i] == c)
			return 1;
	return 0;
}

static void child(const char *rootfs, char **argv)
{
	/* read before /proc goes away with the old root */
	int last = last_cap();

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / rprivate");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind rootfs");
	if (chdir(rootfs) < 0)
		die("chdir rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("detach old root");
	if (chdir("/") < 0)
		die("chdir /");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount proc");
	for (int c = 0; c <= last; c++)
		if (!is_docker_cap(c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			die("PR_CAPBSET_DROP");
	char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	execve(argv[0], argv, envp);
	fprintf(stderr, "floor: execve %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: floor ROOTFS PROGRAM [ARG...]\n");
		return 125;
	}
	const char *rootfs = argv[1];
	long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
		     CLONE_NEWNET | CLONE_NEWCGROUP | SIGCHLD;
	/* raw clone with a NULL stack behaves like fork(): the child runs on a
	 * copy of our stack, so it may simply call child() */
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0) {
		perror("floor: clone");
		return 125;
	}
	if (pid == 0)
		child(rootfs, argv + 2);

	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("floor: waitpid");
			return 125;
		}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
