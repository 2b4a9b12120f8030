/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * evconfig-private.h for the regression driver: libevent's internal
 * headers include it first for the feature-test macros its configure
 * script would have chosen.  On glibc that is only _GNU_SOURCE.
 */
#ifndef EVCONFIG_PRIVATE_H_INCLUDED_
#define EVCONFIG_PRIVATE_H_INCLUDED_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#endif
