/*
 * capcheck: the cost of one capability check, measured from inside a container.
 *
 *   capcheck N
 *
 * Calls setuid(0) N times (after N/10 untimed calls) and prints one line,
 * "capcheck N NS_PER_CALL". As root, setuid asks the kernel for CAP_SETUID
 * (ns_capable_setid) every time, and Docker's capabilities and seccomp
 * profile both allow it, so every call is one syscall and one granted check:
 * the capability:cap_capable tracepoint fires once and sys_enter/sys_exit
 * once each, which is what `--trace-caps` hooks. The difference between a
 * run with the tracer attached and one without is the tracer's cost per
 * checked call (bench/cgroups.sh).
 *
 * Build: gcc -O2 -static -o capcheck capcheck.c
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	if (n <= 0) {
		fprintf(stderr, "usage: capcheck N (N > 0 calls)\n");
		return 2;
	}
	/* The raw syscall: glibc's setuid wrapper signals every thread (setxid broadcast). */
	for (long i = 0; i < n / 10; i++)
		if (syscall(SYS_setuid, 0) != 0) {
			perror("capcheck: setuid(0)");
			return 1;
		}
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_setuid, 0);
	long long t1 = now_ns();
	printf("capcheck %ld %.1f\n", n, (double)(t1 - t0) / n);
	return 0;
}
