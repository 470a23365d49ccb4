/*
 * measure: fork/exec commands and record wall time, CPU time and peak RSS.
 *
 *   measure seq RUNS WARMUP ERRDIR NAME CMD [ARG...] [::: NAME CMD [ARG...]]...
 *       WARMUP untimed runs of every contestant, then RUNS rounds; each round
 *       runs every contestant once, in an order shuffled afresh each round
 *       (fixed seed, so runs are repeatable): a launch is measurably faster
 *       right after one of the same binary (warm caches) and slower after
 *       another runtime's deferred teardown, so no contestant may always
 *       follow the same one.
 *       One TSV line per timed run on stdout:
 *         name round wall_ns user_us sys_us maxrss_kb status
 *
 *   measure par TOTAL CONC ERRDIR NAME CMD [ARG...]
 *       TOTAL runs, CONC in flight at any time. One TSV line on stdout:
 *         name total_wall_ns ok failed
 *
 * Every "{}" inside an argument is replaced by a fresh id (mb<pid>-<n>), so
 * runtimes that keep state per container id never see the same id twice.
 * Children get stdin and stdout on /dev/null and stderr appended to
 * ERRDIR/NAME.err, run in their own process group, and are killed (whole
 * group, SIGKILL) after 30 s.
 *
 * CPU and RSS come from wait4() on the direct child: its rusage covers the
 * child and every descendant it (or they) waited for; ru_maxrss is the
 * largest single process among them.
 *
 * status: exit code, 128+signal if killed, 255 for timeout/exec failure.
 * Build: gcc -O2 -static -o measure measure.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S 30
#define MAXC 32

struct contestant {
	const char *name;
	char **argv;  /* template, may contain {} */
	int argc;
	int errfd;
};

static struct contestant cs[MAXC];
static int ncs;
static unsigned long id_counter;
static int devnull;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "measure: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Build argv for one run, substituting {} with a fresh id. */
static char **instantiate(struct contestant *c)
{
	char id[64];
	snprintf(id, sizeof id, "mb%d-%lu", (int)getpid(), ++id_counter);
	char **av = calloc(c->argc + 1, sizeof *av);
	if (!av)
		fail("calloc");
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		const char *p = strstr(a, "{}");
		if (!p) {
			av[i] = (char *)a;
			continue;
		}
		size_t n = strlen(a) + strlen(id) * 4 + 1;
		char *s = malloc(n), *o = s;
		if (!s)
			fail("malloc");
		while ((p = strstr(a, "{}"))) {
			memcpy(o, a, p - a);
			o += p - a;
			o += sprintf(o, "%s", id);
			a = p + 2;
		}
		strcpy(o, a);
		av[i] = s;
	}
	return av;
}

static void free_argv(struct contestant *c, char **av)
{
	for (int i = 0; i < c->argc; i++)
		if (av[i] != c->argv[i])
			free(av[i]);
	free(av);
}

static pid_t spawn(struct contestant *c, char **av)
{
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		setpgid(0, 0);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(c->errfd, 2);
		execv(av[0], av);
		dprintf(2, "measure: exec %s: %s\n", av[0], strerror(errno));
		_exit(255);
	}
	setpgid(pid, pid); /* both sides, so kill(-pid) works at once */
	return pid;
}

static int decode(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig) { (void)sig; alarmed = 1; }

/* Run once, synchronously. */
static int run_once(struct contestant *c, long long *wall, struct rusage *ru)
{
	char **av = instantiate(c);
	alarmed = 0;
	long long t0 = now_ns();
	pid_t pid = spawn(c, av);
	alarm(TIMEOUT_S);
	int st = 0, timed_out = 0;
	for (;;) {
		pid_t r = wait4(pid, &st, 0, ru);
		if (r == pid)
			break;
		if (r < 0 && errno == EINTR && alarmed) {
			dprintf(c->errfd, "measure: timeout after %d s, killing\n", TIMEOUT_S);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			alarmed = 0;
			timed_out = 1;
			continue;
		}
		if (r < 0 && errno != EINTR)
			fail("wait4");
	}
	long long t1 = now_ns();
	alarm(0);
	/* anything left in its process group (a runaway) goes too */
	kill(-pid, SIGKILL);
	free_argv(c, av);
	*wall = t1 - t0;
	return timed_out ? 255 : decode(st);
}

static long long tv_us(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

static int cmd_seq(int runs, int warmup)
{
	long long wall;
	struct rusage ru;
	for (int w = 0; w < warmup; w++)
		for (int i = 0; i < ncs; i++)
			run_once(&cs[i], &wall, &ru);
	int order[MAXC];
	unsigned long long seed = 0x9e3779b97f4a7c15ULL;
	for (int r = 1; r <= runs; r++) {
		for (int j = 0; j < ncs; j++)
			order[j] = j;
		for (int j = ncs - 1; j > 0; j--) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			int k = (int)((seed >> 33) % (unsigned long long)(j + 1));
			int t = order[j];
			order[j] = order[k];
			order[k] = t;
		}
		for (int j = 0; j < ncs; j++) {
			int i = order[j];
			memset(&ru, 0, sizeof ru);
			int st = run_once(&cs[i], &wall, &ru);
			printf("%s\t%d\t%lld\t%lld\t%lld\t%ld\t%d\n", cs[i].name, r, wall,
			       tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss, st);
			fflush(stdout);
		}
	}
	return 0;
}

static int cmd_par(int total, int conc)
{
	struct contestant *c = &cs[0];
	struct slot { pid_t pid; long long start; } slots[256];
	int inflight = 0, started = 0, ok = 0, failed = 0;
	if (conc > 256)
		conc = 256;
	long long t0 = now_ns();
	while (started < total || inflight > 0) {
		while (inflight < conc && started < total) {
			char **av = instantiate(c);
			slots[inflight].pid = spawn(c, av);
			slots[inflight].start = now_ns();
			free_argv(c, av);
			inflight++;
			started++;
		}
		int st;
		alarm(5); /* wake up now and then to enforce the timeout */
		pid_t r = waitpid(-1, &st, 0);
		alarm(0);
		if (r < 0 && errno != EINTR)
			fail("waitpid");
		for (int i = 0; r > 0 && i < inflight; i++)
			if (slots[i].pid == r) {
				kill(-r, SIGKILL);
				slots[i] = slots[--inflight];
				if (decode(st) == 0)
					ok++;
				else
					failed++;
				break;
			}
		/* a run stuck far too long: kill it (counts as failed when reaped) */
		long long t = now_ns();
		for (int i = 0; i < inflight; i++)
			if (t - slots[i].start > (long long)TIMEOUT_S * 1000000000LL)
				kill(-slots[i].pid, SIGKILL);
	}
	long long t1 = now_ns();
	printf("%s\t%lld\t%d\t%d\n", c->name, t1 - t0, ok, failed);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr,
			"usage: measure seq RUNS WARMUP ERRDIR NAME CMD [ARG...] [::: NAME CMD...]...\n"
			"       measure par TOTAL CONC ERRDIR NAME CMD [ARG...]\n");
		return 2;
	}
	const char *mode = argv[1];
	int a = atoi(argv[2]), b = atoi(argv[3]);
	const char *errdir = argv[4];

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		fail("open /dev/null");

	int i = 5;
	while (i < argc) {
		if (ncs == MAXC) {
			fprintf(stderr, "measure: too many contestants\n");
			return 2;
		}
		struct contestant *c = &cs[ncs++];
		c->name = argv[i++];
		c->argv = &argv[i];
		while (i < argc && strcmp(argv[i], ":::") != 0)
			i++;
		c->argc = (int)(&argv[i] - c->argv);
		if (i < argc)
			argv[i++] = NULL;
		if (c->argc < 1) {
			fprintf(stderr, "measure: contestant %s has no command\n", c->name);
			return 2;
		}
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.err", errdir, c->name);
		c->errfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (c->errfd < 0)
			fail(path);
	}

	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: wait4 returns EINTR */

	if (strcmp(mode, "seq") == 0)
		return cmd_seq(a, b);
	if (strcmp(mode, "par") == 0) {
		if (ncs != 1) {
			fprintf(stderr, "measure: par takes one contestant\n");
			return 2;
		}
		return cmd_par(a, b);
	}
	fprintf(stderr, "measure: unknown mode %s\n", mode);
	return 2;
}
