/*
 * Linked only into the musl build (build.rs). Debian compiles libseccomp.a against glibc with
 * _FORTIFY_SOURCE, so its pseudo-filter-code printer (gen_pfc.c, seccomp_export_pfc, which
 * minirun never calls) refers to glibc's checked printf. musl has no such symbol; this one
 * prints as glibc would, without glibc's extra %n check.
 */
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *stream, int flag, const char *format, ...)
{
	va_list ap;
	int n;

	(void)flag;
	va_start(ap, format);
	n = vfprintf(stream, format, ap);
	va_end(ap);
	return n;
}
