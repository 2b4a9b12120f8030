/*
 * The variadic formatting helpers of event2/util.h. Stable Rust cannot
 * define a variadic function, and these are thin enough to need nothing
 * from the Rust side.
 *
 * Signatures are those of libevent 2.1.12's event2/util.h; the file is
 * self-contained so that it does not depend on the installed headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define EVBASE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

int evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
    EVBASE_PRINTF(3, 0);
int evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
    EVBASE_PRINTF(3, 4);

/* As vsnprintf, except that an empty buffer answers 0 (libevent does not
 * measure the output then), and the last byte is always a NUL. */
int
evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
{
	int r;

	if (buflen == 0)
		return 0;
	r = vsnprintf(buf, buflen, format, ap);
	buf[buflen - 1] = '\0';
	return r;
}

int
evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
{
	int r;
	va_list ap;

	va_start(ap, format);
	r = evutil_vsnprintf(buf, buflen, format, ap);
	va_end(ap);
	return r;
}
