/* evbase header check: stand-in for libevent's evconfig-private.h.
 *
 * libevent's build generates this private header from
 * evconfig-private.h.in; its internal headers (util-internal.h, ...)
 * include it.  On Linux with glibc the only thing it turns on is the GNU
 * extensions, which <event2/event-config.h> turns on as well.  It is used
 * only to compile libevent's test programs in tests/headers.rs.
 */
#ifndef EVCONFIG_PRIVATE_H_INCLUDED_
#define EVCONFIG_PRIVATE_H_INCLUDED_

#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1
#endif

#endif
