/*
 * The variadic log functions of libevent's log-internal.h, which libevent's
 * own test programs call. Stable Rust cannot define a variadic function, so
 * these format the message here and hand the finished text to log.rs, which
 * owns the callbacks, the default stderr output and the exit path.
 *
 * Signatures are those of libevent 2.1.12's log-internal.h; the file is
 * self-contained so that it does not depend on the installed headers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define EVBASE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define EVBASE_NORETURN __attribute__((noreturn))

/* log.rs: the debug mask (libevent's exported global), the sink of every
 * message, and the fatal exit. */
extern uint32_t event_debug_logging_mask_;
void evbase_log_(int severity, const char *msg);
void evbase_exit_(int errcode) EVBASE_NORETURN;

/* libevent's EVENT_LOG_* severities. */
enum { LOG_DEBUG = 0, LOG_MSG = 1, LOG_WARN = 2, LOG_ERR = 3 };

/* libevent formats into a buffer of this size and truncates the rest. */
#define LOG_BUF_SIZE 1024

void event_logv_(int severity, const char *errstr, const char *fmt,
    va_list ap) EVBASE_PRINTF(3, 0);
void event_err(int eval, const char *fmt, ...) EVBASE_PRINTF(2, 3)
    EVBASE_NORETURN;
void event_warn(const char *fmt, ...) EVBASE_PRINTF(1, 2);
void event_sock_err(int eval, int sock, const char *fmt, ...)
    EVBASE_PRINTF(3, 4) EVBASE_NORETURN;
void event_sock_warn(int sock, const char *fmt, ...) EVBASE_PRINTF(2, 3);
void event_errx(int eval, const char *fmt, ...) EVBASE_PRINTF(2, 3)
    EVBASE_NORETURN;
void event_warnx(const char *fmt, ...) EVBASE_PRINTF(1, 2);
void event_msgx(const char *fmt, ...) EVBASE_PRINTF(1, 2);
void event_debugx_(const char *fmt, ...) EVBASE_PRINTF(1, 2);

void
event_logv_(int severity, const char *errstr, const char *fmt, va_list ap)
{
	char buf[LOG_BUF_SIZE];
	size_t len;

	if (severity == LOG_DEBUG && !event_debug_logging_mask_)
		return;

	buf[0] = '\0';
	if (fmt != NULL)
		vsnprintf(buf, sizeof(buf), fmt, ap);

	/* The error text is appended only when there is room to start it. */
	if (errstr != NULL) {
		len = strlen(buf);
		if (len < sizeof(buf) - 3)
			snprintf(buf + len, sizeof(buf) - len, ": %s", errstr);
	}

	evbase_log_(severity, buf);
}

/* On Unix a socket's error is errno, as evutil_socket_geterror says. */
static const char *
errno_text(void)
{
	return strerror(errno);
}

void
event_err(int eval, const char *fmt, ...)
{
	const char *errstr = errno_text();
	va_list ap;

	va_start(ap, fmt);
	event_logv_(LOG_ERR, errstr, fmt, ap);
	va_end(ap);
	evbase_exit_(eval);
}

void
event_warn(const char *fmt, ...)
{
	const char *errstr = errno_text();
	va_list ap;

	va_start(ap, fmt);
	event_logv_(LOG_WARN, errstr, fmt, ap);
	va_end(ap);
}

void
event_sock_err(int eval, int sock, const char *fmt, ...)
{
	const char *errstr = errno_text();
	va_list ap;

	(void)sock;
	va_start(ap, fmt);
	event_logv_(LOG_ERR, errstr, fmt, ap);
	va_end(ap);
	evbase_exit_(eval);
}

void
event_sock_warn(int sock, const char *fmt, ...)
{
	const char *errstr = errno_text();
	va_list ap;

	(void)sock;
	va_start(ap, fmt);
	event_logv_(LOG_WARN, errstr, fmt, ap);
	va_end(ap);
}

void
event_errx(int eval, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_logv_(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	evbase_exit_(eval);
}

void
event_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_logv_(LOG_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
event_msgx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_logv_(LOG_MSG, NULL, fmt, ap);
	va_end(ap);
}

void
event_debugx_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_logv_(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}
